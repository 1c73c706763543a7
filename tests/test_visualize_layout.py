"""Graphviz keeps neurons in their numeric order inside a layer (needs `dot`)."""

from __future__ import annotations

import re
import subprocess

import pytest

import autograd
import visualize
from autograd import Value
from visualize.graph import find_dot

needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")


def _layer_of_neurons(n: int) -> Value:
    xs = [Value(0.5), Value(-0.3)]
    outs = []
    for j in range(1, n + 1):
        with autograd.scope("layer 1"), autograd.scope(f"neuron {j}"):
            outs.append((xs[0] * (0.1 * j) + xs[1] * (0.2 - 0.01 * j)).tanh())
    with autograd.scope("layer 2"), autograd.scope("neuron 1"):
        y = autograd.sum(outs)
    y.backward()
    return y


@needs_dot
@pytest.mark.parametrize("n", [4, 12, 16, 24])
def test_neuron_clusters_are_laid_out_in_numeric_order(n: int) -> None:
    root = _layer_of_neurons(n)
    text = visualize.to_dot(root, max_nodes=n + 8)  # one summary node per neuron
    names = dict(re.findall(r"(s\d+) \[.*?<b>layer 1/neuron (\d+)</b>", text))
    assert len(names) == n
    dot = find_dot()
    assert dot is not None
    plain = subprocess.run([dot, "-Tplain"], input=text, capture_output=True, text=True,
                           check=True).stdout
    ys = {}
    for line in plain.splitlines():
        parts = line.split()
        if parts[:1] == ["node"] and parts[1] in names:
            ys[int(names[parts[1]])] = float(parts[3])
    order = sorted(ys, key=lambda j: -ys[j])  # top to bottom in an LR layout
    assert order == sorted(order) or order == sorted(order, reverse=True)


def _cluster_tops(text: str) -> dict[str, float]:
    """Graphviz's layout: each cluster's label -> its top edge (larger y is higher)."""
    dot = find_dot()
    assert dot is not None
    laid = subprocess.run([dot, "-Tdot"], input=text, capture_output=True, text=True,
                          check=True).stdout
    tops = {}
    for m in re.finditer(r'subgraph cluster_\d+ \{\s*(?:graph \[)?bb="([\d.,]+)",'
                         r'(?:(?!bb=).)*?label="?(neuron \d+)"?', laid, re.DOTALL):
        y1 = float(m.group(1).split(",")[3])
        tops.setdefault(m.group(2), y1)
    return tops


@needs_dot
@pytest.mark.parametrize("width", [4, 12])
def test_unfused_mlp_neurons_stay_in_numeric_order(width: int) -> None:
    import nn

    model = nn.MLP(2, [width, 1], fused=False, init="micrograd", seed=1)
    y = model([0.5, -1.0])
    y.backward()
    text = visualize.to_dot(y, max_nodes=10_000)
    tops = _cluster_tops(text)
    layer1 = [tops[f"neuron {j}"] for j in range(1, width + 1)]
    assert layer1 == sorted(layer1, reverse=True)  # neuron 1 on top, then 2, 3...


def test_parameter_labels_are_short_and_one_based_inside_neuron_clusters() -> None:
    import nn

    model = nn.MLP(2, [3, 1], seed=0)
    y = model([0.5, -1.0])
    y.backward()
    p = model.layers[0].neurons[2].w[1]
    assert p.label == "layers.0.neurons.2.w.1"  # nn's name stays the full dotted one
    text = visualize.to_dot(y)
    line = next(line for line in text.splitlines() if "layers.0.neurons.2.w.1" in line)
    assert "<b>w2</b>" in line  # drawn as w2 in "layer 1/neuron 3"
    assert "<b>b</b>" in text and "<b>layers." not in text
    flat = visualize.to_dot(y, clusters=False)
    assert "<b>layers.0.neurons.2.w.1</b>" in flat  # outside clusters the full name
