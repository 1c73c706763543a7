"""Loss functions (PyTorch's names), each recorded as one fused node, plus the L2 penalty.

Every loss takes predictions and targets (Values or real numbers; a single
Value/number or a list of them), returns a ``Value`` labelled ``"loss"`` and
records one node of its op-table entry in :mod:`nn.fused` (``reduction="sum"``
adds one multiplication node).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import autograd
from autograd import Op, Value
from nn.fused import BCE_WITH_LOGITS, CROSS_ENTROPY, HINGE_LOSS, L1_LOSS, MSE_LOSS, SUM_SQUARES

__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "l1_loss",
    "l2_penalty",
    "mse_loss",
]

_REDUCTIONS = ("mean", "sum")


def _seq(x: Any, who: str, what: str) -> list[Any]:
    if isinstance(x, (Value, numbers.Real)):
        return [x]
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        raise TypeError(
            f"{who}: {what} must be a Value, a number or a list of them, got {type(x).__name__}"
        )
    items = list(x)
    for i, v in enumerate(items):
        if not isinstance(v, (Value, numbers.Real)):
            raise TypeError(
                f"{who}: {what}[{i}] must be a Value or a real number, got {type(v).__name__}"
            )
    return items


def _pairwise(op: Op, who: str, input: Any, target: Any, reduction: str) -> Value:  # noqa: A002
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 'mean' or 'sum', got {reduction!r}")
    preds = _seq(input, who, "input")
    targets = _seq(target, who, "target")
    if not preds:
        raise ValueError(f"{who}: input is empty; pass at least one prediction")
    if len(preds) != len(targets):
        raise ValueError(
            f"{who}: input has {len(preds)} elements but target has {len(targets)}; "
            "pass one target per prediction"
        )
    out = autograd.apply(op, *preds, *targets)
    if reduction == "sum":
        out = out * len(preds)
    out.label = "loss"
    return out


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Value:  # noqa: A002
    """Mean squared error ``mean((input - target)^2)`` as one node.

    Args:
        input: predictions (a Value/number or a list of them).
        target: targets, the same length.
        reduction: ``"mean"`` (default) or ``"sum"``.

    Returns:
        The loss, a Value labelled ``"loss"``.

    Raises:
        ValueError: for different lengths, empty input or a bad reduction.
        TypeError: for an element that is not a Value or a real number.
    """
    return _pairwise(MSE_LOSS, "mse_loss", input, target, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Value:  # noqa: A002
    """Mean absolute error ``mean(|input - target|)`` as one node (gradient 0 where equal).

    Args and raises as :func:`mse_loss`.
    """
    return _pairwise(L1_LOSS, "l1_loss", input, target, reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean") -> Value:  # noqa: A002
    """Binary cross-entropy on logits, ``mean(softplus(z) - y z)``, stable for any z.

    Args:
        input: logits ``z`` (a Value/number or a list of them).
        target: probabilities ``y`` in [0, 1] (usually 0/1 labels).
        reduction: ``"mean"`` or ``"sum"``.

    Returns:
        The loss, a Value labelled ``"loss"``.

    Raises:
        ValueError: for different lengths, empty input, a bad reduction or a
            numeric target outside [0, 1].
        TypeError: for an element that is not a Value or a real number.
    """
    for i, t in enumerate(_seq(target, "binary_cross_entropy_with_logits", "target")):
        if not isinstance(t, Value) and not 0.0 <= t <= 1.0:
            raise ValueError(
                f"binary_cross_entropy_with_logits: target[{i}] = {t!r} is not in [0, 1]; "
                "use 0/1 labels (convert +-1 labels with (y + 1) / 2)"
            )
    return _pairwise(BCE_WITH_LOGITS, "binary_cross_entropy_with_logits", input, target, reduction)


def hinge_loss(input: Any, target: Any, reduction: str = "mean") -> Value:  # noqa: A002
    """micrograd's max-margin loss ``mean(relu(1 - y * score))`` as one node.

    Args:
        input: scores (a Value/number or a list of them).
        target: labels, -1 or +1 (Values are allowed too).
        reduction: ``"mean"`` or ``"sum"``.

    Returns:
        The loss, a Value labelled ``"loss"``.

    Raises:
        ValueError: for different lengths, empty input, a bad reduction or a
            numeric label other than -1 and +1.
        TypeError: for an element that is not a Value or a real number.
    """
    for i, t in enumerate(_seq(target, "hinge_loss", "target")):
        if not isinstance(t, Value) and t not in (-1, 1):
            raise ValueError(
                f"hinge_loss: target[{i}] = {t!r}; labels must be -1 or +1 "
                "(convert 0/1 labels with 2 * y - 1)"
            )
    return _pairwise(HINGE_LOSS, "hinge_loss", input, target, reduction)


def _one_sample_ce(logits: Any, target: Any, who: str) -> Value:
    zs = _seq(logits, who, "logits")
    if not zs:
        raise ValueError(f"{who}: logits are empty; pass one logit per class")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(
            f"{who}: target must be a class index (int), got {type(target).__name__}"
        )
    if not 0 <= int(target) < len(zs):
        raise ValueError(
            f"{who}: target {target} is out of range for {len(zs)} classes; "
            f"use an index in 0..{len(zs) - 1}"
        )
    onehot = [0.0] * len(zs)
    onehot[int(target)] = 1.0
    return autograd.apply(CROSS_ENTROPY, *zs, *onehot)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Value:
    """Softmax cross-entropy ``logsumexp(z) - z[target]``, stable, one node per sample.

    Args:
        logits: one sample's logits (a list of Values), or a batch (a list of
            such lists).
        target: the class index (int), or a list of them for a batch.
        reduction: for a batch, ``"mean"`` (default) or ``"sum"``.

    Returns:
        The loss, a Value labelled ``"loss"``.

    Raises:
        ValueError: for an index out of range, empty logits, batch lengths
            that differ or a bad reduction.
        TypeError: for a non-integer target or a non-number logit.
    """
    who = "cross_entropy"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 'mean' or 'sum', got {reduction!r}")
    if isinstance(logits, Sequence) and logits and isinstance(logits[0], Sequence):
        if isinstance(target, (str, bytes)) or not isinstance(target, Sequence):
            raise TypeError(
                f"{who}: a batch of logits needs a list of class indices as target, "
                f"got {type(target).__name__}"
            )
        if len(target) != len(logits):
            raise ValueError(
                f"{who}: {len(logits)} samples of logits but {len(target)} targets; "
                "pass one class index per sample"
            )
        parts = [_one_sample_ce(z, t, f"{who}: sample {i}") for i, (z, t) in
                 enumerate(zip(logits, target))]
        out = autograd.mean(parts) if reduction == "mean" else autograd.sum(parts)
    else:
        out = _one_sample_ce(logits, target, who)
    out.label = "loss"
    return out


def l2_penalty(params: Sequence[Value], alpha: float = 1e-4) -> Value:
    """The L2 penalty ``alpha * sum(p * p for p in params)`` (a sum node and a product).

    Args:
        params: the parameters (Values), e.g. ``model.parameters()``.
        alpha: the strength (micrograd's demo uses 1e-4).

    Returns:
        The penalty, a Value labelled ``"l2 penalty"``.

    Raises:
        TypeError: if ``alpha`` is not a real number or an element is not a Value.
        ValueError: if ``params`` is empty, ``alpha`` is negative or not
            finite, or the penalty overflows a float.
    """
    ps = _seq(params, "l2_penalty", "params")
    if not ps:
        raise ValueError("l2_penalty: params is empty; pass model.parameters()")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"l2_penalty: alpha must be a real number, got {type(alpha).__name__}")
    try:
        a = float(alpha)
    except OverflowError:
        a = math.inf
    if not 0.0 <= a < math.inf:
        raise ValueError(f"l2_penalty: alpha must be a finite number >= 0 (a penalty), got "
                         f"{alpha!r}")
    out = autograd.apply(SUM_SQUARES, *ps) * a
    if not math.isfinite(out.data):
        raise ValueError(f"l2_penalty: alpha * sum(p^2) = {alpha!r} * "
                         f"{out.parents[0].data!r} overflows a float; use a smaller alpha")
    out.label = "l2 penalty"
    return out
