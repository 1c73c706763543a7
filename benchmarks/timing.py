"""Timing helpers shared by the benchmark modules: best-of-N after warm-up, per GC mode.

The machines are shared and noisy, so every figure is the best of several
repeats after a warm-up, and every comparison is a ratio measured in the same
process. Each measurement states the garbage-collector setting it ran under.
"""

from __future__ import annotations

import gc
import platform
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

GC_MODES = ("default", "off")


@contextmanager
def gc_mode(mode: str) -> Iterator[None]:
    """Run the block with the collector in ``mode`` ("default": enabled, "off": disabled).

    Raises:
        ValueError: for an unknown mode.
    """
    if mode not in GC_MODES:
        raise ValueError(f"gc_mode: unknown mode {mode!r}; use one of {GC_MODES}")
    was = gc.isenabled()
    if mode == "off":
        gc.disable()
    else:
        gc.enable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


def best_of(
    setup: Callable[[], Any],
    run: Callable[[Any], Any],
    *,
    repeat: int,
    warmup: int = 1,
    mode: str = "default",
) -> float:
    """Return the best wall time in seconds of ``run(setup())`` over ``repeat`` runs.

    ``setup`` is not timed; a full collection runs before each repeat (untimed)
    so that garbage from the previous repeat does not bill this one.
    """
    best = float("inf")
    for i in range(warmup + repeat):
        state = setup()
        gc.collect()
        with gc_mode(mode):
            t0 = time.perf_counter()
            run(state)
            t1 = time.perf_counter()
        del state
        if i >= warmup:
            best = min(best, t1 - t0)
    return best


def best_of_pair(
    first: Callable[[], Any],
    second: Callable[[Any], Any],
    *,
    repeat: int,
    warmup: int = 1,
    mode: str = "default",
) -> tuple[float, float]:
    """Time ``state = first()`` then ``second(state)`` separately; best of each.

    Used for forward (builds a graph) then backward (walks it).
    """
    b1 = b2 = float("inf")
    for i in range(warmup + repeat):
        gc.collect()
        with gc_mode(mode):
            t0 = time.perf_counter()
            state = first()
            t1 = time.perf_counter()
            second(state)
            t2 = time.perf_counter()
        del state
        if i >= warmup:
            b1 = min(b1, t1 - t0)
            b2 = min(b2, t2 - t1)
    return b1, b2


def machine() -> dict[str, Any]:
    """Describe the interpreter and machine a run happened on."""
    import os

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "gc_threshold": gc.get_threshold(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def fmt_table(headers: list[str], rows: list[list[str]]) -> str:
    """Format rows as a Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def traced_bytes(build: Callable[[], Any]) -> tuple[int, Any]:
    """Run ``build()`` with the collector off under tracemalloc.

    Returns:
        ``(bytes, result)``: the bytes ``build`` allocated and still holds, and its result
        (kept alive by the caller while the figure is read).
    """
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = build()
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
        if was:
            gc.enable()
    return used, result
