"""Gradient checking: autodiff against finite differences, kink-aware, naming the culprit.

This module owns :func:`gradcheck` and :func:`gradgradcheck` (PyTorch's names),
their result object (:class:`GradcheckResult`, whose ``str`` is a table),
:class:`GradcheckError`, the detection of kinks, and the culprit search.

The autodiff side is what users run: ``f`` is called on fresh leaves and
``Value.backward`` fills their ``.grad`` (the ``.grad`` of any Value of the
caller that ``f`` uses is saved and restored); gradgradcheck differentiates
``autograd.grad(..., create_graph=True)``.

How a derivative is estimated (for every input separately):

* The step is ``h = cbrt(machine eps) * max(1, |x|)`` (about ``6e-6`` near 1)
  unless ``eps`` fixes it. Central differences at ``h`` and ``2h`` are combined
  by Richardson extrapolation; the larger of its distance to the same
  combination at ``2h`` and ``4h`` and a sixteenth of that distance one step
  coarser (``4h``, ``8h``; the two cannot both cancel by chance), plus the
  rounding error of the forward values, is the *error estimate* reported with
  the number. When an entry fails at that step, it
  is retried at 1/16 and 1/256 of it before the verdict is FAIL (a step that
  grows with ``|x|`` can be too coarse for the function: ``sin`` at ``1e6``).
* A fixed ``eps`` below the spacing of floats at an input, or stepping beyond
  the float range, is refused. An entry outside the tolerance passes "within
  FD error" only while the error estimate is at most a tenth of the
  derivatives compared; beyond that it is ``uncertain (FD error too large)``
  and fails unless ``allow_uncertain=True``: a step too small or too large
  cannot tell a right derivative from a wrong one.
* One-sided slopes (left and right, each refined the same way) tell the shape
  of the function at the point: where they agree within their errors it is
  smooth; where they disagree it is a **kink** (``relu(0)``, ``abs(0)``, a
  ``clamp`` bound, a ``maximum`` tie) and any autodiff value between the two
  slopes passes; where one side is undefined (``sqrt(0)``) the other side is
  used; where the function value jumps there is no derivative to check.
* When an entry fails, every node of the recorded graph is checked on its own:
  the derivative the node stored (from the op table's ``local`` rule) against
  finite differences of the op's ``forward`` at the node's operands. The first
  node whose rule disagrees is the **culprit**. If no rule is wrong and a node
  on the way sits at a kink, the difference comes from the kink conventions
  (``relu(x) - relu(-x)`` at 0 is smooth, but autodiff gives 0) and the entry
  passes with a note.

Nodes are numbered in creation order, from 1, counting only the interior nodes
of the graph ``f`` built (the order :func:`autograd.backward_order` reversed).
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from autograd.anomaly import suspend_anomaly
from autograd.engine import Value, apply, backward_order
from autograd.functional import grad
from autograd.ops import Op, get_op

__all__ = [
    "UNCERTAIN",
    "GradcheckEntry",
    "GradcheckError",
    "GradcheckResult",
    "NodeReport",
    "gradcheck",
    "gradgradcheck",
]

_MACHINE_EPS = sys.float_info.epsilon
_STEP = _MACHINE_EPS ** (1.0 / 3.0)
_JUMP = math.sqrt(_MACHINE_EPS)

Inputs = Union[Value, float, int, Sequence[Union[Value, float, int]]]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` / :func:`gradgradcheck` when a check fails.

    The message is the result table. Attributes:
        result: the :class:`GradcheckResult`.
    """

    def __init__(self, result: GradcheckResult) -> None:
        super().__init__(str(result))
        self.result = result


# ---------------------------------------------------------------------------
# Finite differences


@dataclass(frozen=True)
class _Side:
    """A one-sided slope: kind is "finite", "inf", "jump" or "undefined"."""

    kind: str
    value: float = math.nan
    error: float = math.inf
    near: float = math.nan  # the raw slope at h
    far: float = math.nan  # the raw slope at 2h


@dataclass(frozen=True)
class _Estimate:
    shape: str  # "smooth", "kink", "jump", "boundary", "undefined"
    numeric: float
    error: float
    left: _Side
    right: _Side


def _tol(atol: float, rtol: float, ref: float) -> float:
    return atol + rtol * abs(ref) if math.isfinite(ref) else atol


def _safe(g: Callable[[float], float], t: float) -> float:
    try:
        v = float(g(t))
    except (ArithmeticError, ValueError):
        return math.nan
    return v


def _slope(g0: float, g: float, h: float) -> float:
    if math.isinf(g) and g == g0:
        return math.nan  # inf - inf: no slope
    return (g - g0) / h


def _side(g0: float, g1: float, g2: float, g4: float, h: float, rnd: float) -> _Side:
    """The one-sided slope from values at ``h``, ``2h``, ``4h`` (``h`` signed)."""
    near, far, farther = _slope(g0, g1, h), _slope(g0, g2, 2.0 * h), _slope(g0, g4, 4.0 * h)
    if math.isnan(near) or math.isnan(far):
        return _Side("undefined")
    if math.isinf(near) or math.isinf(far):
        if near == far and math.isinf(g0):
            return _Side("inf", near, 0.0, near, far)
        return _Side("jump", near, math.inf, near, far)
    j1 = abs(g1 - g0)
    j2 = abs(g2 - g0)
    if j1 > _JUMP * max(1.0, abs(g0)) and j2 < 1.25 * j1:
        return _Side("jump", near, math.inf, near, far)
    value = 2.0 * near - far  # Richardson: the O(h) error cancels
    coarse = 2.0 * far - farther  # the same one step coarser
    err = abs(value - coarse) if math.isfinite(coarse) else abs(near - far)
    return _Side("finite", value, err + rnd, near, far)


def _central_error(g: Callable[[float], float], x: float, h: float, central: float,
                   d1: float, d2: float, d4: float) -> float:
    """A bound on the truncation error of ``central`` (Richardson's ``h``, ``2h``).

    Its distance to the same combination one step coarser (``2h``, ``4h``)
    is about 15 times its error where ``g`` is smooth at the scale of ``h``,
    but can cancel by chance: when the ``h**4`` and ``h**6`` terms of the two
    combinations balance, it is near 0 while the error is not. So the bound is
    the larger of that distance and the next one, coarser again (``4h``,
    ``8h``, divided by 16), which cannot cancel at the same point: for a
    truncation error ``a h**4 + b h**6`` the larger of the two is at least
    ten times it. Where ``g`` is not finite at ``x +- 8h`` (the edge of its
    domain), the ``h**2`` term's size ``|d1 - d2| / 3`` stands in.
    """
    coarse = d2 + (d2 - d4) / 3.0
    err = abs(central - coarse)
    gp8, gm8 = _safe(g, x + 8.0 * h), _safe(g, x - 8.0 * h)
    if math.isfinite(gp8) and math.isfinite(gm8):
        d8 = (gp8 - gm8) / (16.0 * h)
        coarser = abs(coarse - (d4 + (d4 - d8) / 3.0)) / 16.0
    else:
        coarser = abs(d1 - d2) / 3.0
    return max(err, coarser) if math.isfinite(coarser) else err


def _step(x: float, eps: float | None, shrink: float = 1.0) -> float:
    h = eps if eps is not None else _STEP * max(1.0, abs(x)) / shrink
    exact = (x + h) - x  # a step that is exactly representable around x
    return exact if exact > 0.0 else h


def _estimate(
    g: Callable[[float], float], x: float, eps: float | None, atol: float, rtol: float,
    shrink: float = 1.0,
) -> _Estimate:
    """Estimate ``g'(x)``: value, error estimate, and the shape of ``g`` at ``x``.

    Evaluates ``g`` at ``x``, ``x +- h``, ``x +- 2h``, ``x +- 4h`` (and
    ``x +- 8h``). The central estimate is Richardson's combination of the
    central differences at ``h`` and ``2h``; its error estimate is a bound
    that cannot cancel (:func:`_central_error`: its distance from the same
    combination one and two steps coarser), plus the rounding error of the
    values.
    """
    h = _step(x, eps, shrink)
    g0 = _safe(g, x)
    gp1, gm1 = _safe(g, x + h), _safe(g, x - h)
    gp2, gm2 = _safe(g, x + 2.0 * h), _safe(g, x - 2.0 * h)
    gp4, gm4 = _safe(g, x + 4.0 * h), _safe(g, x - 4.0 * h)
    finite = [abs(v) for v in (g0, gp1, gm1, gp2, gm2, gp4, gm4) if math.isfinite(v)]
    rnd = 16.0 * _MACHINE_EPS * max(finite, default=0.0) / h
    right = _side(g0, gp1, gp2, gp4, h, rnd)
    left = _side(g0, gm1, gm2, gm4, -h, rnd)
    central, central_err = math.nan, math.inf
    if all(math.isfinite(v) for v in (gp1, gm1, gp2, gm2)):
        d1 = (gp1 - gm1) / (2.0 * h)
        d2 = (gp2 - gm2) / (4.0 * h)
        central = d1 + (d1 - d2) / 3.0
        central_err = abs(d1 - d2) / 3.0
        if math.isfinite(gp4) and math.isfinite(gm4):
            d4 = (gp4 - gm4) / (8.0 * h)
            central_err = _central_error(g, x, h, central, d1, d2, d4)
        central_err += rnd
    kinds = {left.kind, right.kind}
    if kinds == {"finite"}:
        gap = abs(left.value - right.value)
        big = max(abs(left.value), abs(right.value))
        if gap <= left.error + right.error + _tol(atol, rtol, big):
            if math.isfinite(central):
                return _Estimate("smooth", central, central_err, left, right)
            mid = 0.5 * (left.value + right.value)
            return _Estimate("smooth", mid, max(left.error, right.error), left, right)
        mid = central if math.isfinite(central) else 0.5 * (left.value + right.value)
        return _Estimate("kink", mid, max(left.error, right.error), left, right)
    if "jump" in kinds:
        return _Estimate("jump", central, math.inf, left, right)
    if kinds == {"inf"}:
        if left.value == right.value:
            return _Estimate("smooth", left.value, 0.0, left, right)
        return _Estimate("kink", math.nan, 0.0, left, right)
    if "undefined" in kinds and kinds != {"undefined"}:
        other = right if left.kind == "undefined" else left
        return _Estimate("boundary", other.value, other.error, left, right)
    return _Estimate("undefined", math.nan, math.inf, left, right)


def _consistent(a: _Estimate, b: _Estimate, atol: float, rtol: float) -> bool:
    if a.shape != "smooth" or b.shape != "smooth":
        return False
    gap = abs(a.numeric - b.numeric)
    return gap <= a.error + b.error + _tol(atol, rtol, b.numeric)


def _check(
    a: float, g: Callable[[float], float], x: float, eps: float | None, atol: float,
    rtol: float,
) -> tuple[_Estimate, bool, str]:
    """Estimate ``g'(x)`` and judge ``a`` against it.

    The default step may be too coarse for ``g`` (``sin`` at ``x = 1e6`` gets
    a step of 6, by the ``max(1, |x|)`` rule). So a kink or jump seen at the
    default step is confirmed at 1/16 and 1/256 of it (where ``g`` looks
    smooth, that estimate is used), and when ``a`` fails the estimate is
    repeated at 1/16
    and 1/256 of the step: the verdict is the first that passes; if none does,
    the reported estimate is the coarsest one that agrees with the next finer
    one (the finest when none agree).
    """
    est = _estimate(g, x, eps, atol, rtol)
    base = 1.0
    if est.shape in ("kink", "jump"):
        # a true kink stays a kink at finer steps; one seen only at a coarse
        # step (sin at 3e6 with a step of 20, tanh with a fixed eps of 1000) does not,
        # and the finer step's estimate is the one judged
        steps: list[tuple[float | None, float]] = [(None, 16.0), (None, 256.0)]
        if eps is not None:  # finer fixed steps, then the default one
            steps = [(eps / 16.0, 1.0), (eps / 256.0, 1.0), (None, 1.0)]
        for step, shrink in steps:
            finer = _estimate(g, x, step, atol, rtol, shrink)
            if finer.shape == "smooth":  # judged by the finer step, which sees no kink
                est, base = finer, shrink
                break
    ok, verdict = _judge(a, est, atol, rtol)
    if ok or eps is not None:
        return est, ok, verdict
    tried = [est]
    for shrink in (16.0 * base, 256.0 * base):
        finer = _estimate(g, x, None, atol, rtol, shrink)
        ok, verdict = _judge(a, finer, atol, rtol)
        if ok:
            return finer, ok, verdict
        tried.append(finer)
    chosen = tried[-1]
    for coarse, fine in itertools.pairwise(tried):
        if _consistent(coarse, fine, atol, rtol):
            chosen = coarse if coarse.error <= fine.error else fine
            break
    return chosen, False, _judge(a, chosen, atol, rtol)[1]


#: the verdict of an entry whose finite-difference error is too large to decide
UNCERTAIN = "uncertain (FD error too large)"


#: "within FD error" passes only while the error estimate is at most this fraction of the
#: derivatives compared (plus the tolerance); above it the entry is uncertain
_UNCERTAIN_FRACTION = 0.1


def _too_uncertain(error: float, a: float, n: float, atol: float, rtol: float) -> bool:
    """True when the FD error could hide a wrong derivative.

    An entry outside the tolerance may still pass "within FD error", but only
    while the error estimate is at most a tenth of the larger of
    ``|autodiff|`` and ``|finite diff|`` (plus the tolerance): beyond that, a
    derivative wrong by half would pass too. Such an error comes from a step
    too small (rounding) or too large (truncation) for the function.
    """
    return not error <= _UNCERTAIN_FRACTION * max(abs(a), abs(n)) + _tol(atol, rtol, n)


def _judge(a: float, est: _Estimate, atol: float, rtol: float) -> tuple[bool, str]:
    """Return (passed, verdict) for the autodiff value ``a`` against ``est``."""
    if math.isnan(a):
        return False, "FAIL"
    shape = est.shape
    if shape == "smooth":
        n = est.numeric
        if math.isinf(n) or math.isinf(a):
            return (a == n), ("ok" if a == n else "FAIL")
        diff = abs(a - n)
        if diff <= _tol(atol, rtol, n):
            return True, "ok"
        if _too_uncertain(est.error, a, n, atol, rtol):
            return False, UNCERTAIN
        if diff <= _tol(atol, rtol, n) + est.error:
            return True, "ok (within FD error)"  # a coarse check: see the FD error column
        return False, "FAIL"
    if shape == "kink":
        lo = min(est.left.value, est.right.value)
        hi = max(est.left.value, est.right.value)
        err = max(est.left.error, est.right.error)
        inside = lo - _tol(atol, rtol, lo) <= a <= hi + _tol(atol, rtol, hi)
        if not inside and _too_uncertain(err, a, max(abs(lo), abs(hi)), atol, rtol):
            return False, UNCERTAIN
        ok = lo - _tol(atol, rtol, lo) - err <= a <= hi + _tol(atol, rtol, hi) + err
        return ok, "ok (kink)" if ok else "FAIL"
    if shape == "jump":
        return True, "skipped (jump)"
    if shape == "boundary":
        side = est.right if est.left.kind == "undefined" else est.left
        diverging = abs(side.near) > 1.2 * abs(side.far) and (side.near > 0) == (a > 0)
        if side.kind == "inf":
            ok = a == side.value
        elif math.isinf(a):
            # the slopes grow without bound as the step shrinks: d -> +-inf
            ok = diverging
        else:
            # near a singular edge (sqrt at 1e-12) the slopes grow as the step
            # shrinks: the derivative is beyond the nearest slope
            ok = (abs(a - side.value) <= _tol(atol, rtol, side.value) + side.error
                  or (diverging and abs(a) >= abs(side.near) - _tol(atol, rtol, side.near)))
        return ok, "ok (one-sided)" if ok else "FAIL"
    return False, "FAIL"


# ---------------------------------------------------------------------------
# Reports


def _num(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    text = f"{x:.6g}"
    # never print a non-integer so that it looks like one (1.0000000000000002)
    return text if any(c in text for c in ".en") else repr(x)


def _short(x: float) -> str:
    if x == 0.0:
        return "0"  # also -0.0
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


def _err(x: float) -> str:
    if math.isinf(x):
        return "inf"
    if math.isnan(x):
        return "nan"
    return f"{x:.1e}"


@dataclass(frozen=True)
class NodeReport:
    """One node of the checked graph: a kink, or a wrong derivative rule.

    Attributes:
        index: the node's number, in creation order from 1.
        op: the op's name.
        operands: the operand values (constants and parameters included).
        label: the node's label ("" if none).
        operand: which operand the derivative is taken with respect to.
        kind: "kink", "jump", "boundary" (a one-sided domain edge), or, for a
            culprit, the rule that is wrong: "local" (the derivative stored in
            the node), "local_value" (the Value rule used by ``create_graph``)
            or "d local_value" (the Value rule's own derivative).
        autodiff: the rule's value (``nan`` for kinks).
        numeric: finite differences of the op's forward (or of ``local``).
        error: the estimated error of ``numeric``.
        left: the left one-sided slope (kinks), else ``nan``.
        right: the right one-sided slope (kinks), else ``nan``.
    """

    index: int
    op: str
    operands: tuple[float, ...]
    label: str
    operand: int
    kind: str
    autodiff: float = math.nan
    numeric: float = math.nan
    error: float = math.nan
    left: float = math.nan
    right: float = math.nan

    def where(self) -> str:
        """``node 3 'h' (relu, input 0.0)``: the node, its op and operands."""
        label = f" {self.label!r}" if self.label else ""
        word = "input" if len(self.operands) == 1 else "inputs"
        vals = ", ".join(_num(v) for v in self.operands)
        return f"node {self.index}{label} ({self.op}, {word} {vals})"

    def describe(self) -> str:
        """One sentence about this node."""
        if self.kind in ("kink", "jump", "boundary"):
            what = {"kink": "kink", "jump": "jump", "boundary": "domain edge"}[self.kind]
            text = f"{what} at {self.where()}"
            if self.kind == "kink":
                text += (
                    f": one-sided slopes in operand {self.operand} are "
                    f"{_short(self.left)} (left) and {_short(self.right)} (right)"
                )
            return text
        rule = {
            "local": "its derivative rule (the op table's `local`, stored in the node)",
            "local_value": "its Value rule (`local_value`, used by create_graph)",
            "d local_value": "the derivative of its Value rule (`local_value`)",
        }[self.kind]
        if self.kind == "local_value":
            against = f"its float rule `local` gives {_short(self.numeric)}"
        else:
            of = "its forward" if self.kind == "local" else "its float rule `local`"
            against = (f"finite differences of {of} give {_short(self.numeric)} "
                       f"(estimated error {_err(self.error)})")
        return (
            f"{self.where()}\n  {rule} gives {_short(self.autodiff)} for operand "
            f"{self.operand};\n  {against}: fix that op's derivative"
        )


@dataclass(frozen=True)
class GradcheckEntry:
    """One checked derivative.

    Attributes:
        name: the row's name: the input's name (``x``) or, for second
            derivatives, ``d2/dx dy``.
        point: the input's value (the differentiated input's, for
            second derivatives).
        analytic: what autodiff computed (the engine's backward pass).
        numeric: the finite-difference estimate.
        error: the estimated error of ``numeric``.
        verdict: "ok", "ok (within FD error)" (passes only thanks to a large
            error estimate: the check was coarse), "ok (kink)", "ok (one-sided)",
            "ok (kink convention)", "skipped (jump)", "uncertain (FD error too
            large)" (the estimate cannot decide; see ``allow_uncertain``) or "FAIL".
        passed: False for "FAIL" and, unless ``allow_uncertain``, "uncertain".
        shape: what finite differences saw: "smooth", "kink", "jump",
            "boundary" or "undefined".
        left: the left one-sided slope.
        right: the right one-sided slope.
        notes: sentences about kinks met on the way.
    """

    name: str
    point: float
    analytic: float
    numeric: float
    error: float
    verdict: str
    passed: bool
    shape: str
    left: float
    right: float
    notes: tuple[str, ...] = ()


@dataclass
class GradcheckResult:
    """What :func:`gradcheck` / :func:`gradgradcheck` found; ``str`` is a table.

    Truthy when every entry passed, so ``assert gradcheck(f, xs,
    raise_exception=False)`` works.

    Attributes:
        function: the checked function's name.
        order: 1 for gradcheck, 2 for gradgradcheck.
        entries: one :class:`GradcheckEntry` per input (per input pair for
            order 2).
        atol: the absolute tolerance used.
        rtol: the relative tolerance used.
        culprit: the first node whose own derivative rule is wrong, when a
            check failed and such a node exists.
        kinks: nodes of the graph that sit at a kink, jump or domain edge,
            one report per node and operand (searched only when some entry
            is not smooth or fails).
        value: ``f`` at the point.
    """

    function: str
    order: int
    entries: list[GradcheckEntry]
    atol: float
    rtol: float
    value: float
    culprit: NodeReport | None = None
    kinks: list[NodeReport] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no entry failed."""
        return all(e.passed for e in self.entries)

    @property
    def failures(self) -> list[GradcheckEntry]:
        """The entries that failed."""
        return [e for e in self.entries if not e.passed]

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.table()

    def table(self) -> str:
        """Return the readable report (the same text as ``str(result)``)."""
        what = "gradcheck" if self.order == 1 else "gradgradcheck"
        unit = "input" if self.order == 1 else "second derivative"
        n, bad = len(self.entries), len(self.failures)
        status = "passed" if not bad else f"FAILED for {bad} of {n} {unit}s"
        lines = [
            f"{what} of {self.function} (f = {_short(self.value)}): {status} "
            f"(atol={self.atol:g}, rtol={self.rtol:g})",
        ]
        if self.order == 1:
            lines.append(
                "  autodiff = the engine's backward pass (analytic); finite diff = "
                "central differences + Richardson (numeric)"
            )
        else:
            lines.append(
                "  autodiff = grad(grad(f), create_graph=True) (analytic); finite diff = "
                "differences of autodiff first derivatives (numeric)"
            )
        header = ("input" if self.order == 1 else "derivative", "at", "autodiff",
                  "finite diff", "FD error", "|difference|", "verdict")
        rows = [header]
        for e in self.entries:
            diff = 0.0 if e.analytic == e.numeric else abs(e.analytic - e.numeric)
            rows.append((e.name, _short(e.point), _short(e.analytic), _short(e.numeric),
                         _err(e.error), _err(diff), e.verdict))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if bad:
            lines.append(
                "  FAIL: |autodiff - finite diff| > atol + rtol * |finite diff| + FD error"
            )
        if self.culprit is not None:
            lines.append(f"culprit: {self.culprit.describe()}")
        notes = [(e.name, note) for e in self.entries for note in e.notes]
        if notes:
            lines.append("notes:")
            lines.extend(f"  {name}: {note}" for name, note in notes)
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# The recorded graph


class _Graph:
    """The interior nodes of ``out``'s graph in creation order, and what they depend on."""

    def __init__(self, out: Value, leaves: Sequence[Value]) -> None:
        self.nodes = list(reversed(backward_order(out)))
        self.index = {node: i + 1 for i, node in enumerate(self.nodes)}
        masks: dict[Value, int] = {}
        for j, leaf in enumerate(leaves):
            masks[leaf] = masks.get(leaf, 0) | (1 << j)
        for node in self.nodes:
            m = 0
            for p in node.parents:
                m |= masks.get(p, 0)
            masks[node] = m
        self.masks = masks

    def depends(self, node: Value, j: int) -> bool:
        return bool(self.masks.get(node, 0) >> j & 1)


def _op_of(node: Value) -> Op:
    if not node.op:  # pragma: no cover - interior nodes always carry their op
        raise RuntimeError(f"gradcheck: node {node!r} has parents but no op")
    return get_op(node.op)


def _operand_floats(node: Value) -> list[float]:
    return [o.data if isinstance(o, Value) else float(o) for o in node.operands]


def _value_slots(node: Value) -> list[int]:
    return [i for i, o in enumerate(node.operands) if isinstance(o, Value)]


def _forward_in(node: Value, i: int) -> Callable[[float], float]:
    op = _op_of(node)
    floats = _operand_floats(node)

    def g(t: float) -> float:
        fl = list(floats)
        fl[i] = t
        return float(op.forward(*fl))

    return g


def _local_in(op: Op, floats: list[float], i: int, j: int) -> Callable[[float], float]:
    """``t -> d forward / d operand i`` (the float rule), with operand ``j`` set to ``t``."""

    def h(t: float) -> float:
        fl = list(floats)
        fl[j] = t
        return float(op.local(op.forward(*fl), *fl)[i])

    return h


def _node_report(graph: _Graph, node: Value, i: int, kind: str, **kw: float) -> NodeReport:
    return NodeReport(graph.index[node], node.op, tuple(_operand_floats(node)), node.label,
                      i, kind, **kw)


def _node_kinks(graph: _Graph, atol: float, rtol: float) -> list[NodeReport]:
    """Nodes whose op is not smooth in some Value operand at the recorded point."""
    found = []
    for node in graph.nodes:
        floats = _operand_floats(node)
        for i in _value_slots(node):
            est = _estimate(_forward_in(node, i), floats[i], None, atol, rtol)
            if est.shape in ("kink", "jump", "boundary"):
                found.append(_node_report(graph, node, i, est.shape,
                                          left=est.left.value, right=est.right.value))
    return found


def _first_order_culprit(graph: _Graph, atol: float, rtol: float) -> NodeReport | None:
    """The first node whose stored partial disagrees with differences of its forward."""
    for node in graph.nodes:
        floats = _operand_floats(node)
        for k, i in enumerate(_value_slots(node)):
            stored = node.partials[k]
            est, ok, _ = _check(stored, _forward_in(node, i), floats[i], None, atol, rtol)
            if not ok and est.shape != "undefined":  # nan all around: nothing to blame
                return _node_report(graph, node, i, "local", autodiff=stored,
                                    numeric=est.numeric, error=est.error)
    return None


def _second_order_culprit(graph: _Graph, atol: float, rtol: float) -> NodeReport | None:
    """The first node whose Value rule disagrees with its float rule, or whose
    Value rule's derivative disagrees with differences of the float rule."""
    for node in graph.nodes:
        op = _op_of(node)
        floats = _operand_floats(node)
        slots = _value_slots(node)
        n_partials = len(floats) - op.params
        for i in slots:
            if i >= n_partials:
                continue
            leaves: list[Any] = [Value(f) if isinstance(o, Value) else f
                                 for o, f in zip(node.operands, floats)]
            with_leaves = [leaves[j] for j in slots]
            out = apply(op, *leaves)
            rule = op.local_value(tuple(leaves), out, i)
            rv = rule.data if isinstance(rule, Value) else float(rule)
            local = float(op.local(out.data, *floats)[i])
            if not (rv == local or abs(rv - local) <= _tol(atol, rtol, local)
                    or (math.isnan(rv) and math.isnan(local))):
                return _node_report(graph, node, i, "local_value", autodiff=rv,
                                    numeric=local, error=0.0)
            if isinstance(rule, Value):
                ds = grad(rule, with_leaves, allow_unused=True)
            else:
                ds = [Value(0.0) for _ in slots]
            for j, d in zip(slots, ds):

                est, ok, _ = _check(d.data, _local_in(op, floats, i, j), floats[j], None,
                                    atol, rtol)
                if not ok:
                    return _node_report(graph, node, i, "d local_value", autodiff=d.data,
                                        numeric=est.numeric, error=est.error)
    return None


# ---------------------------------------------------------------------------
# The checks


def _names(f: Callable[..., Any], inputs: Sequence[Any]) -> list[str]:
    names = [""] * len(inputs)
    try:
        params = [p for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    for j, x in enumerate(inputs):
        if isinstance(x, Value) and x.label:
            names[j] = x.label
        elif j < len(params):
            names[j] = params[j].name
        else:
            names[j] = "x" if len(inputs) == 1 else f"x{j}"
    if len(set(names)) < len(names):
        names = [f"{n} [{j}]" for j, n in enumerate(names)]
    return names


def _function_name(f: Callable[..., Any]) -> str:
    own_str = type(f).__str__ is not object.__str__ and not inspect.isroutine(f)
    if own_str:
        text = str(f)
        text = " ".join(text.split())  # one line
        return text if len(text) <= 80 else text[:77] + "..."
    name = getattr(f, "__name__", type(f).__name__)
    return "a lambda" if name == "<lambda>" else f"{name}()"


def _prepare(
    what: str, f: Any, inputs: Inputs, eps: float | None, atol: float, rtol: float
) -> tuple[list[float], list[str]]:
    if not callable(f):
        raise TypeError(f"{what}: f must be callable (a function of Values), got "
                        f"{type(f).__name__}")
    seq = [inputs] if isinstance(inputs, (Value, int, float)) else inputs
    if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
        raise TypeError(
            f"{what}: inputs must be a Value, a number or a sequence of them, got "
            f"{type(inputs).__name__}; pass e.g. [1.0, 2.0]"
        )
    if not seq:
        raise ValueError(f"{what}: inputs is empty; pass the point to check at, e.g. [1.0]")
    points = []
    for j, x in enumerate(seq):
        if isinstance(x, Value):
            v = x.data
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            v = float(x)
        else:
            raise TypeError(f"{what}: inputs[{j}] must be a Value or a real number, got "
                            f"{type(x).__name__}")
        if not math.isfinite(v):
            raise ValueError(f"{what}: inputs[{j}] is {v}; check at a finite point")
        points.append(v)
    if eps is not None and not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"{what}: eps must be a positive finite step or None, got {eps!r}")
    if eps is not None:
        for j, v in enumerate(points):
            if (v + eps) - v <= 0.0:
                raise ValueError(
                    f"{what}: eps={eps!r} is below the spacing of floats at inputs[{j}] = {v!r} "
                    f"(x + eps == x); use eps >= {4 * math.ulp(v):.3g}, or eps=None to scale "
                    "the step to each input")
            if not (math.isfinite(v + 4.0 * eps) and math.isfinite(v - 4.0 * eps)):
                raise ValueError(f"{what}: eps={eps!r} steps beyond the float range from "
                                 f"inputs[{j}] = {v!r}; use a smaller eps, or eps=None")
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if not (isinstance(tol, (int, float)) and tol >= 0 and math.isfinite(tol)):
            raise ValueError(f"{what}: {name} must be a finite number >= 0, got {tol!r}")
    return points, _names(f, seq)


def _call(what: str, f: Callable[..., Any], xs: Sequence[Value]) -> Value:
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(
            f"{what}: f must return a Value, got {type(out).__name__}; build the "
            "result from the Value arguments f receives"
        )
    return out


def _require_defined(what: str, out: Value, graph: _Graph) -> None:
    """Refuse a point where ``f`` is nan: there is nothing to compare there."""
    if not math.isnan(out.data):
        return
    first = next((n for n in graph.nodes if math.isnan(n.data)), None)
    where = ""
    if first is not None:
        where = " (first nan at " + _node_report(graph, first, 0, "nan").where() + ")"
    raise ValueError(
        f"{what}: f is nan at the point{where}; check at a point inside f's domain"
    )


def _backward_grads(out: Value, xs: Sequence[Value], graph: _Graph) -> list[float]:
    """d out / d x by ``Value.backward`` (what users run), without side effects.

    ``f`` may use Values of the caller (a model's parameters): their ``.grad``
    is saved and restored, so checking never disturbs training state.
    """
    touched: dict[Value, float] = {}
    for node in graph.nodes:
        touched[node] = node.grad
        for p in node.parents:
            touched.setdefault(p, p.grad)
    touched.setdefault(out, out.grad)
    for x in xs:
        x.grad = 0.0
    try:
        with suspend_anomaly():  # an infinite partial is gradcheck's to report
            out.backward()
        return [x.grad if x in touched else 0.0 for x in xs]
    finally:
        ours = set(xs)
        for node, g in touched.items():
            if node not in ours:
                node.grad = g


def _leaves(points: Sequence[float], names: Sequence[str]) -> list[Value]:
    return [Value(p, label=n) for p, n in zip(points, names)]


def _finish(
    result: GradcheckResult,
    estimates: list[tuple[int, _Estimate]],
    graph: _Graph,
    culprit_search: Callable[[], NodeReport | None],
    raise_exception: bool,
) -> GradcheckResult:
    """Attach kinks, kink notes and the culprit; rescue kink-convention entries."""
    atol, rtol = result.atol, result.rtol
    needs_nodes = any(est.shape != "smooth" for _, est in estimates) or not result.passed
    with suspend_anomaly():
        kinks = _node_kinks(graph, atol, rtol) if needs_nodes else []
        culprit = culprit_search() if not result.passed else None
    result.kinks = kinks
    result.culprit = culprit
    fixed = []
    for entry, (j, est) in zip(result.entries, estimates):
        mine = _kinks_reaching(graph, kinks, j)
        notes = [k.describe() for k in mine] if est.shape != "smooth" or not entry.passed else []
        if est.shape == "kink" and entry.passed:
            notes.append(
                f"f has one-sided slopes {_short(est.left.value)} (left) and "
                f"{_short(est.right.value)} (right) here; autodiff "
                f"{_short(entry.analytic)} lies between them"
            )
        if entry.verdict == UNCERTAIN:
            notes.append(
                f"the finite-difference error ({_short(entry.error)}) is as large as the "
                "derivative: the step is too small (rounding) or too large (truncation) for "
                "f here; use eps=None (a step scaled to each input) or pass "
                "allow_uncertain=True to accept it"
            )
        elif not entry.passed and culprit is None:
            if mine:
                entry = _replace(entry, verdict="ok (kink convention)", passed=True)
                notes.append(
                    "every node's own derivative rule checks out; autodiff differs from "
                    "finite differences only through the kink conventions above"
                )
            else:
                notes.append(
                    "every node's own derivative rule agrees with finite differences of its "
                    "forward: f probably reads .data, makes new Values from floats, or is "
                    "not deterministic, which cuts or changes the graph"
                )
        fixed.append(_replace(entry, notes=tuple(notes)))
    result.entries = fixed
    if raise_exception and not result.passed:
        raise GradcheckError(result)
    return result


def _kinks_reaching(graph: _Graph, kinks: list[NodeReport], j: int) -> list[NodeReport]:
    """One report per kinked node whose kinked operand depends on input ``j``."""
    out: list[NodeReport] = []
    seen: set[int] = set()
    for k in kinks:
        operand = graph.nodes[k.index - 1].operands[k.operand]
        if k.index not in seen and isinstance(operand, Value) and graph.depends(operand, j):
            seen.add(k.index)
            out.append(k)
    return out


def _replace(entry: GradcheckEntry, **changes: Any) -> GradcheckEntry:
    return dataclasses.replace(entry, **changes)


def gradcheck(
    f: Callable[..., Value],
    inputs: Inputs,
    *,
    eps: float | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    allow_uncertain: bool = False,
) -> GradcheckResult:
    """Check autodiff's gradient of ``f`` against finite differences.

    Args:
        f: a function of Values (one per input) returning a Value.
        inputs: the point: a number, a Value, or a sequence of them (Values
            lend their ``data`` and ``label``; they are not modified).
        eps: a fixed finite-difference step; ``None`` (default) scales it to
            each input: ``cbrt(machine eps) * max(1, |x|)``.
        atol: absolute tolerance.
        rtol: relative tolerance (relative to the finite-difference value).
            An entry passes when ``|autodiff - finite diff| <= atol + rtol *
            |finite diff| + the estimated error of the finite difference``.
        raise_exception: raise :class:`GradcheckError` on failure (default,
            as in PyTorch); if False, return the result either way.
        allow_uncertain: let entries pass whose finite-difference error is
            too large to decide (verdict "uncertain (FD error too large)":
            a step too small or too large for the function). By default they
            fail: a check that cannot tell right from wrong is not a pass.

    Returns:
        A :class:`GradcheckResult` (truthy when the check passed).

    Raises:
        GradcheckError: when a derivative disagrees and ``raise_exception``;
            the message is the table and names the culprit node.
        TypeError: if ``f`` is not callable or does not return a Value, or an
            input is not a number.
        ValueError: if an input is not finite, the inputs are empty, a
            tolerance or ``eps`` is negative, or ``f`` is nan at the point
            (the message names the first node that made the nan).
    """
    points, names = _prepare("gradcheck", f, inputs, eps, atol, rtol)
    xs = _leaves(points, names)
    out = _call("gradcheck", f, xs)
    graph = _Graph(out, xs)
    _require_defined("gradcheck", out, graph)
    analytic = _backward_grads(out, xs, graph)
    entries = []
    estimates = []
    for j, (x0, a) in enumerate(zip(points, analytic)):

        def g(t: float, j: int = j) -> float:
            # recorded as usual (f may call autograd.grad itself), freed at once
            with suspend_anomaly():
                vals = [Value(t if k == j else p) for k, p in enumerate(points)]
                return _call("gradcheck", f, vals).data

        est, ok, verdict = _check(a, g, x0, eps, atol, rtol)
        ok = ok or (allow_uncertain and verdict == UNCERTAIN)
        entries.append(GradcheckEntry(names[j], x0, a, est.numeric, est.error, verdict, ok,
                                      est.shape, est.left.value, est.right.value))
        estimates.append((j, est))
    result = GradcheckResult(_function_name(f), 1, entries, atol, rtol, out.data)
    return _finish(result, estimates, graph,
                   lambda: _first_order_culprit(graph, atol, rtol), raise_exception)


def gradgradcheck(
    f: Callable[..., Value],
    inputs: Inputs,
    *,
    eps: float | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    allow_uncertain: bool = False,
) -> GradcheckResult:
    """Check second derivatives of ``f`` (through ``create_graph``) against finite differences.

    For every pair of inputs ``(i, j)``, ``d/dx_j (df/dx_i)`` computed by
    ``autograd.grad(autograd.grad(f, create_graph=True)[i])`` is compared with
    finite differences, in ``x_j``, of the first derivative ``df/dx_i``. The
    arguments, return value and errors are those of :func:`gradcheck`; the
    culprit search checks each node's ``local_value`` rule against its float
    rule ``local`` and against differences of it.
    """
    points, names = _prepare("gradgradcheck", f, inputs, eps, atol, rtol)
    xs = _leaves(points, names)
    out = _call("gradgradcheck", f, xs)
    graph = _Graph(out, xs)
    _require_defined("gradgradcheck", out, graph)
    firsts = grad(out, xs, create_graph=True, allow_unused=True)
    entries = []
    estimates = []
    for i, first in enumerate(firsts):
        seconds = [g.data for g in grad(first, xs, allow_unused=True)]
        for j, x0 in enumerate(points):

            def g(t: float, i: int = i, j: int = j) -> float:
                with suspend_anomaly():
                    vals = [Value(t if k == j else p) for k, p in enumerate(points)]
                    o = _call("gradgradcheck", f, vals)
                    return grad(o, [vals[i]], allow_unused=True)[0].data

            est, ok, verdict = _check(seconds[j], g, x0, eps, atol, rtol)
            ok = ok or (allow_uncertain and verdict == UNCERTAIN)
            name = f"d2/d{names[i]}2" if i == j else f"d2/d{names[i]} d{names[j]}"
            entries.append(GradcheckEntry(name, x0, seconds[j], est.numeric, est.error,
                                          verdict, ok, est.shape, est.left.value,
                                          est.right.value))
            estimates.append((j, est))
    result = GradcheckResult(_function_name(f), 2, entries, atol, rtol, out.data)

    def culprit() -> NodeReport | None:
        return (_first_order_culprit(graph, atol, rtol)
                or _second_order_culprit(graph, atol, rtol))

    return _finish(result, estimates, graph, culprit, raise_exception)
