"""The fused ops of nn: one op-table entry per fused node, registered here and only here.

A fused op computes with floats what would otherwise be a small graph of
elementwise nodes, and records one n-ary node with one partial per parent:

* ``neuron_<act>``: a neuron's ``act(w . x + b)`` for each activation
  (``relu``, ``tanh``, ``sigmoid``, ``leaky_relu``, ``gelu``, ``linear``).
  Operands: ``x1..xn, w1..wn, b`` with ``n >= 1``, so ``2n + 1`` of them
  (``leaky_relu`` adds the slope as a trailing parameter: ``2n + 2``); other
  operand counts are not neurons. Each is a formula composed from the
  activation's own (``autograd.get_op("relu").rule``): a temporary
  ``z = sumprod_builtin(xs, ws) + b``, the activation's forward of ``z``, and
  partials ``act'(z) * ws[i]``, ``act'(z) * xs[i]``, ``act'(z)`` with the
  activation's partial of ``z``; so every form of it (float and Value rules,
  compiled templates, :mod:`nn.layers`' kernels) is rendered, never restated.
* ``mse_loss``, ``l1_loss``, ``bce_with_logits``, ``hinge_loss``: the mean over
  ``n`` pairs; operands ``p1..pn, t1..tn`` (predictions, then targets),
  formulas with a per-element sum (``fsum(term of i) / n``) whose activation
  (``abs``, ``softplus``, ``relu``) is that op's own formula, inlined.
* ``cross_entropy``: soft-target cross-entropy ``sum(t) * logsumexp(z) - t . z``;
  operands ``z1..zn, t1..tn`` (a one-hot ``t`` gives the usual
  ``-log softmax(z)[target]``).
* ``sum_squares``: ``x1^2 + ... + xn^2`` (the L2 penalty).

Every entry is an :func:`autograd.ops.define_op` formula: its float ``local`` rule
(the fast path of ``backward``), the
``local_value`` rule of ``autograd.grad(..., create_graph=True)``, the compiled
templates and the NumPy form are rendered from that one text.
Entries are registered with ``builtin=False`` (kept out of the engine's README
table) when this module is imported, which ``import nn`` does.
"""

from __future__ import annotations

import autograd
from autograd import Kink, Op
from autograd.formula_render import inline
from autograd.ops import define_op

__all__ = [
    "ACTIVATIONS",
    "BCE_WITH_LOGITS",
    "CROSS_ENTROPY",
    "HINGE_LOSS",
    "L1_LOSS",
    "MSE_LOSS",
    "NEURON_OPS",
    "NEURON_Z",
    "SUM_SQUARES",
    "activation_op",
]

#: The activations a neuron can have (``linear`` is the identity).
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear")

_R = (-3.0, 3.0)


# ---------------------------------------------------------------------------
# Neurons: act(x . w + b), operands (x1..xn, w1..wn, b[, slope]).


def activation_op(name: str) -> Op | None:
    """Return the op-table entry of an activation, ``None`` for ``linear``.

    Raises:
        ValueError: if ``name`` is not one of :data:`ACTIVATIONS`.
    """
    if name not in ACTIVATIONS:
        raise ValueError(
            f"activation: unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    return None if name == "linear" else autograd.get_op(name)


#: A neuron's pre-activation, a temporary of its formula: ``w . x + b``, summed as
#: Python's ``sum`` adds (``sumprod_builtin``), once per node.
NEURON_Z = "sumprod_builtin(xs, ws) + b"


def _make_neuron_op(act: str) -> Op:
    """``neuron_<act>``: ``act(z)`` with ``z = w . x + b``, composed from act's own formula.

    The forward is the activation's forward with its operand replaced by ``z``;
    the partials ``act'(z) * w_i``, ``act'(z) * x_i``, ``act'(z)`` read the
    activation's partial, so replaced (its ``out`` is the neuron's output).
    """
    act_op = activation_op(act)
    nparams = act_op.params if act_op is not None else 0
    if act_op is None or act_op.rule is None:
        fwd, slope = "z", "1.0"
        params: tuple[str, ...] = ()
    else:
        rule = act_op.rule
        params = rule.names[1:]
        fwd, slope = inline(rule, {rule.names[0]: "z", **{p: p for p in params}},
                            what=f"neuron_{act}", out="out")
    partials = (("ws[i]", "xs[i]", "1.0") if slope == "1.0" else
                (f"({slope}) * ws[i]", f"({slope}) * xs[i]", slope))
    kinks: tuple[Kink, ...] = ()
    if act == "relu":
        kinks = (Kink((1.0, 1.0, -1.0), (0.0, 0.0, 0.0),
                      "w . x + b = 0: relu'(0) = 0, as in PyTorch"),)
    elif act == "leaky_relu":
        kinks = (Kink((1.0, 1.0, -1.0, 0.01), (0.01, 0.01, 0.01),
                      "w . x + b = 0: leaky_relu'(0) = negative_slope, as in PyTorch"),)
    fname = "w.x + b" if act == "linear" else f"{act}(w.x + b)"
    return define_op(
        f"neuron_{act}", fname, ("*xs", "*ws", "b", *params), fwd, partials,
        temps=(("z", NEURON_Z),), params=nparams,
        domain=(_R,) if not nparams else (_R, (0.01, 0.01)),
        kinks=kinks, api="function", builtin=False,
        call=f"`nn.Neuron(nin, activation={act!r})`",
        doc=f"A fused neuron: {fname} as one node (operands x..., w..., b).",
    )


# ---------------------------------------------------------------------------
# Losses over n (prediction, target) pairs: operands (p1..pn, t1..tn).

def _inline(op: str, **operands: str) -> tuple[str, ...]:
    """``op``'s forward and partials with its operands replaced (``x="ps[i] - ts[i]"``)."""
    rule = autograd.get_op(op).rule
    if rule is None:  # pragma: no cover - the table's activations all have formulas
        raise ValueError(f"nn.fused: the op {op!r} has no formula to compose")
    return inline(rule, operands, what=op)


_PAIRS = ("*ps", "*ts")  # a loss's operands: predictions p1..pn, then targets t1..tn
_ABS_D = _inline("abs", x="ps[i] - ts[i]")  # |p - t| and its derivative sign(p - t)
_SOFTPLUS_P = _inline("softplus", x="ps[i]")  # softplus(p) and sigmoid(p)
_RELU_M = _inline("relu", x="1.0 - ps[i] * ts[i]")  # relu(1 - p t) and its gate


NEURON_OPS: dict[str, Op] = {a: autograd.register_op(_make_neuron_op(a)) for a in ACTIVATIONS}

# The losses, written once, as formulas of the op table's language (autograd.formula):
# every form of them (float rules, Value rules, compiled templates, NumPy) is rendered.
# fsum(term of i) sums a per-element term exactly rounded; an activation inside a loss
# is that op's own formula, inlined (_inline), never restated.
MSE_LOSS = autograd.register_op(define_op(
    "mse_loss", "mse_loss", _PAIRS, "fsum((ps[i] - ts[i]) * (ps[i] - ts[i])) / n",
    ("2.0 * (ps[i] - ts[i]) / n", "-(2.0 * (ps[i] - ts[i]) / n)"),
    domain=(_R,), api="function", call="`nn.mse_loss(...)`", builtin=False,
    doc="Mean squared error over n pairs as one node (operands p..., t...)."))
L1_LOSS = autograd.register_op(define_op(
    "l1_loss", "l1_loss", _PAIRS, f"fsum({_ABS_D[0]}) / n",
    (f"{_ABS_D[1]} / n", f"-({_ABS_D[1]} / n)"),
    domain=(_R,), api="function", call="`nn.l1_loss(...)`", builtin=False,
    kinks=(Kink((1.0, 1.0), (0.0, 0.0), "p = t: abs'(0) = 0, as in PyTorch"),),
    doc="Mean absolute error over n pairs as one node (operands p..., t...)."))
BCE_WITH_LOGITS = autograd.register_op(define_op(
    "bce_with_logits", "bce_with_logits", _PAIRS, f"fsum({_SOFTPLUS_P[0]} - ts[i] * ps[i]) / n",
    (f"({_SOFTPLUS_P[1]} - ts[i]) / n", "-ps[i] / n"),
    domain=(_R,), api="function", call="`nn.bce_with_logits(...)`", builtin=False,
    doc="Binary cross-entropy on logits z and targets y, stable, as one node."))
HINGE_LOSS = autograd.register_op(define_op(
    "hinge_loss", "hinge_loss", _PAIRS, f"fsum({_RELU_M[0]}) / n",
    (f"-({_RELU_M[1]} / n) * ts[i]", f"-({_RELU_M[1]} / n) * ps[i]"),
    domain=(_R,), api="function", call="`nn.hinge_loss(...)`", builtin=False,
    kinks=(Kink((1.0, 1.0), (0.0, 0.0), "margin exactly 1: relu'(0) = 0, as in PyTorch"),),
    doc="micrograd's max-margin loss on scores s and labels y (+-1) as one node."))
CROSS_ENTROPY = autograd.register_op(define_op(
    "cross_entropy", "cross_entropy", ("*zs", "*ts"),
    "fsum(ts) * logsumexp(zs) - sumprod(ts, zs)",
    # d/dz_i: sum(t) softmax(z)_i - t_i, softmax at +-inf shared between the ties
    ("fsum(ts) * where(logsumexp(zs) == INF or logsumexp(zs) == -INF, tie_share(zs, i), "
     "exp(zs[i] - logsumexp(zs))) - ts[i]",
     "logsumexp(zs) - zs[i]"),
    domain=(_R,), api="function", call="`nn.cross_entropy(...)`", builtin=False,
    doc="Softmax cross-entropy of logits z against (soft) targets t, stable, as one node."))
SUM_SQUARES = autograd.register_op(define_op(
    "sum_squares", "sum x^2", ("*xs",), "sumprod(xs, xs)", ("2.0 * xs[i]",),
    domain=(_R,), api="function", call="`nn.l2_penalty(params)`", builtin=False,
    doc="Sum of squares as one node (the L2 penalty)."))
