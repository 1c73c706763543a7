"""Lesson ``learning-rate``: one problem, four learning rates: slow, right, oscillating, diverging.

The problem is a line fit, ``y ≈ w·x + b`` with the mean squared error over 20
noisy points: two parameters, so the loss is a surface over the ``(w, b)``
plane that can be drawn as contours. Its Hessian, computed with
:func:`autograd.func.hessian`, has eigenvalues ``λmin <= λmax``: plain
gradient descent converges for rates below ``2/λmax`` and diverges above it,
and below ``1/λmax`` no step overshoots the valley floor. The lesson runs
``weight -= rate · gradient`` (``nn.optim.SGD``) with rates relative to these,
from the same start, and measures each run's loss.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import nn
from autograd import Value, func
from visualize import palette
from visualize.app.lessons._base import Context, Lesson, new_figure
from visualize.app.lessons._player import write_player

NAME = "learning-rate"
STEPS = 40
START = (-1.0, 5.0)


def data(seed: int, n: int = 20) -> tuple[list[float], list[float]]:
    """Return ``n`` points of ``y = 2x + 1 + noise`` at evenly spaced ``x`` in [-0.5, 1.5]."""
    rng = random.Random(seed)
    xs = [-0.5 + 2.0 * i / (n - 1) for i in range(n)]
    return xs, [2.0 * x + 1.0 + rng.gauss(0.0, 0.3) for x in xs]


def loss_fn(xs: list[float], ys: list[float]) -> Any:
    """Return ``loss(w, b)``: the mean squared error of the line, as a Value."""
    def loss(w: Value, b: Value) -> Value:
        return nn.mse_loss([w * x + b for x in xs], ys)
    return loss


def descend(loss: Any, rate: float, steps: int = STEPS) -> tuple[list[tuple[float, float]],
                                                                   list[float]]:
    """Run ``steps`` of gradient descent from :data:`START`; return the path and the losses."""
    w, b = Value(START[0], label="w"), Value(START[1], label="b")
    opt = nn.optim.SGD([w, b], lr=rate)
    path, losses = [(w.data, b.data)], []
    for _ in range(steps):
        value = loss(w, b)
        losses.append(value.data)
        opt.zero_grad()
        value.backward()
        opt.step()
        path.append((w.data, b.data))
    losses.append(loss(w, b).data)
    return path, losses


def run(ctx: Context) -> None:
    """Measure the curvature, descend at four rates, draw the paths and the losses."""
    xs, ys = data(ctx.seed)
    loss = loss_fn(xs, ys)
    (hww, hwb), (_, hbb) = func.hessian(loss, argnums=(0, 1))(*START)
    mid, rad = (hww + hbb) / 2, math.sqrt(((hww - hbb) / 2) ** 2 + hwb ** 2)
    lmin, lmax = mid - rad, mid + rad
    critical, best = 2.0 / lmax, 1.0 / lmax
    # the least-squares line: the bottom of the bowl
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    w_opt = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    b_opt = my - w_opt * mx
    floor = loss(Value(w_opt), Value(b_opt)).data
    ctx.echo(f"  Hessian eigenvalues {lmin:.3f} and {lmax:.3f}: diverges above 2/λmax = "
             f"{critical:.3f}, no overshoot below 1/λmax = {best:.3f}")
    rates = {"too small": 0.05 * critical, "right": best,
             "large: oscillates": 0.98 * critical, "too large: diverges": 1.08 * critical}
    runs = {k: descend(loss, r) for k, r in rates.items()}
    final = {k: losses[-1] for k, (_, losses) in runs.items()}
    for k, r in rates.items():
        ctx.echo(f"  rate {r:.3f} ({k}): loss {runs[k][1][0]:.3f} -> {final[k]:.4g} "
                 f"after {STEPS} steps")
    # oscillation: how often the offset along the steep direction (λmax's eigenvector)
    # changes sign, i.e. a step jumps across the valley floor
    v0, v1 = lmax - hbb, hwb

    def flips(path: list[tuple[float, float]]) -> int:
        d = [(w - w_opt) * v0 + (b - b_opt) * v1 for w, b in path]
        return sum(1 for a, c in itertools.pairwise(d) if a * c < 0)

    osc = flips(runs["large: oscillates"][0])
    right_monotone = all(b < a for a, b in zip(runs["right"][1], runs["right"][1][1:]))
    def to_1pct(losses: list[float]) -> int | None:
        gap = losses[0] - floor
        return next((i for i, v in enumerate(losses) if v - floor <= 0.01 * gap), None)

    right_steps = to_1pct(runs["right"][1])
    small_excess = (final["too small"] - floor) / (runs["too small"][1][0] - floor)
    ctx.measure(lambda_min=lmin, lambda_max=lmax, critical_rate=critical, best_rate=best,
                rates=rates, final_loss=final, start_loss=runs["right"][1][0],
                min_loss=floor, sign_flips=osc, right_monotone=right_monotone, steps=STEPS,
                right_steps_to_1pct=right_steps,
                small_excess_left=small_excess)
    small, osc_key, div_key = "too small", "large: oscillates", "too large: diverges"
    ctx.claim(f"the Hessian of the loss (autograd.func.hessian) has eigenvalues {lmin:.3f} and "
              f"{lmax:.3f}, so rates above 2/λmax = {critical:.3f} must diverge, and up to "
              f"1/λmax = {best:.3f} no step overshoots the valley floor")
    every = "every" if right_monotone else "not every"
    ctx.claim(f"after {STEPS} steps from loss {runs['right'][1][0]:.2f}: rate {best:.3f} (right) "
              f"reaches {final['right']:.4f} (the minimum is {floor:.4f}; 99% of the way "
              f"after {right_steps} steps, its loss falling at {every} step); rate "
              f"{rates[small]:.3f} (too small) is still at {final[small]:.3f}, "
              f"{100 * small_excess:.0f}% of the way left")
    ctx.claim(f"rate {rates[osc_key]:.3f} (just below 2/λmax) oscillates: (w, b) jumps across "
              f"the valley on {osc} of {STEPS} steps, loss {final[osc_key]:.3f}; rate "
              f"{rates[div_key]:.3f} (just above) diverges to loss {final[div_key]:.3g}")
    colours = palette.SERIES[:4]
    player = write_player(
        ctx.out / "paths.html", title="the learning rate: four descents, step by step",
        intro=f"The same line fit from the same start at four learning rates ({STEPS} steps).",
        axes=("w", "b"), surface=lambda w, b: loss(Value(w), Value(b)).data,
        bounds=(-2.5, 5.0, -2.5, 5.5), minimum=(w_opt, b_opt),
        runs={f"{k} ({rates[k]:.3f})": (c, runs[k][0], runs[k][1])
              for k, c in zip(runs, colours)})
    ctx.add_file(player, "the four descents animated step by step (slider, play)", "page")
    ctx.save(_surface(loss, runs, rates, (w_opt, b_opt)), "trajectories.svg",
             "the loss surface over (w, b) as contours, and the path of (w, b) under each "
             "rate from the same start (black dot); the star is the minimum")
    ctx.save(_curves(runs, rates, floor), "loss_curves.svg",
             "the loss at every step for the four rates (log scale); the dotted line is the "
             "minimum")
    ctx.save(_fit(xs, ys, runs, rates), "fits.svg",
             "the data and the line each rate ends with after 40 steps")


def _grid(loss: Any, lo: tuple[float, float], hi: tuple[float, float], n: int = 60) -> Any:
    ws = [lo[0] + (hi[0] - lo[0]) * i / (n - 1) for i in range(n)]
    bs = [lo[1] + (hi[1] - lo[1]) * j / (n - 1) for j in range(n)]
    zs = [[loss(Value(w), Value(b)).data for w in ws] for b in bs]
    return ws, bs, zs


def _surface(loss: Any, runs: dict[str, Any], rates: dict[str, float],
             opt: tuple[float, float]) -> Any:
    lo, hi = (-2.5, -2.5), (5.0, 5.5)
    ws, bs, zs = _grid(loss, lo, hi)
    levels = [0.1 * 2 ** (k / 2) for k in range(20)]
    fig = new_figure(12.0, 3.6)
    for k, (name, (path, losses)) in enumerate(runs.items()):
        ax = fig.add_subplot(1, 4, k + 1)
        ax.contour(ws, bs, zs, levels=levels, cmap="Greys", linewidths=0.7)
        inside = [(w, b) for w, b in path if lo[0] <= w <= hi[0] and lo[1] <= b <= hi[1]]
        shown = path[: len(inside) + 1] if len(inside) < len(path) else path
        ax.plot([p[0] for p in shown], [p[1] for p in shown], "-o", color=palette.SERIES[k],
                markersize=2.5, linewidth=1)
        ax.plot(*START, "ko", markersize=5)
        ax.plot(*opt, "*", color="black", markersize=10)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel("w (slope)")
        if k == 0:
            ax.set_ylabel("b (intercept)")
        ax.set_title(f"{name}\nrate {rates[name]:.3f}, final loss {losses[-1]:.3g}", fontsize=9)
        if len(inside) < len(path):
            ax.text(0.03, 0.04, "leaves the picture", transform=ax.transAxes, fontsize=8,
                    color=palette.MUTED)
    fig.tight_layout()
    return fig


def _curves(runs: dict[str, Any], rates: dict[str, float], floor: float) -> Any:
    fig = new_figure(6.5, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    for name, (_, losses) in runs.items():
        ax.plot(range(len(losses)), losses, marker="o", markersize=2.5,
                label=f"{name} ({rates[name]:.3f})")
    ax.axhline(floor, color="black", linestyle=":", linewidth=1)
    ax.text(0, floor * 1.15, "minimum", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (mean squared error, log scale)")
    ax.set_title("loss per gradient-descent step")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="upper left", title="rate", title_fontsize=8)
    fig.tight_layout()
    return fig


def _fit(xs: list[float], ys: list[float], runs: dict[str, Any], rates: dict[str, float]) -> Any:
    fig = new_figure(6.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(xs, ys, s=14, color="black", label="data", zorder=3)
    for name, (path, _) in runs.items():
        if name.endswith("diverges"):
            continue
        w, b = path[-1]
        ax.plot([-0.5, 1.5], [b - 0.5 * w, 1.5 * w + b], label=f"{name}: y = {w:.2f}x + {b:.2f}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_ylim(min(ys) - 1.5, max(ys) + 1.5)
    ax.set_title("the line after 40 steps (the diverging rate is off the chart)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="The learning rate: too small, right, too large",
    summary="one problem at four learning rates: slow, right, oscillating, diverging; paths over "
            "the loss contours",
    idea="Gradient descent updates every weight by weight = weight - learning_rate * gradient. "
         "The learning rate sets the step size: too small and the loss creeps down; too large "
         "and each step overshoots the minimum, so the weights oscillate across the valley or "
         "fly off. The right rate depends on the curvature of the loss surface.",
    run=run,
)
