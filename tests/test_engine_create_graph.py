"""create_graph's fast paths: stored partials where they are constants, and the fused
backward rules an entry declares (``tanh_backward``: grad * (1 - out^2) as one node).

First derivatives are bit-identical to the plain ``grad``; higher ones match the
analytic derivatives; the fused nodes are ordinary table ops (differentiable again).
"""

from __future__ import annotations

import math
import struct

import pytest

import autograd
from autograd import Value, func
from autograd.ops import define_op


def _bits(x: float) -> str:
    return struct.pack("<d", x).hex()


def _chain(x: Value, act: str, n: int = 5) -> Value:
    y = x
    for _ in range(n):
        y = getattr(y * 1.0001 + 0.001, act)()
    return y


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "exp", "gelu", "relu", "sin", "log"])
def test_first_derivatives_are_the_plain_grads_bits(act: str) -> None:
    for x0 in (0.3, -0.7, 1.9):
        if act == "log" and x0 < 0:
            continue
        x = Value(x0)
        y = _chain(x, act, 3) * Value(0.7) + x * x
        g_graph, = autograd.grad(y, [x], create_graph=True)
        g_plain, = autograd.grad(y, [x])
        assert _bits(g_graph.data) == _bits(g_plain.data), (act, x0)


def test_tanh_and_sigmoid_gradients_are_one_fused_node() -> None:
    x = Value(0.4)
    w = Value(1.5)
    y = (x * w).tanh().sigmoid()
    gx, = autograd.grad(y * Value(2.0), [x], create_graph=True)  # a Value grad reaches y
    ops: set[str] = set()
    stack, seen = [gx], set()
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        ops.add(v.op)
        stack.extend(v.parents)
    assert {"tanh_backward", "sigmoid_backward"} <= ops
    entry = autograd.get_op("tanh_backward")
    assert entry.rule is not None and entry.rule.forward == "grad * (1.0 - result * result)"
    assert not entry.builtin  # kept out of the README's table


@pytest.mark.parametrize("x0", [-1.3, -0.2, 0.0, 0.6, 2.1])
def test_higher_derivatives_through_fused_nodes(x0: float) -> None:
    t = math.tanh(x0)
    x = Value(x0)
    g1, = autograd.grad(x.tanh(), [x], create_graph=True)
    g2, = autograd.grad(g1 * 1.0, [x], create_graph=True)
    g3, = autograd.grad(g2, [x])
    assert g1.data == 1 - t * t
    assert g2.data == pytest.approx(-2 * t * (1 - t * t), rel=1e-13, abs=1e-15)
    assert g3.data == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), rel=1e-12, abs=1e-15)
    s = 1 / (1 + math.exp(-x0))
    h = func.hessian(lambda v: (v * 3.0).sigmoid() * 2.0)(x0)[0][0]
    assert h == pytest.approx(2 * 9 * s_(3 * x0) * (1 - s_(3 * x0)) * (1 - 2 * s_(3 * x0)),
                              rel=1e-12, abs=1e-15)
    assert 0 < s < 1


def s_(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_gradgradcheck_through_fused_rules() -> None:
    def f(a: Value, b: Value) -> Value:
        return (a * b).tanh() * (a - b).sigmoid() + (a * 0.5).tanh().sigmoid()

    assert autograd.gradgradcheck(f, [0.3, -0.8]).passed


def test_a_fused_backward_must_cover_every_value_its_partial_reads() -> None:
    op = autograd.register_op(define_op(
        "sq_t", "sq", ("x",), "x * x", ("2.0 * x",), domain=((-1.0, 1.0),),
        fused_backward={"out": "0.0"}, builtin=False,
    ))
    try:
        x = Value(0.5)
        y = autograd.apply(op, x) * 3.0
        with pytest.raises(ValueError, match=r"sq_t: fused_backward must give .* for x"):
            autograd.grad(y, [x], create_graph=True)
    finally:
        autograd.custom.remove_op("sq_t")
