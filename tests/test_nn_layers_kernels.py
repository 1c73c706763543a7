"""nn's per-layer kernels (rendered from the neuron op's formula) make the nodes the op
table defines.

Each layer call on a row of Values (or of plain numbers) runs a kernel
rendered from the ``neuron_<act>`` formula (its temporary z, forward and
shared factor act'(z)); mixed rows run the general path (the op's own
``forward``/``local``). Both must give the node that the activation's own
rules describe: ``act(z)`` and ``act'(z) * w_i``, ``act'(z) * x_i``, ``act'(z)``.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value

nn = pytest.importorskip("nn")
fused = pytest.importorskip("nn.fused")

_floats = st.floats(-4.0, 4.0, allow_nan=False)


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear"])
@given(xs=st.lists(_floats, min_size=3, max_size=3), seed=st.integers(0, 2**16),
       kind=st.sampled_from(["values", "numbers", "mixed"]))
def test_layer_nodes_are_the_op_tables(act: str, xs: list[float], seed: int, kind: str) -> None:
    layer = nn.Layer(3, 4, act, seed=seed, negative_slope=0.2)
    for n in layer.neurons:
        n.b.data = (seed % 7) / 4.0 - 0.75
    inputs: list[object]
    if kind == "values":
        inputs = [Value(x) for x in xs]
    elif kind == "numbers":
        inputs = list(xs)
    else:
        inputs = [Value(xs[0]), xs[1], Value(xs[2])]
    outs = layer(inputs)
    assert isinstance(outs, list)
    op = autograd.get_op(f"neuron_{act}")
    extra = (0.2,) if act == "leaky_relu" else ()
    for n, node in zip(layer.neurons, outs):
        wd = [w.data for w in n.w]
        z = sum(x * w for x, w in zip(xs, wd)) + n.b.data
        act_op = fused.activation_op(act)  # the activation's own rules, an independent reference
        out = act_op.forward(z, *extra) if act_op else z
        a = act_op.local(out, z, *extra)[0] if act_op else 1.0
        partials = (*[a * w for w in wd], *[a * x for x in xs], a)
        assert node.data == out == op.forward(*xs, *wd, n.b.data, *extra)
        assert op.local(out, *xs, *wd, n.b.data, *extra) == partials
        assert node.op == op.name
        keep = [i for i, x in enumerate(inputs) if isinstance(x, Value)] + list(range(3, 7))
        assert node.partials == tuple(partials[i] for i in keep)
        assert node.parents == (*[x for x in inputs if isinstance(x, Value)], *n.w, n.b)
        assert node.scope == f"layer 1/neuron {layer.neurons.index(n) + 1}"


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear"])
@pytest.mark.parametrize("z", [0.0, -0.0, 1.0, -1.0, 40.0, -40.0, 1e300, math.inf])
def test_kernel_nodes_at_kinks_and_saturation_are_the_ops_rules(act: str, z: float) -> None:
    # the kernel's fast forms (act'(z) == 1: the operands; == 0: shared zeros) against
    # the op's rendered rules: the same values (zeros of either sign)
    mlp = nn.MLP(2, [1], act, output_activation=act, seed=3, negative_slope=0.2)
    n = mlp.layers[0].neurons[0]
    n.w[0].data, n.w[1].data, n.b.data = 1.0, -2.0, 0.0
    xs = [z, 0.0]
    node = mlp([Value(x) for x in xs])
    assert isinstance(node, Value)
    op = autograd.get_op(f"neuron_{act}")
    flat = (*xs, 1.0, -2.0, 0.0, *((0.2,) if act == "leaky_relu" else ()))
    want = op.forward(*flat)
    assert node.data == want or (node.data != node.data and want != want)
    got = op.local(want, *flat)
    assert all(p == q or (p != p and q != q) for p, q in zip(node.partials, got))
    assert len(node.partials) == len(got) == 5
    assert mlp.predict([xs])[0] == node.data or node.data != node.data  # the float kernel


def test_a_layer_with_mixed_activations_runs_the_general_path() -> None:
    layer = nn.Layer(2, 2, "relu", seed=1)
    layer.neurons[1] = nn.Neuron(2, "tanh", seed=2)
    xs = [Value(0.5), Value(-1.5)]
    a, b = layer(xs)
    assert a.op == "neuron_relu" and b.op == "neuron_tanh"
    assert b.data == layer.neurons[1](xs).data
