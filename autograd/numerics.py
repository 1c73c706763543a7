"""IEEE-754 float helpers: the forward functions that never raise.

Python's ``math`` module raises ``ValueError``, ``OverflowError`` and
``ZeroDivisionError`` where IEEE-754 double precision (and PyTorch float64)
returns ``inf`` or ``nan``. Every function here returns what float64 hardware
would: ``log(0) = -inf``, ``sqrt(-1) = nan``, ``1/0 = inf``, ``exp(1000) = inf``,
``pow(-8, 1/3) = nan`` (never a complex number).

This module owns only float arithmetic; it knows nothing of ``Value``.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Iterable, Sequence

INF = math.inf
NAN = math.nan


def fsum(xs: Iterable[float]) -> float:
    """Return the exactly rounded sum (``math.fsum``), IEEE-754 at the edges.

    ``math.fsum`` raises ``ValueError`` for ``inf + -inf`` and
    ``OverflowError`` when a partial sum overflows; here those give ``nan``
    and ``inf`` as plain float addition does.
    """
    t = type(xs)
    vals = xs if t is list or t is tuple else list(xs)
    try:
        return math.fsum(vals)
    except (ValueError, OverflowError):
        total = 0.0
        for v in vals:
            total += v
        return total


def div(a: float, b: float) -> float:
    """Return ``a / b`` with IEEE semantics (``1/0 = inf``, ``0/0 = nan``)."""
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)


def exp(x: float) -> float:
    """Return ``e**x``; ``inf`` on overflow instead of ``OverflowError``."""
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def log(x: float) -> float:
    """Return the natural logarithm; ``-inf`` at 0 and ``nan`` below 0."""
    try:
        return math.log(x)
    except ValueError:
        return -INF if x == 0.0 else NAN


def sqrt(x: float) -> float:
    """Return the square root; ``nan`` for negative input."""
    try:
        return math.sqrt(x)
    except ValueError:
        return NAN


def sin(x: float) -> float:
    """Return the sine; ``nan`` for infinite input."""
    try:
        return math.sin(x)
    except ValueError:
        return NAN


def cos(x: float) -> float:
    """Return the cosine; ``nan`` for infinite input."""
    try:
        return math.cos(x)
    except ValueError:
        return NAN


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y) and math.fmod(y, 2.0) != 0.0


def pow(x: float, y: float) -> float:  # noqa: A001 - mirrors math.pow
    """Return ``x ** y`` as C's ``pow`` does: real results only.

    ``pow(0, -1) = inf``, ``pow(-0.0, -1) = -inf``, ``pow(-8, 1/3) = nan``,
    ``pow(10, 400) = inf``.
    """
    try:
        return math.pow(x, y)
    except ValueError:
        if x == 0.0:  # zero to a negative power
            if _is_odd_integer(y):
                return math.copysign(INF, x)
            return INF
        return NAN  # negative base, non-integer exponent
    except OverflowError:
        if x < 0.0 and _is_odd_integer(y):
            return -INF
        return INF


def sigmoid(x: float) -> float:
    """Return ``1 / (1 + e**-x)`` without overflow for any ``x``."""
    # the exponent is <= 0 on both branches (or nan), so math.exp cannot raise: the
    # same value as exp, one call fewer
    if x >= 0.0:
        return 1.0 / (1.0 + _raw_exp(-x))
    e = _raw_exp(x)
    return e / (1.0 + e)


def softplus(x: float) -> float:
    """Return ``log(1 + e**x)`` exactly and without overflow."""
    if x != x:
        return x
    return (x if x > 0.0 else 0.0) + math.log1p(exp(-abs(x)))


def logsumexp(xs: Sequence[float]) -> float:
    """Return ``log(sum(exp(x)))`` stably (shifted by the maximum)."""
    m = max(xs)
    if m == INF or m == -INF or m != m:
        if any(x != x for x in xs):
            return NAN
        return m
    # x - m <= 0 (or nan) here, so math.exp cannot overflow; all terms are in
    # [0, 1] or nan, so math.fsum cannot raise: the same value as exp and fsum
    return m + _raw_log(_raw_fsum(map(_raw_exp, map(_sub, xs, _repeat(m)))))


def sumprod(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Return the exactly rounded ``sum(x * y)`` of two equal-length sequences."""
    try:  # fsum's body, one call fewer on this hot path (and no list of the products)
        return _raw_fsum(map(_mul, xs, ys))
    except (ValueError, OverflowError):
        return fsum(list(map(_mul, xs, ys)))


_raw_fsum = math.fsum  # module globals: one lookup each on the hot paths above
_raw_exp = math.exp
_raw_log = math.log
_mul = operator.mul
_sub = operator.sub
_repeat = itertools.repeat


def tie_share(xs: Sequence[float], i: int) -> float:
    """Return ``1/k`` if ``xs[i]`` is one of the ``k`` entries equal to the maximum, else 0.

    The gradient of ``max`` (and of ``logsumexp`` at infinity) split between ties.
    """
    m = max(xs)
    tops = [1.0 if x == m else 0.0 for x in xs]
    return tops[i] / sum(tops)


#: For each helper above that wraps one ``math`` function (or ``/``) to catch
#: its exceptions, that function: it returns the same float wherever it does
#: not raise. Generated code may run with these and redo the call with the
#: helpers when one raises (``autograd.compile`` does).
RAISING: dict[Callable[..., float], Callable[..., float]] = {
    fsum: math.fsum,
    div: operator.truediv,
    exp: math.exp,
    log: math.log,
    sqrt: math.sqrt,
    sin: math.sin,
    cos: math.cos,
    pow: math.pow,
}
