"""The engine's generated fast paths: committed text matches the generator,
and they compute exactly what the general path computes."""

from __future__ import annotations

import math
import pathlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd import codegen as cg

ENGINE = pathlib.Path(autograd.__file__).with_name("engine.py")


def test_committed_block_matches_the_generator() -> None:
    text = ENGINE.read_text()
    start, end = text.index(cg.BEGIN), text.index(cg.END) + len(cg.END)
    assert text[start:end] == cg.fast_paths_source(), (
        "autograd/engine.py's generated block drifted from the op table's templates; "
        "run: python -m autograd.codegen"
    )


def test_fast_methods_are_the_generated_functions() -> None:
    for name, (left, right) in cg.FAST_BINARY.items():
        assert getattr(Value, left).__name__ == f"_fast_{name}"
        assert getattr(Value, right).__name__ == f"_fast_r{name}"
    for name, method in cg.FAST_UNARY.items():
        assert getattr(Value, method).__name__ == f"_fast_{name}"


def test_write_engine_refuses_a_file_without_the_block(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "engine.py"
    p.write_text("x = 1\n")
    with pytest.raises(ValueError, match=r"no .* block to replace"):
        cg.write_engine(p)


special = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 0.5, math.inf, -math.inf, math.nan])
floats = st.floats(-5, 5) | special


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@given(floats, floats)
def test_fast_paths_equal_the_general_path(a: float, b: float) -> None:
    for name in cg.FAST_BINARY:
        op = autograd.get_op(name)
        for lhs, rhs in [(Value(a), Value(b)), (Value(a), b), (a, Value(b))]:
            fast = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y,
                    "mul": lambda x, y: x * y, "div": lambda x, y: x / y,
                    "pow": lambda x, y: x**y}[name](lhs, rhs)
            general = autograd.apply(op, lhs, rhs)
            assert fast.op == general.op == name
            assert _same(fast.data, general.data), (name, lhs, rhs)
            assert len(fast.partials) == len(general.partials)
            assert all(map(_same, fast.partials, general.partials)), (name, lhs, rhs)
            assert fast.operands == general.operands  # constants kept in place
    for name, method in cg.FAST_UNARY.items():
        x = Value(a)
        fast = getattr(x, method)()
        general = autograd.apply(name, x)
        assert _same(fast.data, general.data) and all(
            map(_same, fast.partials, general.partials)
        ), (name, a)


def _general(name: str, operands: list) -> Value:
    return autograd.apply(autograd.get_op(name), *operands)


@given(st.lists(floats, min_size=2, max_size=9))
def test_group_fast_paths_equal_the_general_path(xs: list[float]) -> None:
    vs = [Value(x) for x in xs]
    h = len(vs) // 2
    for name, fast, operands in [
        ("sum", autograd.sum(vs), vs), ("mean", autograd.mean(vs), vs),
        ("logsumexp", autograd.logsumexp(vs), vs),
        ("dot", autograd.dot(vs[:h], vs[h:2 * h]), vs[:2 * h]),
    ]:
        general = _general(name, operands)
        assert fast.op == general.op == name
        assert fast.parents == general.parents
        assert _same(fast.data, general.data), (name, xs)
        assert all(map(_same, fast.partials, general.partials)), (name, xs)


@given(st.lists(floats, min_size=2, max_size=9))
def test_softmax_fast_outputs_equal_the_general_path(xs: list[float]) -> None:
    vs = [Value(x) for x in xs]
    outs = autograd.softmax(vs)
    lse = outs[0].parents[1]
    for v, out in zip(vs, outs):
        general = _general("softmax_out", [v, lse])
        assert out.parents == general.parents == (v, lse)
        assert _same(out.data, general.data), xs
        assert all(map(_same, out.partials, general.partials)), xs


def test_sum_and_mean_partials_of_any_length() -> None:
    for n in (2, 3, cg.CACHED_LOCAL, cg.CACHED_LOCAL + 1, 200):
        vs = [Value(float(i)) for i in range(n)]
        assert autograd.sum(vs).partials == (1.0,) * n
        assert autograd.mean(vs).partials == (1.0 / n,) * n
        assert autograd.mean(tuple(vs)).parents == tuple(vs)
