"""The fused ops of nn: one op-table entry per fused node, registered here and only here.

A fused op computes with floats what would otherwise be a small graph of
elementwise nodes, and records one n-ary node with one partial per parent:

* ``neuron_<act>``: a neuron's ``act(w . x + b)`` for each activation
  (``relu``, ``tanh``, ``sigmoid``, ``leaky_relu``, ``gelu``, ``linear``).
  Operands: ``x1..xn, w1..wn, b`` with ``n >= 1``, so ``2n + 1`` of them
  (``leaky_relu`` adds the slope as a trailing parameter: ``2n + 2``); other
  operand counts are not neurons. The activation's derivative is read from the
  activation's own table entry (``autograd.get_op("relu").local`` ...), never
  restated here, and the compiled path's source templates come from
  ``autograd.ops.affine_codegen`` over the activation's templates.
* ``mse_loss``, ``l1_loss``, ``bce_with_logits``, ``hinge_loss``: the mean over
  ``n`` pairs; operands ``p1..pn, t1..tn`` (predictions, then targets),
  formulas with a per-element sum (``fsum(term of i) / n``) whose activation
  (``abs``, ``softplus``, ``relu``) is that op's own formula, inlined.
* ``cross_entropy``: soft-target cross-entropy ``sum(t) * logsumexp(z) - t . z``;
  operands ``z1..zn, t1..tn`` (a one-hot ``t`` gives the usual
  ``-log softmax(z)[target]``).
* ``sum_squares``: ``x1^2 + ... + xn^2`` (the L2 penalty).

The losses, ``cross_entropy`` and ``sum_squares`` are :func:`autograd.ops.define_op`
formulas: their float ``local`` rule (the fast path of ``backward``), the
``local_value`` rule of ``autograd.grad(..., create_graph=True)``, the compiled
templates and the NumPy form are rendered from that one text.
Entries are registered with ``builtin=False`` (kept out of the engine's README
table) when this module is imported, which ``import nn`` does.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import autograd
from autograd import Kink, Op, Value
from autograd.formula_render import inline
from autograd.numerics import fsum
from autograd.ops import affine_codegen, define_op

__all__ = [
    "ACTIVATIONS",
    "BCE_WITH_LOGITS",
    "CROSS_ENTROPY",
    "HINGE_LOSS",
    "L1_LOSS",
    "MSE_LOSS",
    "NEURON_OPS",
    "SUM_SQUARES",
    "activation_op",
    "activation_source",
    "neuron_eval",
    "neuron_partials",
]

#: The activations a neuron can have (``linear`` is the identity).
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear")

_R = (-3.0, 3.0)
_mul = operator.mul


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else float(x)


def _sumprod(xs: Any, ws: Any) -> float:
    return fsum(list(map(_mul, xs, ws)))


_ZEROS: dict[int, tuple[float, ...]] = {}


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


def neuron_eval(act: Op | None, params: tuple[float, ...], xs: Sequence[float],
                ws: Sequence[float], b: float) -> tuple[float, float]:
    """Return ``(act(z), act'(z))`` for ``z = x . w + b`` (floats).

    The derivative comes from the activation's own table entry; ``act=None``
    is the identity (``linear``). Both the ``neuron_*`` entries and
    :mod:`nn.layers` compute neurons with this function.
    """
    z = sum(map(_mul, xs, ws)) + b
    if act is None:
        return z, 1.0
    out = act.forward(z, *params)
    return out, act.local(out, z, *params)[0]


def neuron_partials(a: float, z: float, xs: Sequence[float],
                    ws: Sequence[float]) -> tuple[float, ...]:
    """Return d out / d (x1..xn, w1..wn, b) of a neuron with ``z = x . w + b`` and slope ``a``.

    The partials are ``a * w_i``, ``a * x_i`` and ``a``, as IEEE arithmetic
    gives them (``0 * inf`` is nan); for a dead neuron (``a == 0``) with ``z``
    finite, every input and weight is finite, so they are the exact zeros,
    returned as one shared tuple.
    """
    if a == 1.0:
        return (*ws, *xs, 1.0)
    if a == 0.0 and z - z == 0.0:  # z finite: every x and w is, so 0 * each is 0
        n = 2 * len(xs) + 1
        zeros = _ZEROS.get(n)
        if zeros is None:
            zeros = _ZEROS[n] = (0.0,) * n
        return zeros
    return (*[a * w for w in ws], *[a * x for x in xs], a)


def activation_source(act: Op | None, z: str, out: str,
                      params: Sequence[str] = ()) -> tuple[str, str, dict[str, Any]] | None:
    """Python expressions for ``act(z)`` and ``act'(z)``, from the activation's own templates.

    What :func:`neuron_eval` computes, as source (for code that inlines it,
    such as :mod:`nn.layers`' per-layer kernels): the expressions compute the
    same floats as ``act.forward`` and ``act.local`` (they are rendered from
    the same formula), so inlined code gives the same bits.

    Args:
        act: the activation's table entry; ``None`` is the identity.
        z: the name holding ``w . x + b``.
        out: the name the first expression's value will be stored in (the
            derivative may read it).
        params: source for the activation's parameters (``leaky_relu``'s slope).

    Returns:
        ``(output expression, derivative expression, names they use)``, or
        ``None`` if the activation has no templates (``gelu``: call
        :func:`neuron_eval` instead).
    """
    if act is None:
        return z, "1.0", {}
    cg = act.codegen
    if cg is None or cg.temp_templates(1 + len(params)) or cg.after_templates(1 + len(params)):
        return None
    n = 1 + len(params)
    fwd = cg.forward_template(n).format(z, *params)
    (loc,) = cg.local_templates(n)
    return fwd, loc.format(z, *params, out=out), dict(cg.names)


def _make_neuron_op(act: str) -> Op:
    act_op = activation_op(act)
    nparams = 1 if act == "leaky_relu" else 0

    def split(ops: tuple[Any, ...]) -> tuple[int, tuple[Any, ...]]:
        core = len(ops) - nparams
        return (core - 1) // 2, tuple(ops[core:])

    def forward(*ops: float) -> float:
        n, params = split(ops)
        return neuron_eval(act_op, params, ops[:n], ops[n : 2 * n], ops[2 * n])[0]

    def local(out: float, *ops: float) -> tuple[float, ...]:
        n, params = split(ops)
        xs, ws = ops[:n], ops[n : 2 * n]
        z = sum(map(_mul, xs, ws)) + ops[2 * n]  # as neuron_eval computes it
        a = 1.0 if act_op is None else act_op.local(out, z, *params)[0]
        return neuron_partials(a, z, xs, ws)

    def local_value(ops: tuple[Any, ...], out: Value, wrt: int) -> Any:
        n, params = split(ops)
        xs, ws, b = ops[:n], ops[n : 2 * n], ops[2 * n]
        if act_op is None:
            a: Any = 1.0
        else:
            a = act_op.local_value((autograd.dot(xs, ws) + b, *params), out, 0)
        if wrt < n:
            return a * ws[wrt]
        if wrt < 2 * n:
            return a * xs[wrt - n]
        return a

    kinks: tuple[Kink, ...] = ()
    if act == "relu":
        kinks = (Kink((1.0, 1.0, -1.0), (0.0, 0.0, 0.0),
                      "w . x + b = 0: relu'(0) = 0, as in PyTorch"),)
    elif act == "leaky_relu":
        kinks = (Kink((1.0, 1.0, -1.0, 0.01), (0.01, 0.01, 0.01),
                      "w . x + b = 0: leaky_relu'(0) = negative_slope, as in PyTorch"),)
    fname = "w.x + b" if act == "linear" else f"{act}(w.x + b)"
    # Source templates for autograd.compile, composed from the activation's own
    # (the builtin sum, as in neuron_eval); an activation without templates
    # (gelu) is compiled to calls of forward/local instead.
    codegen = (affine_codegen(act_op, nparams, total=sum)
               if act_op is None or act_op.codegen is not None else None)
    return Op(
        f"neuron_{act}", fname, -1, forward, local, local_value,
        fname, "d/dx_i = act'(z) w_i, d/dw_i = act'(z) x_i, d/db = act'(z)",
        (_R,) if not nparams else (_R, (0.01, 0.01)),
        kinks=kinks, params=nparams, api="function",
        call=f"`nn.Neuron(nin, activation={act!r})`",
        doc=f"A fused neuron: {fname} as one node (operands x..., w..., b).",
        builtin=False, codegen=codegen,
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
