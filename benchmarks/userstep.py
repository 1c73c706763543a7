"""W-user: the training step users write (micrograd's demo step against our API), timed first.

The headline workload of the suite. The step is the code of micrograd's demo
notebook, run unchanged against chainrule's ``Value`` and ``nn.MLP`` (and
against micrograd 0.1.0's own ``Value`` and ``MLP``, the same function)::

    inputs = [list(map(Value, xrow)) for xrow in X]          # inputs as Values
    scores = [model(x) for x in inputs]                      # the model per sample
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))            # the builtin sum
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    model.zero_grad()
    total.backward()
    for p in model.parameters():
        p.data -= 0.05 * p.grad

on the W-mlp data and weights (``MLP(2, [16, 16, 1])``, 64 moons points,
shared/benchmarks.md). Rows, all in one process, each with the default
garbage-collector setting and with it off:

* ``chainrule, user step``: the code above, dynamic engine.
* ``chainrule, user step compiled``: the same loss function (:func:`user_loss`)
  through ``autograd.compile``, the batch passed as an argument (the pattern
  that stays right when the batch changes; a ``Value`` made inside a traced
  function from Python data would be a constant of the trace).
* ``micrograd, user step``: micrograd 0.1.0 running the same code.
* ``float floor``: the suite's hand-written backprop in floats
  (:class:`benchmarks.workloads.Floor`).

Before timing, every row's loss and gradients are compared with the floor's
(and the compiled row's with the dynamic row's, which must be bit-identical).
``python -m benchmarks.userstep`` runs this table alone; ``--profile`` adds
where the dynamic step's time goes (a component-by-component breakdown and a
cProfile listing).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import autograd
from benchmarks import workloads as W
from benchmarks.timing import best_in_rounds, fmt_table, gc_mode, machine, profile_top

LR = W.LR
ALPHA = W.ALPHA

DYNAMIC = "chainrule, user step"
COMPILED = "chainrule, user step compiled"
MICROGRAD = "micrograd, user step"
FLOOR = "float floor"


# ---------------------------------------------------------------------------
# The user's code, written once for any micrograd-compatible engine.


def make_inputs(value_cls: Callable[[float], Any], X: Sequence[Sequence[float]]) -> list[Any]:
    """``[list(map(Value, xrow)) for xrow in X]``: the inputs as leaf Values."""
    return [list(map(value_cls, xrow)) for xrow in X]


def user_loss(model: Any, inputs: Sequence[Any], Y: Sequence[Any]) -> Any:
    """The demo's loss: mean hinge loss (builtin ``sum``) plus ``1e-4 * sum(p * p)``."""
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def user_step(model: Any, value_cls: Callable[[float], Any], X: Any, Y: Any) -> float:
    """One demo step (inputs, loss, ``zero_grad``, ``backward``, SGD); returns the loss."""
    inputs = make_inputs(value_cls, X)
    total = user_loss(model, inputs, Y)
    model.zero_grad()
    total.backward()
    for p in model.parameters():
        p.data -= LR * p.grad
    return float(total.data)


# ---------------------------------------------------------------------------
# The engines (each: name, loss_grads(X, Y), step(X, Y)).


def _load(params: Sequence[Any], flat: Sequence[float]) -> None:
    if len(params) != len(flat):
        raise ValueError(f"userstep: {len(params)} parameters but {len(flat)} weights")
    for p, v in zip(params, flat):
        p.data = v


class _Eager:
    """A model and its ``Value`` class running :func:`user_step` on a dynamic engine."""

    model: Any
    value_cls: Any

    def loss_grads(self, X: Any, Y: Any) -> tuple[float, list[float]]:
        """Loss and flat gradients, no update."""
        model = self.model
        total = user_loss(model, make_inputs(self.value_cls, X), Y)
        model.zero_grad()
        total.backward()
        return float(total.data), [float(p.grad) for p in model.parameters()]

    def step(self, X: Any, Y: Any) -> float:
        """One user step; returns the loss."""
        return user_step(self.model, self.value_cls, X, Y)


class UserDynamic(_Eager):
    """chainrule's ``nn.MLP`` and ``Value`` running :func:`user_step` on the dynamic engine."""

    name = DYNAMIC

    def __init__(self, spec: W.Spec, flat: Sequence[float]) -> None:
        from nn import MLP

        self.value_cls = autograd.Value
        self.model = MLP(spec.nin, list(spec.sizes), seed=0)
        _load(self.model.parameters(), flat)


class UserCompiled:
    """The same loss through ``autograd.compile``, the batch passed as an argument.

    The step the user writes around it: inputs as Values, ``zero_grad`` (before
    the call: a compiled call runs forward and backward at once and accumulates
    into ``.grad``), the compiled call, the SGD loop.
    """

    name = COMPILED

    def __init__(self, spec: W.Spec, flat: Sequence[float]) -> None:
        from nn import MLP

        model = MLP(spec.nin, list(spec.sizes), seed=0)
        _load(model.parameters(), flat)
        self.model = model
        self.loss = autograd.compile(lambda inputs, Y: user_loss(model, inputs, Y))

    def program(self, X: Any, Y: Any) -> Any:
        """The compiled program for this batch shape (traces and compiles on first use)."""
        return self.loss.program(make_inputs(autograd.Value, X), list(Y))

    def loss_grads(self, X: Any, Y: Any) -> tuple[float, list[float]]:
        """Loss and flat gradients, no update."""
        model = self.model
        model.zero_grad()
        loss = self.loss(make_inputs(autograd.Value, X), list(Y))
        return loss, [p.grad for p in model.parameters()]

    def step(self, X: Any, Y: Any) -> float:
        """One compiled user step; returns the loss."""
        model = self.model
        inputs = make_inputs(autograd.Value, X)
        model.zero_grad()
        loss = self.loss(inputs, list(Y))
        for p in model.parameters():
            p.data -= LR * p.grad
        return float(loss)


class UserMicrograd(_Eager):
    """micrograd 0.1.0's ``MLP`` and ``Value`` running the same :func:`user_step`."""

    name = MICROGRAD

    def __init__(self, spec: W.Spec, flat: Sequence[float]) -> None:
        from micrograd.engine import Value
        from micrograd.nn import MLP

        self.value_cls = Value
        self.model = MLP(spec.nin, list(spec.sizes))
        _load(self.model.parameters(), flat)


def engines() -> list[tuple[str, Callable[[W.Spec, Sequence[float]], Any]]]:
    """The rows available here, as (name, factory) pairs; the floor last."""
    out: list[tuple[str, Callable[[W.Spec, Sequence[float]], Any]]] = []
    if W.have_nn():
        out += [(DYNAMIC, UserDynamic), (COMPILED, UserCompiled)]
    if W.have_micrograd():
        out.append((MICROGRAD, UserMicrograd))
    out.append((FLOOR, W.Floor))
    return out


# ---------------------------------------------------------------------------
# Checks and timing.


def max_rel_diff(a: tuple[float, Sequence[float]], b: tuple[float, Sequence[float]]) -> float:
    """Largest relative difference of loss and gradients between two ``loss_grads`` results."""
    (la, ga), (lb, gb) = a, b
    if len(ga) != len(gb):
        raise RuntimeError(f"userstep: {len(ga)} gradients against {len(gb)}")
    scale = max(1e-300, max(abs(v) for v in gb))
    grads = max((abs(x - y) for x, y in zip(ga, gb)), default=0.0) / scale
    return max(abs(la - lb) / max(1e-300, abs(lb)), grads)


def time_steps(engine: Any, X: Any, Y: Any, *, repeat: int, warmup: int,
               into: dict[str, list[float]] | None = None) -> dict[str, list[float]]:
    """CPU and wall seconds of ``repeat`` consecutive steps per GC mode (after ``warmup``).

    The steps run back to back, as in a user's loop (so an engine's cyclic
    garbage is collected during its own later steps); a full collection runs
    before each mode so that another engine's garbage does not bill this one.
    Appends to ``into`` (keys ``"cpu_default"``, ``"wall_default"``,
    ``"cpu_off"``, ``"wall_off"``) and returns it.
    """
    times = into if into is not None else {}
    cpu, wall = time.process_time, time.perf_counter
    for _ in range(warmup):
        engine.step(X, Y)
    for mode in ("default", "off"):
        c_ts = times.setdefault(f"cpu_{mode}", [])
        w_ts = times.setdefault(f"wall_{mode}", [])
        gc.collect()
        with gc_mode(mode):
            for _ in range(repeat):
                w0, c0 = wall(), cpu()
                engine.step(X, Y)
                c1, w1 = cpu(), wall()
                c_ts.append(c1 - c0)
                w_ts.append(w1 - w0)
    return times


def summarize(times: dict[str, list[float]]) -> dict[str, float]:
    """Best and median ms per step of each clock and GC mode.

    Keys: ``ms_gc_{mode}`` and ``median_ms_gc_{mode}`` (CPU time, the figures the
    ratios use), ``wall_ms_gc_{mode}`` and ``wall_median_ms_gc_{mode}``.
    """
    out: dict[str, float] = {}
    for key, ts in times.items():
        clock, mode = key.split("_")
        pre = "" if clock == "cpu" else "wall_"
        out[f"{pre}ms_gc_{mode}"] = min(ts) * 1e3
        out[f"{pre}median_ms_gc_{mode}"] = statistics.median(ts) * 1e3
    return out


def compile_cost(spec: W.Spec, flat: Sequence[float]) -> dict[str, float]:
    """Trace + code generation + byte-compilation of the compiled user step, on a fresh model.

    ``compile_ms`` is CPU time (as the step times), ``compile_wall_ms`` wall time.
    """
    engine = UserCompiled(spec, flat)
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    prog = engine.program(spec.X, spec.Y)
    dt, wdt = time.process_time() - c0, time.perf_counter() - w0
    return {"compile_ms": dt * 1e3, "compile_wall_ms": wdt * 1e3, "trace_nodes": prog.trace_nodes,
            "source_lines": prog.source.count("\n")}


def run(*, repeat: int = 7, warmup: int = 2, slow_repeat: int = 3, passes: int = 3,
        spec: W.Spec | None = None) -> dict[str, Any]:
    """Check and time every row on W-user; return the JSON-ready results.

    The rows are timed in ``passes`` rounds (row after row, then again), so
    that a slow spell of the shared machine does not fall on one row only;
    each row keeps its best step over all rounds, and the median. Steps are
    timed in CPU time of this process (``time.process_time``: what other
    processes on a shared machine take does not count) and in wall time; the
    ratios use CPU time.
    """
    made: list[tuple[str, Any, dict[str, list[float]]]] = []
    spec = spec or W.w_mlp()
    flat = spec.init_weights(0)
    floor_lg = W.Floor(spec, flat).loss_grads(spec.X, spec.Y)
    res: dict[str, Any] = {"samples": len(spec.X), "parameters": len(flat), "passes": passes,
                           "engines": {}}
    dyn_lg = None
    for name, make in engines():
        engine = make(spec, flat)
        lg = engine.loss_grads(spec.X, spec.Y)
        entry: dict[str, Any] = {"max_rel_diff_vs_floor": max_rel_diff(lg, floor_lg)}
        if name == DYNAMIC:
            dyn_lg = lg
        if name == COMPILED and dyn_lg is not None:
            entry["bit_identical_to_dynamic"] = lg == dyn_lg
        if name == COMPILED:
            entry.update(compile_cost(spec, flat))
        res["engines"][name] = entry
        made.append((name, engine, {}))
    for k in range(passes):
        for name, engine, times in made:
            slow = name == MICROGRAD
            time_steps(engine, spec.X, spec.Y, repeat=slow_repeat if slow else repeat,
                       warmup=(1 if slow else warmup) if k == 0 else 0, into=times)
    for name, _, times in made:
        res["engines"][name].update(summarize(times))
    return res


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "-"


def rows(res: dict[str, Any]) -> list[list[str]]:
    """Table rows: CPU ms per step (best; median), wall best, ratios (CPU best)."""
    eng = res["engines"]
    fl = eng[FLOOR]
    mg = eng.get(MICROGRAD)
    out = []
    for name, e in eng.items():
        out.append([
            name,
            f"{e['ms_gc_default']:.2f} ({e['median_ms_gc_default']:.2f})",
            f"{e['ms_gc_off']:.2f} ({e['median_ms_gc_off']:.2f})",
            f"{e['wall_ms_gc_default']:.2f} / {e['wall_ms_gc_off']:.2f}",
            _ratio(e["ms_gc_default"], fl["ms_gc_default"]),
            _ratio(e["ms_gc_off"], fl["ms_gc_off"]),
            _ratio(mg["ms_gc_default"], e["ms_gc_default"]) if mg else "-",
            _ratio(mg["ms_gc_off"], e["ms_gc_off"]) if mg else "-",
            f"{e['max_rel_diff_vs_floor']:.0e}",
        ])
    return out


HEADERS = ["engine", "CPU ms/step, default GC: best (median)",
           "CPU ms/step, GC off: best (median)", "wall ms/step, best: default GC / GC off",
           "x floor (default GC)", "x floor (GC off)", "micrograd / this (default GC)",
           "micrograd / this (GC off)", "max rel diff vs floor"]


def notes(res: dict[str, Any]) -> list[str]:
    """The headline ratios, the compile time and the compiled row's identity check."""
    eng = res["engines"]
    out = []
    dyn, comp, mg, fl = (eng.get(k) for k in (DYNAMIC, COMPILED, MICROGRAD, FLOOR))
    if dyn and comp and fl:
        mgs = ""
        if mg:
            mgs = (f", {mg['ms_gc_default'] / dyn['ms_gc_default']:.0f}x and "
                   f"{mg['ms_gc_default'] / comp['ms_gc_default']:.0f}x faster than micrograd")
        med = ""
        if mg:
            m = "median_ms_gc_default"
            med = (f" Medians, which keep the steps a full collection falls on: "
                   f"{dyn[m] / fl[m]:.2f}x and {comp[m] / fl[m]:.2f}x the floor, "
                   f"{mg[m] / dyn[m]:.0f}x and {mg[m] / comp[m]:.0f}x faster than micrograd.")
        out.append(
            f"The step users write runs at {dyn['ms_gc_default'] / fl['ms_gc_default']:.2f}x "
            f"the float floor dynamic and {comp['ms_gc_default'] / fl['ms_gc_default']:.2f}x "
            f"compiled{mgs} (default GC, best steps in CPU time).{med}"
        )
    if mg and dyn:
        gc_share = 1.0 - mg["ms_gc_off"] / mg["ms_gc_default"]
        out.append(
            f"micrograd's step is {mg['ms_gc_default']:.0f} ms with the default collector and "
            f"{mg['ms_gc_off']:.0f} ms without it: its `_backward` closures make reference "
            f"cycles, so the cyclic collector takes {100 * gc_share:.0f}% of its step, and "
            "how much depends on how many objects the whole process holds: the default-GC "
            "ratios to micrograd move between runs and processes. The GC-off "
            f"columns compare the engines alone: {mg['ms_gc_off'] / dyn['ms_gc_off']:.1f}x "
            "dynamic."
        )
    if comp:
        same = comp.get("bit_identical_to_dynamic")
        ident = {True: "bit-identical to", False: "NOT bit-identical to", None: "not compared with"}
        pays = ""
        if dyn and dyn["ms_gc_default"] > comp["ms_gc_default"]:
            gain = dyn["ms_gc_default"] - comp["ms_gc_default"]
            pays = f"; it pays for itself after {comp['compile_ms'] / gain:.0f} steps"
        out.append(
            f"Compiled: {ident[same]} the dynamic step's loss and gradients; compiled once in "
            f"{comp['compile_ms']:.0f} ms of CPU time ({comp['trace_nodes']:,} traced nodes, "
            f"{comp['source_lines']:,} generated lines){pays}."
        )
    return out


def report(res: dict[str, Any]) -> str:
    """Format W-user's results as Markdown."""
    lines = [
        f"W-user: the step users write (micrograd's demo code, {res['samples']} samples, "
        f"{res['parameters']} parameters): best of N steps over {res.get('passes', 1)} rounds "
        "(median); ratios of CPU-time bests",
        fmt_table(HEADERS, rows(res)),
        *notes(res),
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Where the dynamic step's time goes.


def _nothing() -> None:
    return None


def _part_times(eng: UserDynamic, spec: W.Spec, repeat: int) -> dict[str, float]:
    """Each part of the dynamic step timed on its own (seconds, best of ``repeat``, GC off).

    The parts that cannot run alone are differences: the scope tags, the
    per-sample overhead and the chain-rule loop.
    """
    model, X, Y = eng.model, spec.X, spec.Y
    Value = autograd.Value

    def inputs() -> list[Any]:
        return make_inputs(Value, X)

    def scores_of(inp: list[Any]) -> list[Any]:
        return [model(x) for x in inp]

    def graph() -> Any:
        return user_loss(model, inputs(), Y)

    def rest_of_loss(scores: list[Any]) -> Any:
        losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        return data_loss + ALPHA * sum(p * p for p in model.parameters())

    def done() -> list[Any]:  # a graph after backward, held by this list only
        g = graph()
        g.backward()
        return [g]

    def sgd() -> None:
        for p in model.parameters():
            p.data -= LR * p.grad

    b = best_in_rounds({
        "inputs": (lambda _: inputs(), _nothing),
        "per sample": (scores_of, inputs),
        "batch": (lambda inp: model.forward_batch(inp), inputs),
        "batch, no scopes": (lambda inp: model.forward_batch(inp, scopes=False), inputs),
        "loss": (rest_of_loss, lambda: scores_of(inputs())),
        "zero_grad": (lambda _: model.zero_grad(), _nothing),
        "collect": (autograd.backward_order, graph),
        "backward": (lambda g: g.backward(), graph),
        "free": (lambda held: held.clear(), done),
        "sgd": (lambda _: sgd(), _nothing),
    }, repeat)
    return {
        "inputs as Values": b["inputs"],
        "forward: fused neuron nodes (forward_batch, no scopes)": b["batch, no scopes"],
        "forward: scope tags": b["batch"] - b["batch, no scopes"],
        "forward: per-sample re-preparation": b["per sample"] - b["batch"],
        "loss on the scores (hinge, sums, penalty)": b["loss"],
        "zero_grad": b["zero_grad"],
        "backward: collect + sort": b["collect"],
        "backward: chain-rule loop": b["backward"] - b["collect"],
        "freeing the graph (reference counting)": b["free"],
        "SGD loop": b["sgd"],
    }


def _alternating_steps(eng: UserDynamic, spec: W.Spec, repeat: int) -> dict[str, list[float]]:
    """CPU seconds of ``3 * repeat`` whole steps per GC mode, the modes alternating."""
    # means of alternating steps: a full collection falls on a few steps only,
    # which a median would leave out
    steps: dict[str, list[float]] = {"default": [], "off": []}
    for _ in range(3 * repeat):
        for mode in ("default", "off"):
            with gc_mode(mode):
                t0 = time.process_time()
                eng.step(spec.X, spec.Y)
                steps[mode].append(time.process_time() - t0)
    return steps


def breakdown(repeat: int = 15, spec: W.Spec | None = None) -> dict[str, Any]:
    """Time each part of the dynamic user step on its own (CPU time, GC off, best of ``repeat``).

    Parts: making the input Values; the model called per sample, split into
    what ``forward_batch`` would do anyway without scope tags, the scope tags
    (``forward_batch(scopes=True)`` minus ``scopes=False``) and the per-sample
    overhead (``[model(x) ...]`` minus ``forward_batch``: each call validates its
    sample, splits it into a row and checks the layers' cached weights); the loss
    on the scores (hinge, builtin sums, penalty); ``zero_grad``; backward split into collecting and
    sorting the nodes (``autograd.backward_order``) and the chain-rule loop (the
    rest); freeing the graph; the SGD loop. The collector's share is the mean
    default-GC step minus the mean GC-off step (steps alternate between the modes).
    """
    spec = spec or W.w_mlp()
    eng = UserDynamic(spec, spec.init_weights(0))
    for _ in range(3):
        eng.step(spec.X, spec.Y)
    parts = {k: v * 1e3 for k, v in _part_times(eng, spec, repeat).items()}
    steps = _alternating_steps(eng, spec, repeat)
    mean_def = statistics.fmean(steps["default"])
    mean_off = statistics.fmean(steps["off"])
    nodes = autograd.backward_order(user_loss(eng.model, make_inputs(autograd.Value, spec.X),
                                              spec.Y))
    return {
        "parts_ms": parts,
        "sum_of_parts_ms": sum(parts.values()),
        "step_best_gc_off_ms": min(steps["off"]) * 1e3,
        "step_mean_gc_off_ms": mean_off * 1e3,
        "step_mean_gc_default_ms": mean_def * 1e3,
        "gc_share_of_default_step": (mean_def - mean_off) / mean_def,
        "graph_nodes": len(nodes),
        "graph_edges": sum(len(v.parents) for v in nodes),
        "leaf_edges": sum(1 for v in nodes for q in v.parents if not q.parents),
    }


def breakdown_report(b: dict[str, Any]) -> str:
    """Format :func:`breakdown` as Markdown."""
    total = b["sum_of_parts_ms"]
    rows_ = [[k, f"{v:.2f}", f"{v / total:.0%}"] for k, v in b["parts_ms"].items()]
    rows_.append(["sum of the parts", f"{total:.2f}", "100%"])
    return "\n".join([
        f"Dynamic user step, part by part (CPU time, GC off, best of N; {b['graph_nodes']:,} "
        "interior "
        f"nodes and {b['graph_edges']:,} parent edges per step, {b['leaf_edges']:,} of them "
        "to leaves):",
        fmt_table(["part", "ms", "share"], rows_),
        f"Whole step, GC off: best {b['step_best_gc_off_ms']:.2f} ms, mean "
        f"{b['step_mean_gc_off_ms']:.2f} ms; default GC mean "
        f"{b['step_mean_gc_default_ms']:.2f} ms: the collector takes "
        f"{b['gc_share_of_default_step']:.0%} of a default-GC step.",
    ])


def cprofile_report(steps: int = 20, top: int = 18) -> str:
    """cProfile of ``steps`` dynamic user steps (default GC): the top functions by own time."""
    spec = W.w_mlp()
    eng = UserDynamic(spec, spec.init_weights(0))
    eng.step(spec.X, spec.Y)
    return profile_top(lambda: eng.step(spec.X, spec.Y), steps, top)


def main(argv: list[str] | None = None) -> None:
    """Command line of ``python -m benchmarks.userstep``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.userstep",
                                 description="W-user: the step users write, alone.")
    ap.add_argument("--repeat", type=int, default=9, help="best of this many steps")
    ap.add_argument("--profile", action="store_true",
                    help="also break the dynamic step down and print a cProfile listing")
    args = ap.parse_args(argv)
    m = machine()
    print(f"{m['implementation']} {m['python']}, {m['cpus']} CPUs; {m['date']}; "
          f"GC thresholds {m['gc_threshold']}")
    print(report(run(repeat=args.repeat)))
    if args.profile:
        print()
        print(breakdown_report(breakdown()))
        print()
        print(cprofile_report())


if __name__ == "__main__":
    main()
