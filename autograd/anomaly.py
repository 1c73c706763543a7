"""Anomaly mode: find the first op that produces NaN or inf, and where your code made it.

This module owns :func:`detect_anomaly` (PyTorch's name) and
:class:`AnomalyError`. Inside ``with autograd.detect_anomaly():`` every new node
records the file and line of the user code that created it, a node whose
forward value is NaN or infinite raises at once, and ``Value.backward`` runs a
checked pass that raises at the first node whose backward step produces a NaN
or infinite gradient. The error names the op, its inputs, the node's label and
the creation site.

It works through two per-thread hooks of the engine's slow path
(``on_node``, called for new nodes only while some thread has a no_grad,
scope or anomaly block open, and ``checked_backward``): outside the block
nothing is slowed down. ``autograd.grad`` is not checked, only
``Value.backward``.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from autograd import engine as _engine
from autograd.engine import Value, _get_meta, _set_meta, backward_order

__all__ = ["AnomalyError", "detect_anomaly", "is_anomaly_enabled", "suspend_anomaly"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AnomalyError(RuntimeError):
    """The first NaN or inf met inside :func:`detect_anomaly`.

    Attributes:
        phase: "forward" or "backward".
        op: the op's name.
        operands: the node's operand values.
        label: the node's label ("" if none).
        filename: the file of the user code that created the node ("" if unknown).
        lineno: its line (0 if unknown).
        value: the offending forward value or gradient.
    """

    def __init__(self, message: str, *, phase: str, op: str, operands: tuple[float, ...],
                 label: str, filename: str, lineno: int, value: float) -> None:
        super().__init__(message)
        self.phase = phase
        self.op = op
        self.operands = operands
        self.label = label
        self.filename = filename
        self.lineno = lineno
        self.value = value


def _user_site() -> tuple[str, int, str]:
    """The innermost frame outside the autograd package: (file, line, function)."""
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return ("", 0, "")
    return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def _site_of(node: Value) -> tuple[str, int, str]:
    site = _get_meta(node, "site")
    return site if site is not None else ("", 0, "")


def _fmt(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) or math.isnan(x) else ("inf" if x > 0 else "-inf")


def _describe(node: Value, op: str, operands: tuple[float, ...],
              site: tuple[str, int, str]) -> str:
    label = f" {node.label!r}" if node.label else ""
    word = "input" if len(operands) == 1 else "inputs"
    shown = []
    for o, v in zip(node.operands, operands):
        name = o.label if isinstance(o, Value) else ""
        shown.append(f"{name}={_fmt(v)}" if name else _fmt(v))
    where = (f"created at {site[0]}:{site[1]} in {site[2]}()" if site[0]
             else "created outside detect_anomaly (no creation site recorded)")
    return f"node{label} ({op}, {word} {', '.join(shown)}), {where},"


def _on_node(node: Value) -> None:
    site = _user_site()
    _set_meta(node, "site", site)
    data = node.data
    if data - data != 0.0:  # nan or +-inf
        _fail(node, "forward", site, data, "",
              "keep {op}'s inputs where it is finite (an overflow, a division by zero or a "
              "value outside the op's domain), e.g. clamp them, or add a small epsilon")


def _fail(node: Value, phase: str, site: tuple[str, int, str], value: float, how: str,
          fix: str) -> NoReturn:
    """Raise the AnomalyError for ``node``'s ``phase`` having produced ``value``.

    ``how`` follows the value in the message; ``fix`` may name the op as ``{op}``.
    """
    op = node.op
    operands = tuple(o.data if isinstance(o, Value) else float(o) for o in node.operands)
    what = "nan" if value != value else _fmt(value)
    raise AnomalyError(
        f"detect_anomaly: the {phase} of {_describe(node, op, operands, site)} "
        f"produced {what}{how}. Fix: {fix.format(op=op)}",
        phase=phase, op=op, operands=operands, label=node.label,
        filename=site[0], lineno=site[1], value=value,
    )


def _checked_backward(root: Value, seed: float) -> None:
    """``Value.backward`` with a check of every gradient contribution."""
    if seed - seed != 0.0:
        raise AnomalyError(
            f"detect_anomaly: backward was seeded with {_fmt(seed)}; pass a finite gradient",
            phase="backward", op=root.op, operands=(), label=root.label, filename="",
            lineno=0, value=seed,
        )
    if not root.parents:
        root.grad += seed
        return
    order = backward_order(root)
    for node in order:  # interior nodes hold this pass's gradient only
        node.grad = 0.0
    root.grad = seed
    for node in order:
        g = node.grad
        for k, (p, d) in enumerate(zip(node.parents, node.partials)):
            c = g * d
            if c - c != 0.0:
                _fail(node, "backward", _site_of(node), c,
                      f" for its parent {k}: local derivative {_fmt(d)} times incoming "
                      f"gradient {_fmt(g)}",
                      "keep {op}'s inputs away from where its derivative is infinite "
                      "(e.g. sqrt or log at 0), or add a small epsilon")
            p.grad += c


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise :class:`AnomalyError` at the first NaN or inf, forward or backward.

    Inside the block (this thread only): every new node records the file and
    line of the user code that created it; a node whose value is NaN or inf
    raises at once; ``Value.backward`` raises at the first node whose backward
    step yields a NaN or inf gradient. Nodes cost more to create inside the
    block; outside it nothing is slowed down. Blocks nest.

    Example:
        >>> with detect_anomaly():
        ...     y = Value(-1.0).log()  # doctest: +SKIP
        AnomalyError: detect_anomaly: the forward of node (log, input -1.0), ...
    """
    _engine._enter_special()
    try:
        with _hooks(_on_node, _checked_backward):
            yield
    finally:
        _engine._exit_special()


def is_anomaly_enabled() -> bool:
    """Whether anomaly checks are on in this thread (as ``torch.is_anomaly_enabled``).

    Returns:
        True inside a :func:`detect_anomaly` block (and not inside a
        :func:`suspend_anomaly` one), False otherwise.
    """
    return _engine._tls.checked_backward is _checked_backward


@contextmanager
def suspend_anomaly() -> Iterator[None]:
    """Turn anomaly checks off in this thread inside the block.

    :func:`autograd.gradcheck` probes the function a few steps away from the
    point, where a NaN (``sqrt`` just below 0) is expected and not an anomaly;
    it runs those probes inside this block.
    """
    with _hooks(None, None):
        yield


@contextmanager
def _hooks(on_node: Callable[[Value], None] | None,
           checked: Callable[[Value, float], None] | None) -> Iterator[None]:
    """This thread's engine hooks set inside the block, the previous ones restored after."""
    state = _engine._tls
    previous = (state.on_node, state.checked_backward)
    state.on_node, state.checked_backward = on_node, checked
    try:
        yield
    finally:
        state.on_node, state.checked_backward = previous
