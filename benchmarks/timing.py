"""Timing helpers shared by the benchmark modules: best-of-N after warm-up, per GC mode.

The machines are shared and noisy, so every figure is the best of several
repeats after a warm-up, and every comparison is a ratio measured in the same
process. Each measurement states the garbage-collector setting it ran under.
"""

from __future__ import annotations

import gc
import json
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


def _best_times(once: Callable[[], tuple[float, ...]], n: int, repeat: int,
                warmup: int) -> list[float]:
    """Call ``once()`` (which returns ``n`` times) ``warmup + repeat`` times; the best of each."""
    best = [float("inf")] * n
    for i in range(warmup + repeat):
        times = once()
        if i >= warmup:
            best = [min(b, t) for b, t in zip(best, times, strict=True)]
    return best


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
    def once() -> tuple[float]:
        state = setup()
        gc.collect()
        with gc_mode(mode):
            t0 = time.perf_counter()
            run(state)
            t1 = time.perf_counter()
        return (t1 - t0,)

    return _best_times(once, 1, repeat, warmup)[0]


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
    def once() -> tuple[float, float]:
        gc.collect()
        with gc_mode(mode):
            t0 = time.perf_counter()
            state = first()
            t1 = time.perf_counter()
            second(state)
            t2 = time.perf_counter()
        return t1 - t0, t2 - t1

    b1, b2 = _best_times(once, 2, repeat, warmup)
    return b1, b2


def best_in_rounds(items: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]],
                   repeat: int) -> dict[str, float]:
    """Best CPU seconds of each ``fn(setup())`` (``setup`` untimed), GC off.

    The items are timed in ``repeat`` rounds, one after another in each round,
    so that the parts whose differences are reported see the same machine. What
    ``fn`` returns is held until the clock has stopped: freeing a result (a graph
    ``grad(create_graph=True)`` built) is not the cost of making it, as freeing the
    forward graph is not backward's.
    """
    best = dict.fromkeys(items, float("inf"))
    for _ in range(repeat):
        for name, (fn, setup) in items.items():
            state = setup()
            gc.collect()
            with gc_mode("off"):
                t0 = time.process_time()
                out = fn(state)
                dt = time.process_time() - t0
            best[name] = min(best[name], dt)
            del state, out
    return best


def profile_top(step: Callable[[], Any], steps: int, top: int) -> str:
    """cProfile of ``steps`` calls of ``step()``: the ``top`` functions by own time, as text."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def write_json(path: str | None, results: Any) -> None:
    """Write a benchmark's results to ``path`` as indented JSON (nothing when ``path`` is None)."""
    if path:
        with open(path, "w") as fh:
            json.dump(results, fh, indent=2)


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
