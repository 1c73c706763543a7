"""micrograd's ``nn`` with micrograd's defaults: the lecture's exact numbers and pictures.

``from nn import micrograd as nn`` (for micrograd's ``from micrograd import nn``)
or ``from nn.micrograd import Neuron, Layer, MLP`` (for
``from micrograd.nn import Neuron, Layer, MLP``) gives chainrule's modules
with micrograd 0.1.0's choices as defaults: weights uniform in [-1, 1] drawn
from Python's global ``random`` (so ``random.seed(1337)`` gives micrograd's
weights), bias 0, relu hidden neurons and a linear last layer, and the
elementwise graph (``b + w1*x1 + w2*x2 ...`` then ``relu``) instead of one
fused node per neuron. Values and gradients then equal micrograd's.

Every keyword of :class:`nn.Neuron`, :class:`nn.Layer` and :class:`nn.MLP`
still works (``fused=True``, ``init="he"``, ``seed=0``...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nn import layers
from nn.module import Module

__all__ = ["MLP", "Layer", "Module", "Neuron"]


def _defaults(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs.setdefault("init", "micrograd")
    kwargs.setdefault("fused", False)
    return kwargs


class Neuron(layers.Neuron):
    """micrograd's ``Neuron(nin, nonlin=True)``: relu (or linear) of ``w . x + b``.

    Args:
        nin: the number of inputs.
        nonlin: True for relu, False for linear (micrograd's flag).
        **kwargs: any keyword of :class:`nn.Neuron`; ``init`` defaults to
            ``"micrograd"`` and ``fused`` to False.
    """

    def __init__(self, nin: int, nonlin: bool = True, **kwargs: Any) -> None:
        super().__init__(nin, nonlin=nonlin, **_defaults(kwargs))


class Layer(layers.Layer):
    """micrograd's ``Layer(nin, nout, nonlin=True)``.

    Args:
        nin: inputs per neuron. nout: the number of neurons.
        nonlin: True for relu, False for linear.
        **kwargs: any keyword of :class:`nn.Layer`; ``init`` defaults to
            ``"micrograd"`` and ``fused`` to False.
    """

    def __init__(self, nin: int, nout: int, nonlin: bool = True, **kwargs: Any) -> None:
        super().__init__(nin, nout, nonlin=nonlin, **_defaults(kwargs))


class MLP(layers.MLP):
    """micrograd's ``MLP(nin, nouts)``: relu hidden layers, a linear last layer.

    Args:
        nin: the number of inputs. nouts: the width of each layer.
        **kwargs: any keyword of :class:`nn.MLP`; ``init`` defaults to
            ``"micrograd"`` and ``fused`` to False.
    """

    def __init__(self, nin: int, nouts: Sequence[int], **kwargs: Any) -> None:
        super().__init__(nin, nouts, **_defaults(kwargs))
