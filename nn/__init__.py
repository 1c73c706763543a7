"""nn: neurons, layers, MLPs, losses, optimizers, data sets and training on ``autograd.Value``.

PyTorch's names where PyTorch has the same thing (``Module``, ``parameters``,
``state_dict``, ``mse_loss``, ``cross_entropy``, ``optim.SGD``...), micrograd's
where it does not (``MLP(2, [16, 16, 1])``, ``hinge_loss``). Importing ``nn``
registers its fused ops (:mod:`nn.fused`) in autograd's op table.
"""

from nn import data, fused, optim
from nn.layers import INITS, MLP, Layer, Neuron
from nn.losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    l1_loss,
    l2_penalty,
    mse_loss,
)
from nn.module import Module
from nn.serialize import ModelFileError, Standardized, load, load_meta, save
from nn.sweep import SweepError, SweepResult, sweep
from nn.training import History, evaluate, fit

__all__ = [
    "INITS",
    "MLP",
    "History",
    "Layer",
    "ModelFileError",
    "Module",
    "Neuron",
    "Standardized",
    "SweepError",
    "SweepResult",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "data",
    "evaluate",
    "fit",
    "fused",
    "hinge_loss",
    "l1_loss",
    "l2_penalty",
    "load",
    "load_meta",
    "mse_loss",
    "optim",
    "save",
    "sweep",
]
