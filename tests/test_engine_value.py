"""The Value contract: construction, attributes, operators, comparisons,
errors, IEEE-754 numerics and the kink conventions."""

from __future__ import annotations

import decimal
import fractions
import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value
from tests.helpers import bits


class TestConstruction:
    @pytest.mark.parametrize(
        "data,expected",
        [
            (3, 3.0),
            (2.5, 2.5),
            (True, 1.0),
            (fractions.Fraction(1, 4), 0.25),
            (decimal.Decimal("1.5"), 1.5),
            (np.float32(0.5), 0.5),
            (np.int64(7), 7.0),
            (10**400, math.inf),
            (-(10**400), -math.inf),
        ],
    )
    def test_real_numbers_are_stored_as_float(self, data: object, expected: float) -> None:
        v = Value(data)
        assert type(v.data) is float
        assert v.data == expected

    @pytest.mark.parametrize("bad", ["abc", None, [1.0], 1 + 2j, {"x": 1}])
    def test_other_types_raise_typeerror_naming_the_type(self, bad: object) -> None:
        with pytest.raises(TypeError, match=type(bad).__name__):
            Value(bad)

    def test_value_of_value_is_refused_with_a_hint(self) -> None:
        with pytest.raises(TypeError, match="detach"):
            Value(Value(1.0))

    def test_attributes(self) -> None:
        v = Value(2.0, label="v")
        assert (v.data, v.grad, v.label, v.op, v.parents, v.partials) == (2.0, 0.0, "v", "", (), ())
        assert v.is_leaf and v.scope == ""
        assert type(v.grad) is float

    def test_label_must_be_str(self) -> None:
        with pytest.raises(TypeError, match="label"):
            Value(1.0).label = 3  # type: ignore[assignment]


class TestOperators:
    def test_parents_in_operand_order_with_repeats(self) -> None:
        a, b = Value(1.0), Value(2.0)
        assert (a + a).parents == (a, a)
        assert (b - a).parents == (b, a)
        assert (a * b).parents == (a, b)

    def test_partials_are_tuples_aligned_with_parents(self) -> None:
        a, b = Value(2.0), Value(3.0)
        for node in (a * 2, 2 * a, a.tanh(), a * b, autograd.sum([a, 1.0]), a.clamp(0, 1)):
            assert isinstance(node.partials, tuple)
            assert len(node.partials) == len(node.parents)
        assert (a * 5).partials == (5.0,) and (a * b).partials == (3.0, 2.0)

    def test_numbers_fold_into_the_node(self) -> None:
        x = Value(3.0)
        for y, operands in [
            (x * 2, (x, 2.0)),
            (2 * x, (2.0, x)),
            (x + 1, (x, 1.0)),
            (1 - x, (1.0, x)),
            (6 / x, (6.0, x)),
            (2**x, (2.0, x)),
            (x**2, (x, 2.0)),
        ]:
            assert y.parents == (x,)
            assert y.operands == operands

    @pytest.mark.parametrize(
        "expr,value,grad",
        [
            (lambda x: x + 2, 5.0, 1.0),
            (lambda x: 2 + x, 5.0, 1.0),
            (lambda x: x - 2, 1.0, 1.0),
            (lambda x: 2 - x, -1.0, -1.0),
            (lambda x: x * 4, 12.0, 4.0),
            (lambda x: 4 * x, 12.0, 4.0),
            (lambda x: x / 2, 1.5, 0.5),
            (lambda x: 6 / x, 2.0, -6 / 9),
            (lambda x: x**2, 9.0, 6.0),
            (lambda x: 2**x, 8.0, 8 * math.log(2)),
            (lambda x: x**x, 27.0, 27 * (math.log(3) + 1)),
            (lambda x: -x, -3.0, -1.0),
            (lambda x: +x, 3.0, 1.0),
            (lambda x: abs(-x), 3.0, 1.0),
        ],
    )
    def test_values_and_gradients(self, expr, value: float, grad: float) -> None:  # type: ignore[no-untyped-def]
        x = Value(3.0)
        y = expr(x)
        y.backward()
        assert y.data == pytest.approx(value)
        assert x.grad == pytest.approx(grad)

    @pytest.mark.parametrize("bad", ["abc", None, [1], 1j, object()])
    @pytest.mark.parametrize(
        "op", ["+", "-", "*", "/", "**"]
    )
    def test_non_numbers_raise_typeerror_both_sides(self, bad: object, op: str) -> None:
        v = Value(2.0)
        ops = {
            "+": (lambda a, b: a + b),
            "-": (lambda a, b: a - b),
            "*": (lambda a, b: a * b),
            "/": (lambda a, b: a / b),
            "**": (lambda a, b: a**b),
        }[op]
        with pytest.raises(TypeError, match=type(bad).__name__):
            ops(v, bad)
        with pytest.raises(TypeError):
            ops(bad, v)

    def test_string_times_value_is_an_error_not_repetition(self) -> None:
        with pytest.raises(TypeError, match=r"mul: left operand.*str 'abc'"):
            "abc" * Value(2)  # type: ignore[operator]
        with pytest.raises(TypeError, match="mul: right operand"):
            Value(2) * "abc"  # type: ignore[operator]

    def test_numpy_scalars_on_the_left_defer_to_value(self) -> None:
        x = Value(3.0)
        for y in (np.float64(2.0) * x, np.int32(2) * x, np.float32(2.0) + x):
            assert isinstance(y, Value)
            assert y.parents == (x,)

    def test_fractions_and_decimals_as_operands(self) -> None:
        x = Value(1.0)
        assert (x + fractions.Fraction(1, 2)).data == 1.5
        assert (decimal.Decimal("0.5") + x).data == 1.5


class TestComparisonsAndConversions:
    def test_ordering_compares_data(self) -> None:
        a, b = Value(1.0), Value(2.0)
        assert a < b and a <= b and b > a and b >= a
        assert a < 1.5 and not a > 1.5 and a <= 1 and a >= 1

    def test_equality_and_hash_are_identity(self) -> None:
        a, b = Value(1.0), Value(1.0)
        assert a != b and a == a
        assert len({a, b}) == 2
        assert {a: 1}[a] == 1

    def test_comparing_with_a_string_raises(self) -> None:
        with pytest.raises(TypeError, match="comparison <"):
            _ = Value(1.0) < "x"  # type: ignore[operator]

    def test_float_bool_item_repr(self) -> None:
        v = Value(0.25, label="w")
        v.grad = 1e-7
        assert float(v) == 0.25 and v.item() == 0.25
        assert bool(v) and not bool(Value(0.0))
        assert repr(v) == "Value(data=0.25, grad=1e-07, label='w')"


class TestIEEE:
    @pytest.mark.parametrize(
        "make,expected",
        [
            (lambda: Value(0.0).log(), -math.inf),
            (lambda: Value(-1.0).sqrt(), math.nan),
            (lambda: Value(1.0) / 0, math.inf),
            (lambda: Value(-1.0) / 0, -math.inf),
            (lambda: Value(0.0) / 0, math.nan),
            (lambda: Value(0.0) ** -1, math.inf),
            (lambda: Value(-8.0) ** (1 / 3), math.nan),
            (lambda: Value(1000.0).exp(), math.inf),
            (lambda: Value(10.0) ** 400, math.inf),
            (lambda: Value(math.inf).sin(), math.nan),
            (lambda: 1 / Value(0.0), math.inf),
        ],
    )
    def test_domain_problems_give_inf_or_nan(self, make, expected: float) -> None:  # type: ignore[no-untyped-def]
        y = make()
        if math.isnan(expected):
            assert math.isnan(y.data)
        else:
            assert y.data == expected
        y.backward()  # never raises either

    def test_never_a_complex_number(self) -> None:
        y = Value(-8.0) ** Value(1 / 3)
        assert type(y.data) is float

    @pytest.mark.parametrize("x", [1000.0, -1000.0])
    def test_saturating_ops_are_finite_forward_and_backward(self, x: float) -> None:
        for name in ("tanh", "sigmoid", "softplus"):
            v = Value(x)
            y = getattr(v, name)()
            y.backward()
            assert math.isfinite(y.data) and math.isfinite(v.grad), name
        assert Value(1000.0).softplus().data == 1000.0
        assert Value(-1000.0).sigmoid().data == 0.0

    def test_nary_sums_follow_ieee_instead_of_raising(self) -> None:
        inf = math.inf
        assert math.isnan(autograd.sum([Value(inf), Value(-inf)]).data)
        assert math.isnan(autograd.mean([inf, Value(-inf)]).data)
        assert autograd.sum([Value(1e308), 1e308, -1e308]).data == inf  # overflow, not an error
        assert math.isnan(autograd.dot([Value(1e308), Value(1e308)], [10.0, -10.0]).data)
        assert autograd.sum([Value(0.1)] * 10).data == 1.0  # still exactly rounded

    def test_logsumexp_is_stable(self) -> None:
        xs = [Value(1000.0), Value(1000.0), Value(-1000.0)]
        y = autograd.logsumexp(xs)
        y.backward()
        assert y.data == pytest.approx(1000.0 + math.log(2.0))
        assert [x.grad for x in xs] == pytest.approx([0.5, 0.5, 0.0])


class TestKinks:
    def test_pytorch_conventions(self) -> None:
        cases = [
            (lambda x: x.relu(), 0.0),
            (lambda x: x.abs(), 0.0),
            (lambda x: x.leaky_relu(0.2), 0.2),
            (lambda x: x.sqrt(), math.inf),
            (lambda x: x.log(), math.inf),
        ]
        for f, expected in cases:
            x = Value(0.0)
            f(x).backward()
            assert x.grad == expected

    @pytest.mark.parametrize("at", [-1.0, 1.0])
    def test_clamp_passes_gradient_at_either_bound(self, at: float) -> None:
        x = Value(at)
        x.clamp(-1.0, 1.0).backward()
        assert x.grad == 1.0

    def test_clamp_outside_and_unbounded(self) -> None:
        x = Value(5.0)
        y = x.clamp(max=1.0)
        y.backward()
        assert (y.data, x.grad) == (1.0, 0.0)
        assert Value(-7.0).clamp(min=None, max=None).data == -7.0

    @pytest.mark.parametrize("f", [autograd.maximum, autograd.minimum])
    def test_ties_split_the_gradient(self, f) -> None:  # type: ignore[no-untyped-def]
        a, b = Value(2.0), Value(2.0)
        f(a, b).backward()
        assert (a.grad, b.grad) == (0.5, 0.5)

    def test_maximum_minimum_route_the_gradient(self) -> None:
        a, b = Value(1.0), Value(3.0)
        autograd.maximum(a, b).backward()
        autograd.minimum(a, b).backward()
        assert (a.grad, b.grad) == (1.0, 1.0)
        assert autograd.maximum(a, 5).data == 5.0 and autograd.minimum(4, b).data == 3.0
        assert math.isnan(autograd.maximum(Value(math.nan), 1.0).data)


class TestNary:
    def test_sum_mean_dot_are_single_nodes(self) -> None:
        xs = [Value(float(i)) for i in range(1, 5)]
        s = autograd.sum(xs)
        assert s.op == "sum" and s.parents == tuple(xs) and s.data == 10.0
        m = autograd.mean(xs)
        assert m.op == "mean" and m.data == 2.5
        d = autograd.dot(xs, [1.0, 2.0, 3.0, 4.0])
        assert d.op == "dot" and d.parents == tuple(xs) and d.data == 30.0
        (s + m + d).backward()
        assert [x.grad for x in xs] == pytest.approx([1 + 0.25 + k for k in (1, 2, 3, 4)])

    def test_dot_with_values_on_both_sides(self) -> None:
        xs = [Value(1.0), Value(2.0)]
        ys = [Value(3.0), Value(4.0)]
        d = autograd.dot(xs, ys)
        assert d.parents == (*xs, *ys)
        d.backward()
        assert [v.grad for v in xs + ys] == [3.0, 4.0, 1.0, 2.0]

    def test_sum_folds_numbers_and_allows_empty(self) -> None:
        x = Value(1.0)
        s = autograd.sum([x, 2, 3.5])
        assert s.data == 6.5 and s.parents == (x,) and s.operands == (x, 2.0, 3.5)
        assert autograd.sum([]).data == 0.0

    def test_softmax(self) -> None:
        xs = [Value(1.0), Value(2.0), Value(3.0)]
        ps = autograd.softmax(xs)
        e = [math.exp(v) for v in (1.0, 2.0, 3.0)]
        assert [p.data for p in ps] == pytest.approx([v / sum(e) for v in e])
        ps[2].backward()
        s = [v / sum(e) for v in e]
        assert [x.grad for x in xs] == pytest.approx(
            [-s[2] * s[0], -s[2] * s[1], s[2] * (1 - s[2])]
        )

    @pytest.mark.parametrize(
        "call,match",
        [
            (lambda: autograd.mean([]), "mean: got an empty sequence"),
            (lambda: autograd.logsumexp([]), "logsumexp: got an empty sequence"),
            (lambda: autograd.dot([1.0], [1.0, 2.0]), "dot: xs has 1 elements but ys has 2"),
        ],
    )
    def test_value_errors(self, call, match: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ValueError, match=match):
            call()

    @pytest.mark.parametrize(
        "call,match",
        [
            (lambda: autograd.sum(Value(1.0)), "sum: expected an iterable"),
            (lambda: autograd.sum("abc"), "sum: expected an iterable"),
            (lambda: autograd.sum([Value(1.0), "x"]), "sum: operand 1"),
            (lambda: autograd.apply("tanh", Value(1.0), Value(2.0)), "tanh: takes 1 operand"),
            (lambda: Value(1.0).leaky_relu("a"), "leaky_relu: negative_slope"),
            (lambda: Value(1.0).clamp("a"), "clamp: min"),
        ],
    )
    def test_type_errors(self, call, match: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(TypeError, match=match):
            call()

    def test_apply_on_numbers_only_gives_a_constant_leaf(self) -> None:
        c = autograd.apply("tanh", 0.5)
        assert c.is_leaf and c.data == math.tanh(0.5)

    def test_make_node_checks_lengths(self) -> None:
        x = Value(1.0)
        with pytest.raises(ValueError, match="1 parents but 2 partials"):
            autograd.make_node(2.0, autograd.get_op("mul"), [x], [2.0, 1.0])


def test_nodes_of_one_scope_block_share_its_path() -> None:
    x = Value(1.0)
    with autograd.scope("layer 1"), autograd.scope("neuron 2"):
        a = x * 2.0
        b = a.tanh()
    with autograd.scope("layer 1"):
        c = b + 1.0
    assert (a.scope, b.scope, c.scope, x.scope) == ("layer 1/neuron 2",) * 2 + ("layer 1", "")
    assert a.scope is b.scope  # one string per block, not one per node
    c.scope = "other"
    assert c.scope == "other" and b.scope == "layer 1/neuron 2"


def test_a_value_wrapped_in_a_value_says_it_is_a_node_already() -> None:
    with pytest.raises(TypeError, match=r"got a Value; a Value is a node already: use it as "
                                        r"it is, or value.detach\(\)"):
        Value(Value(1.0))
    # inside autograd.compile, Value(x) of a number argument x is x (test_compile_arguments.py)
    import autograd

    def loss(xs: list[Value]) -> Value:
        return sum(Value(x) * 2.0 for x in xs)  # type: ignore[return-value]

    assert autograd.compile(loss)([1.0, 2.0]) == 6.0


def test_label_scope_and_operands_are_kept_together() -> None:
    # label, scope and the constant operands share storage on a node: setting one
    # must keep the others, in any order
    x = Value(1.0)
    with autograd.scope("layer 1"):
        a = x * 2.0
        b = 3.0 - x
        c = autograd.sum([x, 4.0, x])
    for node, operands in ((a, (x, 2.0)), (b, (3.0, x)), (c, (x, 4.0, x))):
        assert node.label == ""
        node.label = "n"
        assert (node.label, node.scope, node.operands) == ("n", "layer 1", operands)
        node.scope = "other"
        node.label = "m"
        assert (node.label, node.scope, node.operands) == ("m", "other", operands)
    d = x + x
    d.label = "d"
    d.scope = "s"
    assert (d.label, d.scope, d.operands) == ("d", "s", (x, x))
    assert (x.label, x.scope, x.operands) == ("", "", ())


_EDGES = [0.0, -0.0, 1.0, -2.5, 5e-324, -5e-324, 1e308, -1e308, 709.8, -745.2,
          math.inf, -math.inf, math.nan]


def _edge_lists() -> list[list[float]]:
    """Every pair of edge values, and 400 seeded draws of 3, 4 and 5 of them each."""
    rng = random.Random(0)
    out = [[a, b] for a in _EDGES for b in _EDGES]
    out += [[rng.choice(_EDGES) for _ in range(n)] for n in (3, 4, 5) for _ in range(400)]
    return out


class TestSmallGroups:
    """sum, mean, dot and logsumexp of 2 to 5 Values take unrolled lines (the compiled form
    for that many operands), in the public function for a list and in the group fast path
    for a tuple: the same floats as the op table's float rules, edge values included."""

    @staticmethod
    def _check(name: str, node: Value, xs: list[float]) -> None:
        op = autograd.OPS[name]
        out = op.forward(*xs)
        assert node.op == name
        assert bits(node.data) == bits(out)
        want = op.local(out, *xs)
        assert [bits(d) for d in node.partials] == [bits(w) for w in want]

    def _all(self, xs: list[float]) -> None:
        vs = [Value(x) for x in xs]
        h = len(xs) // 2
        nodes = [(name, getattr(autograd, name)(seq)) for name in ("sum", "mean", "logsumexp")
                 for seq in (vs, tuple(vs))]
        if len(xs) % 2 == 0:
            nodes += [("dot", autograd.dot(vs[:h], vs[h:])),
                      ("dot", autograd.dot(tuple(vs[:h]), tuple(vs[h:])))]
        for name, node in nodes:
            self._check(name, node, xs)
            assert node.parents == tuple(vs)

    def test_edge_values(self) -> None:
        for xs in _edge_lists():
            self._all(xs)

    @given(st.lists(st.floats(), min_size=2, max_size=6))
    def test_any_floats(self, xs: list[float]) -> None:
        self._all(xs)

    def test_dot_of_lists_of_other_lengths_or_of_iterators_is_the_general_paths(self) -> None:
        a, b, c = Value(2.0), Value(3.0), Value(5.0)
        for xs, ys in (([a], [b, c]), ([a, b], [c]), ([a, b, c], [a])):
            with pytest.raises(ValueError, match=rf"dot: xs has {len(xs)} elements but ys "
                                                 rf"has {len(ys)}; pass sequences of equal"):
                autograd.dot(xs, ys)
        d = autograd.dot(iter([a, b]), (v for v in [c, a]))
        assert d.parents == (a, b, c, a) and d.data == 16.0
        pair = [a]
        e = autograd.dot(pair, [b])
        pair.append(c)  # the node's parents are its own tuple, not the caller's list
        assert e.parents == (a, b) and e.data == 6.0
        with pytest.raises(TypeError, match="dot: xs: expected an iterable"):
            autograd.dot(a, [b])

    def test_a_value_twice_a_number_and_a_subclass_take_the_general_path_alike(self) -> None:
        class Sub(Value):
            pass

        a = Value(0.5)
        s = autograd.sum([a, a, a])
        assert s.data == 1.5 and s.parents == (a, a, a)
        s.backward()
        assert a.grad == 3.0
        assert autograd.sum([a, 2.0, a]).data == 3.0
        t = autograd.logsumexp([a, Sub(1.5), a, a])
        self._check("logsumexp", t, [0.5, 1.5, 0.5, 0.5])
