"""create_graph's fast paths: stored partials where they are constants, and the fused
backward rules an entry declares (``tanh_backward``: grad * (1 - out^2) as one node).

First derivatives are bit-identical to the plain ``grad``; higher ones match the
analytic derivatives; the fused nodes are ordinary table ops (differentiable again).
"""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value, func
from autograd.ops import define_op
from tests.helpers import bits
from tests.strategies import Dag, dags, inputs, programs, run_program, values


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
    assert {"tanh_backward", "sigmoid_backward"} <= _ops_in(gx)
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


def _ops_in(v: Value) -> set[str]:
    ops: set[str] = set()
    stack, seen = [v], set()
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        ops.add(u.op)
        stack.extend(u.parents)
    return ops


def _softmax_graph(xs: list[Value]) -> Value:
    ps = autograd.softmax([x * 1.5 for x in xs])
    return autograd.logsumexp([xs[0] * ps[1], ps[0], xs[2].tanh()]) * ps[2] + ps[0] * ps[1]


def test_logsumexp_and_softmax_gradients_are_fused_nodes() -> None:
    xs = [Value(v) for v in (0.3, -0.5, 1.1)]
    grads = autograd.grad(_softmax_graph(xs) * Value(2.0), xs, create_graph=True)
    ops = set().union(*(_ops_in(g) for g in grads))
    assert {"logsumexp_backward", "softmax_out_backward"} <= ops
    lse = autograd.get_op("logsumexp_backward")
    assert lse.rule is not None and lse.rule.forward == "grad * (exp(xs - result))"
    assert lse.rule.operands == ("grad", "xs", "result") and not lse.builtin


@pytest.mark.parametrize("seed", range(4))
def test_fused_logsumexp_and_softmax_first_derivatives_are_the_plain_grads_bits(
        seed: int) -> None:
    import random

    rng = random.Random(seed)
    xs = [Value(rng.uniform(-2.0, 2.0)) for _ in range(3)]
    y = _softmax_graph(xs) * Value(0.7) + autograd.softmax(xs)[1]
    graph = autograd.grad(y, xs, create_graph=True)
    plain = autograd.grad(y, xs)
    assert [_bits(g.data) for g in graph] == [_bits(g.data) for g in plain]


def test_gradgradcheck_through_fused_logsumexp_and_softmax() -> None:
    def f(a: Value, b: Value, c: Value) -> Value:
        return _softmax_graph([a, b, c]) * Value(1.3)

    assert autograd.gradgradcheck(f, [0.3, -0.8, 0.5]).passed


def test_logsumexp_at_infinity_keeps_its_tie_rule_under_create_graph() -> None:
    xs = [Value(math.inf), Value(math.inf), Value(1.0)]
    y = autograd.logsumexp(xs) * Value(3.0)  # a Value gradient reaches the logsumexp node
    graph = autograd.grad(y, xs, create_graph=True)
    assert [g.data for g in graph] == [g.data for g in autograd.grad(y, xs)] == [1.5, 1.5, 0.0]
    assert "logsumexp_backward" not in set().union(*(_ops_in(g) for g in graph))


def test_a_fused_backward_must_name_an_operand() -> None:
    op = autograd.register_op(define_op(
        "mul_t", "*", ("a", "b"), "a * b", ("b", "a"), domain=((-1.0, 1.0),) * 2,
        fused_backward={"c": {"b": "grad"}}, builtin=False,
    ))
    try:
        a, b = Value(0.5), Value(2.0)
        y = autograd.apply(op, a, b) * a
        with pytest.raises(ValueError, match=r"mul_t: fused_backward names 'c', not an operand"):
            autograd.grad(y, [a, b], create_graph=True)
    finally:
        autograd.custom.remove_op("mul_t")


def test_partials_that_are_operands_through_dot_with_numbers_among_them() -> None:
    def f(a: Value, b: Value, c: Value) -> Value:  # (a c + 2 b + 3 b) a = a^2 c + 5 a b
        return autograd.dot([a, 2.0, b], [c, b, 3.0]) * a

    a, b, c = Value(0.7), Value(-1.3), Value(2.1)
    y = f(a, b, c)
    graph = autograd.grad(y, [a, b, c], create_graph=True)
    assert [_bits(g.data) for g in graph] == [_bits(g.data) for g in autograd.grad(y, [a, b, c])]
    h = func.hessian(f, argnums=(0, 1, 2))(0.7, -1.3, 2.1)
    want = [[2 * 2.1, 5.0, 2 * 0.7], [5.0, 0.0, 0.0], [2 * 0.7, 0.0, 0.0]]
    assert h == [pytest.approx(row, rel=1e-12, abs=1e-12) for row in want]


def test_a_flat_fused_backward_needs_a_one_operand_op() -> None:
    with pytest.raises(ValueError, match=r"fused_backward of an op of 2 operands: give the "
                                         r"derivatives per operand"):
        define_op("mul_f", "*", ("a", "b"), "a * b", ("b", "a"), domain=((-1.0, 1.0),) * 2,
                  fused_backward={"b": "grad"}, builtin=False)


def test_scoped_and_labelled_nodes_with_constants_differentiate_twice_the_same() -> None:
    # a scope or a label shares storage with a node's constant operands: create_graph
    # must still find them (x ** 3.0, 2.0 * x, x - 1.0 under a scope, one relabelled)
    def f(x: Value) -> Value:
        y = x ** 3.0 + 2.0 * x
        y.label = "y"
        return (y - 1.0) * x

    def second(scoped: bool) -> tuple[float, float]:
        x = Value(0.7)
        if scoped:
            with autograd.scope("block"):
                out = f(x)
        else:
            out = f(x)
        (g,) = autograd.grad(out, [x], create_graph=True)
        (h,) = autograd.grad(g, [x])
        return g.data, h.data

    assert second(True) == second(False)
    # d/dx (x^4 + 2x^2 - x) = 4x^3 + 4x - 1, d2 = 12x^2 + 4
    g, h = second(True)
    assert math.isclose(g, 4 * 0.7**3 + 4 * 0.7 - 1) and math.isclose(h, 12 * 0.49 + 4)


@given(dag=dags(), xs=st.lists(inputs, min_size=3, max_size=3), every=st.booleans())
def test_every_node_gets_the_plain_grads_bits_on_random_dags(dag: Dag, xs: list[float],
                                                             every: bool) -> None:
    """The walk takes each node once its gradient is complete (the newest one waiting):
    the first derivatives with respect to the leaves, or to every node of the graph (each
    then kept, whether carried to it or waiting), are the plain grad's, bit for bit."""
    leaves = [Value(x) for x in xs[: dag.n_inputs]]
    scale = Value(0.75)  # the gradients are Values from the output on: every path runs
    out = dag.build(leaves) * scale
    wanted = [*leaves, *autograd.backward_order(out)] if every else leaves
    built = autograd.grad(out, wanted, create_graph=True, allow_unused=True)
    plain = autograd.grad(out, wanted, allow_unused=True)
    assert [bits(g.data) for g in built] == [bits(g.data) for g in plain], dag.describe()


@pytest.mark.parametrize("every", [True, False])
def test_a_gradient_passed_on_waits_while_a_newer_node_has_one_to_give(every: bool) -> None:
    """b = tanh(p) is walked while a = p * y, newer than p, still has to pass p its part:
    p waits for it (the next node is the newest one with a gradient waiting)."""
    x, y, z = Value(0.7), Value(1.3), Value(-0.4)
    p = x.exp()
    a = p * y
    b = p.tanh()
    out = (a + b) * z
    wanted = [x, y, z, p, a, b] if every else [x, y, z]
    built = autograd.grad(out, wanted, create_graph=True)
    plain = autograd.grad(out, wanted)
    assert [bits(g.data) for g in built] == [bits(g.data) for g in plain]
    t = math.tanh(math.exp(0.7))
    assert math.isclose(built[0].data, -0.4 * math.exp(0.7) * (1.3 + 1 - t * t))


def test_gradients_with_respect_to_interior_nodes_of_a_chain() -> None:
    """A chain's gradient is carried from node to node without being stored: the interior
    nodes asked for still get theirs, as Values with the plain grad's bits."""
    x = Value(0.3)
    mids = []
    y = x
    for _ in range(4):
        y = (y * 1.5 - 0.25).tanh()
        mids.append(y)
    wanted = [mids[0], x, mids[2], mids[1]]  # any order, a leaf among them
    built = autograd.grad(y, wanted, create_graph=True)
    plain = autograd.grad(y, wanted)
    assert all(isinstance(g, Value) and g.data == p.data for g, p in zip(built, plain))
    assert autograd.grad(y, [y], create_graph=True)[0].data == 1.0
    (second,) = autograd.grad(built[0], [mids[0]])  # differentiable again
    assert math.isclose(second.data, func.grad(lambda m: _tail(m, 3))(mids[0].data),
                        rel_tol=1e-12)
    with pytest.raises(ValueError, match="not used"):
        autograd.grad(mids[1], [mids[2]], create_graph=True)


def _tail(m: Value, n: int) -> Value:
    """d/dm of the chain's last n links after m (what grad(y, [m]) computes)."""
    y = m
    for _ in range(n):
        y = (y * 1.5 - 0.25).tanh()
    (g,) = autograd.grad(y, [m], create_graph=True)
    return g


@pytest.mark.parametrize("c", [1.0001, -2.5, 0.0, -0.0, 1e-310, math.inf])
def test_a_gradient_times_a_stored_float_is_the_node_the_operator_makes(c: float) -> None:
    """grad * 1.0001 (the partial ``x * c`` stored) is built as ``*`` builds it."""
    x = Value(0.3)
    (g,) = autograd.grad((x * c + 0.001).tanh(), [x], create_graph=True)
    (t,) = g.parents
    h = t * c
    assert (g.op, g.parents, g.partials, g.operands) == (h.op, h.parents, h.partials, h.operands)
    assert _bits(g.data) == _bits(h.data)
    g.backward()
    tg = t.grad
    t.grad = 0.0
    h.backward()
    assert _bits(t.grad) == _bits(tg)


# ---------------------------------------------------------------------------
# addcmul accumulation and the generated per-op code keep every node and bit.


def _gradient_graph(results: list[Any], forward: set[Value]) -> list[Value]:
    """The nodes ``create_graph`` built for ``results`` (newest first), forward ones out."""
    vals = [r for r in results if isinstance(r, Value)]
    if not vals:
        return []
    top = autograd.sum(vals)
    return [n for n in autograd.backward_order(top)[1:] if n not in forward]


def _higher_orders(steps: list[Any], n_in: int, n_par: int, xs: list[float],
                   scaled: bool = True) -> list[Any]:
    """Everything three orders of create_graph make of a program: the gradient graphs'
    nodes (op, value, partials, where each operand sits) and the gradients' bits.
    ``scaled``: the output times a Value (Value gradients from it on), else float
    gradients (the seed, 1.0) go on until a partial is a Value."""
    leaves = [Value(x) for x in xs[: n_in + n_par]]
    out = run_program(steps, leaves) * (Value(0.75) if scaled else 1.0)
    forward = {*leaves, *autograd.backward_order(out)}
    where = {}
    seen: list[Any] = []
    level = out
    for order in range(3):
        res = autograd.grad(level, leaves, create_graph=order < 2, allow_unused=True)
        seen.append([None if r is None else bits(float(r)) for r in res])
        nodes = _gradient_graph(list(res), forward) if order < 2 else []
        for n in reversed(nodes):  # oldest first: a node's operands have their places
            where[n] = len(where)
        seen += [(n.op, bits(n.data), [bits(d) for d in n.partials],
                  [where.get(o, "forward") if isinstance(o, Value) else bits(o)
                   for o in n.operands]) for n in nodes]
        forward |= set(nodes)
        vals = [r for r in res if isinstance(r, Value)]
        if not vals or order == 2:
            break
        level = autograd.sum(vals) * vals[0]
    return seen


def _general_path(run: Any) -> Any:
    """``run()`` with create_graph's generated per-op code off: the general path only."""
    import autograd._create_graph as cg

    saved, real = dict(cg._uses_cache), cg._rule
    try:
        cg._uses_cache.clear()
        cg._rule = lambda op, plan: None
        return run()
    finally:
        cg._rule = real
        cg._uses_cache.clear()
        cg._uses_cache.update(saved)


@given(prog=programs(), xs=st.lists(values, min_size=6, max_size=6), scaled=st.booleans())
def test_each_ops_generated_code_builds_what_the_general_path_builds(
        prog: tuple[int, int, list[Any]], xs: list[float], scaled: bool) -> None:
    """Each op's create_graph code, generated from its plan, builds the nodes the
    general path builds, in the same order, to the bit, for three orders, over the
    whole table with constants among the operands and kinks in the inputs."""
    n_in, n_par, steps = prog
    fast = _higher_orders(steps, n_in, n_par, xs, scaled)
    assert fast == _general_path(lambda: _higher_orders(steps, n_in, n_par, xs, scaled))


def _expanded(results: list[Value], forward: set[Value]) -> list[Value]:
    """The gradient graph of ``results`` rebuilt with each ``addcmul(a, b, c)`` as the
    product and sum it replaces (``a + b * c``), every other node copied as it is."""
    new: dict[Value, Value] = {}

    def the(o: Any) -> Any:
        return new.get(o, o) if isinstance(o, Value) else o

    for n in reversed(_gradient_graph(results, forward)):  # oldest first
        a = [the(o) for o in n.operands]
        if n.op == "addcmul":
            new[n] = a[0] + a[1] * a[2]
        else:
            new[n] = autograd.make_node(n.data, autograd.get_op(n.op),
                                        [the(p) for p in n.parents], n.partials, a)
    return [new.get(r, r) for r in results]


@given(dag=dags(max_steps=16), xs=st.lists(inputs, min_size=3, max_size=3))
def test_an_addcmul_node_differentiates_as_the_product_and_sum_it_replaces(
        dag: Dag, xs: list[float]) -> None:
    """An accumulated gradient's next term is one addcmul node: differentiated again
    (create_graph, and a plain backward), every bit is the unfused graph's."""
    leaves = [Value(x) for x in xs[: dag.n_inputs]]
    out = dag.build(leaves) * Value(0.75)
    forward = {*leaves, *autograd.backward_order(out)}
    built = [g for g in autograd.grad(out, leaves, create_graph=True, allow_unused=True)
             if g is not None]
    if not built:
        return
    for grads in (built, _expanded(built, forward)):
        top = autograd.sum(grads) * grads[0]
        second = autograd.grad(top, leaves, create_graph=True, allow_unused=True)
        third = [autograd.grad(s, leaves, allow_unused=True) for s in second
                 if isinstance(s, Value) and s.parents]
        for v in leaves:
            v.grad = 0.0
        top.backward()
        seen = ([None if s is None else bits(float(s)) for s in second],
                [[None if t is None else bits(float(t)) for t in ts] for ts in third],
                [bits(v.grad) for v in leaves])
        if grads is built:
            fused = seen
    assert seen == fused, dag.describe()


def test_a_product_joining_a_gradient_is_one_addcmul_node() -> None:
    """x feeds two products: its gradient is g2 * z + g1 * y (the newer product first),
    the second term and the sum one node, ``addcmul(g2 * z, g1, y)``, whose value is
    the two ops'."""
    x, y, z, w = Value(0.7), Value(-1.3), Value(0.4), Value(2.0)
    out = (x * y) * w + (x * z) * w
    (g,) = autograd.grad(out, [x], create_graph=True)
    assert g.op == "addcmul"
    first, g1, yy = g.operands
    assert yy is y and first.op == "mul" and bits(g.data) == bits(first.data + g1.data * y.data)
    assert bits(g.data) == bits(autograd.grad(out, [x])[0])
    assert autograd.addcmul(1.5, 2.0, x).partials == (2.0,)
    with pytest.raises(TypeError, match="addcmul"):
        autograd.addcmul(x, "a", y)


def test_operands_with_one_stored_partial_share_one_product_even_when_accumulated() -> None:
    """mean's operands share one g * (1 / n) node, also those that already have a
    gradient (no addcmul of their own: the shared product is what the plain backward
    multiplies once, and what a second backward differentiates once)."""
    a, b, c, v, w = (Value(x) for x in (0.3, -0.8, 1.1, 0.6, 1.7))
    m = autograd.mean([a, b, c])
    out = m * w + a * v + b * v
    ga, gb, gc = autograd.grad(out, [a, b, c], create_graph=True)
    assert gc.op == "mul" and (ga.op, gb.op) == ("add", "add")
    assert ga.operands[1] is gc and gb.operands[1] is gc


@pytest.mark.parametrize("operands,forward,partials", [
    (("*xs", "b"), "fsum(xs) + 2.0 * b", ("1.0", "2.0")),  # a group and a single
    (("*xs",), "fsum(xs) * 3.0", ("3.0",)),  # one stored float for every operand
    (("a", "b", "c"), "a * b * c", ("b * c", "a * c", "a * b")),  # Value rules
    (("a", "b"), "a * b + a", ("b + 1.0", "a")),  # a Value rule and a value
])
def test_generated_code_of_a_users_op_builds_what_the_general_path_builds(
        operands: tuple[str, ...], forward: str, partials: tuple[str, ...]) -> None:
    """A registered op gets generated create_graph code too (or keeps the general
    path): three orders of it are the general path's, node for node and bit for bit."""
    n = 3 if operands[0].startswith("*") else len(operands)
    autograd.register_op(define_op("cg_user", "u", operands, forward, partials,
                                   domain=((-1.0, 1.0),) * len(operands), builtin=False))
    steps = [("mul", [("n", 0), ("n", 1)]), ("cg_user", [("n", i % 3) for i in range(n)]),
             ("cg_user", [("n", 4 - i % 2) for i in range(n)]), ("add", [("n", 5), ("n", 3)])]
    xs = [0.7, -1.2, 0.4, 0.9, 1.1, -0.3]
    try:
        fast = _higher_orders(steps, 3, 0, xs)
        general = _general_path(lambda: _higher_orders(steps, 3, 0, xs))
    finally:
        autograd.custom.remove_op("cg_user")
    assert fast == general and len(fast) > 6
