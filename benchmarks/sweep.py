"""W-sweep: a 20-run seed sweep (``nn.sweep``), serial against processes on this machine.

Each run trains a small MLP on moons (as ``chainrule sweep`` does, through
:func:`visualize.app.sweep.run_training`) with its own seed. The two backends
run the same sweep in interleaved rounds (serial, processes, serial, ...);
the best wall time of each is kept and the figure is their ratio, serial over
processes: the speed-up the default backend gives on this machine's cores
(at most the number of cores; the worker start-up is included). The tables
are checked equal, run for run, before timing counts.

``python -m benchmarks.sweep`` runs it alone; the suite runs it as ``sweep``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from benchmarks.timing import fmt_table, machine, write_json

#: the point every run trains: moons, MLP(2, [8, 8, 1]), adam
POINT: dict[str, Any] = {"data": "moons", "samples": 200, "noise": 0.1, "hidden": [8, 8],
                         "activation": "relu", "optimizer": "adam", "lr": 0.01, "epochs": 20,
                         "batch_size": 32, "l2": 0.0, "test_size": 0.2, "data_seed": 0}


def sweep_once(backend: str, runs: int, epochs: int, n_jobs: int | None) -> tuple[float, Any]:
    """One sweep of ``runs`` seeds on ``backend``; returns (seconds, table)."""
    import nn
    from visualize.app.sweep import run_training

    t0 = time.perf_counter()
    table = nn.sweep(run_training, [{**POINT, "epochs": epochs}], seeds=range(runs),
                     backend=backend, n_jobs=n_jobs, progress=False)
    return time.perf_counter() - t0, table


def run(*, runs: int = 20, epochs: int = 20, rounds: int = 3,
        n_jobs: int | None = None) -> dict[str, Any]:
    """Time the sweep serial and on processes in interleaved rounds; best of each.

    Raises:
        RuntimeError: if the two backends' tables differ or a run failed.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    best = {"serial": float("inf"), "processes": float("inf")}
    tables: dict[str, Any] = {}
    for _ in range(rounds):
        for backend in best:
            seconds, tables[backend] = sweep_once(backend, runs, epochs, n_jobs)
            best[backend] = min(best[backend], seconds)
    if tables["serial"] != tables["processes"] or tables["serial"].errors:
        raise RuntimeError("W-sweep: the processes backend's table differs from serial's")
    return {"runs": runs, "epochs": epochs, "rounds": rounds,
            "workers": min(n_jobs or cores or 1, runs), "cores": cores,
            "serial_s": best["serial"], "processes_s": best["processes"],
            "speedup": best["serial"] / best["processes"]}


def report(res: dict[str, Any]) -> str:
    """Format the W-sweep figures as Markdown."""
    rows = [["serial", f"{res['serial_s']:.2f}", "1.00x"],
            [f"processes ({res['workers']} workers)", f"{res['processes_s']:.2f}",
             f"{res['speedup']:.2f}x"]]
    return (f"W-sweep: a {res['runs']}-run seed sweep (moons, MLP(2, [8, 8, 1]), "
            f"{res['epochs']} epochs each) on {res['cores']} cores, best of {res['rounds']} "
            "interleaved rounds; speed-up = serial / this\n"
            + fmt_table(["backend", "seconds", "speed-up"], rows))


def main(argv: list[str] | None = None) -> None:
    """Command line of ``python -m benchmarks.sweep``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    res = {"machine": machine(), **run(runs=args.runs, epochs=args.epochs, rounds=args.rounds)}
    print(report(res))
    write_json(args.json, res)


if __name__ == "__main__":
    main()
