"""compile's inputs: arguments, captured Values, and Values made inside the traced function.

The step users write (micrograd's demo loop against our API): passing the
batch as an argument is the pattern that works, each call may bring a new
batch, and training gives the dynamic engine's numbers bit for bit. Inside a
trace ``Value(x)`` of a number argument ``x`` is that argument (micrograd's
demo wraps the batch itself: ``[list(map(Value, row)) for row in X]``);
``Value(v)`` of any other Value is an error naming the fix. A Value made
inside the traced function from data it closes over becomes a constant of the
compiled code: the trace warns once per source line, naming it, and
``Compiled.constants`` keeps every such line.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import autograd
from autograd import CompileWarning, Value

nn = pytest.importorskip("nn")

Batch = tuple[list[list[float]], list[float]]


def _demo_loss(model: Any, inputs: Sequence[Sequence[Any]], Y: Sequence[Any]) -> Value:
    """micrograd's demo loss, as users write it: builtin sum, hinge, L2 over parameters."""
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss  # type: ignore[no-any-return]


def _batch(rng: random.Random, n: int) -> Batch:
    """n points in the square, labelled +-1 by the XOR of their signs."""
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(n)]
    return X, [1.0 if a * b > 0 else -1.0 for a, b in X]


def _values(X: list[list[float]]) -> list[list[Value]]:
    return [list(map(Value, r)) for r in X]


def _steps_as_dynamic(dyn: Any, comp: Any, call: Callable[[list[list[float]], list[float]], float],
                      steps: int, lr: Callable[[int], float] = lambda k: 0.1) -> list[float]:
    """Train ``dyn`` dynamically and ``comp`` through ``call`` on the same new batch each
    step; assert equal losses and gradients bit for bit at every step; return the losses."""
    rng = random.Random(0)
    losses = []
    for k in range(steps):
        X, Y = _batch(rng, 8)  # a new batch every call
        total = _demo_loss(dyn, _values(X), Y)
        dyn.zero_grad()
        total.backward()
        comp.zero_grad()
        loss = call(X, Y)
        assert loss == total.data
        assert [p.grad for p in comp.parameters()] == [p.grad for p in dyn.parameters()]
        losses.append(loss)
        for model in (dyn, comp):
            for p in model.parameters():
                p.data -= lr(k) * p.grad
    assert [p.data for p in comp.parameters()] == [p.data for p in dyn.parameters()]
    return losses


# ---------------------------------------------------------------------------
# The batch as an argument: the step trains as the dynamic one


def test_micrograd_style_step_compiled_trains_as_the_dynamic_one() -> None:
    dyn, comp = nn.MLP(2, [8, 8, 1], seed=0), nn.MLP(2, [8, 8, 1], seed=0)
    step = autograd.compile(lambda xs, ys: _demo_loss(comp, xs, ys))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # the right pattern warns nothing
        losses = _steps_as_dynamic(dyn, comp, step, 6, lr=lambda k: 1.0 - 0.9 * k / 6)
    assert len(set(losses)) == len(losses)  # each batch gave its own loss
    assert step.traces == 1


def test_value_of_a_number_argument_is_that_argument_and_trains_as_dynamic() -> None:
    dyn, comp = nn.MLP(2, [6, 6, 1], seed=4), nn.MLP(2, [6, 6, 1], seed=4)
    step = autograd.compile(lambda X, Y: _demo_loss(comp, _values(X), Y))  # the demo's own
    _steps_as_dynamic(dyn, comp, step, 6)
    assert step.traces == 1  # one trace served every batch


@pytest.mark.parametrize("wrap", ["inside: x as it is", "outside: Values before the call"])
def test_both_fixes_train_as_the_dynamic_step_on_changing_batches(wrap: str) -> None:
    dyn, comp = nn.MLP(2, [6, 6, 1], seed=4), nn.MLP(2, [6, 6, 1], seed=4)
    g = autograd.compile(lambda inputs, Y: _demo_loss(comp, inputs, Y))
    if wrap.startswith("inside"):
        call: Callable[[list[list[float]], list[float]], float] = g
    else:
        def call(X: list[list[float]], Y: list[float]) -> float:
            return g(_values(X), Y)  # type: ignore[no-any-return]
    _steps_as_dynamic(dyn, comp, call, 5)


def test_user_step_with_value_inputs_gives_the_dynamic_input_gradients() -> None:
    dyn = nn.MLP(2, [5, 1], seed=2)
    comp = nn.MLP(2, [5, 1], seed=2)
    step = autograd.compile(lambda inputs, Y: _demo_loss(comp, inputs, Y))
    rng = random.Random(1)
    for _ in range(3):
        X, Y = _batch(rng, 6)
        d_in, c_in = _values(X), _values(X)
        _demo_loss(dyn, d_in, Y).backward()
        step(c_in, Y)
        assert [v.grad for r in c_in for v in r] == [v.grad for r in d_in for v in r]


# ---------------------------------------------------------------------------
# Value arguments, captured Values, Value(...) of an argument


def test_value_of_a_value_argument_or_a_built_value_names_the_fix() -> None:
    f = autograd.compile(lambda a: Value(a) * 2.0)
    with pytest.raises(TypeError, match=r"not one of the compiled function's number arguments"):
        f(Value(3.0))
    g = autograd.compile(lambda a: Value(a * 2.0) + a)
    with pytest.raises(TypeError, match=r"use it as it is, or value.detach\(\)"):
        g(1.5)
    with pytest.raises(TypeError, match=r"^Value: data must be a real number, got a Value; a "
                                        r"Value is a node already: use it as it is, or "
                                        r"value.detach\(\) for a new leaf"):
        Value(Value(1.0))  # outside a trace, as before


def test_value_arguments_get_their_own_gradients_on_every_call() -> None:
    f = autograd.compile(lambda a, b: a * b + a.tanh())
    first = [Value(2.0), Value(3.0)]
    f(*first)
    later = [Value(-0.5), Value(7.0)]
    loss = f(*later)
    ref = [Value(-0.5), Value(7.0)]
    want = ref[0] * ref[1] + ref[0].tanh()
    want.backward()
    assert loss == want.data
    assert [v.grad for v in later] == [v.grad for v in ref]  # not left in the first call's
    once = [Value(2.0), Value(3.0)]
    (once[0] * once[1] + once[0].tanh()).backward()
    assert [v.grad for v in first] == [v.grad for v in once]  # the first call's only


def test_the_same_value_twice_is_another_trace_than_two_values() -> None:
    f = autograd.compile(lambda a, b: a * b)
    a = Value(2.0)
    assert f(a, a) == 4.0 and a.grad == 4.0
    c, d = Value(5.0), Value(7.0)
    assert f(c, d) == 35.0 and (c.grad, d.grad) == (7.0, 5.0)
    assert f(a, a) == 4.0 and a.grad == 8.0
    assert f.traces == 2


def test_an_argument_the_function_also_captures_is_traced_as_itself() -> None:
    w = Value(4.0)
    g = autograd.compile(lambda x: x * w + x)
    assert g(w) == 20.0 and w.grad == 9.0  # d(w*w + w)/dw
    w.grad = 0.0
    v = Value(1.5)
    assert g(v) == 7.5 and (v.grad, w.grad) == (5.0, 1.5)
    assert g(w) == 20.0 and w.grad == 10.5


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


@pytest.mark.parametrize("case", ["finite", "inf gradient"])
def test_skipped_dead_neurons_match_the_dynamic_engine(case: str) -> None:
    # a relu neuron that is off passes on zeros only while its gradient is
    # finite; compiled and dynamic code skip exactly the same nodes
    def build() -> tuple[nn.Layer, Value]:
        layer = nn.Layer(2, 3, "relu", seed=3)
        for n in layer.neurons:
            n.b.data = -5.0  # every neuron off for small inputs
        return layer, Value(0.25)

    scale = 1e308 if case == "inf gradient" else 1.0

    def loss(layer: nn.Layer, x0: Any, x1: Any) -> Value:
        return sum(layer([x0, x1])) * scale * 10.0  # type: ignore[no-any-return]

    dyn, a = build()
    out = loss(dyn, a, 0.5)
    out.backward()
    comp, b = build()
    step = autograd.compile(lambda x0, x1: loss(comp, x0, x1))
    assert _same(step(b, 0.5), out.data)
    for p, q in zip([*comp.parameters(), b], [*dyn.parameters(), a]):
        assert _same(p.grad, q.grad)
    if case == "finite":
        assert all(p.grad == 0.0 for p in [*comp.parameters(), b])
    else:  # 10 * 1e308 is inf, and inf * 0 is nan: it flows, it is not skipped
        assert all(p.grad != p.grad for p in [*comp.parameters(), b])


# ---------------------------------------------------------------------------
# Values made inside the function: constants, CompileWarning, Compiled.constants


def test_a_value_made_from_closed_over_data_warns_once_naming_the_line() -> None:
    w = Value(0.5)
    batch = [1.0, 2.0]

    def loss() -> Value:
        xs = [Value(x) for x in batch]  # the line the warning names
        return autograd.sum([w * x for x in xs])

    line = loss.__code__.co_firstlineno + 1
    step = autograd.compile(loss)
    with pytest.warns(CompileWarning) as rec:
        assert step() == 1.5
    assert len(rec) == 1  # two Values, one line: one warning
    msg = str(rec[0].message)
    assert f"{__file__}:{line}" in msg and "loss()" in msg
    assert "pass it as an argument" in msg
    assert (rec[0].filename, rec[0].lineno) == (__file__, line)
    batch[:] = [10.0, 20.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        assert step() == 1.5  # the constant: what the warning said; no second warning
        autograd.compile(loss)()  # another trace of the same line: still once


def test_a_made_value_the_outputs_do_not_read_is_not_reported() -> None:
    w = Value(2.0)

    def loss(x: Value) -> Value:
        Value(3.0)  # made, but not part of the loss
        return w * x

    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        assert autograd.compile(loss)(1.5) == 3.0


def test_constants_lists_every_baked_line_even_after_the_warning_was_shown() -> None:
    w = Value(0.5)

    def f(x: Any) -> Value:
        return w * x + Value(2.0)  # a Value made inside: a constant of the code

    for _ in range(2):  # the second compile of the same line warns no more, but still records
        step = autograd.compile(f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", autograd.CompileWarning)
            assert step(1.5) == 2.75
        assert step.constants == ((__file__, f.__code__.co_firstlineno + 1),)
    clean = autograd.compile(lambda x: w * x + 2.0)
    assert clean(1.5) == 2.75 and clean.constants == ()


# ---------------------------------------------------------------------------
# One list of leaf Values (step(params), step(leaves)): every call after the first
# takes a shorter path, with the general path's answers


def _list_fn() -> tuple[Any, Value]:
    w = Value(0.5)
    return autograd.compile(lambda xs: autograd.sum([x * w for x in xs]) * xs[0]), w


def _dynamic_list(xs: list[Value], w: Value) -> Value:
    out = autograd.sum([x * w for x in xs]) * xs[0]
    out.backward()
    return out


def test_a_list_of_leaves_gives_the_dynamic_gradients_on_every_call() -> None:
    f, w = _list_fn()
    for k in range(4):
        xs = [Value(1.0 + k + i) for i in range(3)]
        ref_w = Value(0.5)
        ref = [Value(1.0 + k + i) for i in range(3)]
        for v, r in zip(xs, ref):  # accumulates into the .grad a leaf had
            v.grad = r.grad = 0.25 * k
        want = _dynamic_list(ref, ref_w)
        w.grad = 0.0
        assert f(xs) == want.data
        assert [v.grad for v in xs] == [r.grad for r in ref] and w.grad == ref_w.grad
        assert f.forward(xs) == want.data and [v.grad for v in xs] == [r.grad for r in ref]
    assert f.traces == 1


def test_a_list_of_another_shape_or_with_a_value_twice_traces_again() -> None:
    f, _ = _list_fn()
    a, b = Value(2.0), Value(3.0)
    f([a, b])
    assert f([a, a]) == (2.0 * 0.5 + 2.0 * 0.5) * 2.0 and f.traces == 2
    assert a.grad == 3.5 + 4.0  # the first call's 2 w a + w b, then d(2 w a^2)/da
    c = Value(1.0)
    assert f([a, b, c]) == (1.0 + 1.5 + 0.5) * 2.0 and f.traces == 3

    def first_twice(xs: list[Any]) -> Value:  # xs[0] a Value or a list holding one
        x0 = xs[0] if isinstance(xs[0], Value) else xs[0][0]
        return x0 * 2.0 + xs[1]

    for order in ([[a, b], [[a], b]], [[[a], b], [a, b]]):  # nested: another structure
        g = autograd.compile(first_twice)
        for xs in order * 2:
            a.grad = 0.0
            assert g(xs) == 7.0 and a.grad == 2.0
        assert g.traces == 2


def test_a_list_holding_a_captured_value_traces_it_as_itself() -> None:
    f, w = _list_fn()
    f([Value(1.0), Value(2.0)])
    w.grad = 0.0
    x = Value(4.0)
    assert f([x, w]) == (4.0 * 0.5 + 0.5 * 0.5) * 4.0 and f.traces == 2
    assert x.grad == 2.0 + 2.25 and w.grad == 4.0 * (4.0 + 2 * 0.5)


def test_a_list_with_an_interior_value_or_a_number_gets_the_general_answer() -> None:
    f, _ = _list_fn()
    f([Value(1.0), Value(2.0)])
    with pytest.raises(TypeError, match=r"argument args\[0\]\[1\] is an interior Value"):
        f([Value(1.0), Value(2.0) * 3])
    assert f([Value(1.0), 2.0]) == (0.5 + 1.0) * 1.0  # a number in the list
    assert f.traces == 2

    class Leaf(Value):
        __slots__ = ()

    mine = [Leaf(3.0), Leaf(1.0)]  # a subclass of Value is a Value: the first trace serves
    assert f(mine) == 6.0 and [v.grad for v in mine] == [2.0 + 0.5 * 3.0, 0.5 * 3.0]
    assert f.traces == 2


def test_a_list_call_retraces_when_the_data_takes_another_branch() -> None:
    f = autograd.compile(lambda xs: xs[0] * 2 if xs[0] > xs[1] else xs[1] * 3)
    a, b = Value(2.0), Value(1.0)
    assert f([a, b]) == 4.0 and a.grad == 2.0
    c, d = Value(1.0), Value(2.0)
    assert f([c, d]) == 6.0 and (c.grad, d.grad) == (0.0, 3.0) and f.traces == 2
    g = autograd.compile(lambda xs: xs[0] * 2 if xs[0] > xs[1] else xs[1] * 3, retrace=False)
    g([a, b])
    with pytest.raises(autograd.TraceError, match=r"takes another branch"):
        g([c, d])


def test_a_list_call_keeps_pre_trace_nodes_going_backward() -> None:
    w = Value(3.0)
    w2 = w * w  # made before the trace: its gradient continues into w
    f = autograd.compile(lambda xs: w2 * xs[0] + xs[1])
    f([Value(1.0), Value(1.0)])
    w.grad = w2.grad = 0.0
    x = Value(2.0)
    assert f([x, Value(5.0)]) == 23.0 and x.grad == 9.0
    assert w2.grad == 2.0 and w.grad == 2 * 3.0 * 2.0


def test_a_compiled_list_call_inside_a_trace_is_refused() -> None:
    inner, _ = _list_fn()
    inner([Value(1.0), Value(2.0)])

    def outer(xs: list[Value]) -> Value:
        return xs[0] * inner(xs)

    with pytest.raises(autograd.TraceError, match=r"called inside a function being traced"):
        autograd.compile(outer)([Value(1.0), Value(2.0)])
