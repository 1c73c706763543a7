"""W-chain: the cost of one unfused scalar op, for chainrule, micrograd and plain floats.

W-chain(N) (shared/benchmarks.md): ``x = Value(0.5); y = x; repeat N:
y = (y * 1.0001 + 0.001).tanh()``, then ``y.backward()``: 3N op nodes.

This module measures, in one process:

* forward and backward ns per op node, default GC and GC off, for chainrule,
  micrograd 0.1.0 (which has no ``tanh``: :func:`micrograd_tanh` adds one in
  micrograd's own closure style) and the hand-written float floor;
* bytes per node (tracemalloc) for chainrule and micrograd;
* ``autograd.grad(..., create_graph=True)`` against a plain backward;
* per-node forward and backward time from 1e3 to 1e5 op nodes (1e6 with
  ``--full``).

Run: ``python -m benchmarks.chain [--quick] [--full] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
from collections.abc import Callable
from typing import Any

import autograd
from autograd import Value
from benchmarks.timing import (
    best_in_rounds,
    best_of,
    best_of_pair,
    fmt_table,
    machine,
    traced_bytes,
    write_json,
)

MUL_C = 1.0001
ADD_C = 0.001
X0 = 0.5


# ---------------------------------------------------------------------------
# The workload for each engine: forward returns state, backward consumes it.


def chainrule_forward(n: int) -> tuple[Value, Value]:
    """Build W-chain(n) with chainrule; return (x, y)."""
    x = Value(X0)
    y = x
    for _ in range(n):
        y = (y * MUL_C + ADD_C).tanh()
    return x, y


def chainrule_backward(state: tuple[Value, Value]) -> float:
    """Backward through a chainrule W-chain; return dy/dx."""
    x, y = state
    y.backward()
    return x.grad


def micrograd_tanh(v: Any) -> Any:
    """``tanh`` for a micrograd Value, written the way micrograd writes its ops."""
    from micrograd.engine import Value as MValue

    t = math.tanh(v.data)
    out = MValue(t, (v,), "tanh")

    def _backward() -> None:
        v.grad += (1.0 - t * t) * out.grad

    out._backward = _backward
    return out


def micrograd_forward(n: int) -> tuple[Any, Any]:
    """Build W-chain(n) with micrograd; return (x, y)."""
    from micrograd.engine import Value as MValue

    x = MValue(X0)
    y = x
    tanh = micrograd_tanh
    for _ in range(n):
        y = tanh(y * MUL_C + ADD_C)
    return x, y


def micrograd_backward(state: tuple[Any, Any]) -> float:
    """Backward through a micrograd W-chain (its recursive topological sort needs
    a raised recursion limit, set for the call only); return dy/dx."""
    x, y = state
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * 3 * 100_000 + 1000))
    try:
        y.backward()
    finally:
        sys.setrecursionlimit(old)
    return float(x.grad)


def floor_forward(n: int) -> list[float]:
    """W-chain(n) in plain floats; keep what backward needs (each tanh output)."""
    tanh = math.tanh
    ts = [0.0] * n
    y = X0
    for i in range(n):
        y = tanh(y * MUL_C + ADD_C)
        ts[i] = y
    return ts


def floor_backward(ts: list[float]) -> float:
    """Hand-written backward of W-chain; return dy/dx."""
    g = 1.0
    for t in reversed(ts):
        g = g * (1.0 - t * t) * MUL_C
    return g


ENGINES: dict[str, tuple[Callable[[int], Any], Callable[[Any], float]]] = {
    "chainrule": (chainrule_forward, chainrule_backward),
    "micrograd": (micrograd_forward, micrograd_backward),
    "float floor": (floor_forward, floor_backward),
}


def have_micrograd() -> bool:
    """Return whether micrograd (the ``dev`` extra) is importable."""
    try:
        import micrograd.engine  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------
# Measurements.


def time_chain(engine: str, n: int, *, repeat: int, mode: str) -> dict[str, float]:
    """Forward and backward ns per op node of W-chain(n) for one engine and GC mode."""
    fwd, bwd = ENGINES[engine]
    tf, tb = best_of_pair(lambda: fwd(n), bwd, repeat=repeat, mode=mode)
    nodes = 3 * n
    return {"forward_ns": tf / nodes * 1e9, "backward_ns": tb / nodes * 1e9}


def bytes_per_node(engine: str, n: int) -> float:
    """Traced bytes per op node held by a built (not yet differentiated) W-chain."""
    fwd, _ = ENGINES[engine]
    used, state = traced_bytes(lambda: fwd(n))
    del state
    return used / (3 * n)


def time_create_graph(n: int, *, repeat: int) -> dict[str, Any]:
    """Time a plain backward, ``grad`` and ``grad(create_graph=True)`` on W-chain(n).

    CPU time, GC off, each on a fresh chain (built untimed), the three one after another
    in each of ``3 * repeat`` rounds; the ratio of the bests and the range of the
    per-round ratios. The gradients are held until the clock has stopped (see
    :func:`benchmarks.timing.best_in_rounds`).
    """

    def plain(state: tuple[Value, Value]) -> None:
        state[1].backward()

    def grad_plain(state: tuple[Value, Value]) -> list[Value]:
        return autograd.grad(state[1], [state[0]])

    def grad_cg(state: tuple[Value, Value]) -> list[Value]:  # (held: see best_in_rounds)
        return autograd.grad(state[1], [state[0]], create_graph=True)

    def setup() -> tuple[Value, Value]:
        return chainrule_forward(n)

    items: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]] = {
        "backward": (plain, setup), "grad": (grad_plain, setup),
        "grad_create_graph": (grad_cg, setup)}
    rounds = [best_in_rounds(items, 1) for _ in range(3 * repeat)]
    out: dict[str, Any] = {f"{k}_ns": min(r[k] for r in rounds) / (3 * n) * 1e9 for k in items}
    out["create_graph_over_backward"] = out["grad_create_graph_ns"] / out["backward_ns"]
    per = [r["grad_create_graph"] / r["backward"] for r in rounds]
    out["create_graph_over_backward_range"] = [min(per), max(per)]
    return out


def compiled_chain(n: int, *, repeat: int) -> dict[str, float]:
    """Compile W-chain(n) with ``autograd.compile``; time the compile and a run (GC off)."""
    import time

    def fn(x: Value) -> Value:
        y = x
        for _ in range(n):
            y = (y * MUL_C + ADD_C).tanh()
        return y

    x = Value(X0)
    step = autograd.compile(fn)
    gc.collect()
    t0 = time.perf_counter()
    prog = step.program(x)
    dt = time.perf_counter() - t0
    t = best_of(lambda: None, lambda _: step(x), repeat=repeat, mode="off")
    # the floor again, right beside it (heap state matters at this size)
    tf = best_of(lambda: None, lambda _: floor_backward(floor_forward(n)), repeat=repeat,
                 mode="off")
    return {"nodes": prog.trace_nodes, "compile_us_per_node": dt / prog.trace_nodes * 1e6,
            "run_ns": t / prog.trace_nodes * 1e9, "floor_ns": tf / (3 * n) * 1e9}


def scaling(sizes: list[int], *, repeat: int) -> list[dict[str, Any]]:
    """Per-node forward/backward ns for chains of ``sizes`` op nodes, both GC modes."""
    rows = []
    for nodes in sizes:
        n = max(1, nodes // 3)
        r = max(1, min(repeat, 3_000_000 // nodes))
        row: dict[str, Any] = {"nodes": 3 * n}
        for mode in ("default", "off"):
            t = time_chain("chainrule", n, repeat=r, mode=mode)
            row[f"forward_ns_gc_{mode}"] = t["forward_ns"]
            row[f"backward_ns_gc_{mode}"] = t["backward_ns"]
        rows.append(row)
    return rows


def run(
    *, n: int = 30_000, repeat: int = 5, full: bool = False, quick: bool = False
) -> dict[str, Any]:
    """Run every W-chain measurement; return the results as a JSON-ready dict."""
    if quick:
        n, repeat = min(n, 3_000), min(repeat, 2)
    res: dict[str, Any] = {"machine": machine(), "n": n, "op_nodes": 3 * n, "engines": {}}
    engines = [e for e in ENGINES if e != "micrograd" or have_micrograd()]
    for engine in engines:
        per: dict[str, Any] = {}
        for mode in ("default", "off"):
            r = repeat if engine != "micrograd" else max(1, min(repeat, 3))
            per[f"gc_{mode}"] = time_chain(engine, n, repeat=r, mode=mode)
        if engine != "float floor":
            per["bytes_per_node"] = bytes_per_node(engine, n)
        res["engines"][engine] = per
    res["create_graph"] = time_create_graph(max(1, n // 3), repeat=repeat)
    res["compiled"] = compiled_chain(max(1, n // 3), repeat=repeat)
    sizes = [1_000, 10_000, 100_000] + ([1_000_000] if full else [])
    if quick:
        sizes = [1_000, 10_000]
    res["scaling"] = scaling(sizes, repeat=repeat)
    return res


def range_text(cg: dict[str, Any]) -> str:
    """`` [lo-hi]``, the per-round ratios' range, where the run recorded it."""
    r = cg.get("create_graph_over_backward_range")
    return f" [{r[0]:.2f}-{r[1]:.2f}]" if r else ""


def report(res: dict[str, Any]) -> str:
    """Format :func:`run`'s results as Markdown tables with ratios."""
    eng = res["engines"]
    floor = eng["float floor"]
    lines = [f"W-chain, N = {res['n']} ({res['op_nodes']} op nodes); ns per op node, best of N."]
    rows = []
    for name, per in eng.items():
        cells = [name]
        for mode in ("default", "off"):
            t = per[f"gc_{mode}"]
            f = floor[f"gc_{mode}"]
            cells.append(
                f"{t['forward_ns']:.0f} / {t['backward_ns']:.0f} "
                f"({t['forward_ns'] / f['forward_ns']:.1f}x / "
                f"{t['backward_ns'] / f['backward_ns']:.1f}x)"
            )
        b = per.get("bytes_per_node")
        cells.append("-" if b is None else f"{b:.0f}")
        rows.append(cells)
    lines.append(
        fmt_table(
            ["engine", "fwd / bwd ns, default GC (x floor)", "fwd / bwd ns, GC off (x floor)",
             "bytes/node"],
            rows,
        )
    )
    if "micrograd" in eng:
        ours, mg = eng["chainrule"], eng["micrograd"]
        for mode in ("default", "off"):
            a, b = ours[f"gc_{mode}"], mg[f"gc_{mode}"]
            tot = (b["forward_ns"] + b["backward_ns"]) / (a["forward_ns"] + a["backward_ns"])
            lines.append(f"chainrule vs micrograd, GC {mode}: {tot:.1f}x faster (forward+backward)")
    cg = res["create_graph"]
    lines.append(
        f"create_graph: backward {cg['backward_ns']:.0f} ns/node, grad {cg['grad_ns']:.0f}, "
        f"grad(create_graph=True) {cg['grad_create_graph_ns']:.0f} "
        f"({cg['create_graph_over_backward']:.2f}x the plain backward{range_text(cg)}), "
        "CPU time, GC off, interleaved rounds"
    )
    comp = res.get("compiled")
    if comp:
        lines.append(
            f"compiled (autograd.compile): {comp['run_ns']:.0f} ns/node forward+backward "
            f"({comp['run_ns'] / comp['floor_ns']:.2f}x the floor timed beside it, GC off), "
            f"compile {comp['compile_us_per_node']:.1f} us/node for {comp['nodes']} nodes"
        )
    srows = []
    first = res["scaling"][0]
    for row in res["scaling"]:
        cells = [f"{row['nodes']:,}"]
        for mode in ("default", "off"):
            f, b = row[f"forward_ns_gc_{mode}"], row[f"backward_ns_gc_{mode}"]
            tot0 = first[f"forward_ns_gc_{mode}"] + first[f"backward_ns_gc_{mode}"]
            cells.append(f"{f:.0f} / {b:.0f} ({(f + b) / tot0:.2f}x)")
        srows.append(cells)
    lines.append("Scaling (chainrule; ratio: per-node fwd+bwd relative to the smallest chain):")
    lines.append(fmt_table(["op nodes", "fwd / bwd ns, default GC", "fwd / bwd ns, GC off"], srows))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: run W-chain measurements, print tables, optionally write JSON."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.chain", description=(__doc__ or "").split("\n")[0]
    )
    ap.add_argument("--n", type=int, default=30_000, help="chain steps (3 op nodes each)")
    ap.add_argument("--repeat", type=int, default=5, help="best of this many runs")
    ap.add_argument("--full", action="store_true", help="scale up to 1e6 nodes (slow)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    ap.add_argument("--json", help="write the results to this path")
    args = ap.parse_args(argv)
    res = run(n=args.n, repeat=args.repeat, full=args.full, quick=args.quick)
    print(report(res))
    write_json(args.json, res)


if __name__ == "__main__":
    main()
