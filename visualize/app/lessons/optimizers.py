"""Lesson ``optimizers``: slow convergence, and what momentum and adaptive rates change.

Part 0: a badly scaled valley ``f(x, y) = (x / 10)² + (10 y)²``: one
parameter's curvature is 10 000 times the other's, along the axes. Plain SGD's
rate is capped by the steep ``y`` and then crawls in ``x``; RMSprop and Adam
divide each parameter's step by its own gradient size and get there.

Part 1: Rosenbrock's function ``f(x, y) = (1 - x)² + 100 (y - x²)²``, computed
with chainrule's Values, has its minimum 0 at ``(1, 1)`` at the end of a long,
curved, nearly flat valley: plain gradient descent crawls along it. SGD,
SGD with momentum 0.9, RMSprop and Adam (``nn.optim``) each start at
``(-1.2, 1)`` and take 1000 steps with their best rate from one grid; each
step is compiled (:func:`autograd.compile`).

Part 2: the same four optimizers train one ``MLP(2, [16, 16, 1])`` on moons,
from the same initial weights, for the same epochs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import autograd
import nn
from autograd import Value, func
from visualize import palette
from visualize.app.lessons._base import Context, Lesson, new_figure
from visualize.app.lessons._player import write_player

NAME = "optimizers"
START = (-1.2, 1.0)
STEPS = 1000
RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
TARGET = 1e-3  # "converged" on Rosenbrock: f below this

MakeOpt = Callable[[list[Value], float], nn.optim.Optimizer]
OPTIMIZERS: dict[str, MakeOpt] = {
    "SGD": lambda p, lr: nn.optim.SGD(p, lr=lr),
    "momentum 0.9": lambda p, lr: nn.optim.SGD(p, lr=lr, momentum=0.9),
    "RMSprop": lambda p, lr: nn.optim.RMSprop(p, lr=lr),
    "Adam": lambda p, lr: nn.optim.Adam(p, lr=lr),
}
COLOURS = dict(zip(OPTIMIZERS, palette.SERIES))
VALLEY_START = (-8.0, 0.5)
VALLEY_RATES = (*RATES, 3e-1)


def valley(x: Any, y: Any) -> Any:
    """The badly scaled valley ``(x / 10)² + (10 y)²``; works on floats and on Values."""
    return (x / 10) ** 2 + (10 * y) ** 2


def rosenbrock(x: Any, y: Any) -> Any:
    """Rosenbrock's function; works on floats and on Values."""
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


Path = list[tuple[float, float]]


def descend(make: MakeOpt, lr: float, steps: int = STEPS, *,
            f: Callable[[Any, Any], Any] = rosenbrock,
            start: tuple[float, float] = START) -> tuple[Path, list[float]]:
    """Minimise ``f`` from ``start``; return the path and f per step (nan: diverged)."""
    x, y = Value(start[0], label="x"), Value(start[1], label="y")
    opt = make([x, y], lr)
    step = autograd.compile(lambda: f(x, y))
    path, values = [(x.data, y.data)], []
    for _ in range(steps):
        opt.zero_grad()
        v = float(step())
        values.append(v)
        if not math.isfinite(v) or v > 1e12:
            return path, [*values, math.nan]
        opt.step()
        path.append((x.data, y.data))
    values.append(float(step.forward()))
    return path, values


Best = dict[str, tuple[float, Path, list[float]]]


PROBLEMS: dict[str, tuple[Callable[[Any, Any], Any], tuple[float, float]]] = {
    "valley": (valley, VALLEY_START), "Rosenbrock": (rosenbrock, START)}


def descend_run(point: dict[str, Any], seed: int) -> dict[str, Any]:
    """One descent for ``nn.sweep``: ``point`` names the problem, the optimizer and the rate."""
    f, start = PROBLEMS[point["problem"]]
    path, values = descend(OPTIMIZERS[point["optimizer"]], point["lr"], f=f, start=start)
    return {"path": path, "values": values}


def best_runs(ctx: Context, problem: str, rates: tuple[float, ...]) -> Best:
    """Each optimizer at the rate of ``rates`` that ends lowest: name -> (rate, path, values)."""
    rows = ctx.sweep(descend_run, {"problem": [problem], "optimizer": list(OPTIMIZERS),
                                   "lr": list(rates)})
    best: Best = {}
    for r in rows:
        name, values = r["optimizer"], r["values"]
        if math.isfinite(values[-1]) and (name not in best or values[-1] < best[name][2][-1]):
            best[name] = (r["lr"], [tuple(p) for p in r["path"]], values)
    return best


def _summary(best: Best) -> tuple[dict[str, float], dict[str, float], dict[str, int | None]]:
    final = {k: v[2][-1] for k, v in best.items()}
    rate = {k: v[0] for k, v in best.items()}
    reach = {k: next((i for i, f in enumerate(v[2]) if f < TARGET), None) for k, v in best.items()}
    return final, rate, reach


def _when(reach: int | None) -> str:
    return f"after {reach} steps" if reach is not None else f"not within {STEPS} steps"


def run(ctx: Context) -> None:
    """The scaled valley and Rosenbrock with each optimizer's best rate, then moons."""
    import numpy as np  # matplotlib, which every lesson needs, brings NumPy

    problems = {"valley": best_runs(ctx, "valley", VALLEY_RATES),
                "Rosenbrock": best_runs(ctx, "Rosenbrock", RATES)}
    sums = {k: _summary(b) for k, b in problems.items()}
    for problem, (final, rate, reach) in sums.items():
        for k in final:
            ctx.echo(f"  {problem}, {k} (best rate {rate[k]:g}): f = {final[k]:.2e} after "
                     f"{STEPS} steps; f < {TARGET:g} {_when(reach[k])}")
    curv = sorted(float(e) for e in np.linalg.eigvalsh(np.array(
        func.hessian(valley, argnums=(0, 1))(*VALLEY_START))))
    vfinal, vrate, vreach = sums["valley"]
    rfinal, rrate, rreach = sums["Rosenbrock"]
    sgd_x = problems["valley"]["SGD"][1][-1][0]
    moons = _moons(ctx)
    ctx.measure(valley_final=vfinal, valley_rate=vrate, valley_steps_to_target=vreach,
                valley_curvatures=curv, valley_sgd_x=sgd_x,
                rosenbrock_final=rfinal, rosenbrock_rate=rrate,
                rosenbrock_steps_to_target=rreach,
                moons_loss=moons["loss"], moons_accuracy=moons["accuracy"],
                moons_epochs=moons["epochs"])
    for problem, (final, _, reach) in sums.items():
        start_ = VALLEY_START if problem == "valley" else START
        ctx.claim(f"{problem} from {start_}, {STEPS} steps, each optimizer at its best of "
                  f"{len(VALLEY_RATES if problem == 'valley' else RATES)} rates: "
                  + "; ".join(f"{k} f = {final[k]:.1e} (f < {TARGET:g} {_when(reach[k])})"
                              for k in sorted(final, key=final.__getitem__)))
    ctx.claim(f"why, on the valley: its curvatures are {curv[0]:g} along x and {curv[1]:g} "
              f"along y ({curv[1] / curv[0]:,.0f}×). One rate for both must stay below "
              f"2/{curv[1]:g} = {2 / curv[1]:g} or y diverges, and then x is multiplied by (1 − "
              f"{curv[0]:g} × rate) per step: SGD ends at x = {sgd_x:.2f} (from "
              f"{VALLEY_START[0]:g}). Momentum adds up the small steps along x (f = "
              f"{vfinal['momentum 0.9']:.1e}); RMSprop and Adam divide each parameter's step by "
              "its own gradient size, so x and y move at one pace: per-parameter scaling pays")
    ctx.claim("why, on Rosenbrock: the valley's floor is the curve y = x², not an axis, so "
              "scaling each parameter on its own cannot straighten it; momentum, which adds up "
              "the direction along the floor, ends lowest (f = "
              f"{rfinal['momentum 0.9']:.1e} against Adam {rfinal['Adam']:.1e} and RMSprop "
              f"{rfinal['RMSprop']:.1e}); RMSprop without momentum stalls like SGD")
    ml, ma, me = moons["loss"], moons["accuracy"], moons["epochs"]
    ctx.claim(f"moons, MLP(2, [16, 16, 1]), same initial weights, {me} epochs, one hand-picked "
              f"rate each (one run, not a ranking): final training loss "
              + ", ".join(f"{k} {ml[k]:.3f} ({100 * ma[k]:.0f}%)" for k in ml))
    ctx.playground("moons with Adam; switch the optimizer to sgd, momentum or rmsprop:",
                   dataset="moons", n_points=150, noise=0.15, hidden=[8, 8], activation="relu",
                   optimizer="adam", lr=0.01, batch_size=15, seed=ctx.seed,
                   data_seed=ctx.seed)
    specs = {"valley": ((-10.0, 10.0, -1.0, 1.0), VALLEY_START, (0.0, 0.0), valley),
             "Rosenbrock": ((-2.0, 2.0, -1.0, 3.0), START, (1.0, 1.0), rosenbrock)}
    for problem, (bounds, start_, low, f) in specs.items():
        best = problems[problem]
        slug = problem.lower()
        player = write_player(
            ctx.out / f"{slug}_paths.html", title=f"{problem}: four optimizers, step by step",
            intro=f"SGD, momentum, RMSprop and Adam from {start_}, {STEPS} steps each at its "
                  "best rate.", axes=("x", "y"), surface=f, bounds=bounds, value_name="f",
            minimum=low,
            runs={f"{k} ({v[0]:g})": (COLOURS[k], v[1], v[2]) for k, v in best.items()})
        ctx.add_file(player, f"{problem}: the four paths animated step by step (slider, play)",
                     "page")
        ctx.save(_paths(best, f, bounds, start_, low, problem), f"{slug}_paths.svg",
                 f"{problem} (log-spaced contours) and each optimizer's path, one panel each, "
                 "from the black dot to the star at the minimum")
        ctx.save(_values(best, problem), f"{slug}_loss.svg",
                 f"{problem}: f(x, y) at every step (log scale)")
    ctx.save(_moons_curves(moons["histories"]), "moons_loss.svg",
             "the same optimizers training an MLP on moons: loss per epoch")


def _moons(ctx: Context) -> dict[str, Any]:
    X, y = nn.data.make_moons(150, noise=0.15, seed=ctx.seed)
    epochs = 15
    rates = {"SGD": 0.1, "momentum 0.9": 0.05, "RMSprop": 0.01, "Adam": 0.01}
    histories = {}
    for name, make in OPTIMIZERS.items():
        model = nn.MLP(2, [16, 16, 1], seed=ctx.seed)
        opt = make(model.parameters(), rates[name])
        histories[name] = nn.fit(model, X, y, epochs=epochs, batch_size=15, optimizer=opt,
                                 progress=False, seed=ctx.seed, pause_gc=True)
        h = histories[name]
        ctx.echo(f"  moons, {name} (rate {rates[name]:g}): loss {h.loss[-1]:.3f}, accuracy "
                 f"{100 * h.accuracy[-1]:.0f}% after {epochs} epochs")
    return {"histories": histories, "epochs": epochs,
            "loss": {k: h.loss[-1] for k, h in histories.items()},
            "accuracy": {k: h.accuracy[-1] for k, h in histories.items()}}


def _paths(best: Best, f: Callable[[Any, Any], Any], bounds: tuple[float, float, float, float],
           start: tuple[float, float], low: tuple[float, float], problem: str) -> Any:
    x0, x1, y0, y1 = bounds
    n = 100
    xs = [x0 + (x1 - x0) * i / (n - 1) for i in range(n)]
    ys = [y0 + (y1 - y0) * j / (n - 1) for j in range(n)]
    zs = [[math.log10(f(x, y) + 1e-3) for x in xs] for y in ys]
    fig = new_figure(10.0, 7.5)
    for k, (name, (lr, path, values)) in enumerate(best.items()):
        ax = fig.add_subplot(2, 2, k + 1)
        ax.contour(xs, ys, zs, levels=[q / 2 for q in range(-6, 9)], cmap="Greys",
                   linewidths=0.6)
        ax.plot([p[0] for p in path], [p[1] for p in path], "-", color=COLOURS[name],
                linewidth=1.4, label=f"{name}, rate {lr:g}: f = {values[-1]:.1e}")
        ax.plot(*path[-1], "o", color=COLOURS[name], markersize=5)
        ax.plot(*start, "ko", markersize=6, label="start")
        ax.plot(*low, "*", color=palette.SERIES[5], markeredgecolor="black", markersize=14,
                linestyle="none", label="minimum")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(name, color=COLOURS[name])
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"{problem}: {STEPS} steps each (colour: the optimizer; contours: f, log)")
    fig.tight_layout()
    return fig


def _values(best: Best, problem: str) -> Any:
    fig = new_figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    for name, (lr, _, values) in best.items():
        ax.plot(range(len(values)), [max(v, 1e-16) for v in values], color=COLOURS[name],
                label=f"{name} (rate {lr:g})")
    ax.axhline(TARGET, color=palette.MUTED, linestyle=":", linewidth=1)
    ax.text(STEPS, TARGET * 1.5, f"f = {TARGET:g}", fontsize=8, color=palette.MUTED, ha="right")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("f(x, y) (log scale; < 1e-16 drawn at 1e-16)")
    ax.set_title(f"{problem}: the value at every step")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower left", title="colour: the optimizer", title_fontsize=8)
    fig.tight_layout()
    return fig


def _moons_curves(histories: dict[str, Any]) -> Any:
    fig = new_figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    for name, h in histories.items():
        ax.plot(range(1, len(h.loss) + 1), h.loss, marker="o", markersize=3,
                color=COLOURS[name], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (binary cross-entropy)")
    ax.set_title("moons, MLP(2, [16, 16, 1]), same initial weights")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper right", title="colour: the optimizer", title_fontsize=8)
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="Slow convergence and adaptive learning rates: SGD, momentum, RMSprop, Adam",
    summary="SGD, momentum, RMSprop and Adam on a badly scaled valley (adaptive rates pay) and "
            "on Rosenbrock (momentum pays), then on moons",
    idea="Plain gradient descent can converge slowly: in a long narrow valley the gradient "
         "points mostly across it, so steps large enough to move along the floor would bounce "
         "off the walls. Momentum accumulates the consistent direction; adaptive methods "
         "(RMSprop, Adam) scale each parameter's step by the size of its recent gradients, an "
         "adaptive learning rate per weight.",
    run=run,
)
