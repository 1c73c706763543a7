"""autograd: a scalar reverse-mode automatic-differentiation engine.

The public API: :class:`Value` and its ops, ``backward``, the n-ary functions
(``sum``, ``mean``, ``dot``, ``addcmul``, ``maximum``, ``minimum``, ``logsumexp``,
``softmax``), ``no_grad``, ``grad`` (gradients without touching ``.grad``,
optionally differentiable), the JAX-style transforms in :mod:`autograd.func`,
and the op table in :mod:`autograd.ops`.

Note: PyPI's unrelated HIPS ``autograd`` package uses the same import name;
never install both in one environment.

Module layering (imports point one way):
numerics <- ops <- engine <- functional <- func; the tools sit on top:
``gradcheck`` (gradient checking that knows kinks and names the culprit node),
``anomaly`` (``detect_anomaly``), ``custom`` (``custom_op``), ``compile`` (the
traced, straight-line path), ``memory`` (``pause_gc``), ``testing``
(Hypothesis strategies; optional extra), ``expr`` (the safe expression parser)
and ``codegen`` (generates the engine's fast paths from the op table).
"""

from autograd.anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from autograd.batched import BatchedCompiled  # NumPy is imported only when one is built
from autograd.compile import (
    Compiled,
    CompileWarning,
    TraceError,
    TraceStats,
    compile,  # noqa: A004 - as torch.compile
)
from autograd.custom import CustomOp, custom_op
from autograd.engine import (
    Value,
    addcmul,
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
    sum,  # noqa: A004 - autograd.sum, as torch.sum
)
from autograd.functional import grad
from autograd.gradcheck import GradcheckError, GradcheckResult, gradcheck, gradgradcheck
from autograd.memory import pause_gc
from autograd.ops import OPS, Kink, Op, Special, UnknownOpError, get_op, iter_ops, register_op

__version__ = "0.1.0"

__all__ = [
    "OPS",
    "AnomalyError",
    "BatchedCompiled",
    "CompileWarning",
    "Compiled",
    "CustomOp",
    "GradcheckError",
    "GradcheckResult",
    "Kink",
    "Op",
    "Special",
    "TraceError",
    "TraceStats",
    "UnknownOpError",
    "Value",
    "addcmul",
    "apply",
    "backward_order",
    "compile",
    "custom_op",
    "detect_anomaly",
    "dot",
    "get_op",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_anomaly_enabled",
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
