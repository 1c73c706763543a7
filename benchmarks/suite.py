"""The whole benchmark suite, one process: W-user, W-chain, W-tape, W-mlp, W-wide, digits, W-sweep.

``python -m benchmarks`` runs it (``--help`` for options). It leads with
W-user (:mod:`benchmarks.userstep`): the step users write, micrograd's demo
code against our API, dynamic and compiled, beside micrograd running the same
code and the float floor. Then it prints Markdown
tables of times and ratios (to the float floor measured in the same run, and
micrograd over chainrule), and writes everything as JSON
(``benchmarks/latest.json`` unless ``--json`` says otherwise).

Each step workload is timed per engine with the default garbage-collector
setting and with it off: after a warm-up, N consecutive steps are timed one by
one and the best is kept. Before timing, every engine's loss and gradients are
checked against the float floor's on the same weights (the maximum relative
difference is recorded). Compile times of the compiled path are reported per
traced node. W-mlp's batched step at batch 64 and 1,024 is timed against the float floor
and hand-written NumPy in interleaved rounds (:func:`benchmarks.batched.run_batch_sizes`).
Last, a digits epoch as users run it: ``nn.fit(...,
compile=False / True / "auto")`` (:func:`benchmarks.batched.run_fit_digits`).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections.abc import Sequence
from typing import Any

from benchmarks import batched, chain, speed_page, tape, torch_engines, userstep
from benchmarks import sweep as sweep_bench
from benchmarks import workloads as W
from benchmarks.timing import fmt_table, gc_mode, machine

DEFAULT_JSON = os.path.join(os.path.dirname(__file__), "latest.json")
WORKLOADS = ("user", "chain", "tape", "W-mlp", "W-wide", "batched", "digits", "fit", "sweep")


def rel_err(a: Sequence[float], b: Sequence[float]) -> float:
    """Largest relative difference between two float sequences (scaled by b's max)."""
    scale = max(1e-300, max((abs(v) for v in b), default=0.0))
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0) / scale


def check_engine(engine: Any, floor: Any, X: Any, Y: Any) -> float:
    """Max relative difference of loss and gradients between an engine and the floor."""
    loss, grads = engine.loss_grads(X, Y)
    floss, fgrads = floor.loss_grads(X, Y)
    if len(grads) != len(fgrads):
        raise RuntimeError(f"{engine.name}: {len(grads)} gradients, the floor has {len(fgrads)}")
    return max(rel_err([loss], [floss]), rel_err(grads, fgrads))


def time_steps(engine: Any, X: Any, Y: Any, *, repeat: int, warmup: int) -> dict[str, float]:
    """Best ms per step in both GC modes (after ``warmup`` steps)."""
    out = {}
    for _ in range(warmup):
        engine.step(X, Y)
    for mode in ("default", "off"):
        gc.collect()
        best = float("inf")
        with gc_mode(mode):
            for _ in range(repeat):
                t0 = time.perf_counter()
                engine.step(X, Y)
                best = min(best, time.perf_counter() - t0)
        out[f"ms_gc_{mode}"] = best * 1e3
    return out


def compile_cost(make: Any, spec: W.Spec, flat: Sequence[float]) -> dict[str, float]:
    """Trace + code generation + byte-compilation time of a compiled engine."""
    engine = make(spec, flat)
    gc.collect()
    t0 = time.perf_counter()
    prog = engine.run.program(spec.X, spec.Y)
    dt = time.perf_counter() - t0
    return {"compile_ms": dt * 1e3, "trace_nodes": prog.trace_nodes,
            "compile_us_per_node": dt / max(1, prog.trace_nodes) * 1e6,
            "source_lines": prog.source.count("\n")}


def run_step_workload(spec: W.Spec, *, repeat: int, warmup: int, slow_repeat: int,
                      skip: Sequence[str] = ()) -> dict[str, Any]:
    """Check and time every engine on one step workload."""
    flat = spec.init_weights(0)
    floor = W.Floor(spec, flat)
    res: dict[str, Any] = {"engines": {}}
    for name, make in [*W.engines(), *batched.engines(), *torch_engines.engines()]:
        if name in skip:
            continue
        entry: dict[str, Any] = {}
        engine = make(spec, flat)
        entry["max_rel_diff_vs_floor"] = check_engine(engine, floor, spec.X, spec.Y)
        slow = name.startswith(("micrograd", "pytorch scalar"))
        entry.update(time_steps(engine, spec.X, spec.Y, repeat=slow_repeat if slow else repeat,
                                warmup=1 if slow else warmup))
        if name.endswith("compiled"):
            entry.update(compile_cost(make, spec, flat))
        res["engines"][name] = entry
    return res


def run_digits(*, repeat: int, full: bool, skip: Sequence[str] = (),
               max_batches: int | None = None) -> dict[str, Any]:
    """Time one epoch of digits per engine (micrograd extrapolated unless ``full``)."""
    spec = W.digits()
    bs = W.batches(spec, 32)
    if max_batches is not None:
        bs = bs[:max_batches]
    flat = spec.init_weights(0)
    floor = W.Floor(spec, flat)
    res: dict[str, Any] = {"batches": len(bs), "samples": sum(len(b[0]) for b in bs),
                           "engines": {}}
    for name, make in [*W.engines(), *batched.engines(), *torch_engines.engines()]:
        if name in skip:
            continue
        slow = name.startswith(("micrograd", "pytorch scalar"))
        engine = make(spec, flat)
        entry: dict[str, Any] = {
            "max_rel_diff_vs_floor": check_engine(engine, floor, *bs[0])
        }
        use = bs if (full or not slow) else bs[:3]
        for mode in ("default", "off"):
            best = float("inf")
            for _ in range(1 if slow else repeat):
                engine = make(spec, flat)
                gc.collect()
                with gc_mode(mode):
                    t0 = time.perf_counter()
                    for X, Y in use:
                        engine.step(X, Y)
                    dt = time.perf_counter() - t0
                best = min(best, dt * len(bs) / len(use))
            entry[f"s_gc_{mode}"] = best
        entry["extrapolated_from_batches"] = len(use) if len(use) < len(bs) else None
        res["engines"][name] = entry
    return res


def report(res: dict[str, Any]) -> str:
    """Format the suite's results as Markdown."""
    m = res["machine"]
    lines = [
        f"Machine: {m['processor']}, {m['cpus']} CPUs, {m['platform']}; "
        f"{m['implementation']} {m['python']}; {m['date']}.",
        "Ratios are to the float floor measured in the same run and GC mode.",
        "",
    ]
    if "user" in res:
        lines += [userstep.report(res["user"]), ""]
    if "chain" in res:
        lines += [chain.report(res["chain"]), ""]
    if "tape" in res:
        lines += [tape.report(res["tape"]), ""]
    for key in ("W-mlp", "W-wide"):
        if key not in res:
            continue
        eng = res[key]["engines"]
        lines.append(f"{key}: ms per step (best of N), ratios to the float floor")
        lines.append(fmt_table(speed_page.STEP_HEADERS, speed_page.step_rows(eng)))
        for n, e in eng.items():
            if "compile_ms" in e:
                lines.append(
                    f"{n}: compile {e['compile_ms']:.0f} ms for {e['trace_nodes']} nodes "
                    f"({e['compile_us_per_node']:.1f} us/node, {e['source_lines']} lines)")
        lines.append("")
    if "batched" in res:
        lines += [batched.batch_report(res["batched"]), ""]
    if "digits" in res:
        d = res["digits"]
        lines.append(
            f"digits: seconds per epoch ({d['samples']} samples, {d['batches']} batches of 32)"
        )
        lines.append(fmt_table(speed_page.DIGITS_HEADERS, speed_page.digits_rows(d)))
        lines.append("(est.): extrapolated from the first batches (run with --full for all).")
        lines.append("")
    if "fit" in res:
        lines += [batched.fit_report(res["fit"]), ""]
    if "sweep" in res:
        lines += [sweep_bench.report(res["sweep"]), ""]
    skipped = torch_engines.skipped_reason()
    if skipped:
        lines.append(f"PyTorch: {skipped}")
    return "\n".join(lines)


def run(*, quick: bool = False, full: bool = False, repeat: int = 7,
        only: Sequence[str] = ()) -> dict[str, Any]:
    """Run the suite; return the JSON-ready results."""
    res: dict[str, Any] = {"machine": machine(), "quick": quick, "full": full}
    want = set(only) or set(WORKLOADS)
    if quick:
        repeat = 2
    slow_repeat = 1 if quick else 3
    if "user" in want:
        res["user"] = userstep.run(repeat=repeat, warmup=1 if quick else 2,
                                   passes=1 if quick else 3, slow_repeat=slow_repeat)
    if "chain" in want:
        res["chain"] = chain.run(n=3_000 if quick else 30_000, repeat=repeat, full=full,
                                 quick=quick)
    if "tape" in want:
        res["tape"] = tape.run(quick=quick)
    for key, make in (("W-mlp", W.w_mlp), ("W-wide", W.w_wide)):
        if key in want:
            res[key] = run_step_workload(make(), repeat=repeat, warmup=2,
                                         slow_repeat=slow_repeat)
    if "batched" in want and batched.have_batched() and W.have_nn():
        res["batched"] = batched.run_batch_sizes(n_rounds=2 if quick else 7,
                                                 target=0.02 if quick else 0.2)
    if "digits" in want:
        res["digits"] = run_digits(repeat=1 if quick else 2, full=full,
                                   max_batches=4 if quick else None)
    if "fit" in want and batched.have_batched() and W.have_nn():
        res["fit"] = batched.run_fit_digits(1 if quick else 3, samples=256 if quick else None)
    if "sweep" in want and W.have_nn():
        res["sweep"] = sweep_bench.run(epochs=5 if quick else 20, rounds=1 if quick else 3)
    return res


def merge(path: str, new: dict[str, Any]) -> dict[str, Any]:
    """``new``'s workloads over the results stored in ``path`` (the rest kept as stored).

    The machine line becomes ``new``'s, and ``merged`` lists, per workload, the
    date of the run it comes from.

    Raises:
        SystemExit: if ``path`` cannot be read as a suite result.
    """
    try:
        with open(path) as fh:
            old = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"benchmarks --merge: cannot read {path}: {exc}") from None
    dates = old.get("merged") or {k: old["machine"]["date"] for k in WORKLOADS if k in old}
    out = {**old, **new}
    out["merged"] = {**dates, **{k: new["machine"]["date"] for k in WORKLOADS if k in new}}
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line of ``python -m benchmarks``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks",
                                 description="chainrule's benchmark suite (one process).")
    ap.add_argument("--quick", action="store_true", help="small sizes and repeats (smoke run)")
    ap.add_argument("--full", action="store_true",
                    help="scale W-chain to 1e6 nodes and run micrograd's digits epoch in full")
    ap.add_argument("--repeat", type=int, default=7, help="best of this many steps")
    ap.add_argument("--only", action="append", default=[],
                    choices=WORKLOADS, help="run only this workload (repeatable)")
    ap.add_argument("--merge", action="store_true",
                    help="with --only: keep the other workloads' results from the JSON file "
                         "(--json) and replace only these (report and --write-docs from both)")
    ap.add_argument("--json", default=DEFAULT_JSON, help="where to write the JSON results")
    ap.add_argument("--write-docs", action="store_true",
                    help="also rewrite the speed page, docs/speed.md, from this run")
    ap.add_argument("--from-json", help="skip running: report (and --write-docs) from this JSON")
    args = ap.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as fh:
            res = json.load(fh)
    else:
        res = run(quick=args.quick, full=args.full, repeat=args.repeat, only=args.only)
        if args.merge:
            res = merge(args.json, res)
    print(report(res))
    if args.json and not args.from_json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)
        print(f"\nJSON written to {args.json}")
    if args.write_docs:
        speed_page.update(res)
        print("docs/speed.md updated")
