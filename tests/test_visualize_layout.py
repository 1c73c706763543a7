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
