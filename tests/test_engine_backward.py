"""Backward: chain rule on random DAGs, accumulation semantics, deep graphs
without recursion, memory, no_grad and detach, and the skip of nodes whose
partials are all zero."""

from __future__ import annotations

import gc
import math
import sys
import threading
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
import nn
from autograd import Value
from tests.helpers import bits, central_diff, close
from tests.strategies import Dag, dags, inputs


@given(dag=dags(), xs=st.lists(inputs, min_size=3, max_size=3))
def test_random_dags_match_finite_differences(dag: Dag, xs: list[float]) -> None:
    xs = xs[: dag.n_inputs]
    leaves = [Value(x) for x in xs]
    out = dag.build(leaves)
    out.backward()
    for i, leaf in enumerate(leaves):
        numeric = central_diff(dag.build_floats, xs, i)
        assert close(leaf.grad, numeric, 1e-5), dag.describe()


@given(dag=dags(), xs=st.lists(inputs, min_size=3, max_size=3))
def test_grad_function_equals_backward_and_touches_no_grad(dag: Dag, xs: list[float]) -> None:
    leaves = [Value(x) for x in xs[: dag.n_inputs]]
    out = dag.build(leaves)
    gs = autograd.grad(out, leaves, allow_unused=True)
    assert all(leaf.grad == 0.0 for leaf in leaves)
    out.backward()
    for g, leaf in zip(gs, leaves):
        assert g.data == pytest.approx(leaf.grad, rel=1e-12, abs=1e-12)


@given(dag=dags(max_steps=6), xs=st.lists(inputs, min_size=3, max_size=3))
def test_create_graph_second_derivatives_on_random_dags(dag: Dag, xs: list[float]) -> None:
    xs = xs[: dag.n_inputs]
    leaves = [Value(x) for x in xs]
    firsts = autograd.grad(dag.build(leaves), leaves, create_graph=True, allow_unused=True)
    for i, g in enumerate(firsts):
        seconds = autograd.grad(g, leaves, allow_unused=True)

        def first_i(ys: list[float], i: int = i) -> float:
            ls = [Value(y) for y in ys]
            return autograd.grad(dag.build(ls), ls, allow_unused=True)[i].data

        for j in range(len(xs)):
            assert close(seconds[j].data, central_diff(first_i, xs, j), 1e-4), dag.describe()


class TestAccumulation:
    def test_leaves_accumulate_across_backward_calls(self) -> None:
        x = Value(3.0)
        y = x * x
        y.backward()
        y.backward()
        assert x.grad == 12.0
        x.grad = 0.0
        y.backward()
        assert x.grad == 6.0

    def test_interior_nodes_hold_the_latest_pass_only(self) -> None:
        x = Value(2.0)
        h = x * 3
        y = h * h
        y.backward()
        y.backward()
        assert h.grad == 2 * h.data  # not doubled
        assert x.grad == 2 * (2 * h.data * 3)

    def test_reused_intermediate_across_graphs(self) -> None:
        w = Value(1.5)
        w2 = w * w  # computed once, reused in every step
        for step in range(1, 4):
            x = Value(float(step))
            loss = w2 * x
            w.grad = 0.0
            loss.backward()
            assert w2.grad == step
            assert w.grad == pytest.approx(2 * 1.5 * step)

    def test_backward_seed_and_leaf_root(self) -> None:
        x = Value(2.0)
        (x * 5).backward(gradient=0.5)
        assert x.grad == 2.5
        x.backward()
        assert x.grad == 3.5
        with pytest.raises(TypeError, match="backward: gradient"):
            x.backward("1")  # type: ignore[arg-type]

    def test_an_interrupted_pass_leaves_interior_grads_as_floats(self) -> None:
        x = Value(2.0)
        h = x * 3
        y = (h * h).tanh()
        y.backward()
        h._p = (x, "not a node")  # a broken graph: the sweep raises inside the pass
        with pytest.raises(AttributeError):
            y.backward()
        assert [type(v.grad) for v in (y, h)] == [float, float]
        assert x.grad == (1 - y.data ** 2) * 2 * h.data * 3  # the first pass's, untouched

    def test_a_second_pass_meets_every_node_again(self) -> None:
        x = Value(0.5)
        a = x.exp()
        b = a * a + a  # a met twice in each pass
        c = b * b
        c.backward()
        first = (a.grad, b.grad, x.grad)
        x.grad = 0.0
        c.backward()
        assert (a.grad, b.grad, x.grad) == first

    def test_without_float_identity_the_sweep_keeps_a_set(
            self, monkeypatch: pytest.MonkeyPatch) -> None:
        def grads() -> list[float]:
            x = Value(0.5)
            a = x.exp()
            out = (a * a + a).tanh() * a
            out.backward()
            return [x.grad, a.grad, out.grad]

        want = grads()
        monkeypatch.setattr("autograd.engine._MARKS", False)  # as on PyPy
        assert grads() == want

    def test_shared_subexpression_diamond(self) -> None:
        x = Value(0.7)
        a = x.tanh()
        b = a * a + a.sin()
        b.backward()
        t = math.tanh(0.7)
        assert x.grad == pytest.approx((2 * t + math.cos(t)) * (1 - t * t))


class TestDeepGraphs:
    def test_million_node_chain_under_default_recursion_limit(self) -> None:
        assert sys.getrecursionlimit() <= 10_000
        x = Value(1.0)
        y = x
        for _ in range(1_000_000):
            y = y + 1e-6
        y.backward()
        assert x.grad == 1.0
        assert y.data == pytest.approx(2.0)
        order = autograd.backward_order(y)
        assert len(order) == 1_000_000
        del y, order

    def test_deep_chain_frees_without_recursion_error(self) -> None:
        x = Value(0.5)
        y = x
        for _ in range(200_000):
            y = y * 1.0
        del y  # freed by reference counting; must not crash

    def test_create_graph_on_a_long_chain(self) -> None:
        x = Value(0.5)
        y = x
        for _ in range(2000):
            y = (y * 1.0001 + 0.001).tanh()
        (g,) = autograd.grad(y, [x], create_graph=True)
        y.backward()
        assert g.data == pytest.approx(x.grad)


class TestMemory:
    def test_graph_has_no_reference_cycles(self) -> None:
        gc.collect()
        gc.disable()
        try:
            before = gc.get_count()[0]
            x = Value(0.5)
            y = x
            for _ in range(1000):
                y = (y * 2.0 + 1.0).tanh()
            y.backward()
            del y
            assert gc.collect() == 0  # nothing left for the cyclic collector
            assert gc.get_count()[0] >= 0 and before >= 0
        finally:
            gc.enable()

    def test_forward_loop_without_backward_does_not_grow_memory(self) -> None:
        w = [Value(0.1 * i) for i in range(20)]

        def step() -> None:
            loss = autograd.sum((wi * 1.5 + 0.5).tanh() for wi in w)
            loss.data  # dropped without backward

        def live_values() -> int:
            return sum(1 for o in gc.get_objects() if type(o) is Value)

        gc.collect()
        values_before = live_values()
        tracemalloc.start()
        for _ in range(3000):  # fills CPython's free lists with traced blocks
            step()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(1000):
            step()
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert live_values() == values_before  # every step's nodes were freed
        assert after - base < 50_000, after - base  # 1000 steps made 41,000 nodes


class TestNoGrad:
    def test_nothing_recorded_inside(self) -> None:
        x = Value(2.0)
        with autograd.no_grad():
            y = x * 3 + x.tanh()
            assert not autograd.is_grad_enabled()
        assert y.is_leaf and y.op == "" and y.parents == ()
        assert y.data == pytest.approx(6 + math.tanh(2.0))
        assert autograd.is_grad_enabled()
        z = x * 3
        assert z.parents == (x,)

    def test_restored_after_an_exception(self) -> None:
        with pytest.raises(RuntimeError), autograd.no_grad():
            raise RuntimeError("boom")
        assert autograd.is_grad_enabled()
        assert (Value(1.0) * 2).parents

    def test_per_thread(self) -> None:
        inside = threading.Event()
        release = threading.Event()
        recorded: list[bool] = []

        def worker() -> None:
            with autograd.no_grad():
                inside.set()
                release.wait(5)

        t = threading.Thread(target=worker)
        t.start()
        inside.wait(5)
        try:
            recorded.append(bool((Value(1.0) * 2).parents))  # main thread still records
        finally:
            release.set()
            t.join()
        assert recorded == [True]

    def test_detach(self) -> None:
        x = Value(2.0)
        y = (x * 3).detach()
        assert y.is_leaf and y.data == 6.0
        (y * x).backward()
        assert x.grad == 6.0 and y.grad == 2.0


class TestScope:
    def test_nested_scopes_tag_new_nodes(self) -> None:
        x = Value(1.0)
        with autograd.scope("layer 1"), autograd.scope("neuron 3"):
            y = x * 2
        z = y + 1
        assert y.scope == "layer 1/neuron 3"
        assert z.scope == "" and x.scope == ""

    def test_scope_names_are_validated(self) -> None:
        with pytest.raises(ValueError, match="scope: the name"), autograd.scope("a/b"):
            pass

    def test_scope_setter(self) -> None:
        v = Value(1.0)
        v.scope = "layer 2"
        assert v.scope == "layer 2"


class TestGradFunction:
    def test_third_derivative_of_tanh(self) -> None:
        x = Value(0.3)
        (g1,) = autograd.grad(x.tanh(), [x], create_graph=True)
        (g2,) = autograd.grad(g1, [x], create_graph=True)
        (g3,) = autograd.grad(g2, [x])
        t = math.tanh(0.3)
        assert g1.data == pytest.approx(1 - t * t)
        assert g2.data == pytest.approx(-2 * t * (1 - t * t))
        assert g3.data == pytest.approx((6 * t * t - 2) * (1 - t * t))

    def test_hessian_of_a_polynomial(self) -> None:
        x, y = Value(1.0), Value(2.0)
        f = x * x * y + y**3
        gx, gy = autograd.grad(f, [x, y], create_graph=True)
        assert (gx.data, gy.data) == (4.0, 1.0 + 12.0)
        assert [g.data for g in autograd.grad(gx, [x, y])] == [4.0, 2.0]
        assert [g.data for g in autograd.grad(gy, [x, y])] == [2.0, 12.0]

    def test_gradient_wrt_an_interior_node(self) -> None:
        x = Value(2.0)
        h = x * x
        y = h * 3
        (gh,) = autograd.grad(y, [h])
        assert gh.data == 3.0

    def test_unused_inputs(self) -> None:
        x, z = Value(1.0, label="z0"), Value(2.0, label="z")
        y = x * 2
        with pytest.raises(ValueError, match=r"inputs\[1\] \('z'\) is not used.*allow_unused=True"):
            autograd.grad(y, [x, z])
        assert autograd.grad(y, [x, z], allow_unused=True)[1].data == 0.0

    def test_bad_arguments(self) -> None:
        with pytest.raises(TypeError, match="grad: output must be a Value"):
            autograd.grad(1.0, [Value(1.0)])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"grad: inputs\[0\] must be a Value"):
            autograd.grad(Value(1.0), [1.0])  # type: ignore[list-item]

    def test_results_without_create_graph_are_leaves(self) -> None:
        x = Value(2.0)
        (g,) = autograd.grad(x * x, x)
        assert g.is_leaf and g.data == 4.0

    def test_create_graph_through_constants_and_params(self) -> None:
        x = Value(0.5)
        y = (2.0**x) * x.leaky_relu(0.1) + x.clamp(0.0, 1.0) / 3.0
        (g,) = autograd.grad(y, [x], create_graph=True)
        (h,) = autograd.grad(g, [x])
        ln2 = math.log(2.0)
        e = 2.0**0.5
        assert g.data == pytest.approx(e * ln2 * 0.5 + e + 1 / 3)
        assert h.data == pytest.approx(e * ln2 * ln2 * 0.5 + 2 * e * ln2)


class TestZeroPartialSkip:
    """A node whose partials are all zero is skipped while its gradient is finite.

    A relu neuron that is off has only zero partials, so it would add zeros to
    its parents' gradients. Nothing else changes: gradients equal those of the
    elementwise (unfused) graph, a non-finite gradient still flows (0 * inf is
    nan), and the one documented difference: a hand-set ``-0.0`` leaf gradient
    keeps its sign.
    """

    @staticmethod
    def dead_node(x: Value, w: Value, b: Value) -> Value:
        """A fused relu neuron that is off: out 0, every partial 0."""
        return autograd.make_node(0.0, autograd.get_op("neuron_relu"), [x, w, b], [0.0, 0.0, 0.0])

    def test_skipped_node_gives_what_adding_its_zeros_gives(self) -> None:
        x, w, b = Value(2.0), Value(-3.0), Value(0.5)
        dead = self.dead_node(x, w, b)
        live = x * w
        y = dead * 4.0 + live
        y.backward()
        assert (x.grad, w.grad, b.grad) == (-3.0, 2.0, 0.0)
        assert dead.grad == 4.0
        assert math.copysign(1.0, b.grad) == 1.0  # +0.0, as before

    def test_interior_parent_reached_only_through_a_dead_node_gets_zero(self) -> None:
        a = Value(1.5)
        h = a * 2.0  # interior, consumed only by the dead node
        h.grad = 123.0  # left over from an earlier pass
        dead = self.dead_node(h, Value(1.0), Value(0.0))
        (dead + 1.0).backward()
        assert h.grad == 0.0 and math.copysign(1.0, h.grad) == 1.0
        assert a.grad == 0.0

    @pytest.mark.parametrize("seed", [math.inf, -math.inf, math.nan])
    def test_a_non_finite_gradient_still_flows_through_zero_partials(self, seed: float) -> None:
        x, w, b = Value(2.0), Value(-3.0), Value(0.5)
        self.dead_node(x, w, b).backward(seed)
        assert all(math.isnan(v.grad) for v in (x, w, b))  # 0 * inf is nan, as without the skip

    def test_a_hand_set_negative_zero_leaf_gradient_keeps_its_sign(self) -> None:
        x, w, b = Value(2.0), Value(-3.0), Value(0.5)
        b.grad = -0.0
        self.dead_node(x, w, b).backward()
        assert b.grad == 0.0 and math.copysign(1.0, b.grad) == -1.0  # the documented exception

    @given(st.lists(st.floats(-3, 3), min_size=2, max_size=2), st.integers(0, 2**16))
    def test_fused_relu_model_gradients_equal_the_elementwise_graphs(
            self, x: list[float], seed: int) -> None:
        fused = nn.MLP(2, [6, 5, 1], seed=seed)
        plain = nn.MLP(2, [6, 5, 1], seed=seed, fused=False)
        plain.load_state_dict(fused.state_dict())
        for m in (fused, plain):
            out = m([Value(v) for v in x])
            assert isinstance(out, Value)
            (out * out).backward()
        for p, q in zip(fused.parameters(), plain.parameters()):
            assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-12)


def _bits(xs: list) -> list[str]:
    return [bits(x.data if isinstance(x, Value) else x) for x in xs]


def _gap(n: int) -> None:
    """Make (and drop) ``n`` interior nodes: later nodes' creation numbers move on."""
    t = Value(0.5)
    for _ in range(n):
        t * 2.0


def _far_graph(gap: int) -> tuple[list[Value], Value, list[Value]]:
    """Interior nodes made long before the rest of the graph, reused by it."""
    a, b, c = Value(0.3), Value(-1.2), Value(0.7)
    old = (a * b).tanh()  # made first, then ``gap`` nodes, then the rest
    older = old * old + c
    _gap(gap)
    x = [Value(0.1 * k) for k in range(5)]
    terms = [(xi * old + older).sigmoid() * (xi - c) for xi in x]
    loss = autograd.sum(terms) + old * 3.0
    return [a, b, c, *x], loss, [old, older]


@pytest.mark.parametrize("gap", [0, 5_000])
def test_backward_reaches_nodes_made_long_before_the_rest(gap: int) -> None:
    # nodes made long before their consumers (far in creation number) are visited
    # in the same order as any other: the same bits as the walk of backward_order
    leaves, loss, interior = _far_graph(gap)
    want = autograd.grad(loss, leaves)
    loss.backward()
    assert _bits([v.grad for v in leaves]) == _bits(list(want))
    ref_leaves, ref_loss, ref_interior = _far_graph(0)
    ref_loss.backward()
    assert _bits([v.grad for v in leaves]) == _bits([v.grad for v in ref_leaves])
    assert _bits([v.grad for v in interior]) == _bits([v.grad for v in ref_interior])
    loss.backward()  # a second pass: leaves accumulate, interior nodes start again
    assert _bits([v.grad for v in interior]) == _bits([v.grad for v in ref_interior])
    assert _bits([v.grad for v in leaves]) == _bits([2.0 * g.data for g in want])


def test_backward_through_a_shallow_copy_of_a_node_counts_both() -> None:
    import copy

    a, b = Value(0.6), Value(-0.4)
    h = a * b + a
    twin = copy.copy(h)  # another node over h's parents
    assert twin.parents == h.parents and twin.data == h.data
    loss = (h * twin).tanh() + twin * 2.0 + h
    want = autograd.grad(loss, [a, b])
    loss.backward()
    assert _bits([a.grad, b.grad]) == _bits(list(want))
    assert h.grad != 0.0 and twin.grad != 0.0


def test_backward_of_a_wide_graph_whose_oldest_parents_come_first() -> None:
    leaves = [Value(0.01 * k) for k in range(3000)]
    hidden = [(x * 1.5 + 0.1).tanh() for x in leaves]  # 3 nodes each, all before the sum
    loss = autograd.sum(hidden[::-1])  # the oldest parents first
    want = autograd.grad(loss, leaves)
    loss.backward()
    assert _bits([x.grad for x in leaves]) == _bits(list(want))


def test_backward_of_wide_nodes_sharing_parents_and_dead_ones_matches_grad() -> None:
    # neurons of a layer: wide nodes over the same inputs and weights, some of them off
    # (all partials zero); their parents are found once, every gradient as grad's walk
    model = nn.MLP(3, [12, 12, 1], seed=4)
    xs = [[Value(0.3 * k - 1.0), Value(0.7 - 0.2 * k), Value(0.1 * k)] for k in range(6)]
    loss = autograd.sum([model(x) for x in xs])
    params = model.parameters()
    want = autograd.grad(loss, params)
    model.zero_grad()
    loss.backward()
    # equal floats (grad's first contribution to a leaf is stored as it is, so a -0.0
    # from a dead neuron stays -0.0 there; backward adds to the leaf's 0.0)
    assert [p.grad for p in params] == [w.data for w in want]
    dead = [n for n in autograd.backward_order(loss)
            if len(n.parents) > 4 and all(d == 0.0 for d in n.partials)]
    assert dead  # the case is exercised: some neurons are off
