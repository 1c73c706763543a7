"""One formula per op: every form of an op is derived from its one entry.

Checks that the committed derived module is what the formulas render to, that
run-time rendering gives the same numbers, that the formula language refuses
what it does not define, that a new op written as one entry works everywhere
(backward, create_graph, compile, gradcheck, anomaly mode, the README table),
and that the representation renders into a third namespace (NumPy).
"""

from __future__ import annotations

import ast
import math
import pathlib
from collections.abc import Iterator
from typing import ClassVar

import pytest

import autograd
from autograd import Value, _derived
from autograd import codegen as cg
from autograd import formula as F
from autograd import formula_render as R
from autograd.ops import OPS, define_op, op_table_markdown, register_op
from tests.helpers import bits as _bits

BUILTIN = [op for op in autograd.iter_ops() if op.builtin]
IDS = [op.name for op in BUILTIN]
POINTS = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.5, 1e-300, 1e300, 1000.0, -1000.0,
          math.inf, -math.inf, math.nan]


def _samples(op: autograd.Op) -> Iterator[tuple[float, ...]]:
    n = op.arity if op.arity >= 0 else (4 if op.name == "dot" else 3)
    core = n - op.params
    params = tuple(lo for lo, _ in op.domain[core:]) if op.params else ()
    for i, a in enumerate(POINTS):
        for b in POINTS[i % 3 :: 3]:
            xs = [a, b, a * 0.5, b - 1.0][:core]
            yield (*xs, *params)


# ---------------------------------------------------------------------------
# Generated text matches the formulas.


def test_derived_module_matches_the_formulas() -> None:
    path = pathlib.Path(_derived.__file__)
    assert path.read_text() == cg.derived_source(), (
        "autograd/_derived.py drifted from the op table's formulas; run: python -m autograd.codegen"
    )


@pytest.mark.parametrize("op", BUILTIN, ids=IDS)
def test_builtin_entries_use_the_committed_forms(op: autograd.Op) -> None:
    assert op.rule is not None
    entry = _derived.RULES[op.name]
    assert entry[0] == op.rule.sources
    assert op.local is entry[2] and op.local_value is entry[3]


@pytest.mark.parametrize("op", BUILTIN, ids=IDS)
def test_run_time_rendering_gives_the_committed_numbers(op: autograd.Op) -> None:
    assert op.rule is not None
    fresh = R.derive(op.name, op.rule)
    assert (fresh.formula_text, fresh.derivative_text) == (op.formula, op.derivative)
    for xs in _samples(op):
        out = op.forward(*xs)
        assert _bits(fresh.forward(*xs)) == _bits(out), xs
        assert list(map(_bits, fresh.local(out, *xs))) == list(map(_bits, op.local(out, *xs)))


def test_a_changed_formula_is_rendered_at_definition_not_taken_from_the_stale_module() -> None:
    op = define_op("tanh", "tanh", ("x",), "tanh(x)", ("1.0 - out * out * 1.0",),
                   domain=((-3.0, 3.0),))
    assert op.local is not _derived.RULES["tanh"][2]
    assert op.local(0.5, 0.25) == (0.75,)


# ---------------------------------------------------------------------------
# The language refuses what it does not define, naming the op.


@pytest.mark.parametrize("forward,partial,match", [
    ("x ** 2", "2.0 * x", r"only \+ - \* / are allowed"),
    ("tanh(y)", "1.0", r"unknown name 'y'"),
    ("frob(x)", "1.0", r"unknown helper"),
    ("x if x > 0 else 0.0", "1.0", r"IfExp is not part of the formula language"),
    ("x > 0.0", "1.0", r"only in where's condition"),
    ("x", "where(x > 0.0, 1.0)", r"where takes \(condition, a, b\)"),
    ("x +", "1.0", r"cannot parse"),
    ("x", "'a'", r"only numbers may be literals"),
    ("x", "out[0]", r"only an operand group may be indexed"),
])
def test_formula_errors_name_the_op_and_the_construct(forward: str, partial: str,
                                                      match: str) -> None:
    with pytest.raises(F.FormulaError, match=match) as err:
        define_op("bad_op", "bad", ("x",), forward, (partial,), domain=((-1.0, 1.0),),
                  builtin=False)
    assert str(err.value).startswith("bad_op:")


def test_formula_shape_errors() -> None:
    with pytest.raises(F.FormulaError, match=r"1 partial\(s\) for 2"):
        define_op("bad2", "b", ("a", "b"), "a * b", ("b",), domain=((0, 1), (0, 1)),
                  builtin=False)
    with pytest.raises(F.FormulaError, match=r"'out' is reserved"):
        define_op("bad3", "b", ("out",), "out", ("1.0",), domain=((0, 1),), builtin=False)
    with pytest.raises(F.FormulaError, match=r"index it as xs\[i\]"):
        define_op("bad4", "b", ("*xs",), "xs", ("1.0",), domain=((0, 1),), builtin=False)


def test_division_by_a_possible_zero_is_ieee_division() -> None:
    op = define_op("recip_t", "recip", ("x",), "1.0 / x", ("-1.0 / (x * x)",),
                   domain=((0.5, 2.0),), builtin=False)
    assert op.forward(0.0) == math.inf
    assert op.local(math.inf, 0.0) == (-math.inf,)
    assert op.forward(4.0) == 0.25 and op.local(0.25, 4.0) == (-0.0625,)


# ---------------------------------------------------------------------------
# A new op is one entry, and works everywhere.


@pytest.fixture
def log1p_op() -> Iterator[autograd.Op]:
    op = register_op(define_op(
        "log1p_t", "log1p", ("x",), "log(1.0 + x)", ("1.0 / (1.0 + x)",),
        domain=((-0.5, 3.0),), specials=(autograd.Special((-1.0,), -math.inf),),
        doc="ln(1 + x).", builtin=False,
    ))
    yield op
    autograd.custom.remove_op("log1p_t")


@pytest.fixture
def hardtanh_op() -> Iterator[autograd.Op]:
    op = register_op(define_op(
        "hardtanh_t", "hardtanh", ("x",), "where(x > 1.0, 1.0, where(x < -1.0, -1.0, x))",
        ("where(x > 1.0 or x < -1.0, 0.0, 1.0)",),
        domain=((-0.9, 0.9),),
        kinks=(autograd.Kink((1.0,), (1.0,), "at the bound: 1, as clamp"),),
        doc="Clamp into [-1, 1].", builtin=False,
    ))
    yield op
    autograd.custom.remove_op("hardtanh_t")


def test_new_op_backward_and_create_graph(log1p_op: autograd.Op) -> None:
    x = Value(0.5)
    y = autograd.apply("log1p_t", x) * x
    y.backward()
    assert y.data == math.log(1.5) * 0.5
    assert x.grad == pytest.approx(math.log(1.5) + 0.5 / 1.5, rel=1e-15)
    x = Value(0.5)
    g, = autograd.grad(autograd.apply("log1p_t", x), [x], create_graph=True)
    h, = autograd.grad(g, [x])
    assert g.data == 1.0 / 1.5
    assert h.data == pytest.approx(-1.0 / 1.5**2, rel=1e-15)


def test_new_op_compiles_inline_with_the_dynamic_engines_bits(hardtanh_op: autograd.Op,
                                                              log1p_op: autograd.Op) -> None:
    w = Value(0.7)

    def f(x: Value) -> Value:
        return autograd.apply("log1p_t", autograd.apply("hardtanh_t", w * x))

    step = autograd.compile(f)
    for xv in (0.5, 3.0, -4.0, 1.0 / 0.7):  # both sides of both kinks, one trace
        w.grad = 0.0
        got = step(xv)
        g_compiled = w.grad
        w.grad = 0.0
        y = f(Value(xv))
        y.backward()
        assert _bits(got) == _bits(y.data) and _bits(g_compiled) == _bits(w.grad), xv
    st = step.stats(0.5)
    assert st.calls == 0 and st.helper_calls["log"] == 1  # the formulas, inlined
    assert st.guards == 0  # the kinks branch inside the templates: no guard, one trace
    assert step.traces == 1


def test_new_op_passes_gradcheck_and_gradgradcheck(log1p_op: autograd.Op,
                                                   hardtanh_op: autograd.Op) -> None:
    def f(x: Value, y: Value) -> Value:
        return autograd.apply("log1p_t", x * y) + autograd.apply("hardtanh_t", x - y)

    assert autograd.gradcheck(f, [0.3, 0.8]).passed
    assert autograd.gradgradcheck(f, [0.3, 0.8]).passed


def test_new_op_in_anomaly_mode_is_named(log1p_op: autograd.Op) -> None:
    x = Value(-2.0)
    with autograd.detect_anomaly(), pytest.raises(autograd.AnomalyError) as err:
        autograd.apply("log1p_t", x)
    assert err.value.op == "log1p_t"
    assert "log1p_t" in str(err.value)


def test_new_op_row_in_the_readme_table(log1p_op: autograd.Op,
                                        hardtanh_op: autograd.Op) -> None:
    table = op_table_markdown([log1p_op, hardtanh_op])
    assert ("| `log1p_t` | `x.log1p_t()` | `log(1 + x)` | `1 / (1 + x)` | [-0.5, 3] | - "
            "| (-1) -> -inf |") in table
    assert "`1 if x > 1 else -1 if x < -1 else x`" in table
    assert "at 1: 1" in table
    assert "log1p_t" not in op_table_markdown()  # a user op stays out of the README


def test_custom_op_with_formula_strings_is_one_entry() -> None:
    cube = autograd.custom_op("cube_t", forward="x * x * x", derivative="3.0 * x * x")
    try:
        assert cube.op.rule is not None and cube.op.codegen is not None
        assert cube.op.formula == "x * x * x" and cube.op.derivative == "3 * x * x"
        x = Value(2.0)
        y = x.cube_t()
        y.backward()
        assert (y.data, x.grad) == (8.0, 12.0)
        assert autograd.gradgradcheck(lambda t: cube(t) * t, [0.4]).passed
        two = autograd.custom_op("hyp_t", forward="sqrt(a * a + b * b)",
                                 derivative=("a / out", "b / out"), operands=("a", "b"),
                                 method=False)
        try:
            a, b = Value(3.0), Value(4.0)
            r = two(a, b)
            r.backward()
            assert (r.data, a.grad, b.grad) == (5.0, 0.6, 0.8)
        finally:
            autograd.custom.remove_op("hyp_t")
    finally:
        autograd.custom.remove_op("cube_t")
    with pytest.raises(TypeError, match="derivative must be a formula string"):
        autograd.custom_op("bad_t", forward="x", derivative=lambda x: 1.0)
    with pytest.raises(ValueError, match="unknown name 'y'"):
        autograd.custom_op("bad_t", forward="x * y", derivative="y")
    assert "bad_t" not in OPS


# ---------------------------------------------------------------------------
# A third namespace: NumPy arrays, rendered from the same trees.


class _ToNumpy(ast.NodeTransformer):
    """A minimal renderer of the formula language to NumPy (what issue 13's batch mode does)."""

    CALLS: ClassVar[dict[str, str]] = {
        "where": "np.where", "exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt",
        "tanh": "np.tanh", "sin": "np.sin", "cos": "np.cos", "abs": "np.abs",
        "div": "np.divide", "pow": "np.power", "min": "np.minimum", "max": "np.maximum",
        "sigmoid": "sigmoid", "softplus": "softplus", "erf": "erf",
    }

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        node.func = ast.parse(self.CALLS[node.func.id], mode="eval").body  # type: ignore[attr-defined]
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        op = ast.BitAnd() if isinstance(node.op, ast.And) else ast.BitOr()
        out = node.values[0]
        for v in node.values[1:]:
            out = ast.BinOp(out, op, v)
        return out

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in F.CONSTANTS:
            return ast.Constant(F.CONSTANTS[node.id])
        return node


def test_every_fixed_arity_formula_renders_to_numpy() -> None:
    np = pytest.importorskip("numpy")
    env = {"np": np, "sigmoid": np.vectorize(autograd.numerics.sigmoid),
           "softplus": np.vectorize(autograd.numerics.softplus),
           "erf": np.vectorize(math.erf)}
    rendered = 0
    for op in BUILTIN:
        rule = op.rule
        assert rule is not None
        if rule.variadic:
            continue
        cols = list(zip(*_samples(op)))
        args = {name: np.array(col, dtype=float) for name, col in zip(rule.names, cols)}
        with np.errstate(all="ignore"):
            fwd = eval(ast.unparse(_ToNumpy().visit(R.parse(rule.forward, rule))), env, args)
            args["out"] = np.broadcast_to(fwd, len(cols[0]))
            parts = [np.broadcast_to(eval(ast.unparse(_ToNumpy().visit(
                R.parse(p, rule, partial=True))), env, args), len(cols[0]))
                for p in rule.partials]
        for k, xs in enumerate(zip(*cols)):
            want_out = op.forward(*xs)
            assert _close(fwd[k], want_out), (op.name, xs)
            want = op.local(want_out, *xs)
            assert all(_close(p[k], w) for p, w in zip(parts, want)), (op.name, xs)
        rendered += 1
    assert rendered == sum(1 for op in BUILTIN if op.arity >= 0)


def _close(a: float, b: float) -> bool:
    a, b = float(a), float(b)
    if a != a or b != b:
        return a != a and b != b
    return a == b or abs(a - b) <= 1e-12 * max(1.0, abs(b))


def test_edge_labels_are_rendered_from_the_formula_in_the_operands_names() -> None:
    # graphs label an edge with this text (they used to regex-parse the doc text)
    ops = autograd.OPS
    assert ops["mul"].edge_label(0, ["w", "x"]) == "x"
    assert ops["mul"].edge_label(1, ["w", "x"]) == "w"
    assert ops["div"].edge_label(0, ["a", "(x + 1)"]) == "1 / (x + 1)"
    assert ops["tanh"].edge_label(0, ["w"]) == "1 - tanh(w)^2"
    assert ops["sub"].edge_label(1, ["a", "b"]) == "-1"
    assert ops["sum"].edge_label(0, ["a", "b"]) == ""  # a group: no short text
    assert ops["leaky_relu"].edge_label(0, ["x", "0.01"]) == ""  # parameters: none
    assert ops["pow"].edge_label(0, ["a", "b"]) == ""  # longer than a label


# ---------------------------------------------------------------------------
# Per-element sums and inlined formulas (what nn's losses are written with).


def test_per_element_sum_is_rendered_in_every_form() -> None:
    op = define_op("sq_diff_t", "sqd", ("*ps", "*ts"), "fsum((ps[i] - ts[i]) * (ps[i] - ts[i]))",
                   ("2.0 * (ps[i] - ts[i])", "-2.0 * (ps[i] - ts[i])"),
                   domain=((-1.0, 1.0),), builtin=False)
    xs = (0.5, -1.0, 3.0, 0.25, 2.0, -1.0)
    want = math.fsum((p - t) * (p - t) for p, t in zip(xs[:3], xs[3:]))
    assert op.forward(*xs) == want
    cg = op.codegen
    assert cg is not None
    env = {**cg.names, **{f"_x{k}": x for k, x in enumerate(xs)}}
    assert eval(cg.forward_template(6).format(*(f"_x{k}" for k in range(6))), env) == want
    vals = [Value(x) for x in xs]
    out = autograd.make_node(want, op, tuple(vals), op.local(want, *xs), None)
    g = autograd.grad(out, vals, create_graph=True)
    assert [x.data for x in g] == list(op.local(want, *xs))
    assert autograd.grad(g[0], [vals[0]])[0].data == 2.0  # d/dp0 of 2 (p0 - t0)


@pytest.mark.parametrize("forward,partial,match", [
    ("fsum(xs[i] * 2.0)", "fsum(xs[i])", r"allowed only in the forward"),
    ("fsum(1.0)", "1.0", r"fsum takes a whole group \(fsum\(xs\)\) or a per-element term"),
    ("fsum(fsum(xs[i]) + xs[i])", "1.0", r"allowed only in the forward"),
])
def test_per_element_sum_errors_name_the_op_and_the_fix(forward: str, partial: str,
                                                        match: str) -> None:
    with pytest.raises(F.FormulaError, match=match) as err:
        define_op("bad_sum", "b", ("*xs",), forward, (partial,), domain=((0, 1),), builtin=False)
    assert str(err.value).startswith("bad_sum:")
    with pytest.raises(F.FormulaError, match=r"bad_fix: fsum takes an operand group"):
        define_op("bad_fix", "b", ("x",), "fsum(x)", ("1.0",), domain=((0, 1),), builtin=False)


def test_inline_composes_an_ops_formula_with_its_operands_replaced() -> None:
    tanh = OPS["tanh"].rule
    assert tanh is not None
    fwd, part = R.inline(tanh, {"x": "a * b"})
    assert fwd == "tanh(a * b)"
    assert part == "1.0 - tanh(a * b) * tanh(a * b)"  # out is the forward, replaced
    with pytest.raises(F.FormulaError, match=r"tanh: inline takes one expression for each "
                                             r"operand .*\(x\), got y"):
        R.inline(tanh, {"y": "a"}, what="tanh")


def test_temporaries_and_single_operands_after_groups() -> None:
    # act(z) with z = xs . ws + b once per node: every form reads the one temporary
    op = define_op("affine_sq_t", "asq", ("*xs", "*ws", "b"), "z * z",
                   ("2.0 * z * ws[i]", "2.0 * z * xs[i]", "2.0 * z"),
                   temps=(("z", "sumprod(xs, ws) + b"),), domain=((-1.0, 1.0),), builtin=False)
    ops = (0.5, -1.0, 2.0, 0.25, 0.75)  # xs = (0.5, -1), ws = (2, 0.25), b = 0.75
    z = math.fsum([0.5 * 2.0, -1.0 * 0.25]) + 0.75
    assert op.forward(*ops) == z * z
    assert op.local(z * z, *ops) == (2.0 * z * 2.0, 2.0 * z * 0.25, 2.0 * z * 0.5,
                                     2.0 * z * -1.0, 2.0 * z)
    assert R.temp_function(op.rule, "z")(*ops) == z
    assert R.factored(op.rule) == ("2.0 * z", ("ws", "xs", None))
    assert "z = sumprod(xs, ws) + b" in op.formula and "d/db = 2 * z" in op.derivative
    vals = [Value(x) for x in ops]
    g = autograd.grad(autograd.apply(op, *vals), vals, create_graph=True)
    assert [x.data for x in g] == list(op.local(z * z, *ops))
    assert autograd.grad(g[4], [vals[4]])[0].data == 2.0  # d/db (2 z) = 2
    with pytest.raises(F.FormulaError, match=r"has no temporary 'y'; its temporaries are z"):
        R.temp_function(op.rule, "y")
    plain = OPS["dot"].rule
    assert plain is not None and R.factored(plain) == ("1.0", ("ys", "xs"))
