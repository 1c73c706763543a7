"""autograd: a scalar reverse-mode automatic-differentiation engine.

The public API: :class:`Value` and its ops, ``backward``, the n-ary functions
(``sum``, ``mean``, ``dot``, ``maximum``, ``minimum``, ``logsumexp``,
``softmax``), ``no_grad``, ``grad`` (gradients without touching ``.grad``,
optionally differentiable), the JAX-style transforms in :mod:`autograd.func`,
and the op table in :mod:`autograd.ops`.

Note: PyPI's unrelated HIPS ``autograd`` package uses the same import name;
never install both in one environment.

Module layering (imports point one way):
numerics <- ops <- engine <- functional <- func.
"""

from autograd.engine import (
    Value,
    apply,
    backward_order,
    dot,
    is_grad_enabled,
    logsumexp,
    make_node,
    maximum,
    mean,
    minimum,
    no_grad,
    scope,
    softmax,
    sum,
)
from autograd.functional import grad
from autograd.memory import pause_gc
from autograd.ops import OPS, Kink, Op, Special, UnknownOpError, get_op, iter_ops, register_op

__version__ = "0.1.0"

__all__ = [
    "OPS",
    "Kink",
    "Op",
    "Special",
    "UnknownOpError",
    "Value",
    "apply",
    "backward_order",
    "dot",
    "get_op",
    "grad",
    "is_grad_enabled",
    "iter_ops",
    "logsumexp",
    "make_node",
    "maximum",
    "mean",
    "minimum",
    "no_grad",
    "pause_gc",
    "register_op",
    "scope",
    "softmax",
    "sum",
]
