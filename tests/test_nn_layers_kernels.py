"""nn's per-layer kernels (activation templates inlined) make the nodes the op table defines.

Each layer call on a row of Values runs a kernel generated from the
activation's templates (``nn.fused.activation_source``); other rows (plain
numbers, mixed) and activations without templates run the general path
(calls of ``forward``/``local``). Both must give, bit for bit, the node
``neuron_eval``/``neuron_partials`` and the op's own ``forward``/``local``
describe.
"""

from __future__ import annotations

import dataclasses

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
        out, a = fused.neuron_eval(fused.activation_op(act), extra, xs, wd, n.b.data)
        z = sum(x * w for x, w in zip(xs, wd)) + n.b.data
        partials = fused.neuron_partials(a, z, xs, wd)
        assert node.data == out == op.forward(*xs, *wd, n.b.data, *extra)
        assert node.op == op.name
        keep = [i for i, x in enumerate(inputs) if isinstance(x, Value)] + list(range(3, 7))
        assert node.partials == tuple(partials[i] for i in keep)
        assert node.parents == (*[x for x in inputs if isinstance(x, Value)], *n.w, n.b)
        assert node.scope == f"layer 1/neuron {layer.neurons.index(n) + 1}"


def test_activation_source_matches_the_table() -> None:
    for act in ["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear"]:
        op = fused.activation_op(act)
        params = ["slope"] if act == "leaky_relu" else []
        src = fused.activation_source(op, "z", "out", params)
        assert src is not None
        fwd, loc, names = src
        for z in (-2.5, -0.0, 0.0, 0.75, 3.0):
            env = {**names, "z": z, "slope": 0.3}
            out = eval(fwd, env)
            env["out"] = out
            want_out, want_a = fused.neuron_eval(op, (0.3,) if params else (), [z], [1.0], 0.0)
            assert (out, eval(loc, env)) == (want_out, want_a)
    untemplated = dataclasses.replace(fused.activation_op("tanh"), codegen=None)
    assert fused.activation_source(untemplated, "z", "out") is None


def test_a_layer_with_mixed_activations_runs_the_general_path() -> None:
    layer = nn.Layer(2, 2, "relu", seed=1)
    layer.neurons[1] = nn.Neuron(2, "tanh", seed=2)
    xs = [Value(0.5), Value(-1.5)]
    a, b = layer(xs)
    assert a.op == "neuron_relu" and b.op == "neuron_tanh"
    assert b.data == layer.neurons[1](xs).data
