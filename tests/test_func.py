"""autograd.func: JAX-style transforms over Python functions of floats."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value, func
from tests.helpers import central_diff, close

floats = st.floats(-2.0, 2.0, allow_nan=False)


def f2(x: Value, y: Value) -> Value:
    return x * x * y + (x * y).sin() + y.exp()


def f2_float(xs: list[float]) -> float:
    x, y = xs
    return x * x * y + math.sin(x * y) + math.exp(y)


@given(floats, floats)
def test_grad_and_value_and_grad(x: float, y: float) -> None:
    v, (gx, gy) = func.value_and_grad(f2, argnums=(0, 1))(x, y)
    assert v == pytest.approx(f2_float([x, y]))
    assert close(gx, central_diff(f2_float, [x, y], 0), 1e-6)
    assert close(gy, central_diff(f2_float, [x, y], 1), 1e-6)
    assert func.grad(f2)(x, y) == gx
    assert func.grad(f2, argnums=1)(x, y) == gy


@given(floats, floats)
def test_hessian_matches_finite_differences_and_is_symmetric(x: float, y: float) -> None:
    h = func.hessian(f2, argnums=(0, 1))(x, y)
    for i in range(2):
        for j in range(2):

            def gi(zs: list[float], i: int = i) -> float:
                return func.grad(f2, argnums=(0, 1))(*zs)[i]  # type: ignore[no-any-return]

            assert close(h[i][j], central_diff(gi, [x, y], j), 1e-4)
    assert h[0][1] == pytest.approx(h[1][0])


@given(floats, floats, floats, floats)
def test_hvp_equals_hessian_times_vector(x: float, y: float, v0: float, v1: float) -> None:
    value, hv = func.hvp(f2, [x, y], [v0, v1])
    h = func.hessian(f2, argnums=(0, 1))(x, y)
    assert value == pytest.approx(f2_float([x, y]))
    assert hv == pytest.approx([h[0][0] * v0 + h[0][1] * v1, h[1][0] * v0 + h[1][1] * v1],
                               rel=1e-9, abs=1e-9)


def test_jacobian_of_a_vector_function() -> None:
    jac = func.jacobian(lambda a, b: [a * b, a + b, a.tanh()], argnums=(0, 1))(2.0, 3.0)
    expected = [[3.0, 2.0], [1.0, 1.0], [1 - math.tanh(2.0) ** 2, 0.0]]
    for row, want in zip(jac, expected):
        assert row == pytest.approx(want)


def test_unused_argument_has_zero_gradient_and_constants_pass_through() -> None:
    assert func.grad(lambda a, b: a * 2, argnums=1)(1.0, 5.0) == 0.0
    assert func.grad(lambda a, k: a * k)(3.0, 4) == 4.0
    assert func.grad(lambda a, k: a * len(k))(3.0, "abcd") == 4.0


def test_errors() -> None:
    with pytest.raises(TypeError, match="must return a Value"):
        func.grad(lambda a: 3.0)(1.0)  # type: ignore[arg-type, return-value]
    with pytest.raises(ValueError, match="argnums 3 is out of range"):
        func.grad(lambda a: a, argnums=3)(1.0)
    with pytest.raises(ValueError, match="argnums is empty"):
        func.grad(lambda a: a, argnums=())(1.0)
    with pytest.raises(TypeError, match="argument 0"):
        func.grad(lambda a: a)("x")
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        func.hvp(lambda a, b: a * b, [1.0, 2.0], [1.0])
