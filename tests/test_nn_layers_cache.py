"""nn's layers keep their weights' floats between calls: every way a weight can change is seen.

A stale cache would be a wrong gradient, so each test changes the model one way
(data assigned, an optimizer's step, ``load_state_dict``, a weight, bias or
neuron replaced, a copy) and compares the next call's values and
gradients, bit for bit, with a freshly built model holding the same weights
(which has read nothing before).
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd.engine import data_version

nn = pytest.importorskip("nn")

X = [[0.5, -1.25], [1.5, 0.75], [-0.3, 2.0], [0.0, -0.6]]
Y = [1.0, -1.0, 1.0, -1.0]


def _loss_grads(model: nn.Module) -> tuple[float, list[float], list[float]]:
    """micrograd's demo loss on X, Y: the loss, the parameters' and the inputs' gradients."""
    inputs = [list(map(Value, r)) for r in X]
    scores = [model(x) for x in inputs]
    losses = [(1 + -y * s).relu() for y, s in zip(Y, scores)]
    total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
    model.zero_grad()
    total.backward()
    return total.data, [p.grad for p in model.parameters()], [v.grad for r in inputs for v in r]


def _fresh_like(model: nn.MLP) -> nn.MLP:
    """A new model of the same architecture holding new Values with ``model``'s weights.

    Made without assigning any Value's data (which would move ``data_version``
    and so invalidate ``model``'s cache: the checks below must not help it).
    """
    other = nn.MLP(model.nin, model.nouts, model.activation, model.output_activation, seed=99)
    for layer, mine in zip(other.layers, model.layers):
        for n, src in zip(layer.neurons, mine.neurons):
            n.w = [Value(w.data) for w in src.w]
            n.b = Value(src.b.data)
    return other


def _check_same_as_fresh(model: nn.MLP) -> None:
    assert _loss_grads(model) == _loss_grads(_fresh_like(model))


def _model() -> nn.MLP:
    m = nn.MLP(2, [4, 3, 1], activation="tanh", seed=3)
    _loss_grads(m)  # the layers have read their weights
    return m


def test_data_version_moves_on_every_assignment_and_not_on_creation() -> None:
    v = Value(1.0)
    before = data_version()
    Value(2.0)
    v + 1.0
    assert data_version() == before
    v.data = 3.0
    first = data_version()
    assert first != before
    v.data = 3  # an int is converted, and counts too
    assert data_version() not in (before, first)
    with pytest.raises(TypeError, match=r"^Value\.data: expected a real number"):
        v.data = "x"
    assert v.data == 3.0


def test_user_sgd_loop_is_seen() -> None:
    m = _model()
    for p in m.parameters():
        p.data -= 0.05 * p.grad
    _check_same_as_fresh(m)


def test_one_weight_assigned_is_seen() -> None:
    m = _model()
    m.layers[1].neurons[2].w[1].data = 0.75
    _check_same_as_fresh(m)
    m.layers[0].neurons[0].b.data = -0.5
    _check_same_as_fresh(m)


@pytest.mark.parametrize("opt", ["SGD", "Adam", "RMSprop"])
def test_optimizer_steps_are_seen(opt: str) -> None:
    m = _model()
    optimizer = getattr(nn.optim, opt)(m.parameters(), lr=0.1)
    for _ in range(3):
        _loss_grads(m)
        optimizer.step()
        _check_same_as_fresh(m)


def test_load_state_dict_is_seen() -> None:
    m = _model()
    other = nn.MLP(2, [4, 3, 1], activation="tanh", seed=11)
    m.load_state_dict(other.state_dict())
    assert _loss_grads(m) == _loss_grads(other)


def test_replaced_weight_bias_and_neuron_are_seen() -> None:
    m = _model()
    n = m.layers[1].neurons[0]
    new_w = Value(1.5)
    n.w[2] = new_w
    _, grads, _ = _loss_grads(m)
    assert _loss_grads(m) == _loss_grads(_fresh_like(m))
    assert new_w.grad != 0.0 and new_w.grad in grads  # the new weight is the parent now
    assert m.parameters()[len(m.layers[0].parameters()) + 2] is new_w
    n.b = Value(0.25)
    _check_same_as_fresh(m)
    n.w = [Value(0.1 * i) for i in range(4)]
    _check_same_as_fresh(m)
    m.layers[1].neurons[1] = nn.Neuron(4, "tanh", seed=5)
    _check_same_as_fresh(m)


def test_neuron_and_layer_alone_see_changes() -> None:
    n = nn.Neuron(2, "sigmoid", seed=1)
    xs = [Value(0.5), Value(-2.0)]
    a = n(xs).data
    n.w[0].data += 1.0
    b = n(xs)
    fresh = nn.Neuron(2, "sigmoid", seed=1)
    fresh.w[0].data = n.w[0].data
    assert b.data == fresh(xs).data != a
    n.w[1] = Value(3.0)
    out = n(xs)
    out.backward()
    assert n.w[1].grad == out.partials[3] != 0.0
    layer = nn.Layer(2, 3, "relu", seed=2)
    first = [o.data for o in layer(xs)]
    layer.neurons[1].b.data = 10.0
    assert [o.data for o in layer(xs)][1] != first[1]
    assert [o.data for o in layer(xs)][1] == layer.neurons[1](xs).data


def test_predict_and_forward_batch_see_changes() -> None:
    m = _model()
    before = m.predict(X)
    for p in m.parameters():
        p.data *= 0.5
    assert m.predict(X) == _fresh_like(m).predict(X) != before
    batch = m.forward_batch(X)
    assert [o.data for o in batch] == m.predict(X)


def test_a_copy_carries_no_cache_and_sees_changes() -> None:
    m = _model()
    clone = copy.copy(m.layers[0])
    assert "_prep" in vars(m.layers[0]) and "_prep" not in vars(clone)
    xs = [Value(0.5), Value(-1.0)]
    assert [o.data for o in clone(xs)] == [o.data for o in m.layers[0](xs)]
    clone.neurons[0].w[0].data = 5.0  # the neurons are shared by a shallow copy
    assert [o.data for o in clone(xs)] == [o.data for o in m.layers[0](xs)]
    _check_same_as_fresh(m)


def test_fit_then_forward_matches_a_fresh_model() -> None:
    m = _model()
    nn.fit(m, X, Y, epochs=3, progress=False, seed=0)
    _check_same_as_fresh(m)


def test_compiled_step_writes_are_seen() -> None:
    m = _model()
    loss = autograd.compile(lambda xs, ys: _compiled_loss(m, xs, ys))
    for _ in range(2):
        m.zero_grad()
        loss(X, Y)
        for p in m.parameters():
            p.data -= 0.1 * p.grad
        _check_same_as_fresh(m)


def _compiled_loss(m: nn.MLP, xs: list[list[Value]], ys: list[Value]) -> Value:
    scores = [m(x) for x in xs]
    return sum((1 + -y * s).relu() for y, s in zip(ys, scores)) * (1.0 / len(xs))


def test_errors_still_name_the_module() -> None:
    n = nn.Neuron(2, "relu")
    with pytest.raises(ValueError, match=r"^Neuron\(2, activation='relu'\): expected 2 inputs"):
        n([1.0])
    layer = nn.Layer(2, 3)
    with pytest.raises(TypeError, match=r"^Layer\(2, 3, activation='relu'\): input 1 must be"):
        layer([1.0, "a"])
    m = nn.MLP(2, [3, 1])
    with pytest.raises(ValueError, match=r"^MLP: expected 2 inputs, got 3"):
        m([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"^MLP: input 0 must be a real number"):
        m([None, 2.0])
    assert [o.data for o in [m([1.0, 2.0])]] == m.predict([[1.0, 2.0]])


_CHANGES = st.sampled_from(["assign", "sgd", "replace_w", "replace_b", "replace_neuron",
                            "load", "call"])


@given(st.lists(st.tuples(_CHANGES, st.integers(0, 10_000)), min_size=1, max_size=8))
def test_any_sequence_of_changes_gives_a_fresh_models_numbers(
        changes: list[tuple[str, int]]) -> None:
    m = nn.MLP(2, [3, 2, 1], activation="relu", seed=7)
    for what, k in changes:
        layer = m.layers[k % 3]
        n = layer.neurons[k % len(layer.neurons)]
        i = k % len(n.w)
        if what == "assign":
            n.w[i].data = (k % 17) / 8.0 - 1.0
        elif what == "sgd":
            for p in m.parameters():
                p.data -= 0.1 * p.grad
        elif what == "replace_w":
            n.w[i] = Value((k % 13) / 6.0 - 1.0)
        elif what == "replace_b":
            n.b = Value((k % 5) / 4.0)
        elif what == "replace_neuron":
            layer.neurons[k % len(layer.neurons)] = nn.Neuron(len(n.w), n.activation, seed=k)
        elif what == "load":
            m.load_state_dict(nn.MLP(2, [3, 2, 1], seed=k).state_dict())
        assert _loss_grads(m) == _loss_grads(_fresh_like(m))
