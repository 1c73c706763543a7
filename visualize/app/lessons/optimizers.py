"""Lesson ``optimizers``: slow convergence, and what momentum and adaptive rates change.

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
from autograd import Value
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
COLOURS = {"SGD": "#4575b4", "momentum 0.9": "#1a9850", "RMSprop": "#984ea3", "Adam": "#d73027"}


def rosenbrock(x: Any, y: Any) -> Any:
    """Rosenbrock's function; works on floats and on Values."""
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def descend(make: MakeOpt, lr: float, steps: int = STEPS) -> tuple[list[tuple[float, float]],
                                                                   list[float]]:
    """Minimise Rosenbrock from :data:`START`; return the path and f per step (nan: diverged)."""
    x, y = Value(START[0], label="x"), Value(START[1], label="y")
    opt = make([x, y], lr)
    step = autograd.compile(lambda: rosenbrock(x, y))
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


def run(ctx: Context) -> None:
    """Rosenbrock with each optimizer's best rate, then moons; measure and draw both."""
    best: dict[str, tuple[float, list[tuple[float, float]], list[float]]] = {}
    for name, make in OPTIMIZERS.items():
        for lr in RATES:
            path, values = descend(make, lr)
            if math.isfinite(values[-1]) and (name not in best or values[-1] < best[name][2][-1]):
                best[name] = (lr, path, values)
    final = {k: v[2][-1] for k, v in best.items()}
    rate = {k: v[0] for k, v in best.items()}
    reach = {k: next((i for i, f in enumerate(v[2]) if f < TARGET), None) for k, v in best.items()}
    for k in best:
        ctx.echo(f"  Rosenbrock, {k} (best rate {rate[k]:g}): f = {final[k]:.2e} after {STEPS} "
                 f"steps; f < {TARGET:g} after {reach[k]} steps")
    moons = _moons(ctx)
    ctx.measure(rosenbrock_final=final, rosenbrock_rate=rate, rosenbrock_steps_to_target=reach,
                moons_loss=moons["loss"], moons_accuracy=moons["accuracy"],
                moons_epochs=moons["epochs"])
    order = sorted(final, key=final.__getitem__)

    def steps(k: str) -> str:
        return f"after {reach[k]} steps" if reach[k] is not None else f"not in {STEPS} steps"

    ctx.claim(f"Rosenbrock from {START}, {STEPS} steps, each optimizer at its best rate of "
              f"{len(RATES)}: " + "; ".join(f"{k} ends at f = {final[k]:.1e}" for k in order))
    ctx.claim(f"slow convergence: plain SGD reaches f < {TARGET:g} {steps('SGD')}, momentum "
              f"{steps('momentum 0.9')}, Adam {steps('Adam')}, RMSprop {steps('RMSprop')}")
    ml, ma, me = moons["loss"], moons["accuracy"], moons["epochs"]
    ctx.claim(f"moons, MLP(2, [16, 16, 1]), same initial weights, {me} epochs: final training "
              f"loss " + ", ".join(f"{k} {ml[k]:.3f} ({100 * ma[k]:.0f}%)" for k in ml))
    player = write_player(
        ctx.out / "paths.html", title="Rosenbrock's valley: four optimizers, step by step",
        intro=f"SGD, momentum, RMSprop and Adam from {START}, {STEPS} steps each at its best "
              "rate.", axes=("x", "y"), surface=rosenbrock, bounds=(-2.0, 2.0, -1.0, 3.0),
        value_name="f", minimum=(1.0, 1.0),
        runs={f"{k} ({v[0]:g})": (COLOURS[k], v[1], v[2]) for k, v in best.items()})
    ctx.add_file(player, "the four paths animated step by step (slider, play)", "page")
    ctx.save(_paths(best), "rosenbrock_paths.svg",
             "Rosenbrock's valley (log-spaced contours) and each optimizer's path from the "
             "black dot to the star at (1, 1)")
    ctx.save(_values(best), "rosenbrock_loss.svg",
             "f(x, y) at every step (log scale): SGD crawls along the valley floor")
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


def _paths(best: dict[str, Any]) -> Any:
    lo, hi = (-2.0, -1.0), (2.0, 3.0)
    n = 120
    xs = [lo[0] + (hi[0] - lo[0]) * i / (n - 1) for i in range(n)]
    ys = [lo[1] + (hi[1] - lo[1]) * j / (n - 1) for j in range(n)]
    zs = [[math.log10(rosenbrock(x, y) + 1e-3) for x in xs] for y in ys]
    fig = new_figure(7.0, 6.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.contour(xs, ys, zs, levels=[k / 2 for k in range(-6, 9)], cmap="Greys", linewidths=0.6)
    for name, (lr, path, _) in best.items():
        ax.plot([p[0] for p in path], [p[1] for p in path], "-", color=COLOURS[name],
                linewidth=1.4, label=f"{name} (rate {lr:g})")
        ax.plot(*path[-1], "o", color=COLOURS[name], markersize=4)
    ax.plot(*START, "ko", markersize=6)
    ax.plot(1, 1, "*", color="gold", markeredgecolor="black", markersize=14)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"Rosenbrock (1 - x)² + 100 (y - x²)²: {STEPS} steps each")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def _values(best: dict[str, Any]) -> Any:
    fig = new_figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    for name, (lr, _, values) in best.items():
        ax.plot(range(len(values)), [max(v, 1e-16) for v in values], color=COLOURS[name],
                label=f"{name} (rate {lr:g})")
    ax.axhline(TARGET, color="grey", linestyle=":", linewidth=1)
    ax.text(STEPS, TARGET * 1.5, f"f = {TARGET:g}", fontsize=8, color="grey", ha="right")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("f(x, y) (log scale; < 1e-16 drawn at 1e-16)")
    ax.set_title("Rosenbrock: the value at every step")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower left")
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
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="Slow convergence and adaptive learning rates: SGD, momentum, RMSprop, Adam",
    summary="SGD, momentum, RMSprop and Adam on Rosenbrock's valley (paths, loss per step), "
            "then on moons",
    idea="Plain gradient descent can converge slowly: in a long narrow valley the gradient "
         "points mostly across it, so steps large enough to move along the floor would bounce "
         "off the walls. Momentum accumulates the consistent direction; adaptive methods "
         "(RMSprop, Adam) scale each parameter's step by the size of its recent gradients, an "
         "adaptive learning rate per weight.",
    run=run,
)
