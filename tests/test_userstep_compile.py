"""compile on micrograd's demo step: ``Value(x)`` of an argument inside the traced function.

micrograd's demo wraps the batch itself (``[list(map(Value, row)) for row in
X]``). Compiled with the batch as an argument, ``Value(x)`` of a number
argument ``x`` is that argument: the step compiles, and trains bit for bit as
the dynamic one when the batch changes between calls; so do the other
patterns (``x`` as it is, the batch wrapped before the call). ``Value(v)`` of
any other Value is an error naming the fix.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import autograd
from autograd import Value

nn = pytest.importorskip("nn")


def _demo_loss(model: nn.MLP, inputs: Sequence[Sequence[Any]], Y: list[Any]) -> Value:
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss  # type: ignore[no-any-return]


def _batch(rng: random.Random, n: int) -> tuple[list[list[float]], list[float]]:
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(n)]
    return X, [1.0 if a * b > 0 else -1.0 for a, b in X]


def test_value_of_a_number_argument_is_that_argument_and_trains_as_dynamic() -> None:
    dyn = nn.MLP(2, [6, 6, 1], seed=4)
    comp = nn.MLP(2, [6, 6, 1], seed=4)
    step = autograd.compile(
        lambda X, Y: _demo_loss(comp, [list(map(Value, r)) for r in X], Y))  # the demo's own
    rng = random.Random(0)
    for _ in range(6):
        X, Y = _batch(rng, 8)  # a new batch every call
        total = _demo_loss(dyn, [list(map(Value, r)) for r in X], Y)
        dyn.zero_grad()
        total.backward()
        comp.zero_grad()
        assert step(X, Y) == total.data
        assert [p.grad for p in comp.parameters()] == [p.grad for p in dyn.parameters()]
        for model in (dyn, comp):
            for p in model.parameters():
                p.data -= 0.1 * p.grad
    assert step.traces == 1  # one trace served every batch


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


@pytest.mark.parametrize("wrap", ["inside: x as it is", "outside: Values before the call"])
def test_both_fixes_train_as_the_dynamic_step_on_changing_batches(wrap: str) -> None:
    dyn = nn.MLP(2, [6, 6, 1], seed=4)
    comp = nn.MLP(2, [6, 6, 1], seed=4)
    call: Callable[[list[list[float]], list[float]], float]
    if wrap.startswith("inside"):
        f = autograd.compile(lambda X, Y: _demo_loss(comp, X, Y))
        call = f
    else:
        g = autograd.compile(lambda inputs, Y: _demo_loss(comp, inputs, Y))

        def call(X: list[list[float]], Y: list[float]) -> float:
            return g([list(map(Value, r)) for r in X], Y)  # type: ignore[no-any-return]
    rng = random.Random(0)
    for _ in range(5):
        X, Y = _batch(rng, 8)  # a new batch every call
        total = _demo_loss(dyn, [list(map(Value, r)) for r in X], Y)
        dyn.zero_grad()
        total.backward()
        comp.zero_grad()
        assert call(X, Y) == total.data
        assert [p.grad for p in comp.parameters()] == [p.grad for p in dyn.parameters()]
        for model in (dyn, comp):
            for p in model.parameters():
                p.data -= 0.1 * p.grad


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


def test_user_step_with_value_inputs_gives_the_dynamic_input_gradients() -> None:
    dyn = nn.MLP(2, [5, 1], seed=2)
    comp = nn.MLP(2, [5, 1], seed=2)
    step = autograd.compile(lambda inputs, Y: _demo_loss(comp, inputs, Y))
    rng = random.Random(1)
    for _ in range(3):
        X, Y = _batch(rng, 6)
        d_in = [list(map(Value, r)) for r in X]
        c_in = [list(map(Value, r)) for r in X]
        _demo_loss(dyn, d_in, Y).backward()
        step(c_in, Y)
        assert [v.grad for r in c_in for v in r] == [v.grad for r in d_in for v in r]


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


def test_constants_lists_every_baked_line_even_after_the_warning_was_shown() -> None:
    w = Value(0.5)

    def f(x: Any) -> Value:
        return w * x + Value(2.0)  # a Value made inside: a constant of the code

    for _ in range(2):  # the second compile of the same line warns no more, but still records
        step = autograd.compile(f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", autograd.CompileWarning)
            assert step(1.5) == 2.75
        assert [line for _, line in step.constants] == [f.__code__.co_firstlineno + 1]
        assert step.constants[0][0].endswith("test_userstep_compile.py")
    clean = autograd.compile(lambda x: w * x + 2.0)
    assert clean(1.5) == 2.75 and clean.constants == ()
