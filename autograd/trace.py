"""Tracing: run a function once on the dynamic engine and record what it built.

:mod:`autograd.compile` (straight-line float code) and :mod:`autograd.batched`
(NumPy over a batch) both start from a trace. This module owns it, public to
both (no private cross-imports):

* :func:`start_recording` / :func:`stop_recording` and :class:`Recorder`: the
  engine reports comparisons on Values (``if v > 0``), ``float(v)`` and
  ``Value(x)`` of an argument while a thread traces; the recorder keeps them
  as *guards* (per thread);
* :func:`flatten` and :func:`rebuild`: a call's nested lists and tuples of
  numbers and leaf Values, as a flat list and a structure signature, and back;
* :func:`trace`: one run of the function, classified (outputs, the interior
  nodes and leaves they reach, in creation order);
* :func:`literal`: a float as Python source (nan and infinities named);
* :func:`warn_constants` and :class:`CompileWarning`: Values made inside the
  traced function that became constants of the generated code.
"""

from __future__ import annotations

import operator
import os
import sys
import threading
import warnings
from collections.abc import Callable, Collection
from typing import Any

from autograd import engine as _engine
from autograd.engine import Value

__all__ = ["CompileWarning", "GuardFailed", "Recorder", "TraceError", "flatten", "literal",
           "rebuild", "start_recording", "stop_recording", "trace", "tracers",
           "warn_constants"]

_INF = float("inf")


class TraceError(RuntimeError):
    """Raised when a function cannot be compiled, or its trace no longer applies."""


class GuardFailed(Exception):
    """Raised by generated code when data takes another branch than the trace."""


# ---------------------------------------------------------------------------
# Observing comparisons during a trace (per thread).

tracers: dict[int, Recorder] = {}
_tracers_lock = threading.Lock()


def _observe(value: Value, what: str, other: Any, result: Any) -> bool:
    rec = tracers.get(threading.get_ident())
    if rec is not None:
        return rec.record(value, what, other, result)
    return False


class Recorder:
    def __init__(self, numbers: Collection[Value] | None = None) -> None:
        self.guards: list[tuple[Value, str, Any, bool]] = []
        # leaves made while tracing, with where the user's code made them
        self.made: dict[Value, tuple[str, int]] = {}
        # the Values standing for the function's number arguments (None: this
        # trace takes no Value(x) of them), and the leaves made from them with
        # Value(x) (each one is its argument)
        self.numbers = None if numbers is None else set(numbers)
        self.copies: dict[Value, Value] = {}

    def record(self, value: Value, what: str, other: Any, result: Any) -> bool:
        if what == "new":
            self.made[value] = _user_site()
            return False
        if what == "copy":  # Value(x): accepted when x stands for a number argument
            if self.numbers is None:
                raise TypeError(
                    "Value: data must be a real number, got a Value; inside "
                    "compile(batch=True) the function's arguments arrive as Values "
                    "already: use them as they are (drop the Value(...) around them)"
                )
            if other not in self.numbers:
                raise TypeError(
                    "Value: data must be a real number, got a Value that is not one of "
                    "the compiled function's number arguments (a Value argument, a "
                    "captured Value or one the function built): use it as it is, or "
                    "value.detach() for a new leaf with the same data. Value(x) of a "
                    "number argument x works (x arrives as a Value while tracing)"
                )
            self.copies[value] = other
            return True
        if what == "float":
            raise TraceError(
                "compile: float(v) or v.item() on a Value inside a compiled function "
                "would bake its current data into the compiled code as a constant; "
                "keep the computation in Value ops, or call it outside the function"
            )
        if isinstance(other, Value) or type(other) is float:
            self.guards.append((value, what, other, bool(result)))
        else:
            self.guards.append((value, what, float(other), bool(result)))
        return False


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_site() -> tuple[str, int]:
    """File and line of the innermost caller outside the autograd package."""
    frame = sys._getframe(2)
    while frame is not None and os.path.dirname(
            os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:  # pragma: no cover - autograd calls itself at the top
        return ("<unknown>", 0)
    return (frame.f_code.co_filename, frame.f_lineno)


class CompileWarning(UserWarning):
    """Warns that a traced function turned data into a constant of the compiled code."""


_warned: set[tuple[str, int]] = set()
_warned_lock = threading.Lock()


def warn_constants(fn: Callable[..., Any], made: dict[Value, tuple[str, int]],
                    captured: list[Value]) -> None:
    """Warn once per source line for each leaf the trace made and the code now reads."""
    name = getattr(fn, "__name__", "function")
    for v in captured:
        site = made.get(v)
        if site is None:
            continue
        with _warned_lock:
            if site in _warned:
                continue
            _warned.add(site)
        warnings.warn_explicit(
            f"compile: a Value made inside the traced function {name}() at "
            f"{site[0]}:{site[1]} (data {v.data!r}) is a constant of the compiled code: "
            "later calls reuse this number. If it should change between calls (a batch, "
            "a target), pass it as an argument of the compiled function instead "
            "(step(xs, ys), with numbers or leaf Values)",
            CompileWarning, site[0], site[1],
        )


def start_recording(numbers: Collection[Value] | None = None) -> Recorder:
    rec = Recorder(numbers)
    with _tracers_lock:
        ident = threading.get_ident()
        if ident in tracers:
            raise TraceError(
                "compile: a compiled function was called while tracing another one "
                "in the same thread; call it outside, or compile the outer function only"
            )
        tracers[ident] = rec
        _engine._observer = _observe
    return rec


def stop_recording() -> None:
    with _tracers_lock:
        tracers.pop(threading.get_ident(), None)
        if not tracers:
            _engine._observer = None


# ---------------------------------------------------------------------------
# Arguments: nested lists/tuples of numbers and leaf Values.


def flatten(obj: Any, flat: list[Any], sig: list[Any], where: str) -> None:
    t = type(obj)
    if t is float or t is int:
        flat.append(obj)
        sig.append("n")
    elif t is list or t is tuple:
        sig.append(len(obj) if t is list else -1 - len(obj))
        kinds = set(map(type, obj))
        if kinds <= _NUMBERS:  # a row of numbers (the commonest): no call per item
            flat.extend(obj)
            sig.extend(["n"] * len(obj))
            return
        if kinds == _VALUES and list(map(_PARENTS, obj)).count(None) == len(obj):
            flat.extend(obj)  # a row of leaf Values (an interior one: the general path names it)
            sig.extend(["v"] * len(obj))
            return
        for i, o in enumerate(obj):
            flatten(o, flat, sig, f"{where}[{i}]")
    elif t is Value or isinstance(obj, Value):
        if obj.parents:
            raise TypeError(
                f"compile: argument {where} is an interior Value (op {obj.op!r}); pass "
                "numbers or leaf Values, e.g. value.detach(), or capture it in the function"
            )
        flat.append(obj)
        sig.append("v")
    else:
        try:
            flat.append(_engine._to_float(obj, f"compile: argument {where}"))
        except TypeError:
            raise TypeError(
                f"compile: argument {where} is a {type(obj).__name__}; a compiled "
                "function takes numbers, leaf Values, and lists or tuples of them"
            ) from None
        sig.append("n")


_NUMBERS = frozenset({float, int})
_CREATION = operator.attrgetter("_id")
_VALUES = frozenset({Value})
_PARENTS = operator.attrgetter("_p")


def rebuild(obj: Any, it: Any) -> Any:
    t = type(obj)
    if t is list:
        return [rebuild(o, it) for o in obj]
    if t is tuple:
        return tuple(rebuild(o, it) for o in obj)
    return next(it)


# ---------------------------------------------------------------------------
# One trace: graph -> source -> function.


def literal(x: float) -> str:
    if x != x:
        return "_nan"
    if x == _INF:
        return "_inf"
    if x == -_INF:
        return "(-_inf)"
    r = repr(float(x))
    return f"({r})" if r.startswith("-") else r



def trace(
    fn: Callable[..., Any], args: tuple[Any, ...], targs: list[Value], expected: str,
    numbers: Collection[Value] | None = None,
) -> tuple[Recorder, list[Value], bool, dict[Value, None], list[Value], dict[Value, None]]:
    """Run ``fn`` once on the dynamic engine, recording, and classify what it built.

    ``args`` is the call's structure, ``targs`` the Values standing in for its
    numbers and Values, in order; ``numbers`` those of ``targs`` that stand for
    numbers (``Value(x)`` of one of them is that argument: see
    ``Recorder.copies``; with None, ``Value(x)`` of a Value is refused).
    ``expected`` starts the error raised when ``fn`` returns neither a Value
    nor a tuple of Values.

    Returns:
        The recorder (guards, leaves made while tracing), the outputs, whether
        ``fn`` returned one Value, the interior nodes the outputs and guards
        reach (as a dict, and in creation order), and the leaves they reach
        (arguments, captured parameters and nodes made before the trace).
    """
    start = next(_engine._ids)  # nodes made from here on have smaller ids
    rec = start_recording(numbers)
    try:
        result = fn(*rebuild(args, iter(targs)))
    finally:
        stop_recording()
    single = isinstance(result, Value)
    outs = [result] if single else list(result) if isinstance(result, (list, tuple)) else []
    if not outs or not all(isinstance(o, Value) for o in outs):
        raise TraceError(f"{expected}; got {type(result).__name__}")
    # What the outputs and guards reach. Dicts are keyed by the nodes themselves
    # (identity hashing, see Value).
    roots: list[Value] = list(outs)
    for g in rec.guards:
        roots.append(g[0])
        if isinstance(g[2], Value):
            roots.append(g[2])
    interior: dict[Value, None] = {}
    leaves: dict[Value, None] = {}  # captured leaves and pre-trace nodes: read .data
    stack = list(roots)
    pop, extend = stack.pop, stack.extend
    push = stack.append
    while stack:
        node = pop()
        if node in interior or node in leaves:
            continue
        p = node._p  # its Value operands: one bare, or a tuple (None for a leaf)
        if p is not None and node._id < start:
            interior[node] = None
            if type(p) is tuple:
                extend(p)
            else:
                push(p)
        else:
            leaves[node] = None
    return rec, outs, single, interior, sorted(interior, key=_CREATION, reverse=True), leaves


