"""The batched compiled path (``autograd.compile(..., batch=True)``) on W-mlp, W-wide and digits.

Engines with the interface of :mod:`benchmarks.workloads` (``loss_grads`` and
``step``) that write the *per-sample* loss, as a user of the batched path
does, and run it through :func:`autograd.batched.compile_batched`:

* ``chainrule nn batched``: ``nn.MLP`` (fused neurons, grouped into matrix
  products), the loss written per sample with autograd ops
  (``relu(1 - y s) + alpha * dot(ps, ps)`` / ``dot(d, d) / k``; ``dot`` has a
  formula, so the penalty is one vector op, where ``nn.l2_penalty``'s fused
  node, built from functions, runs as floats), the parameters in one array
  (``step.array_step(params)``: parameters in, gradient out) updated by
  ``nn.optim.SGD.step_array``, as ``nn.fit(compile=True)`` trains;
* ``chainrule nn batched (Values)``: the same, the parameters as Values
  (``.grad`` accumulated, ``nn.optim.SGD.step()`` over 2,410 Values);
* ``chainrule ops batched``: the ops-built MLP of the suite (``dot(w, x) + b``,
  ``relu``), manual SGD.

``python -m benchmarks.batched`` prints, from one process: W-mlp and W-wide
ms per step for the float floor, hand-written NumPy (the suite's ``numpy
batched``), micrograd, the dynamic and compiled ``nn`` engines and the batched
ones (the whole step: zero grads, forward and backward, SGD; and the batched
call alone), with ratios; then W-mlp's step by batch size (64 and 1,024:
:func:`run_batch_sizes`, interleaved rounds, the goals of issue 22); then a
digits epoch, dynamic against batched with the trace and compile time
included; then a digits epoch as users run it, ``nn.fit(model, X, y,
epochs=1, batch_size=32, compile=...)`` with ``compile=False``, ``True`` and
``"auto"`` (same seed, a fresh model each, CPU time of the process,
everything fit does included: checks, trace, compile). ``--profile`` times
W-mlp's emitted batched program statement by statement
(:func:`statement_profile`). The suite (``python -m benchmarks``) times the
batched engines beside the others (:func:`engines`), runs the batch sizes
(:func:`run_batch_sizes`) and the fit epoch (:func:`run_fit_digits`).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import autograd
from autograd import Value
from benchmarks import workloads as W
from benchmarks.timing import fmt_table, gc_mode, machine


def have_batched() -> bool:
    """Return whether the batched path can run here (NumPy installed)."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


class ChainruleBatched:
    """chainrule through ``autograd.compile(per_sample_loss, batch=True)``."""

    def __init__(self, spec: W.Spec, flat: Sequence[float], *, via: str = "nn",
                 arrays: bool = False) -> None:
        from autograd.batched import compile_batched

        self.spec = spec
        self.name = f"chainrule {via} batched" + ("" if arrays or via != "nn" else " (Values)")
        self.opt: Any = None
        if via == "nn":
            from nn import MLP
            from nn.optim import SGD

            model: Any = MLP(spec.nin, list(spec.sizes), activation="relu",
                             output_activation=None, seed=0)
            self.params = model.parameters()
            for p, v in zip(self.params, flat):
                p.data = v
            self.opt = SGD(self.params, lr=W.LR)
        else:
            model = W._OpsMLP(spec, flat)
            self.params = model.params
        ps = self.params

        def penalty() -> Value:  # a formula op over the parameters: one vector op per step
            return W.ALPHA * autograd.dot(ps, ps)

        if spec.loss == "hinge_l2":
            def per_sample(x: Any, y: Any) -> Value:
                out = model(x)
                s = out[0] if isinstance(out, list) else out
                return (1.0 - y * s).relu() + penalty()
        else:
            def per_sample(x: Any, y: Any) -> Value:
                out = model(x)
                out = out if isinstance(out, list) else [out]
                d = [o - t for o, t in zip(out, y)]
                return autograd.dot(d, d) * (1.0 / len(d))

        self.per_sample = per_sample
        self.run = compile_batched(per_sample, reduction="mean")
        self.arrays: Any = None
        if arrays:
            import numpy as np

            self.arrays = self.run.array_step(self.params)
            self.theta = np.array([p.data for p in self.params], dtype=np.float64)

    def loss_grads(self, X: Any, Y: Any) -> tuple[float, list[float]]:
        """Loss and flat gradients, no update."""
        if self.arrays is not None:
            loss, grad, _ = self.arrays(self.theta, X, Y)
            return loss, grad.tolist()
        return W.value_loss_grads(self.params, self.run, X, Y)

    def step(self, X: Any, Y: Any) -> float:
        """One SGD step; returns the loss."""
        if self.arrays is not None:
            loss, grad, _ = self.arrays(self.theta, X, Y)
            self.opt.step_array(self.theta, grad)
            return float(loss)
        return W.value_step(self.opt, self.params, self.run, X, Y)


def engines() -> list[tuple[str, Callable[[W.Spec, Sequence[float]], Any]]]:
    """The batched engines, as (name, factory) pairs (none without NumPy)."""
    if not have_batched():
        return []
    out: list[tuple[str, Callable[[W.Spec, Sequence[float]], Any]]] = []
    if W.have_nn():
        out.append(("chainrule nn batched",
                    lambda s, f: ChainruleBatched(s, f, via="nn", arrays=True)))
        out.append(("chainrule nn batched (Values)",
                    lambda s, f: ChainruleBatched(s, f, via="nn")))
    out.append(("chainrule ops batched", lambda s, f: ChainruleBatched(s, f, via="ops")))
    return out


def _best_ms(fn: Callable[[], Any], repeat: int, warmup: int = 3,
             clock: Callable[[], float] = time.perf_counter) -> float:
    """Best ms of ``repeat`` calls of ``fn`` by ``clock`` (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    gc.collect()
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best * 1e3


def run_steps(spec: W.Spec, repeat: int) -> dict[str, Any]:
    """W-mlp or W-wide: ms per step per engine (default GC), checked against the floor."""
    from benchmarks.suite import check_engine

    flat = spec.init_weights(0)
    floor = W.Floor(spec, flat)
    makers: list[tuple[str, Callable[..., Any]]] = [("float floor", W.Floor)]
    makers += [(n, m) for n, m in W.engines() if n in (
        "numpy batched", "micrograd", "chainrule nn", "chainrule nn compiled")]
    makers += engines()
    res: dict[str, Any] = {}
    for name, make in makers:
        engine = make(spec, flat)
        entry: dict[str, Any] = {"max_rel_diff_vs_floor": check_engine(engine, floor, spec.X,
                                                                       spec.Y)}
        slow = name.startswith("micrograd") or name == "chainrule nn"
        with gc_mode("default"):
            entry["ms"] = _best_ms(partial(engine.step, spec.X, spec.Y),
                                   3 if slow else repeat, 1 if slow else 3)
            if name.startswith("chainrule") and "batched" in name:
                call = (partial(engine.run, spec.X, spec.Y) if engine.arrays is None else
                        partial(engine.arrays, engine.theta, spec.X, spec.Y))
                entry["call_ms"] = _best_ms(call, repeat)
        res[name] = entry
    return res


BATCH_SIZES = (64, 1024)
#: The goals of issue 22 for the array step at these batch sizes: (peer, batch, ratio at most).
BATCH_GOALS = (("float floor", 64, 0.1), ("numpy batched", 1024, 1.5))
BATCH_ENGINES = ("float floor", "numpy batched", "chainrule nn batched",
                 "chainrule nn batched (Values)")


def _load() -> list[float]:
    import os

    return [round(v, 2) for v in os.getloadavg()]


def run_batch_sizes(sizes: Sequence[int] = BATCH_SIZES, *, n_rounds: int = 7,
                    target: float = 0.2) -> dict[str, Any]:
    """W-mlp's training step at several batch sizes: batched against the floor and NumPy.

    For each size ``n`` (the W-mlp model on ``n`` moons points): the float
    floor (lists), hand-written NumPy (:class:`benchmarks.workloads.NumpyBatched`)
    and the batched path as ``nn.fit(compile=True)`` runs it (array step and
    ``SGD.step_array``; also with the parameters as Values), the data as
    float64 arrays made once (the floor gets lists), all from the same
    weights. Each engine's loss and gradients are checked against the
    NumPy peer's first; then every engine is timed in ``n_rounds``
    interleaved rounds (CPU time, default GC, blocks of ``target`` seconds,
    :func:`benchmarks.tape.rounds`). Ratios are of the bests, with the
    per-round ratios' range (the machine's noise); the load average is
    recorded before and after.
    """
    import numpy as np

    from benchmarks.suite import rel_err
    from benchmarks.tape import ratio_stats, rounds

    made = dict([*W.engines(), *engines()])
    res: dict[str, Any] = {"load_before": _load(), "rounds": n_rounds, "sizes": {}}
    for n in sizes:
        spec = W.w_mlp(n)
        flat = spec.init_weights(0)
        X, Y = np.asarray(spec.X, dtype=np.float64), np.asarray(spec.Y, dtype=np.float64)
        eng = {name: made[name](spec, flat) for name in BATCH_ENGINES if name in made}
        ploss, pgrads = eng["numpy batched"].loss_grads(X, Y)
        entry: dict[str, Any] = {"engines": {}}
        items: dict[str, Callable[[], Any]] = {}
        for name, e in eng.items():
            data = (spec.X, spec.Y) if name == "float floor" else (X, Y)
            loss, grads = e.loss_grads(*data)
            entry["engines"][name] = {
                "max_rel_diff_vs_numpy": max(rel_err([loss], [ploss]), rel_err(grads, pgrads))}
            items[name] = partial(e.step, *data)
        t = rounds(items, n_rounds=n_rounds, target=target, modes=("default",))["default"]
        for name, ts in t.items():
            entry["engines"][name].update({
                "us_best": min(ts) * 1e6, "x_floor": ratio_stats(ts, t["float floor"]),
                "x_numpy": ratio_stats(ts, t["numpy batched"])})
        res["sizes"][str(n)] = entry
    res["load_after"] = _load()
    return res


def batch_rows(res: dict[str, Any]) -> list[list[str]]:
    """The rows of :func:`batch_report`: one per batch size and engine."""

    def cell(s: dict[str, float], fmt: str) -> str:
        return f"{s['best']:{fmt}}x [{s['min']:{fmt}}–{s['max']:{fmt}}]"

    rows = []
    for n, entry in res["sizes"].items():
        for name, e in entry["engines"].items():
            goals = [f"≤ {lim}x {peer}: {'met' if e[key]['best'] <= lim else 'not met'}"
                     for peer, size, lim in BATCH_GOALS
                     for key in ["x_floor" if peer == "float floor" else "x_numpy"]
                     if size == int(n) and name == "chainrule nn batched"]
            rows.append([f"{int(n):,}", name, f"{e['us_best']:.0f}", cell(e["x_floor"], ".3f"),
                         cell(e["x_numpy"], ".2f"), f"{e['max_rel_diff_vs_numpy']:.0e}",
                         "; ".join(goals) or "-"])
    return rows


def batch_report(res: dict[str, Any], sep: str = "\n") -> str:
    """Format :func:`run_batch_sizes`'s results as Markdown (``sep`` between caption and table)."""
    load = f"load average {res['load_before'][0]} before, {res['load_after'][0]} after (2 cores)"
    return sep.join([
        "W-mlp's training step by batch size (zero grads, forward, backward, SGD): µs per "
        f"step, the best of {res['rounds']} interleaved rounds in CPU time (default GC), "
        "ratios of the bests [the per-round ratios' range]; the data as arrays made once, "
        f"as nn.fit holds them (the floor: lists); {load}",
        fmt_table(["batch", "engine", "µs/step", "x float floor", "x numpy batched",
                   "max rel diff vs numpy", "goal (issue 22)"], batch_rows(res))])


#: How :func:`statement_profile` sorts the emitted statements (first match; names as
#: ``autograd.batched`` emits them today: ``E``/``M``/``e`` bounds, ``_near``, ``_nr``).
STATEMENT_KINDS = (
    ("error bounds", r"(E[A-Z]*\d+|M[A-Z]*\d+|e\d+|_PM|_nr|_Gb) = |_near\(|if _nr\.any|"
                     r"if not _np\.isfinite\(_G\)"),
    ("shared (parameter-only) nodes", r"_gx_|broadcast_to\(_pa|\bh\d+ |\bg\d+ = 0\.0$"),
    ("matrix products", r" @ "),
    ("bias gradients", r"\.sum\(0\)|_colsum\("),
    ("elementwise (relu, masks, loss)", r"_where|_relu0\(|_fmask\(|\* S\d|[-+*/] "),
)


def _kind(stmt: str) -> str:
    import re

    for label, pattern in STATEMENT_KINDS:
        if re.search(pattern, stmt):
            return label
    return "slices, views, allocations"


def statement_profile(n: int = 64, calls: int = 300) -> dict[str, Any]:
    """Where W-mlp's batched step spends its time at batch ``n``, statement by statement.

    The program ``autograd.compile(..., batch=True)`` emits for the W-mlp loss is
    run again from its source (``programs()[0].source``, in its own namespace)
    with a clock read before each top-level statement; each statement keeps
    its best time over ``calls`` calls (minus the cost of one clock read).
    Also timed, best of ``calls``: the whole step (array step and
    ``SGD.step_array``), the array step's call alone and the program alone.
    Returns the statements (in order, with their kind and best µs), the
    totals per kind and the three timings.

    Raises:
        RuntimeError: if the marked program's gradient is not the emitted one's.
    """
    import numpy as np

    spec = W.w_mlp(n)
    eng = ChainruleBatched(spec, spec.init_weights(0), via="nn", arrays=True)
    X, Y = np.asarray(spec.X, dtype=np.float64), np.asarray(spec.Y, dtype=np.float64)
    eng.step(X, Y)
    prog = eng.run.programs(X, Y)[0]
    marked, stmts = [], []
    for line in prog.source.splitlines():
        if line.startswith("    ") and not line.startswith("     "):
            marked.append("    _T.append(_pc())")
            stmts.append(line.strip())
        marked.append(line)
    marks: list[float] = []
    glob = dict(prog.run.__globals__, _pc=time.perf_counter, _T=marks)
    exec(compile("\n".join(marked), "<statement profile>", "exec"), glob)
    fn = glob["_batched"]
    D = np.concatenate([X.reshape(n, -1), Y.reshape(n, -1)], axis=1)  # as the step lays it out
    pa = np.array([v.data for v in prog.captured], dtype=np.float64)
    clock = time.perf_counter
    t0 = clock()
    for _ in range(1000):
        marks.append(clock())
    mark = (clock() - t0) / 1000
    best = [float("inf")] * len(stmts)
    with np.errstate(all="ignore"):
        for _ in range(calls):
            marks.clear()
            fn(D, None, pa, 1.0 / n)
            marks.append(clock())
            best = [min(b, t1 - t0 - mark) for b, t0, t1 in zip(best, marks, marks[1:])]
        got, want = fn(D, None, pa, 1.0 / n), prog.run(D, None, pa, 1.0 / n)
        if got[1] is None or not np.array_equal(got[1], want[1]):
            raise RuntimeError("benchmarks.batched.statement_profile: the marked program's "
                               "gradient differs from the emitted one's")
        timings = {"step": _best_ms(partial(eng.step, X, Y), calls),
                   "array step call": _best_ms(partial(eng.arrays, eng.theta, X, Y), calls),
                   "program": _best_ms(partial(prog.run, D, None, pa, 1.0 / n), calls)}
    rows = [{"statement": st, "kind": _kind(st), "us": max(0.0, b) * 1e6}
            for st, b in zip(stmts, best)]
    kinds: dict[str, dict[str, float]] = {}
    for r in rows:
        k = kinds.setdefault(r["kind"], {"statements": 0, "us": 0.0})
        k["statements"] += 1
        k["us"] += r["us"]
    return {"batch": n, "calls": calls, "load": _load(), "statements": rows, "kinds": kinds,
            "us": {k: v * 1e3 for k, v in timings.items()}}


def statement_report(res: dict[str, Any], top: int = 12) -> str:
    """Format :func:`statement_profile`'s results as Markdown: kinds, then the dearest ones."""
    total = sum(k["us"] for k in res["kinds"].values()) or 1.0
    us = res["us"]
    kinds = sorted(res["kinds"].items(), key=lambda kv: -kv[1]["us"])
    rows = [[name, str(int(k["statements"])), f"{k['us']:.1f}", f"{100 * k['us'] / total:.0f}%"]
            for name, k in kinds]
    dear = sorted(res["statements"], key=lambda r: -r["us"])[:top]
    return "\n".join([
        f"W-mlp's batched step at batch {res['batch']:,}: {us['step']:.1f} µs the whole step, "
        f"{us['array step call']:.1f} µs the array step's call, {us['program']:.1f} µs the "
        f"emitted program ({len(res['statements'])} statements); best of {res['calls']} calls "
        f"(wall time), load average {res['load'][0]}",
        fmt_table(["statements of kind", "count", "µs (sum of bests)", "share"], rows), "",
        fmt_table(["µs", "statement"], [[f"{r['us']:.2f}", f"`{r['statement']}`"]
                                       for r in dear])])


def run_digits(repeat: int = 1, max_batches: int | None = None) -> dict[str, Any]:
    """One digits epoch: the dynamic nn engine against the batched one, compile included."""
    spec = W.digits()
    bs = W.batches(spec, 32)
    if max_batches is not None:
        bs = bs[:max_batches]
    flat = spec.init_weights(0)
    res: dict[str, Any] = {"batches": len(bs), "samples": sum(len(b[0]) for b in bs)}
    makers = [(n, m) for n, m in W.engines() if n in ("chainrule nn", "chainrule nn compiled",
                                                       "numpy batched")]
    makers += engines()[:2]
    for name, make in makers:
        best = cpu = float("inf")
        for _ in range(repeat):
            gc.collect()
            with gc_mode("default"):
                t0, c0 = time.perf_counter(), time.process_time()
                engine = make(spec, flat)  # a fresh engine: its first step traces and compiles
                for X, Y in bs:
                    engine.step(X, Y)
                best = min(best, time.perf_counter() - t0)
                cpu = min(cpu, time.process_time() - c0)
        res[name] = {"s": best, "cpu_s": cpu}
    return res


def run_fit_digits(repeat: int = 1, samples: int | None = None) -> dict[str, Any]:
    """One digits epoch as users run it: ``nn.fit(..., compile=False / True / "auto")``.

    ``MLP(64, [32, 10])`` on the 1,797 digits (pixels / 16), ``epochs=1,
    batch_size=32``, fit's defaults otherwise (Adam, cross-entropy), the same
    seed; a fresh model each time; the best CPU time (and wall time) of
    ``repeat`` runs in this process, everything inside ``fit`` included (data
    checks, the trace and compile of the compiled paths). ``samples`` cuts the
    data (for smoke tests).
    """
    from nn import MLP, fit
    from nn.data import load_digits

    X, y = load_digits()
    X = [[v / 16.0 for v in r] for r in X]
    y = list(y)
    if samples is not None:
        X, y = X[:samples], y[:samples]
    res: dict[str, Any] = {"samples": len(X), "batches": -(-len(X) // 32), "runs": {}}
    for mode in (True, False, "auto"):  # the batched path first: its one-time costs count
        best = cpu = float("inf")
        first = None
        for _ in range(repeat):
            model = MLP(64, [32, 10], seed=0)
            gc.collect()
            with gc_mode("default"):
                t0, c0 = time.perf_counter(), time.process_time()
                h = fit(model, X, y, epochs=1, batch_size=32, compile=mode, seed=0,
                        progress=False)
                dt = time.process_time() - c0
                first = dt if first is None else first
                cpu = min(cpu, dt)
                best = min(best, time.perf_counter() - t0)
        res["runs"][f"compile={mode!r}"] = {
            "s": best, "cpu_s": cpu, "first_cpu_s": first, "path": h.path,
            "loss": h.loss[-1], "accuracy": h.accuracy[-1]}
    res["runs"] = {k: res["runs"][k] for k in ("compile=False", "compile=True",
                                               "compile='auto'")}
    return res


def run_auto_breakeven(epochs: tuple[int, int] = (1, 3)) -> list[dict[str, Any]]:
    """What a trace costs in fit: the measurements behind ``nn.training.AUTO_STEPS_PER_TRACE``.

    For several models, data sets and batch sizes (each batch size dividing the
    data, so one trace), ``fit`` runs dynamic and compiled through
    ``autograd.compile`` (the path ``compile="auto"`` picks) for ``epochs[0]``
    and ``epochs[1]`` epochs; the difference gives a step's CPU time on each
    path, the rest the trace and compile. ``breakeven`` is how many steps pay
    for one trace: ``compile / (dynamic step - compiled step)``.
    """
    import nn.training as T
    from nn import MLP, fit
    from nn.data import load_digits, make_blobs, make_moons

    Xd, yd = load_digits()
    Xd = [[v / 16.0 for v in r] for r in Xd[:1792]]
    yd = list(yd[:1792])
    Xm, ym = make_moons(512, noise=0.1, seed=0)
    Xb, yb = make_blobs(512, centers=4, n_features=8, seed=0)
    cases = [("digits MLP(64, [32, 10]), batch 32", Xd, yd, [32, 10], 32, {}),
             ("digits MLP(64, [32, 10]), batch 128", Xd, yd, [32, 10], 128, {}),
             ("moons MLP(2, [16, 16, 1]), batch 32", Xm, ym, [16, 16, 1], 32, {}),
             ("moons MLP(2, [16, 16, 1]), batch 128, l2", Xm, ym, [16, 16, 1], 128,
              {"l2": 1e-4}),
             ("blobs MLP(8, [32, 4]), batch 64, sgd", Xb, yb, [32, 4], 64,
              {"optimizer": "sgd"}),
             ("moons MLP(2, [64, 64, 1]), batch 16", Xm, ym, [64, 64, 1], 16, {})]

    def cpu(X: Any, y: Any, sizes: list[int], mode: Any, bs: int, ep: int, kw: Any) -> float:
        model = MLP(len(X[0]), sizes, seed=0)
        gc.collect()
        c0 = time.process_time()
        fit(model, X, y, epochs=ep, batch_size=bs, compile=mode, seed=0, progress=False, **kw)
        return time.process_time() - c0

    saved = T.AUTO_STEPS_PER_TRACE
    T.AUTO_STEPS_PER_TRACE = 0  # "auto" always compiles: its path, without NumPy arrays
    out = []
    try:
        e0, e1 = epochs
        for name, X, y, sizes, bs, kw in cases:
            steps = len(X) // bs
            d0, d1 = (cpu(X, y, sizes, False, bs, e, kw) for e in (e0, e1))
            c0, c1 = (cpu(X, y, sizes, "auto", bs, e, kw) for e in (e0, e1))
            td, tc = (d1 - d0) / ((e1 - e0) * steps), (c1 - c0) / ((e1 - e0) * steps)
            comp = (c0 - e0 * steps * tc) - (d0 - e0 * steps * td)
            out.append({"case": name, "steps_per_epoch": steps, "dynamic_ms": td * 1e3,
                        "compiled_ms": tc * 1e3, "compile_s": comp,
                        "breakeven": comp / (td - tc) if td > tc else float("inf")})
    finally:
        T.AUTO_STEPS_PER_TRACE = saved
    return out


def breakeven_report(rows: list[dict[str, Any]]) -> str:
    """Format :func:`run_auto_breakeven`'s results as Markdown."""
    import nn.training as T

    body = [[r["case"], str(r["steps_per_epoch"]), f"{r['dynamic_ms']:.2f}",
             f"{r['compiled_ms']:.2f}", f"{r['compiled_ms'] / r['dynamic_ms']:.2f}",
             f"{r['compile_s']:.3f}", f"{r['compile_s'] * 1e3 / r['dynamic_ms']:.0f}",
             f"{r['breakeven']:.0f}"] for r in rows]
    return "\n".join([
        "fit(compile='auto'): what a trace costs (CPU time; autograd.compile, the path auto "
        f"picks when a run has >= {T.AUTO_STEPS_PER_TRACE} steps per trace)",
        fmt_table(["case", "steps/epoch", "dynamic step (ms)", "compiled step (ms)",
                   "compiled / dynamic", "trace + compile (s)", "= dynamic steps",
                   "steps to pay for it"], body)])


def run_lecture_step(repeat: int = 30) -> dict[str, Any]:
    """The lecture's code, per sample: ``nn.micrograd.MLP`` (an elementwise graph).

    The W-mlp step written as micrograd's demo writes it, for one sample
    (``(1 + -y * model(x)).relu() + 1e-4 * sum(p * p for p in ps)``), through
    the batched path, against the same code on the dynamic engine (the batch
    as a Python sum), the float floor and hand-written NumPy; best CPU time
    of the process per step.
    """
    import random

    from autograd.batched import compile_batched
    from nn.micrograd import MLP as MicroMLP

    spec = W.w_mlp()
    flat = spec.init_weights(0)
    X, Y = spec.X, spec.Y
    random.seed(0)
    model = MicroMLP(2, [16, 16, 1])
    ps = model.parameters()
    for p, v in zip(ps, flat):
        p.data = v

    def per_sample(x: Any, y: Any) -> Value:
        return (1 + -y * model(x)).relu() + 1e-4 * sum(p * p for p in ps)

    step = compile_batched(per_sample)
    c0 = time.process_time()
    step(X, Y)
    compile_ms = (time.process_time() - c0) * 1e3

    def batched_step() -> None:
        for p in ps:
            p.grad = 0.0
        step(X, Y)
        for p in ps:
            p.data -= W.LR * p.grad

    def dynamic_step() -> None:
        for p in ps:
            p.grad = 0.0
        total: Any = sum(per_sample(x, y) for x, y in zip(X, Y)) * (1.0 / len(X))
        total.backward()
        for p in ps:
            p.data -= W.LR * p.grad

    floor, npb = W.Floor(spec, flat), W.NumpyBatched(spec, flat)

    def cpu_ms(fn: Callable[[], Any], k: int) -> float:
        return _best_ms(fn, k, 1, time.process_time)

    return {"batched": cpu_ms(batched_step, repeat), "dynamic": cpu_ms(dynamic_step, 3),
            "float floor": cpu_ms(lambda: floor.step(X, Y), 10),
            "numpy batched": cpu_ms(lambda: npb.step(X, Y), repeat), "compile_ms": compile_ms,
            "trace_nodes": step.programs(X, Y)[0].trace_nodes}


def fit_report(f: dict[str, Any]) -> str:
    """Format :func:`run_fit_digits`'s results as Markdown."""
    runs = f["runs"]
    dyn = runs["compile=False"]
    rows = [[name, e["path"], f"{e['first_cpu_s']:.3f}", f"{e['cpu_s']:.3f}", f"{e['s']:.3f}",
             f"{dyn['first_cpu_s'] / e['first_cpu_s']:.1f}x",
             f"{dyn['cpu_s'] / e['cpu_s']:.1f}x", f"{e['loss']:.6f}", f"{e['accuracy']:.4f}"]
            for name, e in runs.items()]
    return "\n".join([
        f"digits with nn.fit: one epoch ({f['samples']} samples, {f['batches']} batches of 32; "
        "MLP(64, [32, 10]), Adam, cross-entropy, seed 0), a fresh model each, everything "
        "fit does included (trace and compile too); CPU time of the process (NumPy already "
        "imported): the first call of each kind in the process, and the best",
        fmt_table(["fit(...)", "path", "s (CPU, first)", "s (CPU, best)", "s (wall, best)",
                   "compile=False / this (first)", "compile=False / this (best)",
                   "loss", "accuracy"], rows)])


def report(res: dict[str, Any]) -> str:
    """Format :func:`run`'s results as Markdown."""
    m = res["machine"]
    lines = [f"Machine: {m['processor']}, {m['cpus']} CPUs; {m['implementation']} "
             f"{m['python']}; default GC; {m['date']}.", ""]
    for key in ("W-mlp", "W-wide"):
        if key not in res:
            continue
        eng = res[key]
        fl = eng["float floor"]["ms"]
        npb = eng.get("numpy batched", {}).get("ms")
        mg = eng.get("micrograd", {}).get("ms")
        rows = []
        for name, e in eng.items():
            rows.append([name, f"{e['ms']:.3f}", *W.ratio_cells(e["ms"], fl, npb, mg),
                         f"{e['call_ms']:.3f}" if "call_ms" in e else "-",
                         f"{e['max_rel_diff_vs_floor']:.0e}"])
        lines.append(f"{key}: ms per step (zero grads, forward, backward, SGD; best of N)")
        lines.append(fmt_table(["engine", "ms/step", "x floor", "x numpy batched",
                                "micrograd / this", "batched call alone (ms)",
                                "max rel diff vs floor"], rows))
        lines.append("")
    if "batch sizes" in res:
        lines += [batch_report(res["batch sizes"]), ""]
    if "lecture" in res:
        u = res["lecture"]
        fl = u["float floor"]
        rows = [[name, f"{u[name]:.3f}", *W.ratio_cells(u[name], fl, u["numpy batched"], None)[:2]]
                for name in ("batched", "dynamic", "float floor", "numpy batched")]
        lines.append("The lecture's code per sample (nn.micrograd MLP, an elementwise graph of "
                     f"{u['trace_nodes']} nodes per sample): ms per W-mlp step, best CPU time; "
                     f"the batched path compiles in {u['compile_ms']:.0f} ms")
        lines.append(fmt_table(["engine", "ms/step (CPU)", "x floor", "x numpy batched"], rows))
        lines.append("")
    if "digits" in res:
        d = res["digits"]
        eng = {k: v for k, v in d.items() if isinstance(v, dict)}
        dyn = eng.get("chainrule nn", {})
        rows = []
        for name, e in eng.items():
            cpu = e.get("cpu_s", e["s"])
            rows.append([name, f"{e['s']:.3f}", f"{cpu:.3f}",
                         f"{dyn['s'] / e['s']:.1f}x" if dyn else "-",
                         f"{dyn.get('cpu_s', dyn['s']) / cpu:.1f}x" if dyn else "-"])
        lines.append(f"digits: one epoch ({d['samples']} samples, {d['batches']} batches of 32), "
                     "seconds, a fresh engine each (the batched one's trace and compile "
                     "included); CPU time of the process beside wall time (other processes "
                     "of a shared machine inflate wall time)")
        lines.append(fmt_table(["engine", "s/epoch (wall)", "s/epoch (CPU)",
                                "dynamic / this (wall)", "dynamic / this (CPU)"], rows))
        lines.append("")
    if "fit" in res:
        lines.append(fit_report(res["fit"]))
    return "\n".join(lines)


def run(repeat: int = 50, quick: bool = False) -> dict[str, Any]:
    """Run W-mlp, W-wide and the digits epoch; return JSON-ready results."""
    res: dict[str, Any] = {"machine": machine()}
    res["W-mlp"] = run_steps(W.w_mlp(), 10 if quick else repeat)
    res["W-wide"] = run_steps(W.w_wide(), 10 if quick else repeat)
    res["batch sizes"] = run_batch_sizes(n_rounds=2 if quick else 7, target=0.02 if quick else 0.2)
    res["lecture"] = run_lecture_step(5 if quick else 30)
    res["digits"] = run_digits(1, max_batches=4 if quick else None)
    res["fit"] = run_fit_digits(1 if quick else 3, samples=256 if quick else None)
    return res


def main(argv: list[str] | None = None) -> None:
    """Command line of ``python -m benchmarks.batched``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.batched",
                                 description="the batched compiled path against the others")
    ap.add_argument("--quick", action="store_true", help="few repeats, 4 digits batches")
    ap.add_argument("--repeat", type=int, default=50, help="best of this many steps")
    ap.add_argument("--breakeven", action="store_true",
                    help="only measure what a trace costs in fit (behind compile='auto')")
    ap.add_argument("--profile", action="store_true",
                    help="only W-mlp's batched step at batch 64 and 1,024, statement by statement")
    args = ap.parse_args(argv)
    if args.breakeven:
        print(breakeven_report(run_auto_breakeven()))
        return
    if not have_batched():
        raise SystemExit("benchmarks.batched: NumPy is not installed: pip install "
                         "'chainrule[fast]'")
    if args.profile:
        print("\n\n".join(statement_report(statement_profile(n)) for n in BATCH_SIZES))
        return
    print(report(run(args.repeat, args.quick)))


if __name__ == "__main__":
    main()
