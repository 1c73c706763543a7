"""autograd.testing: strategies stay in each op's domain, aim at kinks, and failures show
the expression and the table."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd.custom import remove_op
from autograd.testing import Expression, Step, assert_grads_match, expressions, operands, points
from tests.docs_text import exec_block, page

BUILTIN = [op for op in autograd.iter_ops() if op.builtin]


def _operand_values(expr: Expression) -> list[tuple[str, list[float]]]:
    """(op, operand floats) for every op node, replaying the expression on floats."""
    values: list[float] = []
    out = []
    for s in expr.steps:
        if not s.op:
            values.append(expr.inputs[int(s.args[0])])
            continue
        fl = [values[a] if isinstance(a, int) else a for a in s.args]
        out.append((s.op, fl))
        values.append(autograd.get_op(s.op).forward(*fl))
    return out


def _in_domain(op_name: str, fl: list[float]) -> bool:
    op = autograd.get_op(op_name)
    doms = [op.domain[0]] * len(fl) if op.arity < 0 else list(op.domain)
    return all(lo <= v <= hi for v, (lo, hi) in zip(fl, doms))


@given(expressions(BUILTIN))
def test_every_operand_of_every_node_is_inside_its_ops_domain(expr: Expression) -> None:
    for name, fl in _operand_values(expr):
        if name == "sum" and expr.steps[-1].op == "sum":
            continue  # the closing sum of sinks takes any values
        assert _in_domain(name, fl), (name, fl)


@pytest.mark.parametrize("op", BUILTIN, ids=lambda o: o.name)
@settings(max_examples=min(settings().max_examples, 100))
@given(data=st.data())
def test_operands_are_in_the_domain_or_at_a_kink(op: autograd.Op, data: st.DataObject) -> None:
    at_kinks = data.draw(st.booleans())
    ops = data.draw(operands(op, at_kinks=at_kinks))
    kinks = [k.at for k in op.kinks]
    assert _in_domain(op.name, list(ops)) or ops in kinks
    if at_kinks and ops not in kinks:
        assert all(v * 2 == int(v * 2) or (v in dom) for v, dom in zip(ops, op.domain * 8))


def test_points_at_kinks_are_integers_halves_and_ends() -> None:
    seen = {find(points(-1.2, 1.0, at_kinks=True), lambda v, t=t: v == t) for t in (-1.2, 0.0, 0.5)}
    assert seen == {-1.2, 0.0, 0.5}
    with pytest.raises(ValueError, match="lo <= hi"):
        points(2.0, 1.0)


def test_log_leaves_are_positive_and_division_stays_away_from_zero() -> None:
    @settings(max_examples=60)
    @given(expressions(["log", "div"], max_steps=4))
    def check(expr: Expression) -> None:
        for name, fl in _operand_values(expr):
            if name == "log":
                assert fl[0] > 0
            if name == "div":
                assert abs(fl[1]) >= 0.2

    check()


def test_shared_subexpressions_occur() -> None:
    def shares(e: Expression) -> bool:
        refs = [a for s in e.steps if s.op for a in s.args if isinstance(a, int)]
        return any(refs.count(r) > 1 and e.steps[r].op != "" for r in set(refs))

    expr = find(expressions(["mul", "tanh"]), shares)
    assert shares(expr)


def test_at_kinks_hits_relu_at_zero() -> None:
    def relu_of_zero_input(e: Expression) -> bool:
        return any(
            s.op == "relu" and isinstance(s.args[0], int) and not e.steps[s.args[0]].op
            and e.inputs[int(e.steps[s.args[0]].args[0])] == 0.0
            for s in e.steps
        )

    expr = find(expressions(["relu", "add"], at_kinks=True), relu_of_zero_input)
    result = autograd.gradcheck(expr, list(expr.inputs))
    assert result.passed
    assert any(k.op == "relu" for k in result.kinks)


def test_expression_prints_as_a_program_and_builds_the_graph() -> None:
    expr = Expression(
        (Step("", (0,)), Step("", (1,)), Step("mul", (0, 1)), Step("relu", (2,)),
         Step("add", (3, 2.5))),
        (0.5, -2.0),
    )
    assert str(expr) == "x0 = 0.5, x1 = -2.0\nt2 = mul(x0, x1)\nt3 = relu(t2)\nout = add(t3, 2.5)"
    a, b = Value(0.5), Value(-2.0)
    out = expr(a, b)
    assert out.data == 2.5 and out.op == "add"
    with pytest.raises(TypeError, match="takes 2 input"):
        expr(a)


def test_failure_shows_the_shrunk_expression_and_the_table() -> None:
    autograd.custom_op("wrong_sq", forward=lambda x: x * x, derivative=lambda x: 3 * x)
    try:
        @settings(max_examples=50, database=None)
        @given(expressions(["wrong_sq", "add"], max_steps=3))
        def prop(expr: Expression) -> None:
            assert_grads_match(expr)

        with pytest.raises(AssertionError) as info:
            prop()
    finally:
        remove_op("wrong_sq")
    text = str(info.value)
    assert "gradients of autodiff and finite differences differ for" in text
    assert re.search(r"out = wrong_sq\(x0\)|= wrong_sq\(", text)
    assert "culprit: node" in text and "(wrong_sq, input" in text
    assert "autodiff" in text and "finite diff" in text


def test_assert_grads_match_on_a_plain_function() -> None:
    result = assert_grads_match(lambda a, b: (a * b).tanh() + b.log(), [0.3, 1.5],
                                second_order=True)
    assert result.passed
    with pytest.raises(TypeError, match="pass inputs="):
        assert_grads_match(lambda a: a)
    with pytest.raises(AssertionError, match="differ for\ntest_assert"):
        assert_grads_match(lambda a: a * Value(a.data), [2.0])


def test_expressions_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="ops is empty"):
        expressions([])
    with pytest.raises(ValueError, match="max_steps"):
        expressions(max_steps=0)
    with pytest.raises(autograd.UnknownOpError):
        expressions(["no_such_op"])


def test_import_without_hypothesis_says_how_to_install() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    import autograd.testing\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert 'pip install "chainrule[testing]"' in out.stdout


def _checking_block(title: str) -> str:
    text = page("checking")
    start = text.index(title)
    block = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert block is not None
    return block.group(1)


def test_docs_five_line_property_test_runs() -> None:
    code = _checking_block("Property-test your own function in five lines")
    lines = [ln for ln in code.strip().splitlines() if ln.strip()]
    assert len(lines) <= 6  # the import line of hypothesis and five lines
    ns: dict[str, object] = {}
    exec_block(code, ns, "five-line property test")
    tests = [v for k, v in ns.items() if k.startswith("test_") and callable(v)]
    assert tests
    for t in tests:
        t()


def test_docs_failure_report_is_what_the_user_sees() -> None:
    region = page("checking")
    code = re.search(r"```python\n(# a deliberately wrong.*?)```", region, re.S)
    assert code is not None
    shown = re.search(r"```text\n(gradcheck of .*?)```", region[code.end():], re.S)
    assert shown is not None
    ns: dict[str, object] = {}
    before = set(autograd.OPS)
    try:
        with pytest.raises(autograd.GradcheckError) as info:
            exec_block(code.group(1), ns, "a deliberately wrong derivative")
    finally:
        for name in set(autograd.OPS) - before:
            remove_op(name)
    # error estimates (x.ye-zz) may differ in the last digit between libms
    def norm(t: str) -> str:
        return re.sub(r"\d\.\de-\d\d", "E", t.strip())

    assert norm(str(info.value)) == norm(shown.group(1))
    assert not math.isnan(info.value.result.value)


def _region() -> str:
    return page("checking")


def _norm(t: str) -> str:
    return re.sub(r"\d\.\de-\d\d", "E", t.strip())


def test_docs_tables_are_what_gradcheck_prints() -> None:
    blocks = re.findall(r"```text\n(gradcheck of a lambda.*?)```", _region(), re.S)
    assert len(blocks) == 2
    smooth = autograd.gradcheck(lambda x, y: x * y + x.sin(), [1.0, 2.0])
    kink = autograd.gradcheck(lambda x: x.relu(), [0.0])
    assert [_norm(b) for b in blocks] == [_norm(str(smooth)), _norm(str(kink))]


def test_docs_custom_op_example_runs() -> None:
    region = page("ops")
    start = region.index("## Custom ops")
    block = re.search(r"```python\n(.*?)```", region[start:], re.S)
    assert block is not None
    before = set(autograd.OPS)
    ns: dict[str, object] = {}
    try:
        exec_block(block.group(1), ns, "block")
        y = ns["y"]
        assert isinstance(y, Value)
        s1, s2 = 1 / (1 + math.exp(-1.0)), 2 / (1 + math.exp(-2.0))
        assert y.data == pytest.approx(s1 + s2)
    finally:
        for name in set(autograd.OPS) - before:
            remove_op(name)
