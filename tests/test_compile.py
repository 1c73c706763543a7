"""Tests for autograd.compile: same values and gradients as the dynamic engine, on new data.

The central property: trace a function on one set of inputs, run the compiled
code on other inputs and parameters, and get bit-identical losses and leaf
gradients to ``fn(*args).backward()``, for random programs over every op of
the table (constants folded on either side, parameters, n-ary ops, kinks hit
exactly). Plus: guards on Python branches, refusal of float(), structure
changes, the Codegen templates against the table's functions.
"""

from __future__ import annotations

import math
import random
import re
import struct
import subprocess
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autograd
from autograd import OPS, Value
from autograd.compile import Compiled, TraceError
from autograd.compile import compile as compile_fn
from tests.helpers import bits, eval_codegen
from tests.strategies import programs, run_program, values


def same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


# ---------------------------------------------------------------------------
# Random programs over the whole table.

@given(programs(), st.data())
def test_compiled_matches_dynamic_on_new_data(prog, data):
    n_in, n_par, steps = prog
    params = [Value(data.draw(values)) for _ in range(n_par)]

    def fn(xs):
        return run_program(steps, [*xs, *params])

    compiled = compile_fn(fn)
    for _ in range(3):  # trace on the first data set, replay on the others
        xs = [data.draw(values) for _ in range(n_in)]
        for p in params:
            p.data = data.draw(values)
            p.grad = data.draw(st.sampled_from([0.0, 0.25]))
        start = [p.grad for p in params]
        try:
            got = compiled(xs)
        except ValueError as exc:  # math.fsum in sum/mean/dot raises on inf - inf
            assume("in fsum" not in str(exc))
            raise
        got_grads = [p.grad for p in params]
        for p, g in zip(params, start):
            p.grad = g
        try:
            out = fn(xs)  # also builds nodes the compiled code skips (unused by the loss)
        except ValueError as exc:
            assume("in fsum" not in str(exc))
            raise
        out.backward()
        assert same(got, out.data), (got, out.data)
        for a, b in zip(got_grads, [p.grad for p in params]):
            assert same(a, b), (a, b, compiled.source(xs))
    assert compiled.traces == 1


@given(st.lists(st.floats(-3, 3), min_size=2, max_size=2), st.integers(0, 2**31))
def test_value_arguments_get_gradients(xs, seed):
    rng = random.Random(seed)
    w = Value(rng.uniform(-1, 1))

    def fn(a, b):
        return (a * w + b).tanh() * a

    c = compile_fn(fn)
    a, b = Value(xs[0]), Value(xs[1])
    loss = c(a, b)
    a2, b2 = Value(xs[0]), Value(xs[1])
    w_grad = w.grad
    w.grad = 0.0
    out = fn(a2, b2)
    out.backward()
    assert loss == out.data
    assert (a.grad, b.grad, w_grad) == (a2.grad, b2.grad, w.grad)


# ---------------------------------------------------------------------------
# Branches, refusals and structure changes.


def test_python_branch_is_guarded_and_retraced():
    w = Value(2.0)

    def fn(x):
        y = w * x
        return y * y if y > 0 else -y

    c = compile_fn(fn)
    assert c(1.0) == 4.0
    assert w.grad == 4.0  # d (wx)^2 / dw = 2 w x^2
    w.grad = 0.0
    assert c(-1.0) == 2.0  # the other branch: traced again, not silently wrong
    assert w.grad == 1.0
    assert c.traces == 2


def test_branch_change_refused_without_retrace():
    def fn(x):
        return x * 2 if x > 0 else x * 3

    c = compile_fn(fn, retrace=False)
    assert c(1.0) == 2.0
    with pytest.raises(TraceError, match=r"compile: fn takes another branch.*retrace=True"):
        c(-1.0)


def test_relu_style_ops_need_no_retrace():
    w = Value(0.5)

    def fn(x):
        return (w * x).relu() + abs(w * x - 1) + autograd.maximum(w, x) + (w * x).clamp(-1, 1)

    c = compile_fn(fn)
    for x in (-3.0, 0.0, 2.0, 4.0, -0.5):
        w.grad = 0.0
        got = c(x)
        g = w.grad
        w.grad = 0.0
        out = fn(x)
        out.backward()
        assert (got, g) == (out.data, w.grad)
    assert c.traces == 1


def test_float_inside_trace_is_refused():
    def fn(x):
        return x * float(x)

    with pytest.raises(TraceError, match=r"float\(v\) or v.item\(\).*Value ops"):
        compile_fn(fn)(2.0)


def test_new_argument_structure_traces_again():
    w = Value(1.5)
    c = compile_fn(lambda xs: autograd.sum([w * x for x in xs]))
    assert c([1.0, 2.0]) == 4.5
    assert c([1.0, 2.0, 3.0]) == 9.0
    assert c.traces == 2
    assert w.grad == 3.0 + 6.0


def test_compiled_call_inside_a_trace_is_refused():
    inner = compile_fn(lambda v: v * 2)
    inner(1.0)  # traced already: a call would return a float, baked into the outer trace

    def outer(x):
        return x * inner(x)

    with pytest.raises(TraceError, match=r"called inside a function being traced"):
        compile_fn(outer)(3.0)


def test_non_leaf_argument_is_refused():
    x = Value(1.0) * 2
    with pytest.raises(TypeError, match=r"interior Value.*detach"):
        compile_fn(lambda v: v * 3)(x)


def test_bad_argument_type_names_it():
    with pytest.raises(TypeError, match=r"argument args\[0\] is a str"):
        compile_fn(lambda v: v * 3)("a")


def test_result_must_be_a_value():
    with pytest.raises(TraceError, match=r"must return a Value"):
        compile_fn(lambda v: 3.0)(1.0)


def test_bad_max_traces():
    with pytest.raises(ValueError, match=r"max_traces must be a positive int"):
        Compiled(lambda v: v, max_traces=0)
    with pytest.raises(TypeError, match=r"expected a function"):
        compile_fn(3)  # type: ignore[arg-type]


def test_verify_catches_a_data_read():
    w = Value(1.0)

    def fn(x):
        return w * x * w.data  # w.data is baked in as a constant at the trace

    c = compile_fn(fn)
    c.verify(2.0)
    w.data = 3.0
    with pytest.raises(TraceError, match=r"compile.verify"):
        c.verify(2.0)


def test_forward_only_and_aux_outputs():
    w = Value(0.5)

    def fn(x):
        y = w * x
        return y * y, y

    c = compile_fn(fn)
    assert c.forward(4.0) == (4.0, 2.0)
    assert w.grad == 0.0
    assert c(4.0) == (4.0, 2.0)
    assert w.grad == 2 * 2.0 * 4.0


def test_intermediate_made_before_the_trace():
    w = Value(3.0)
    w2 = w * w  # computed once, reused by every call

    c = compile_fn(lambda x: w2 * x)
    assert c(2.0) == 18.0
    assert w.grad == 2 * 3.0 * 2.0
    assert w2.grad == 2.0


def test_decorator_forms():
    @autograd.compile
    def f(x):
        return x * x + 1

    @autograd.compile(retrace=False)
    def g(x):
        return x.exp()

    v = Value(2.0)
    assert f(v) == 5.0 and v.grad == 4.0
    assert g(0.0) == 1.0


def test_a_trace_becomes_straight_line_code_with_one_call_per_op():
    w = Value(1.0)
    step = compile_fn(lambda x: (w * x + 1.0).tanh())
    st = step.stats(0.5)
    assert st.nodes == 3 and st.ops == {"mul": 1, "add": 1, "tanh": 1}
    assert st.helper_calls == {"tanh": 1}  # mul and add inline; tanh once, no loop
    assert st.guards == 0 and st.calls == 0 and st.constants == 0
    assert step.source(0.5).startswith("def _compiled(")  # readable Python, for a reader


# ---------------------------------------------------------------------------
# The templates restate the table's functions exactly.


def _template_points(op):
    rng = random.Random(0)
    pts = []
    if op.arity == -1:
        for n in (1, 2, 3, 5):
            m = 2 * n if op.name == "dot" else n
            lo, hi = op.domain[0]
            pts.append(tuple(rng.uniform(lo, hi) for _ in range(m)))
            pts.append(tuple(rng.choice([-1.0, 0.0, 1.0, 1e300]) for _ in range(m)))
        return pts
    for _ in range(30):
        pts.append(tuple(rng.uniform(lo, hi) for lo, hi in op.domain))
    pts += [k.at for k in op.kinks] + [s.at for s in op.specials]
    grid = [-2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, math.inf, -math.inf, math.nan]
    core = len(op.domain) - op.params
    for _ in range(40):
        p = [rng.choice(grid) for _ in range(core)]
        pts.append(tuple(p) + tuple(lo for lo, _ in op.domain[core:]))
    return pts


# The built-in entries (nn's fused neuron entries are checked at real sizes
# by tests/test_nn_fused.py::test_compiled_neurons_are_bit_identical_to_the_engine).
@pytest.mark.parametrize(
    "name", sorted(n for n, op in OPS.items() if op.codegen is not None and op.builtin)
)
def test_codegen_templates_match_the_table(name):
    op = OPS[name]
    for pt in _template_points(op):
        out, got = eval_codegen(op.codegen, pt)
        assert same(out, op.forward(*pt)), (name, pt)
        want = op.local(out, *pt)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert same(a, b), (name, pt, got, want)


def _affine_op(name, act):
    # act(sumprod(xs, ws) + b) as one formula: a temporary z, the activation's own formula
    from autograd import register_op
    from autograd.formula_render import inline
    from autograd.ops import define_op

    fwd, slope = inline(OPS[act].rule, {"x": "z"}, out="out")
    if name not in OPS:
        register_op(define_op(name, name, ("*xs", "*ws", "b"), fwd,
                              (f"({slope}) * ws[i]", f"({slope}) * xs[i]", slope),
                              temps=(("z", "sumprod(xs, ws) + b"),), domain=((-3.0, 3.0),),
                              api="function", builtin=False))
    return OPS[name]


@given(st.lists(st.floats(-2, 2), min_size=6, max_size=6), st.sampled_from(["relu", "tanh"]))
def test_fused_affine_node_compiles_exactly(vals, act):
    op = _affine_op(f"test_affine_{act}", act)
    ws = [Value(v) for v in vals[:3]]
    b = Value(vals[3])

    def fn(x):
        h = autograd.apply(op, *x, *ws, b)
        return autograd.apply(op, h, x[0], ws[0], ws[1], b)

    c = compile_fn(fn)
    for x in ([vals[4], vals[5], 1.0], [0.0, -1.0, 2.0]):
        got = c(x)
        g = [p.grad for p in (*ws, b)]
        for p in (*ws, b):
            p.grad = 0.0
        out = fn(x)
        out.backward()
        assert same(got, out.data)
        assert all(same(a, b_) for a, b_ in zip(g, [p.grad for p in (*ws, b)]))
        for p in (*ws, b):
            p.grad = 0.0


def test_softmax_backward_reuses_its_outputs_and_matches_dynamic_bit_for_bit() -> None:
    def f(xs: list[Value]) -> Value:
        ps = autograd.softmax(xs)
        return autograd.sum([p * w for p, w in zip(ps, (0.5, -1.5, 2.0, 0.25))])

    data = [0.3, -1.2, 2.0, 0.7]
    xs = [Value(d) for d in data]
    f(xs).backward()
    cf = compile_fn(f)
    ys = [Value(d) for d in data]
    assert same(cf(ys), f([Value(d) for d in data]).data)
    assert [y.grad for y in ys] == [x.grad for x in xs]
    # exp runs twice per element: in logsumexp's forward (shifted by the maximum) and for
    # the output; the logsumexp's partials are the outputs, so the backward runs none
    assert cf.stats(ys).helper_calls["exp"] == 2 * len(data)


def _run_both(cf, f, data, spread=True):
    """``cf`` and ``f`` called on fresh Values of ``data`` (as arguments, or with
    ``spread`` False one list): the same loss and gradients, bit for bit. Returns the
    Values ``cf`` was called on."""
    def call(fn, vs):
        return fn(*vs) if spread else fn(vs)

    xs = [Value(d) for d in data]
    out = call(f, xs)
    out.backward()
    ys = [Value(d) for d in data]
    assert same(call(cf, ys), out.data)
    assert all(same(y.grad, x.grad) for x, y in zip(xs, ys))
    return ys


def _compiled_matches_dynamic(f, traced_on, data, spread=True):
    """``f`` compiled and traced on ``traced_on``, then :func:`_run_both` on ``data``;
    returns the compiled function and the Values it was called on."""
    cf = compile_fn(f)
    vs = [Value(d) for d in traced_on]
    if spread:  # traced on ordinary data
        cf(*vs)
    else:
        cf(vs)
    return cf, _run_both(cf, f, data, spread)


@pytest.mark.parametrize("data", [(0.0, 2.0), (1000.0, 0.0), (-1.0, 0.0), (2.0, 3.0)])
def test_ieee_edges_take_the_helpers_path_and_match_dynamic(data: tuple[float, float]) -> None:
    def f(a: Value, b: Value) -> Value:
        return a.log() + a.exp() + (a / b) + a.sqrt() * b

    _compiled_matches_dynamic(f, (0.5, 1.5), data)


class _Forms:
    """An op's templates in the compiled path's form, as a Codegen-like object."""

    def __init__(self, rule) -> None:
        from autograd.formula_render import compile_names, templates

        self.fwd, self.loc, self.aft, self.tmp = templates(rule, compiled=True)
        self.names = compile_names(rule)

    def forward_template(self, n):
        return self.fwd(n)

    def local_templates(self, n):
        return self.loc(n)

    def after_templates(self, n):
        return self.aft(n)

    def temp_templates(self, n):
        return self.tmp(n)


@pytest.mark.parametrize(
    "name", sorted(n for n, op in OPS.items() if op.rule is not None and op.rule.variadic
                   and op.builtin)
)
def test_compiled_forms_of_nary_templates_match_the_table(name):
    # the compiled path writes sumprod(xs, ys) as one fsum of the products: the same floats
    op = OPS[name]
    forms = _Forms(op.rule)
    for pt in _template_points(op):
        out, got = eval_codegen(forms, pt)
        assert same(out, op.forward(*pt)), (name, pt)
        for a, b in zip(got, op.local(out, *pt), strict=True):
            assert same(a, b), (name, pt, got)


_NAN_PAYLOAD = struct.unpack("<d", bytes.fromhex("2301000000f8ff7f"))[0]
_EDGES = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, -1e-310, 1.0, -1.0, 0.1,
          1e308, -1e308, 1.7976931348623157e308, -1.7976931348623157e308, math.inf, -math.inf,
          math.nan, -math.nan, _NAN_PAYLOAD]


def _pair_forms():
    """(name, pair -> the compiled template's forward, pair -> the table's forward) for every
    variadic op whose compiled form of two operands adds them instead of calling fsum."""
    out = []
    for name in ("sum", "mean", "dot", "logsumexp"):
        op, n = OPS[name], 4 if name == "dot" else 2
        forms = _Forms(op.rule)
        text = "".join(forms.tmp(n)) + forms.fwd(n)
        assert "_fsum" not in text and " + " in text, (name, text)  # the rule applies
        out.append((name, forms, op))
    return out


def _check_pair(forms, op, pt) -> None:
    out, _ = eval_codegen(forms, pt)
    want = op.forward(*pt)  # the table's own float forward: numerics.fsum
    assert bits(out) == bits(want), (op.name, pt, out, want)


def test_a_sum_of_two_is_fsum_bit_for_bit_at_the_edges() -> None:
    # x + y + 0.0 is numerics.fsum((x, y)) for every pair: signed zeros, subnormals,
    # overflow (inf, where math.fsum raises), inf - inf (nan), nans (as nan: which of two
    # nans a float addition returns differs between CPython's own paths, see bits)
    from autograd.numerics import fsum

    for x in _EDGES:
        assert bits(x + 0.0) == bits(fsum((x,)))
        for y in _EDGES:
            assert bits(x + y + 0.0) == bits(fsum((x, y))), (x, y)
    for _, forms, op in _pair_forms():
        for x in _EDGES:
            for y in _EDGES:
                pt = (x, 0.5, y, -2.0) if op.name == "dot" else (x, y)
                _check_pair(forms, op, pt)


@given(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
       st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
       st.floats(-1e10, 1e10))
def test_a_sum_of_two_is_fsum_bit_for_bit(x: float, y: float, w: float) -> None:
    from autograd.numerics import fsum

    assert bits(x + y + 0.0) == bits(fsum((x, y)))
    for _, forms, op in _pair_forms():
        _check_pair(forms, op, (x, w, y, x) if op.name == "dot" else (x, y))


@pytest.mark.parametrize("data", [(-0.0, -0.0), (1e308, 1e308), (math.inf, -math.inf),
                                  (5e-324, -5e-324), (math.nan, 1.0), (-1e308, -1e308)])
def test_sums_of_two_compile_without_fsum_and_match_dynamic(data) -> None:
    def f(a: Value, b: Value) -> Value:
        return (autograd.sum([a, b]) + autograd.mean([b, a]) + autograd.dot([a, b], [b, a])
                + autograd.logsumexp([a, b]) * a)

    cf, ys = _compiled_matches_dynamic(f, (0.5, 1.5), data)
    assert "fsum" not in cf.stats(*ys).helper_calls
    assert bits(cf(*ys)) == bits(f(*[Value(d) for d in data]).data)


@pytest.mark.parametrize("data", [(1e300, 1e300, 2.0, -0.0), (math.inf, 1.0, -math.inf, 1.0),
                                  (math.inf, 0.0, 1.0, 2.0), (0.5, -1.5, 2.0, 0.25)])
def test_dot_compiles_to_one_fsum_of_products_and_matches_dynamic(data) -> None:
    def f(a: Value, b: Value, c: Value, d: Value) -> Value:
        return autograd.dot([a, c], [b, d]) * a

    cf, ys = _compiled_matches_dynamic(f, (0.5, 1.0, 1.5, 2.0), data)
    assert "sumprod" not in cf.stats(*ys).helper_calls  # the products inline,
    assert "fsum" not in cf.stats(*ys).helper_calls  # and two of them are added: a * b + c * d

    def g(a: Value, b: Value, c: Value, d: Value) -> Value:
        return autograd.dot([a, c, d], [b, d, a]) * a

    cg, ys = _compiled_matches_dynamic(g, (0.5, 1.0, 1.5, 2.0), data)
    assert "sumprod" not in cg.stats(*ys).helper_calls  # three products: fsum once
    assert cg.stats(*ys).helper_calls["fsum"] == 1


def test_a_long_sum_and_dot_compile_and_match_dynamic() -> None:
    # templates of n operands are rendered in one pass over their text (not n passes)
    data = [0.001 * i - 1.0 for i in range(3000)]

    def f(xs: list[Value]) -> Value:
        return autograd.sum(xs) * autograd.dot(xs[:1500], xs[1500:])

    xs = [Value(d) for d in data]
    out = f(xs)
    out.backward()
    ys = [Value(d) for d in data]
    assert same(compile_fn(f)(ys), out.data)
    assert [y.grad for y in ys] == [x.grad for x in xs]


def test_a_wide_softmax_names_its_operands_once_per_node() -> None:
    # the partials' tie_share(xs, i) read one tuple of the group, not the group spelled out
    data = [0.01 * i for i in range(400)]

    def f(xs: list[Value]) -> Value:
        return autograd.sum([p * p for p in autograd.softmax(xs)])

    xs = [Value(d) for d in data]
    out = f(xs)
    out.backward()
    ys = [Value(d) for d in data]
    cf = compile_fn(f)
    assert same(cf(ys), out.data)
    assert [y.grad for y in ys] == [x.grad for x in xs]
    assert len(cf.source(ys)) < 400 * 400  # linear in k (k^2 names before: ~1e6 chars)


@pytest.mark.parametrize("data", [(0.3, -1.2, 2.0, 0.7), (math.inf, 1.0, math.inf, -2.0),
                                  (-math.inf, -math.inf, -math.inf, -math.inf),
                                  (math.nan, 1.0, 0.0, 2.0), (1000.0, 1000.0, -1000.0, 0.0)])
def test_logsumexp_tests_its_infinities_once_per_node_and_matches_dynamic(data) -> None:
    # the partials' where(out == INF or out == -INF, ...) reads one boolean per node
    def f(xs: list[Value]) -> Value:
        a = autograd.logsumexp(xs)
        b = autograd.logsumexp([x * x for x in xs])
        return a * b + a

    cf, ys = _compiled_matches_dynamic(f, (0.5, 1.0, 1.5, 2.0), data, spread=False)
    src = cf.source(ys)
    assert src.count("== -1e309") == 2  # one test per node (-inf a literal: no negation)
    # tie_share reads the tuple the test itself makes (empty when the output is finite)
    tested = {line.split(" = ")[0].strip() for line in src.splitlines() if "== -1e309" in line}
    read = set(re.findall(r"_tie_share\((\w+), ", src))
    assert len(tested) == 2 and read == tested


@pytest.mark.parametrize("data", [(0.0, -0.0, -1.0), (-0.0, 0.0, -1.0), (2.0, math.nan, 3.0),
                                  (math.nan, 2.0, 3.0), (1.0, 1.0, 1.0), (-5.0, 7.0, 7.0),
                                  (math.inf, -math.inf, 0.0), (1e308, 1e308, -1e308)])
def test_group_max_compiles_to_comparisons_and_matches_dynamic(data) -> None:
    # logsumexp's m = max_of(xs) is the chain of comparisons builtin max makes: no call
    def f(xs: list[Value]) -> Value:
        return autograd.sum([p * w for p, w in zip(autograd.softmax(xs), (0.5, -1.5, 2.0))])

    cf, ys = _compiled_matches_dynamic(f, (0.5, 1.0, 1.5), data, spread=False)
    assert "max_of" not in cf.stats(ys).helper_calls


def test_a_gradient_passed_on_unchanged_is_shared_not_copied_and_matches_dynamic() -> None:
    # a sum passes its gradient to each operand with partial 1.0: the operands read the
    # sum's name (no `g2 = g1` lines); an operand twice, or also used elsewhere, still sums
    import re

    def f(a: Value, b: Value, c: Value) -> Value:
        t, u = a.tanh(), b.exp()
        s = autograd.sum([t, t, u, c * a])
        return autograd.sum([s.sigmoid(), (s * b).tanh(), u.log()])

    cf = compile_fn(f)
    for data in [(0.5, -1.0, 2.0), (0.0, 0.0, -0.0), (3.0, 1e-3, 7.0)]:
        _run_both(cf, f, data)

    def g(a: Value, b: Value, c: Value) -> Value:  # each operand of the sums used once
        s = autograd.sum([a.tanh(), b.exp(), c * a])
        return autograd.sum([s.sigmoid(), s.tanh().exp() * b])

    cg = compile_fn(g)
    ys = _run_both(cg, g, (0.5, -1.0, 2.0))
    src = cg.source(*ys)
    assert not re.search(r"^ +g\d+ = g\d+$", src, re.M), src


@pytest.mark.parametrize("data", [(0.5, -1.0, 2.0), (0.0, -0.0, 1e308), (math.inf, 1.0, -2.0),
                                  (math.nan, 2.0, 3.0), (5e-324, -5e-324, 1.0)])
def test_a_mean_multiplies_its_gradient_once_and_matches_dynamic(data) -> None:
    # every operand of a mean has the partial 1.0 / n: the product is one, passed on as a
    # sum's gradient is (an operand twice, or also used elsewhere, still sums it)
    def f(a: Value, b: Value, c: Value) -> Value:
        t = a.tanh()
        m = autograd.mean([t, b, t, c * a])
        return autograd.mean([m.sigmoid(), (m * b).exp(), c]) * m

    cf, ys = _compiled_matches_dynamic(f, (0.5, 1.5, 2.5), data)
    src = cf.source(*ys)
    assert src.count("* (1.0 / 4)") == 1 and src.count("* (1.0 / 3)") == 1, src


@pytest.mark.parametrize("data", [(0.5, 1.0, 2.0), (math.inf, 1.0, math.inf), (-math.inf,) * 3,
                                  (math.inf, -math.inf, 0.0), (math.nan, 1.0, 2.0),
                                  (1000.0, 1000.0, -1000.0), (-0.0, 0.0, 5e-324)])
def test_logsumexp_and_softmax_branch_once_per_node_and_match_dynamic(data) -> None:
    # each partial is tie_share(xs, i) where the output is infinite, else exp(xs[i] - out)
    # (softmax: its output): the node's backward lines are written for either case, under
    # one test of the node's tuple, instead of one conditional per partial
    def f(a: Value, b: Value, c: Value) -> Value:
        s = autograd.softmax([a, b * a, c])
        return autograd.logsumexp([s[0], c, s[2] * b]) * autograd.logsumexp([a, b, c]) + s[1]

    cf, ys = _compiled_matches_dynamic(f, (0.5, 1.5, 2.5), data)
    src = cf.source(*ys)
    tests = re.findall(r"^ +if (u\d+_\d+):$", src, re.M)
    assert len(tests) == len(set(tests)) == 3, src  # one per logsumexp node (softmax's too)
    assert not re.search(r"_tie_share\(.*\) if ", src), src


def test_each_template_filled_as_a_function_is_its_str_format() -> None:
    # Forward fills an op's templates with functions made once per template (f-strings)
    # in place of str.format: the same text for every op's templates and operand count
    from autograd.compile_emit import _filler, _shape

    glob: dict = {}
    for op in OPS.values():
        if op.codegen is None or not op.builtin:
            continue
        for n in (2, 4, 6) if op.rule is not None and op.rule.variadic else (op.arity,):
            shape = _shape(op, n, glob)
            args = [f"x{i}" for i in range(n)]
            kw = {"out": "o", **{f"t{k}": f"t{k}" for k in range(len(shape.temps))},
                  **{f"u{k}": f"u{k}" for k in range(len(shape.after))}}
            for t in (*shape.temps, shape.fwd, *shape.after, *shape.factors):
                assert _filler(t)(args, kw) == t.format(*args, **kw), (op.name, n, t)
    for t in ("{0!r} {1:>3}", "{{literal}} {0}", "'q' \\ {0}"):  # str.format's own cases
        assert _filler(t)(["a", "b"], {}) == t.format("a", "b")


def test_the_lean_code_runs_until_a_rare_branch_then_the_full_code_answers() -> None:
    # the code compiled first has no lines for a logsumexp's infinite output (nor its
    # group's tuple): where the data reaches one, the full code is compiled and runs,
    # for that call and every later one, with the same floats as the dynamic engine
    def f(a: Value, b: Value, c: Value) -> Value:
        s = autograd.softmax([a, b * a, c])
        return autograd.logsumexp([s[0], c, s[2] * b]) * s[1]

    def lean(prog) -> bool:  # neither the partials' other side nor the forward's helper
        names = prog.fast.__code__.co_names
        return "_tie_share" not in names and "_logsumexp" not in names

    cf = compile_fn(f)
    ys = _run_both(cf, f, (0.5, 1.0, 2.0))
    prog = cf.program(*ys)
    assert lean(prog) and "_tie_share" in prog.source, prog.source  # source: the full code
    for data in [(0.5, -1.0, 2.0), (0.0, -0.0, 1e308)]:  # finite outputs: still lean
        _run_both(cf, f, data)
    assert lean(prog)
    for data in [(math.inf, 1.0, 2.0), (0.5, 1.0, 2.0), (-math.inf,) * 3, (1e308, 1e308, 2.0)]:
        _run_both(cf, f, data)
        assert not lean(prog) and cf.traces == 1
    for data in [(-math.inf,) * 3, (1e308, 1e308, 2.0), (math.nan, 1.0, 2.0)]:
        cf = compile_fn(f)  # the first call (the trace's) already at an edge
        _run_both(cf, f, data)
        assert not lean(cf.program(*[Value(d) for d in data]))


def test_logsumexp_builds_its_group_tuple_only_at_infinities() -> None:
    # tie_share(xs, i) reads the group as one tuple, made after the output only when the
    # output is infinite (else an empty one); the forward's edge branch spells the group
    def f(a: Value, b: Value, c: Value) -> Value:
        return autograd.logsumexp([a, b, c]) * a

    cf = compile_fn(f)
    for data in [(0.5, 1.0, 2.0), (math.inf, 1.0, math.inf), (-math.inf,) * 3]:
        ys = _run_both(cf, f, data)
    src = cf.source(*ys)
    assert src.count("(a0, a1, a2)") == 2 and src.count(" else ())") == 1, src


@pytest.mark.parametrize("data", [(0.5, -1.0, 2.0), (math.inf, 1.0, math.inf),
                                  (-math.inf, -math.inf, 0.0), (math.nan, 1.0, 0.0)])
def test_a_fused_op_reading_groups_whole_before_a_condition_matches_dynamic(data) -> None:
    # nn's cross_entropy: fsum(ts) and logsumexp(zs) read the groups' tuples, and its
    # where(logsumexp(zs) == INF ...) condition is tested once, after them
    from nn.fused import CROSS_ENTROPY

    def f(a: Value, b: Value, c: Value) -> Value:
        return autograd.apply(CROSS_ENTROPY, a, b, c, 0.25, 0.0, 0.75) * a

    _compiled_matches_dynamic(f, (0.1, 0.2, 0.3), data)


def _square_of_sum_op():
    # fsum(xs) ** 2 with the sum a temporary z that the partials read (2 z), after the
    # forward: a temporary the backward needs
    from autograd import register_op
    from autograd.ops import define_op

    name = "test_square_of_sum"
    if name not in OPS:
        register_op(define_op(name, name, ("*xs",), "z * z", ("2.0 * z",),
                              temps=(("z", "fsum(xs)"),), domain=((-3.0, 3.0),),
                              api="function", builtin=False))
    return OPS[name]


@pytest.mark.parametrize("data", [(0.5, -1.0, 2.0), (math.inf, 1.0, -2.0), (math.nan, 1.0, 0.0),
                                  (-0.0, 0.0, 5e-324), (1000.0, 1000.0, -1000.0)])
def test_temporaries_only_a_nodes_forward_reads_share_names_and_match_dynamic(data) -> None:
    # logsumexp's maximum chain is read by its own forward line only: every such node
    # writes the same names t0, t1...; a temporary a partial reads (z of z * z, whose
    # partial is 2 z) keeps a name of its own node, read in the backward
    op = _square_of_sum_op()

    def f(a: Value, b: Value, c: Value) -> Value:
        s = autograd.logsumexp([a, b * a, c])
        q = autograd.apply(op, a, s, c)
        r = autograd.apply(op, s, b)
        return autograd.logsumexp([q, c, r * b]) * autograd.logsumexp([a, b]) + q

    cf, ys = _compiled_matches_dynamic(f, (0.5, 1.5, 2.5), data)
    src = cf.source(*ys)
    assert re.findall(r"^ +(t\d+) = ", src, re.M).count("t0") == 3, src  # the 3 logsumexps
    own = re.findall(r"^ +(t\d+_0) = ", src, re.M)
    backward = src.split(" = _g\n")[1]
    assert len(own) == 2 and all(f"(2.0 * {t})" in backward for t in own), src


def _loss_and_grads(fn, data):
    """``fn``'s loss and leaf gradients on fresh Values of ``data``, as bits."""
    vs = [Value(d) for d in data]
    out = fn(*vs)
    if isinstance(out, Value):
        out.backward()
        out = out.data
    return bits(out), [bits(v.grad) for v in vs]


def test_runs_kept_between_calls_start_afresh_after_an_edge_a_guard_and_a_copy() -> None:
    # the generated code is a generator kept between calls: each call a new run with the
    # new data; one raising (an IEEE edge: the helpers' code answers; a branch change:
    # a retrace) is replaced by a new one, and a copy makes its own
    import copy

    def f(a: Value, b: Value) -> Value:
        y = a.log() * b + (a / b).exp()
        return y * a if b > 0.0 else y - b.tanh()

    cf = compile_fn(f)
    for data in [(0.5, 1.5), (2.0, 3.0), (0.0, 2.0), (1.5, 0.5), (1000.0, 1.0), (0.5, -1.0),
                 (0.25, -2.0), (3.0, 0.0), (0.5, 1.5), (math.nan, 1.0), (2.0, 3.0)]:
        assert _loss_and_grads(cf, data) == _loss_and_grads(f, data), data
    twin = copy.deepcopy(cf)
    for data in [(0.5, 1.5), (4.0, -0.5), (0.0, 1.0)]:
        assert _loss_and_grads(twin, data) == _loss_and_grads(f, data) == _loss_and_grads(
            cf, data), data


def test_threads_calling_one_compiled_function_get_their_own_results() -> None:
    # a thread finding the kept run busy in another starts its own: every call's loss and
    # gradients are those of its own data
    import threading

    def f(a: Value, b: Value) -> Value:
        return autograd.logsumexp([a * b, a.tanh(), b.exp()]) * a + b.sigmoid()

    cf = compile_fn(f)
    cf(Value(0.1), Value(0.2))
    cases = [(0.1 * i, 1.0 - 0.05 * i) for i in range(40)]
    want = {d: _loss_and_grads(f, d) for d in cases}
    bad: list[tuple[float, float]] = []

    def work(k: int) -> None:
        for _ in range(25):
            for d in cases[k::4]:
                if _loss_and_grads(cf, d) != want[d]:
                    bad.append(d)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, inside runs too
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not bad, bad[:5]


def _difference_of_squares_op():
    # (x + 1)(x - 1): a forward whose first and last parentheses are not one pair
    from autograd import register_op
    from autograd.ops import define_op

    name = "test_difference_of_squares"
    if name not in OPS:
        register_op(define_op(name, name, ("x",), "(x + 1.0) * (x - 1.0)", ("2.0 * x",),
                              domain=((-3.0, 3.0),), builtin=False))
    return OPS[name]


@pytest.mark.parametrize("data", [(0.5, -1.0, 2.0), (-0.0, 0.0, -2.0), (math.inf, 1.0, 0.0),
                                  (math.nan, 2.0, -3.0), (1e308, -1e308, 5e-324)])
def test_forward_lines_drop_parentheses_around_the_whole_expression_only(data) -> None:
    # relu's and the maximum chain's conditionals, logsumexp's: `v = a if c else b`, the
    # same code with fewer tokens to parse; (x + 1) * (x - 1) keeps its parentheses
    op = _difference_of_squares_op()

    def f(a: Value, b: Value, c: Value) -> Value:
        s = autograd.logsumexp([a.relu(), b, c * a])
        return autograd.apply(op, s) * (b - c).relu() + autograd.apply(op, c * b)

    cf, ys = _compiled_matches_dynamic(f, (0.5, 1.5, 2.5), data)
    src = cf.source(*ys)
    forward = src.split(" = _g\n")[0]
    assert not re.search(r"^ +[tv]\d+ = \(.* if .* else .*\)$", forward, re.M), src
    assert len(re.findall(r"\(\w+ \+ 1\.0\) \* \(\w+ - 1\.0\)", forward)) == 2, src
    assert len(re.findall(r" = \w+ if \w+ > \w+ else \w+$", forward, re.M)) == 2, src


@pytest.mark.parametrize("data", [(0.5, -1.0, 2.0), (-0.0, 0.0, -2.0), (math.inf, 1.0, 0.0),
                                  (math.nan, 2.0, -3.0), (2.0, -math.nan, 1.0),
                                  (1e308, -1e308, 5e-324)])
def test_backward_products_parenthesize_a_partial_only_where_it_needs_it(data) -> None:
    # g * <partial>: a call (log's div), a negation (softmax's -out), a conditional in its
    # own parentheses (relu's) as they are; mean's 1.0 / n in parentheses; a gradient still
    # an expression under a minus (neg's) in parentheses: the same floats, nan's sign too
    def f(a: Value, b: Value, c: Value) -> Value:
        s = autograd.softmax([a, b * c, c])
        m = autograd.mean([s[0], (a * b).relu(), c.log()])
        return (m * b - (s[1] * c).tanh()) * a + s[2] * (b - c) + (-(a * c)).exp()

    cf = compile_fn(f)
    cf(Value(0.5), Value(1.5), Value(2.5))
    assert _loss_and_grads(cf, data) == _loss_and_grads(f, data)
    backward = cf.source(*[Value(d) for d in data]).split(" = _g\n")[1]
    assert "* ((" not in backward and "* (_div(" not in backward, backward
    assert "* -v" in backward and "* (1.0 / 3)" in backward and " = -(g" in backward, backward


_INTERRUPT_IN_GENERATED_CODE = """
import sys
import autograd
from autograd import Value

def tracer(frame, event, arg):
    back = frame.f_back  # the code _filler's eval runs (the one <module> it calls)
    if (event == "call" and frame.f_code.co_name == "<module>" and back is not None
            and back.f_code.co_name == "_filler"):
        sys.settrace(None)
        raise KeyboardInterrupt  # as Ctrl-C would, inside the code generation's own code
    return None

sys.settrace(tracer)
try:
    autograd.compile(lambda x: (x * 2.0 + 1.0).tanh())(Value(0.5))
except KeyboardInterrupt:
    print("interrupted")
"""


def test_ctrl_c_while_compiling_leaves_the_process_its_own_exit() -> None:
    """A KeyboardInterrupt raised inside the code compile makes and handled by the caller
    leaves a normal exit: CPython's eval of a *string* would mark it unhandled, and the
    process would end killed by SIGINT (status -2) whatever the program did about it."""
    p = subprocess.run([sys.executable, "-c", _INTERRUPT_IN_GENERATED_CODE],
                       capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stdout.strip()) == (0, "interrupted"), p.stderr
