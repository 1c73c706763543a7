"""The op table is the single source of truth: every op's forward, float rule,
Value rule, kinks and IEEE edge cases are checked against it, and docs/ops.md's
copy of the table must match what the table generates."""

from __future__ import annotations

import math
import pathlib
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autograd
from autograd import Op, Value
from autograd.ops import op_table_markdown
from tests.helpers import central_diff, close, one_sided_disagree
from tests.strategies import operands_for

BUILTIN = [op for op in autograd.iter_ops() if op.builtin]
IDS = [op.name for op in BUILTIN]


def _n_inputs(op: Op, operands: tuple[float, ...]) -> int:
    return len(operands) - op.params


def _node(op: Op, operands: tuple[float, ...]) -> tuple[Value, list[Value]]:
    k = _n_inputs(op, operands)
    leaves = [Value(x) for x in operands[:k]]
    return autograd.apply(op, *leaves, *operands[k:]), leaves


@pytest.mark.parametrize("op", BUILTIN, ids=IDS)
@given(data=st.data())
def test_forward_and_partials_match_finite_differences(op: Op, data: st.DataObject) -> None:
    operands = data.draw(operands_for(op))
    node, leaves = _node(op, operands)
    assert close(node.data, op.forward(*operands), 1e-12)
    k = _n_inputs(op, operands)

    def f(xs: list[float]) -> float:
        return op.forward(*xs, *operands[k:])

    for i in range(k):
        if op.kinks:  # finite differences are meaningless across a kink
            assume(not one_sided_disagree(f, list(operands[:k]), i))
        numeric = central_diff(f, list(operands[:k]), i)
        assert close(node.partials[i], numeric, 1e-5), (op.name, operands, i)
    # backward delivers exactly the stored partials to the leaves
    node.backward()
    for leaf, d in zip(leaves, node.partials):
        assert leaf.grad == pytest.approx(d, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("op", BUILTIN, ids=IDS)
@given(data=st.data())
def test_value_rule_agrees_with_float_rule(op: Op, data: st.DataObject) -> None:
    operands = data.draw(operands_for(op))
    node, leaves = _node(op, operands)
    grads = autograd.grad(node, leaves, create_graph=True)
    for g, d in zip(grads, node.partials):
        assert close(g.data, d, 1e-9), (op.name, operands)


@pytest.mark.parametrize("op", BUILTIN, ids=IDS)
@given(data=st.data())
def test_second_derivatives_match_finite_differences_of_first(
    op: Op, data: st.DataObject
) -> None:
    operands = data.draw(operands_for(op))
    k = _n_inputs(op, operands)
    node, leaves = _node(op, operands)
    firsts = autograd.grad(node, leaves, create_graph=True)

    def forward(xs: list[float]) -> float:
        return op.forward(*xs, *operands[k:])

    for i, g in enumerate(firsts):
        second = autograd.grad(g, leaves, allow_unused=True)

        def first_i(xs: list[float], i: int = i) -> float:
            out = op.forward(*xs, *operands[k:])
            return op.local(out, *xs, *operands[k:])[i]

        for j in range(k):
            if op.kinks:  # skip kinks of the op and of its first derivative
                assume(not one_sided_disagree(forward, list(operands[:k]), j))
                assume(not one_sided_disagree(first_i, list(operands[:k]), j))
            numeric = central_diff(first_i, list(operands[:k]), j)
            assert close(second[j].data, numeric, 1e-4), (op.name, operands, i, j)


KINKS = [(op, kink) for op in BUILTIN for kink in op.kinks]


@pytest.mark.parametrize("op,kink", KINKS, ids=[f"{o.name}@{k.at}" for o, k in KINKS])
def test_kink_conventions(op: Op, kink: autograd.Kink) -> None:
    node, _ = _node(op, kink.at)
    assert node.partials == pytest.approx(kink.partials)
    assert kink.note


SPECIALS = [(op, s) for op in BUILTIN for s in op.specials]


@pytest.mark.parametrize("op,special", SPECIALS, ids=[f"{o.name}{s.at}" for o, s in SPECIALS])
def test_ieee_edge_cases_never_raise(op: Op, special: autograd.Special) -> None:
    node, leaves = _node(op, special.at)
    assert close(node.data, special.result, 1e-12)
    node.backward()  # must not raise either
    for leaf in leaves:
        assert isinstance(leaf.grad, float)


def test_every_op_has_a_documented_rule() -> None:
    for op in BUILTIN:
        assert op.formula and op.derivative and op.doc, op.name
        assert op.domain, op.name
        expected = op.arity if op.arity >= 0 else 1
        assert len(op.domain) == expected, op.name


def test_missing_rule_names_the_op() -> None:
    with pytest.raises(autograd.UnknownOpError, match="'frobnicate'"):
        autograd.get_op("frobnicate")
    with pytest.raises(autograd.UnknownOpError, match="register_op"):
        autograd.apply("frobnicate", Value(1.0))


def test_register_op_rejects_duplicates_and_non_ops() -> None:
    with pytest.raises(ValueError, match="'tanh' is already in the table"):
        autograd.register_op(autograd.get_op("tanh"))
    with pytest.raises(TypeError, match="expected an Op"):
        autograd.register_op("tanh")  # type: ignore[arg-type]


def test_docs_op_table_is_generated_from_the_table() -> None:
    text = (pathlib.Path(__file__).parent.parent / "docs" / "ops.md").read_text()
    m = re.search(r"<!-- op-table:start -->\n(.*?)<!-- op-table:end -->", text, re.S)
    assert m, "docs/ops.md has no op-table markers"
    assert m.group(1) == op_table_markdown(), (
        "docs/ops.md's op table drifted from autograd/ops.py; regenerate it with "
        "python -m autograd.codegen"
    )


def test_readme_lists_every_builtin_op() -> None:
    table = op_table_markdown()
    for op in BUILTIN:
        assert f"| `{op.name}` |" in table


def test_methods_and_operators_reach_the_table() -> None:
    x = Value(0.3)
    for op in BUILTIN:
        if op.api == "method" and op.params == 0:
            node = getattr(x, op.name)()
            assert node.op == op.name
            assert node.data == op.forward(0.3)
    assert (x + 1).op == "add" and (x - 1).op == "sub" and (x * 2).op == "mul"
    assert (x / 2).op == "div" and (x**2).op == "pow" and (-x).op == "neg"
    assert abs(x).op == "abs"
    assert x.leaky_relu(0.2).op == "leaky_relu" and x.clamp(0, 1).op == "clamp"
    assert math.isclose(x.gelu().data, 0.5 * 0.3 * (1 + math.erf(0.3 / math.sqrt(2))))
