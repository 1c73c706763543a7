"""Tests of autograd.expr: the safe expression parser behind ``chainrule graph``/``check``."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd.expr import (
    MAX_DEPTH,
    MAX_LABEL,
    MAX_NODES,
    MAX_SOURCE_LENGTH,
    Expression,
    ExpressionError,
    compile_expression,
    evaluate,
    parse_bindings,
)

# ---------------------------------------------------------------------------
# Building graphs


def test_evaluate_builds_the_same_graph_as_python() -> None:
    root, leaves = evaluate("tanh(w*x + b)", {"x": 0.5, "w": -3.0, "b": 2.0})
    root.backward()
    x, w, b = Value(0.5), Value(-3.0), Value(2.0)
    ref = (w * x + b).tanh()
    ref.backward()
    assert root.data == ref.data
    assert (leaves["x"].grad, leaves["w"].grad, leaves["b"].grad) == (x.grad, w.grad, b.grad)
    assert list(leaves) == ["w", "x", "b"]  # order of first appearance
    assert all(leaves[n].label == n for n in leaves)
    assert root.op == "tanh"


def test_variables_in_order_of_first_appearance() -> None:
    e = compile_expression("b * a + c / a - b")
    assert isinstance(e, Expression)
    assert e.variables == ("b", "a", "c")
    assert e.source == "b * a + c / a - b"


def test_constants_are_folded_into_nodes() -> None:
    root, (leaves) = evaluate("x * 2", {"x": 3.0})
    assert root.op == "mul"
    assert root.parents == (leaves["x"],)
    assert root.operands == (leaves["x"], 2.0)
    root2, _ = evaluate("x * (2 + 1)", {"x": 3.0})
    assert root2.operands[1] == 3.0


def test_every_function_form() -> None:
    src = ("sum(x, 2, clamp(y, -1, 1), leaky_relu(x, 0.1), maximum(x, y), minimum(x, y),"
           " mean(x, y), logsumexp(x, y), dot(x, y, y, x), abs(-x), +x, x ** 2)")
    root, leaves = evaluate(src, {"x": -0.5, "y": 2.0})
    x, y = Value(-0.5), Value(2.0)
    ref = autograd.sum([x, 2, y.clamp(-1, 1), x.leaky_relu(0.1), autograd.maximum(x, y),
                        autograd.minimum(x, y), autograd.mean([x, y]),
                        autograd.logsumexp([x, y]), autograd.dot([x, y], [y, x]),
                        abs(-x), x, x ** 2])
    root.backward()
    ref.backward()
    assert root.data == pytest.approx(ref.data, rel=1e-12)
    assert leaves["x"].grad == pytest.approx(x.grad, rel=1e-12)
    assert leaves["y"].grad == pytest.approx(y.grad, rel=1e-12)


def test_call_with_values_keeps_them() -> None:
    e = compile_expression("x * y")
    x = Value(2.0, label="mine")
    out = e(x=x, y=3.0)
    assert out.parents[0] is x
    assert x.label == "mine"
    assert out.parents[1].label == "y"


def test_constant_expression_gives_a_leaf() -> None:
    out = compile_expression("2 ** 3 - 1")()
    assert out.data == 7.0
    assert out.is_leaf


def test_huge_power_of_constants_is_inf_not_a_hang() -> None:
    out = compile_expression("10 ** 10 ** 10")()
    assert out.data == math.inf


def test_missing_and_extra_names() -> None:
    e = compile_expression("x + y")
    with pytest.raises(ExpressionError, match=r"no value for variable\(s\) y"):
        e(x=1.0)
    with pytest.raises(ExpressionError, match=r"given for z, which the expression does not use"):
        e(x=1.0, y=2.0, z=3.0)
    with pytest.raises(ExpressionError, match="no value for variable"):
        evaluate("x + y", {"x": 1.0})
    with pytest.raises(ExpressionError, match="does not use"):
        evaluate("x", {"x": 1.0, "q": 2.0})
    with pytest.raises(ExpressionError, match="must be a real number"):
        e(x="1", y=2.0)  # type: ignore[arg-type]


# A random expression, as text and as the Python function that builds the same graph.
_UNARY = ("tanh", "sigmoid", "sin", "cos", "exp", "softplus", "erf", "abs", "relu", "gelu")


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0) -> tuple[str, object]:
    names = ("a", "b", "c")
    if depth >= 4 or draw(st.integers(0, 3)) == 0:
        if draw(st.booleans()):
            n = draw(st.sampled_from(names))
            return n, lambda env, n=n: env[n]
        k = draw(st.integers(-5, 5)) / 2
        return f"({k!r})", lambda env, k=k: k
    kind = draw(st.sampled_from(("bin", "bin", "un", "call")))
    if kind == "un":
        s, f = draw(_expressions(depth + 1))
        return f"-({s})", lambda env, f=f: -f(env)
    if kind == "call":
        name = draw(st.sampled_from(_UNARY))
        s, f = draw(_expressions(depth + 1))
        if name == "abs":
            return f"abs({s})", lambda env, f=f: abs(f(env))
        return f"{name}({s})", lambda env, f=f, name=name: _call(name, f(env))
    sym = draw(st.sampled_from(("+", "-", "*")))
    s1, f1 = draw(_expressions(depth + 1))
    s2, f2 = draw(_expressions(depth + 1))
    ops = {"+": lambda p, q: p + q, "-": lambda p, q: p - q, "*": lambda p, q: p * q}
    return f"({s1}) {sym} ({s2})", lambda env, f1=f1, f2=f2, op=ops[sym]: op(f1(env), f2(env))


def _call(name: str, x: object) -> object:
    if isinstance(x, Value):
        return getattr(x, name)()
    return autograd.get_op(name).forward(x)


@given(_expressions(), st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_random_expressions_match_python(expr: tuple[str, object], xs: list[float]) -> None:
    src, build = expr
    env = dict(zip("abc", xs, strict=True))
    e = compile_expression(src)
    root = e(**{n: env[n] for n in e.variables})
    leaves = {n: Value(env[n]) for n in e.variables}
    ref = build(leaves)  # type: ignore[operator]
    ref_data = ref.data if isinstance(ref, Value) else float(ref)
    assert root.data == pytest.approx(ref_data, rel=1e-12, abs=1e-12)
    if isinstance(ref, Value):
        got = autograd.grad(root, list(_leaves_of(root, e.variables).values()),
                            allow_unused=True)
        want = autograd.grad(ref, list(leaves.values()), allow_unused=True)
        for g, w in zip(got, want, strict=True):
            assert g.data == pytest.approx(w.data, rel=1e-9, abs=1e-12)


def _leaves_of(root: Value, names: tuple[str, ...]) -> dict[str, Value]:
    found: dict[str, Value] = {}
    stack = [root]
    seen = set()
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v.is_leaf and v.label in names:
            found[v.label] = v
        stack.extend(v.parents)
    return {n: found.get(n, Value(0.0)) for n in names}


# ---------------------------------------------------------------------------
# Rejections: the message names the problem, quotes the source and puts a caret under it.


def _error(src: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        compile_expression(src)
    return info.value


def _caret_under(err: ExpressionError, part: str) -> None:
    """The message's caret line underlines exactly ``part`` of the quoted source."""
    lines = str(err).splitlines()
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1]
        if nxt.strip() and set(nxt.strip()) == {"^"}:
            col = nxt.index("^")
            assert line[col:col + len(nxt.strip())] == part, str(err)
            return
    raise AssertionError(f"no caret line in:\n{err}")


def _points_at(err: ExpressionError, prefix: str, reason: str, text: str,
               part: str | None) -> str:
    """The message starts with ``prefix``, gives ``reason``, quotes ``text`` and puts a
    caret under ``part`` (when given). Returns the message."""
    msg = str(err)
    assert msg.startswith(prefix)
    assert reason in msg
    assert text in msg  # the source is quoted
    if part is not None:
        _caret_under(err, part)
    return msg


@pytest.mark.parametrize(
    ("src", "reason", "part"),
    [
        ("x.__class__", "attribute access not allowed", "x.__class__"),
        ("tanh(x).real", "attribute access not allowed", "tanh(x).real"),
        ("x.exp()", "attribute access not allowed", "x.exp"),
        ("__import__('os')", "dunder names such as __import__ are not allowed", "__import__"),
        ("x + __builtins__", "dunder names such as __builtins__", "__builtins__"),
        ("(lambda: 1)()", "only named functions can be called", "lambda: 1"),
        ("lambda: 1", "lambda not allowed", "lambda: 1"),
        ("sum([x for x in y])", "comprehensions not allowed", "[x for x in y]"),
        ("sum(x for x in y)", "comprehensions (generator expressions) not allowed",
         "(x for x in y)"),
        ("{k: 1 for k in y}", "comprehensions not allowed", "{k: 1 for k in y}"),
        ("x[0]", "subscripts (indexing) not allowed", "x[0]"),
        ("x + open(y)", "unknown function open()", "open"),
        ("eval(x)", "unknown function eval()", "eval"),
        ("x if y else 1", "conditional expressions", "x if y else 1"),
        ("x < 2", "comparisons not allowed", "x < 2"),
        ("x // 2", "the operator '//' is not allowed", "x // 2"),
        ("x % 2", "the operator '%' is not allowed", "x % 2"),
        ("~x", "the unary operator '~' is not allowed", "~x"),
        ("'a' * 3", "str literals not allowed", "'a'"),
        ("1j * x", "complex numbers not allowed", "1j"),
        ("True + x", "bool literals not allowed", "True"),
        ("tanh(x, y=2)", "keyword arguments are not allowed in tanh()", "y=2"),
        ("tanh", "tanh is a function; call it", "tanh"),
        ("1e999 * x", "beyond the float range", "1e999"),
        ("tanh(x, y)", "tanh() takes 1 argument(s), got 2", "tanh(x, y)"),
        ("leaky_relu(x)", "leaky_relu() takes 2 argument(s), the last 1 of them constant", None),
        ("leaky_relu(x, y)", "argument 2 of leaky_relu() is a constant parameter", "y"),
        ("clamp(x, -1, y * 2)", "argument 3 of clamp() is a constant parameter", "y * 2"),
        ("mean()", "mean() needs at least one argument", "mean()"),
        ("dot(x, y, z)", "dot() takes an even number of arguments", "dot(x, y, z)"),
        ("(x := 2)", "assignment expressions", "x := 2"),
        ("x +", "invalid syntax", None),
    ],
)
def test_rejections_point_at_the_offending_part(src: str, reason: str, part: str | None) -> None:
    err = _error(src)
    _points_at(err, "expression: ", reason, src, part)
    assert err.source == src
    assert isinstance(err, ValueError)


def _columns(text: str) -> list[int]:
    """The terminal column where each character of ``text`` starts (tabs to 8)."""
    import unicodedata

    cols, col = [], 0
    for ch in text:
        cols.append(col)
        if ch == "\t":
            col = (col // 8 + 1) * 8
        elif unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            pass
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            col += 2
        else:
            col += 1
    cols.append(col)
    return cols


@pytest.mark.parametrize(
    ("src", "part"),
    [
        ("x\t+ foo(y)", "foo"),
        ("\u65e5\u672c + foo(y)", "foo"),  # two wide characters before it
        ("e\u0301 + foo(x)", "foo"),  # a combining accent before it
        ("\u65e5\u672c +* y", "*"),  # a syntax error after wide characters
        ("a\t+ x[0]", "x[0]"),
    ],
)
def test_the_caret_sits_under_the_offending_token_on_a_terminal(src: str, part: str) -> None:
    # the caret line was padded with one space per character: under a tab, a wide (CJK)
    # character or a combining mark it pointed beside the token
    lines = str(_error(src)).splitlines()
    quoted, carets = lines[1], lines[2]
    at = quoted.index(part)
    src_cols = _columns(quoted)
    caret_cols = _columns(carets)
    first = carets.index("^")
    assert caret_cols[first] == src_cols[at], str(_error(src))


def test_rejection_says_what_is_allowed() -> None:
    msg = str(_error("x.y"))
    assert "allowed: variable names" in msg
    for op in autograd.iter_ops():  # every built-in function of the table is listed
        if op.api != "operator" and op.builtin:
            assert op.name in msg


def test_names_outside_the_table_are_unknown_calls() -> None:
    msg = str(_error("softsign(x)"))
    assert "unknown function softsign()" in msg
    assert "softsign" not in msg.split("calls of:")[1]


def test_huge_inputs_are_rejected() -> None:
    with pytest.raises(ExpressionError, match="too long"):
        compile_expression("x+" * (MAX_SOURCE_LENGTH // 2) + "x")
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expression("+".join(["x"] * (MAX_DEPTH + 5)))
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expression("tanh(" * (MAX_DEPTH + 5) + "x" + ")" * (MAX_DEPTH + 5))
    with pytest.raises(ExpressionError, match="too large"):
        compile_expression("sum(" + ",".join(["x"] * (MAX_NODES + 1)) + ")")
    with pytest.raises(ExpressionError, match="beyond the float range"):
        compile_expression("1" + "0" * 400 + " * x")
    with pytest.raises(ExpressionError):  # Python's own parser limit, not a crash
        compile_expression("(" * 500 + "x" + ")" * 500)


def test_within_limits_works() -> None:
    e = compile_expression("+".join(["x"] * (MAX_DEPTH - 1)))
    assert e(x=1.0).data == MAX_DEPTH - 1
    e2 = compile_expression("sum(" + ",".join(["x"] * 1000) + ")")
    assert e2(x=0.5).data == 500.0


def test_empty_and_non_string() -> None:
    with pytest.raises(ExpressionError, match="empty"):
        compile_expression("  ")
    with pytest.raises(TypeError, match="must be a str"):
        compile_expression(3)  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_arbitrary_text_never_escapes_as_another_error(text: str) -> None:
    try:
        e = compile_expression(text)
    except ExpressionError:
        return
    out = e(**dict.fromkeys(e.variables, 0.5))
    assert isinstance(out, Value)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_junk_from_python_grammar_is_rejected_cleanly(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["x", "(", ")", ".", "__", "[", "]", ",", "lambda", ":", "for", "in", "1", "*",
              "**", "tanh", "y", "=", "'", "if", "else", " "]
    for _ in range(200):
        src = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        try:
            compile_expression(src)
        except ExpressionError as err:
            assert str(err).startswith("expression: ")


# ---------------------------------------------------------------------------
# Bindings


def test_parse_bindings() -> None:
    assert parse_bindings("x=0.5,w=-3,b=2") == {"x": 0.5, "w": -3.0, "b": 2.0}
    assert parse_bindings(" x = 1e-3 , y=  -0 ") == {"x": 0.001, "y": -0.0}
    assert parse_bindings("") == {}
    got = parse_bindings("a=nan,b=inf")
    assert math.isnan(got["a"]) and got["b"] == math.inf
    assert list(parse_bindings("z=1,a=2")) == ["z", "a"]


@pytest.mark.parametrize(
    ("text", "reason", "part"),
    [
        ("x=0.5,w=abc", "the value of w, 'abc', is not a number", "abc"),
        ("x=0.5,w", "expected name=number, got 'w'", "w"),
        ("x=1,x=2", "x is given twice", "x"),
        ("1x=2", "'1x' is not a variable name", "1x"),
        ("__class__=2", "'__class__' is not a variable name", "__class__"),
        ("x=1,,y=2", "expected name=number, got ''", None),
        ("x=", "is not a number", None),
    ],
)
def test_bad_bindings(text: str, reason: str, part: str | None) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_bindings(text)
    msg = _points_at(info.value, "bindings: ", reason, text, part)
    assert "x=0.5,w=-3,b=2" in msg  # the example of what is allowed


# ---------------------------------------------------------------------------
# labels of interior nodes, look-alike names, runs of signs


def test_label_nodes_names_interior_nodes_with_their_text() -> None:
    root, leaves = evaluate("tanh(w*x + b) * (x - 1)", {"w": -3.0, "x": 0.5, "b": 2.0},
                            label_nodes=True)
    labels = {n.label for n in autograd.backward_order(root)}
    assert {"w*x", "w*x + b", "tanh(w*x + b)", "x - 1"} <= labels
    assert root.label == ""  # the root is the whole expression
    assert [v.label for v in leaves.values()] == ["w", "x", "b"]
    # the default leaves interior nodes unlabelled, as before
    plain, _ = evaluate("tanh(w*x + b)", {"w": -3.0, "x": 0.5, "b": 2.0})
    assert all(n.label == "" for n in autograd.backward_order(plain))


def test_long_sub_expressions_are_shortened_and_put_on_one_line() -> None:
    src = "(tanh(" + " + ".join(f"v{i}*v{i}" for i in range(20)) + ")\n * 2)"
    expr = compile_expression(src)
    root = expr.build(dict.fromkeys(expr.variables, 0.1), label_nodes=True)
    labels = [n.label for n in autograd.backward_order(root)]
    assert all(len(t) <= MAX_LABEL and "\n" not in t for t in labels)
    assert any(t.endswith("…") for t in labels)


@given(st.integers(MAX_DEPTH + 1, 4_000), st.sampled_from(["-", "+", "- ", "+-"]))
def test_runs_of_signs_get_a_message_not_a_parser_crash(n: int, sign: str) -> None:
    with pytest.raises(ExpressionError, match=r"signs in a row nest deeper than the limit"):
        compile_expression(sign * n + "x")


def test_parentheses_nested_too_deep_get_a_message() -> None:
    with pytest.raises(ExpressionError, match=r"nested too deeply \(parentheses 3000 deep"):
        compile_expression("(" * 3000 + "x" + ")" * 3000)
    assert compile_expression("-" * 50 + "x").variables == ("x",)


@pytest.mark.parametrize(("typed", "normal"), [("ｘ", "x"), ("ﬁ", "fi"), ("ℌ", "H"),
                                                ("ｗ１", "w1")])
def test_look_alike_names_are_one_variable_in_expression_and_bindings(typed: str,
                                                                      normal: str) -> None:
    root, leaves = evaluate(f"{typed} * {normal}", parse_bindings(f"{typed}=3"))
    assert list(leaves) == [normal] and root.data == 9.0
    with pytest.raises(ExpressionError, match=f"{normal} is given twice"):
        parse_bindings(f"{normal}=1,{typed}=2")
