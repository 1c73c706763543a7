"""nn.Module, Neuron, Layer and MLP: structure, names, state dicts, inits, calls, errors."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd import Value


def test_micrograd_mlp_shape_and_parameter_count():
    m = nn.MLP(2, [16, 16, 1])
    params = m.parameters()
    assert len(params) == (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) == 337
    assert all(isinstance(p, Value) and p.is_leaf for p in params)
    assert len({id(p) for p in params}) == 337
    assert m.num_parameters() == 337
    out = m([0.5, -0.5])
    assert isinstance(out, Value)
    out.backward()
    assert any(p.grad != 0.0 for p in params)
    for p in params:
        p.data -= 0.1 * p.grad  # micrograd's update loop works as is
    m.zero_grad()
    assert all(p.grad == 0.0 for p in params)


def test_multi_output_returns_list_and_layer_of_one_returns_value():
    m = nn.MLP(3, [4, 2], seed=0)
    out = m([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 2
    layer = nn.Layer(2, 1, seed=0)
    assert isinstance(layer([1.0, 2.0]), Value)
    assert isinstance(nn.Layer(2, 3, seed=0)([1.0, 2.0]), list)
    assert isinstance(nn.Neuron(1, seed=0)(2.0), Value)  # a single input may be a scalar


def test_named_parameters_are_stable_dotted_names():
    m = nn.MLP(2, [3, 1], seed=0)
    names = [n for n, _ in m.named_parameters()]
    assert names[:4] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1",
                         "layers.0.neurons.0.b", "layers.0.neurons.1.w.0"]
    assert names[-1] == "layers.1.neurons.0.b"
    assert [p for _, p in m.named_parameters()] == m.parameters()
    assert names == [n for n, _ in nn.MLP(2, [3, 1], seed=9).named_parameters()]
    layer = nn.Layer(2, 2, seed=0)
    assert next(n for n, _ in layer.named_parameters()) == "neurons.0.w.0"
    assert [n for n, _ in nn.Neuron(2, seed=0).named_parameters()] == ["w.0", "w.1", "b"]


def test_custom_module_finds_values_modules_and_lists():
    class Net(nn.Module):
        def __init__(self) -> None:
            self.scale = Value(2.0)
            self.body = nn.Layer(1, 2, seed=0)
            self.extras = [Value(1.0), nn.Neuron(1, seed=1)]
            self._hidden = Value(5.0)  # private: not a parameter
            self.note = "text"

    names = [n for n, _ in Net().named_parameters()]
    assert names == ["scale", "body.neurons.0.w.0", "body.neurons.0.b", "body.neurons.1.w.0",
                     "body.neurons.1.b", "extras.0", "extras.1.w.0", "extras.1.b"]
    net = Net()
    assert [n for n, _ in net.named_children()] == ["body", "extras.1"]


def test_state_dict_round_trip_and_strict_errors():
    a = nn.MLP(2, [3, 1], seed=1)
    b = nn.MLP(2, [3, 1], seed=2)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    assert b([0.3, 0.4]).data == a([0.3, 0.4]).data
    before = b.state_dict()
    state = a.state_dict()
    del state["layers.0.neurons.0.b"]
    state["layers.9.w"] = 1.0
    with pytest.raises(KeyError) as info:
        b.load_state_dict(state)
    msg = str(info.value)
    assert "layers.0.neurons.0.b" in msg and "layers.9.w" in msg and "missing" in msg
    assert b.state_dict() == before  # nothing changed
    bad = a.state_dict()
    bad["layers.1.neurons.0.w.2"] = [1.0, 2.0]
    bad["layers.0.neurons.0.w.0"] = 42.0
    with pytest.raises(TypeError, match=r"layers\.1\.neurons\.0\.w\.2"):
        b.load_state_dict(bad)
    assert b.state_dict() == before
    with pytest.raises(TypeError, match="mapping"):
        b.load_state_dict([1.0, 2.0])  # type: ignore[arg-type]
    partial = {"layers.0.neurons.0.b": 7.0, "unknown": 1.0}
    b.load_state_dict(partial, strict=False)
    assert b.layers[0].neurons[0].b.data == 7.0


def test_train_eval_and_repr():
    m = nn.MLP(2, [4, 1], seed=0)
    assert m.training and m.layers[0].training
    assert m.eval() is m
    assert not m.training and not m.layers[1].neurons[0].training
    m.train()
    assert m.layers[1].training
    text = repr(m)
    assert text.startswith("MLP(2, [4, 1], activation='relu'; 17 parameters")
    assert "(layers.0): Layer(2, 4, activation='relu')" in text
    assert "(layers.1): Layer(4, 1, activation='linear')" in text
    assert repr(nn.Neuron(3, "tanh", fused=False)) == "Neuron(3, activation='tanh', fused=False)"


def test_seeded_init_is_reproducible_and_seeds_differ():
    a = nn.MLP(4, [8, 2], seed=7).state_dict()
    assert a == nn.MLP(4, [8, 2], seed=7).state_dict()
    assert a == nn.MLP(4, [8, 2], seed=random.Random(7)).state_dict()
    assert a != nn.MLP(4, [8, 2], seed=8).state_dict()
    assert all(v == 0.0 for k, v in a.items() if k.endswith(".b"))


def test_init_schemes_have_their_scale():
    nin, nout = 50, 40
    he = [w.data for n in nn.Layer(nin, nout, init="he", seed=0).neurons for w in n.w]
    assert math.isclose(statistics.pstdev(he), math.sqrt(2 / nin), rel_tol=0.1)
    bound = math.sqrt(6 / (nin + nout))
    xa = [w.data for n in nn.Layer(nin, nout, "tanh", init="xavier", seed=0).neurons for w in n.w]
    assert max(map(abs, xa)) <= bound and max(map(abs, xa)) > 0.9 * bound
    mg = [w.data for n in nn.Layer(nin, nout, init="micrograd", seed=0).neurons for w in n.w]
    assert max(map(abs, mg)) <= 1.0 and max(map(abs, mg)) > 0.9
    auto_relu = nn.Layer(nin, nout, "relu", seed=3).state_dict()
    assert auto_relu == nn.Layer(nin, nout, "relu", init="kaiming", seed=3).state_dict()
    auto_tanh = nn.Layer(nin, nout, "tanh", seed=3).state_dict()
    assert auto_tanh == nn.Layer(nin, nout, "tanh", init="glorot", seed=3).state_dict()


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear"])
def test_each_activation_computes_its_function(act):
    n = nn.Neuron(2, act, seed=0)
    n.w[0].data, n.w[1].data, n.b.data = 0.5, -1.0, 0.25
    z = 0.5 * 1.5 - 1.0 * 2.0 + 0.25
    expected = {
        "relu": max(z, 0.0), "tanh": math.tanh(z), "sigmoid": 1 / (1 + math.exp(-z)),
        "leaky_relu": z if z > 0 else 0.01 * z, "gelu": 0.5 * z * (1 + math.erf(z / math.sqrt(2))),
        "linear": z,
    }[act]
    assert math.isclose(n([1.5, 2.0]).data, expected, rel_tol=1e-12, abs_tol=1e-15)


def test_micrograd_nonlin_flag():
    assert nn.Neuron(2, nonlin=False, seed=0).activation == "linear"
    assert nn.Layer(2, 2, nonlin=True, seed=0).activation == "relu"


def test_output_activation():
    m = nn.MLP(2, [3, 2], activation="tanh", output_activation="sigmoid", seed=0)
    out = m([4.0, -3.0])
    assert all(0.0 < o.data < 1.0 and o.op == "neuron_sigmoid" for o in out)
    assert m.layers[0].neurons[0]([4.0, -3.0]).op == "neuron_tanh"


@given(st.lists(st.lists(st.floats(-5, 5), min_size=2, max_size=2), min_size=1, max_size=5))
def test_predict_equals_graph_forward(xs):
    m = nn.MLP(2, [5, 3], activation="gelu", seed=4)
    for row, pred in zip(xs, m.predict(xs)):
        assert pred == [o.data for o in m(row)]
    single = nn.MLP(2, [3, 1], seed=4)
    assert single.predict(xs) == [single(row).data for row in xs]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="nin must be an integer >= 1"):
        nn.MLP(0, [2])
    with pytest.raises(TypeError, match="nouts must be a non-empty list"):
        nn.MLP(2, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"nouts\[1\]"):
        nn.MLP(2, [3, 0])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP(2, [3], activation="swish")
    with pytest.raises(ValueError, match="unknown output_activation"):
        nn.MLP(2, [3], output_activation="softmax")
    with pytest.raises(ValueError, match="unknown init 'zeros'"):
        nn.Neuron(2, init="zeros")
    with pytest.raises(TypeError, match="seed must be an int"):
        nn.Layer(2, 2, seed="x")  # type: ignore[arg-type]
    m = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        m([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="input 1 must be a real number or a Value, got str"):
        m([1.0, "2"])
    with pytest.raises(TypeError, match="expected a list of 2 numbers"):
        m("ab")
    with pytest.raises(ValueError, match="sample 1"):
        m.predict([[1.0, 2.0], [1.0]])
