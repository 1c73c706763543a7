"""The batched compiled path (``autograd.compile(..., batch=True)``) on W-mlp, W-wide and digits.

Engines with the interface of :mod:`benchmarks.workloads` (``loss_grads`` and
``step``) that write the *per-sample* loss, as a user of the batched path
does, and run it through :func:`autograd.batched.compile_batched`:

* ``chainrule nn batched``: ``nn.MLP`` (fused neurons, grouped into matrix
  products), the loss written per sample with autograd ops
  (``relu(1 - y s) + alpha * dot(ps, ps)`` / ``dot(d, d) / k``; ``dot`` has a
  formula, so the penalty is one vector op, where ``nn.l2_penalty``'s fused
  node, built from functions, runs as floats), ``nn.optim.SGD``;
* ``chainrule ops batched``: the ops-built MLP of the suite (``dot(w, x) + b``,
  ``relu``), manual SGD.

``python -m benchmarks.batched`` prints, from one process: W-mlp and W-wide
ms per step for the float floor, hand-written NumPy (the suite's ``numpy
batched``), micrograd, the dynamic and compiled ``nn`` engines and the batched
ones (the whole step: zero grads, forward and backward, SGD; and the batched
call alone), with ratios; then a digits epoch, dynamic against batched with
the trace and compile time included. The suite (``python -m benchmarks``)
times the batched engines beside the others (:func:`engines`).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Sequence
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

    def __init__(self, spec: W.Spec, flat: Sequence[float], *, via: str = "nn") -> None:
        from autograd.batched import compile_batched

        self.spec = spec
        self.name = f"chainrule {via} batched"
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

    def loss_grads(self, X: Any, Y: Any) -> tuple[float, list[float]]:
        """Loss and flat gradients, no update."""
        for p in self.params:
            p.grad = 0.0
        loss = self.run(X, Y)
        return loss, [p.grad for p in self.params]

    def step(self, X: Any, Y: Any) -> float:
        """One SGD step; returns the loss."""
        if self.opt is not None:
            self.opt.zero_grad()
            loss: float = self.run(X, Y)
            self.opt.step()
            return loss
        ps = self.params
        for p in ps:
            p.grad = 0.0
        loss = self.run(X, Y)
        for p in ps:
            p.data -= W.LR * p.grad
        return loss


def engines() -> list[tuple[str, Callable[[W.Spec, Sequence[float]], Any]]]:
    """The batched engines, as (name, factory) pairs (none without NumPy)."""
    if not have_batched():
        return []
    out: list[tuple[str, Callable[[W.Spec, Sequence[float]], Any]]] = []
    if W.have_nn():
        out.append(("chainrule nn batched", lambda s, f: ChainruleBatched(s, f, via="nn")))
    out.append(("chainrule ops batched", lambda s, f: ChainruleBatched(s, f, via="ops")))
    return out


def _best_ms(fn: Callable[[], Any], repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    gc.collect()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
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
            entry["ms"] = _best_ms(lambda e=engine: e.step(spec.X, spec.Y),
                                   3 if slow else repeat, 1 if slow else 3)
            if name.endswith(" batched") and name.startswith("chainrule"):
                entry["call_ms"] = _best_ms(lambda e=engine: e.run(spec.X, spec.Y), repeat)
        res[name] = entry
    return res


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
    makers += engines()[:1]
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
            rows.append([
                name, f"{e['ms']:.3f}", f"{e['ms'] / fl:.3f}x",
                f"{e['ms'] / npb:.2f}x" if npb else "-",
                f"{mg / e['ms']:.0f}x" if mg else "-",
                f"{e['call_ms']:.3f}" if "call_ms" in e else "-",
                f"{e['max_rel_diff_vs_floor']:.0e}",
            ])
        lines.append(f"{key}: ms per step (zero grads, forward, backward, SGD; best of N)")
        lines.append(fmt_table(["engine", "ms/step", "x floor", "x numpy batched",
                                "micrograd / this", "batched call alone (ms)",
                                "max rel diff vs floor"], rows))
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
    return "\n".join(lines)


def run(repeat: int = 50, quick: bool = False) -> dict[str, Any]:
    """Run W-mlp, W-wide and the digits epoch; return JSON-ready results."""
    res: dict[str, Any] = {"machine": machine()}
    res["W-mlp"] = run_steps(W.w_mlp(), 10 if quick else repeat)
    res["W-wide"] = run_steps(W.w_wide(), 10 if quick else repeat)
    res["digits"] = run_digits(1, max_batches=4 if quick else None)
    return res


def main(argv: list[str] | None = None) -> None:
    """Command line of ``python -m benchmarks.batched``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.batched",
                                 description="the batched compiled path against the others")
    ap.add_argument("--quick", action="store_true", help="few repeats, 4 digits batches")
    ap.add_argument("--repeat", type=int, default=50, help="best of this many steps")
    args = ap.parse_args(argv)
    if not have_batched():
        raise SystemExit("benchmarks.batched: NumPy is not installed: pip install "
                         "'chainrule[fast]'")
    print(report(run(args.repeat, args.quick)))


if __name__ == "__main__":
    main()
