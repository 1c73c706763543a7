"""Lesson ``local-minima``: a plateau is not a local minimum, and how to tell them apart.

Two small problems, each measured the same three ways (gradient norm, the
eigenvalues of the Hessian from :func:`autograd.func.hessian`, and the loss
against the best found), then trained on:

* XOR with the smallest network that computes it, ``MLP(2, [2, 1])`` (tanh),
  from 30 seeds: some seeds stop falling after 1000 steps. They are on
  plateaus (saddle regions): their gradient is small but not zero, their
  Hessian has a negative eigenvalue (a way down), and trained on they leave.
* One tanh neuron ``tanh(w x + b)`` fitted to five noisy points: its loss
  surface has two valleys. Gradient descent from a grid of starts ends in one
  or the other; the worse valley's bottom is a true local minimum (gradient
  ~1e-16, both Hessian eigenvalues positive, loss above the best), and
  training on changes nothing there. Restarts help; patience does not.

Every step is compiled (:func:`autograd.compile`): the loss and its backward
pass run as straight-line code, since the graph never changes.
"""

from __future__ import annotations

import math
from typing import Any

import autograd
import nn
from autograd import func
from visualize import palette
from visualize.app.lessons._base import Context, Lesson, new_figure

NAME = "local-minima"
X = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
Y = [0.0, 1.0, 1.0, 0.0]
SEEDS = 30
STEPS = 1000
LONGER = 10           # "training on": this many times the steps
SOLVED = 0.01         # a loss below this gets all four points right by a wide margin
FLAT = 1e-6           # a gradient norm below this counts as zero
#: the neuron's five points (x, target in -1/+1): two share x = -0.1 with opposite labels
POINTS = [(-0.1, 1.0), (-0.1, -1.0), (0.0, 1.0), (0.6, -1.0), (1.9, 1.0)]
GRID = [-3.0, -1.5, 0.0, 1.5, 3.0]   # the neuron's starts: every (w0, b0) of GRID x GRID
NEURON_LR, NEURON_STEPS = 0.5, 1500


def train(seed: int, momentum: float, lr: float = 0.1, steps: int = STEPS) -> tuple[nn.MLP,
                                                                                    list[float]]:
    """Train one XOR network from ``seed``; return it and its loss per step (and the last)."""
    model = nn.MLP(2, [2, 1], activation="tanh", seed=seed)

    def loss() -> autograd.Value:
        return nn.mse_loss(model.forward_batch(X, scopes=False), Y)

    step = autograd.compile(loss)
    opt = nn.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        losses.append(float(step()))
        opt.step()
    losses.append(float(step.forward()))
    return model, losses


def xor_loss(*p: Any) -> Any:
    """The XOR mean squared error of ``MLP(2, [2, 1])`` (tanh) as a function of its 9 parameters.

    The parameters are in ``model.parameters()`` order: hidden neuron 1 (w1, w2, b),
    hidden neuron 2 (w1, w2, b), output (v1, v2, c).
    """
    total: Any = 0.0
    for (x1, x2), y in zip(X, Y):
        h1 = (p[0] * x1 + p[1] * x2 + p[2]).tanh()
        h2 = (p[3] * x1 + p[4] * x2 + p[5]).tanh()
        total = total + (p[6] * h1 + p[7] * h2 + p[8] - y) ** 2
    return total / len(X)


def neuron_loss(w: Any, b: Any) -> Any:
    """The mean squared error of one neuron ``tanh(w x + b)`` on :data:`POINTS`."""
    total: Any = 0.0
    for x, t in POINTS:
        total = total + ((w * x + b).tanh() - t) ** 2
    return total / len(POINTS)


def neuron_value(w: float, b: float) -> float:
    """:func:`neuron_loss` at the numbers ``(w, b)``, as a float."""
    return float(neuron_loss(autograd.Value(w), autograd.Value(b)).data)


def descend_neuron(w0: float, b0: float, steps: int = NEURON_STEPS,
                   lr: float = NEURON_LR) -> list[tuple[float, float]]:
    """Plain gradient descent on :func:`neuron_loss` from ``(w0, b0)``; return the path."""
    w, b = autograd.Value(w0), autograd.Value(b0)
    step = autograd.compile(lambda: neuron_loss(w, b))
    opt = nn.optim.SGD([w, b], lr=lr)
    path = [(w.data, b.data)]
    for _ in range(steps):
        opt.zero_grad()
        step()
        opt.step()
        path.append((w.data, b.data))
    return path


def inspect(f: Any, point: list[float]) -> dict[str, Any]:
    """Measure ``f`` at ``point``: its value, gradient norm and the Hessian's eigenvalues.

    Returns:
        ``{"loss", "grad_norm", "eigenvalues" (ascending), "lowest_direction"}``:
        the last is the unit eigenvector of the smallest eigenvalue.
    """
    import numpy as np  # matplotlib, which every lesson needs, brings NumPy

    nums = tuple(range(len(point)))
    value, grads = func.value_and_grad(f, argnums=nums)(*point)
    vals, vecs = np.linalg.eigh(np.array(func.hessian(f, argnums=nums)(*point)))
    return {"loss": value, "grad_norm": math.sqrt(sum(g * g for g in grads)),
            "eigenvalues": [float(v) for v in vals],
            "lowest_direction": [float(v) for v in vecs[:, 0]]}


def xor_run(point: dict[str, Any], seed: int) -> dict[str, Any]:
    """One XOR run for ``nn.sweep``: ``point["steps"]`` steps from ``seed``."""
    model, losses = train(seed, 0.0, steps=point["steps"])
    return {"losses": losses, "params": [p.data for p in model.parameters()]}


def neuron_run(point: dict[str, Any], seed: int) -> dict[str, Any]:
    """One neuron descent for ``nn.sweep`` from ``(point["w0"], point["b0"])``."""
    return {"path": descend_neuron(point["w0"], point["b0"], steps=point["steps"])}


def xor_outputs(params: list[float]) -> list[float]:
    """The XOR network's four outputs with the parameters ``params``."""
    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    for p, v in zip(model.parameters(), params):
        p.data = v
    return [float(o) for o in model.predict(X)]


def _plateaus(ctx: Context) -> tuple[list[list[float]], list[int], list[list[float]]]:
    seeds = [ctx.seed * 1000 + k for k in range(SEEDS)]
    rows = ctx.sweep(xor_run, {"steps": [STEPS]}, seeds=seeds)
    final = [r["losses"][-1] for r in rows]
    stuck = [k for k, v in enumerate(final) if v >= SOLVED]
    found = [inspect(xor_loss, rows[k]["params"]) for k in stuck]
    outputs = [xor_outputs(rows[k]["params"]) for k in stuck]
    more = ctx.sweep(xor_run, {"steps": [LONGER * STEPS]}, seeds=[seeds[k] for k in stuck])
    longer = {k: r["losses"] for k, r in zip(stuck, more)}
    escaped = [k for k in stuck if longer[k][-1] < SOLVED]
    falling = [k for k in stuck if longer[k][-1] < final[k]]
    near_half = [sum(abs(o - 0.5) < 0.1 for o in out) for out in outputs]
    ctx.measure(seeds=SEEDS, final_plain=final, solved_plain=SEEDS - len(stuck),
                stuck_seeds=[seeds[k] for k in stuck], stuck_losses=[final[k] for k in stuck],
                stuck_grad_norm=[f["grad_norm"] for f in found],
                stuck_eigenvalues=[f["eigenvalues"] for f in found],
                stuck_lowest_direction=[f["lowest_direction"] for f in found],
                stuck_params=[rows[k]["params"] for k in stuck],
                stuck_outputs=outputs, stuck_longer_final=[longer[k][-1] for k in stuck],
                escaped=len(escaped), still_falling=len(falling))
    ctx.claim(f"XOR, MLP(2, [2, 1]) tanh, {SEEDS} seeds, {STEPS} steps of plain gradient descent "
              f"(rate 0.1): {SEEDS - len(stuck)} reach loss < {SOLVED}; {len(stuck)} stop near "
              f"{', '.join(sorted({f'{final[k]:.3f}' for k in stuck}))} with outputs within 0.1 "
              f"of 0.5 on {', '.join(str(n) for n in near_half)} of the 4 points (two outputs at "
              "0.5 give 2 × 0.25 / 4 = 0.125, four give 0.25)")
    if stuck:
        gmin = min(f["grad_norm"] for f in found)
        emin = max(f["eigenvalues"][0] for f in found)
        ctx.claim(f"those {len(stuck)} are not local minima: gradient norm ≥ {gmin:.1e} "
                  f"(not < {FLAT:g}) and every one's Hessian has a negative eigenvalue "
                  f"(the least negative is {emin:.2e}): a direction that still goes down")
        ctx.claim(f"trained on to {LONGER * STEPS} steps, {len(escaped)} of the {len(stuck)} "
                  f"reach loss < {SOLVED} and {len(falling)} of {len(stuck)} end lower than "
                  "they were: plateaus, left by patience")
    return [r["losses"] for r in rows], [seeds[k] for k in stuck], [longer[k] for k in stuck]


def _minimum(ctx: Context) -> tuple[list[list[tuple[float, float]]], list[dict[str, Any]]]:
    rows = ctx.sweep(neuron_run, {"w0": list(GRID), "b0": list(GRID), "steps": [NEURON_STEPS]})
    paths = [[tuple(p) for p in r["path"]] for r in rows]
    ends: list[dict[str, Any]] = []
    for path in paths:
        w, b = path[-1]
        if all(math.dist((w, b), e["point"]) > 1e-3 for e in ends):
            ends.append({"point": (w, b), **inspect(neuron_loss, [w, b])})
    valleys = sorted((e for e in ends if e["grad_norm"] < FLAT and e["eigenvalues"][0] > 0),
                     key=lambda e: e["loss"])
    for e in valleys:
        e["starts"] = sum(math.dist(p[-1], e["point"]) <= 1e-3 for p in paths)
    best, worst = valleys[0], valleys[-1]
    w_end, b_end = worst["point"]
    on = descend_neuron(w_end, b_end, steps=LONGER * NEURON_STEPS)[-1]
    drift = abs(neuron_value(*on) - worst["loss"])
    others = len(paths) - sum(e["starts"] for e in valleys)
    ctx.measure(minima=[{k: e[k] for k in ("point", "loss", "grad_norm", "eigenvalues", "starts")}
                        for e in valleys], starts=len(paths), other_ends=others,
                longer_drift=drift)
    ctx.claim(f"one tanh neuron on five noisy points, gradient descent from {len(paths)} starts: "
              f"{best['starts']} end at loss {best['loss']:.4f} (the best found), "
              f"{worst['starts']} at loss {worst['loss']:.4f}"
              + (f", {others} drift off towards saturation" if others else ""))
    ctx.claim(f"the second is a true local minimum: gradient norm {worst['grad_norm']:.1e} "
              f"(< {FLAT:g}), Hessian eigenvalues {worst['eigenvalues'][0]:.3f} and "
              f"{worst['eigenvalues'][1]:.3f} (both > 0: uphill every way), loss "
              f"{worst['loss']:.4f} > {best['loss']:.4f}; {LONGER}× more steps change its loss "
              f"by {drift:.1e}: only a restart from another start gets out")
    return paths, valleys


def run(ctx: Context) -> None:
    """Measure XOR's plateaus and a neuron's local minimum; draw both."""
    curves, stuck, longer = _plateaus(ctx)
    paths, valleys = _minimum(ctx)
    ctx.playground("XOR with two tanh hidden units and plain SGD; change the seed and watch "
                   "some runs sit on a plateau before they leave it:",
                   dataset="xor", n_points=200, noise=0.1, hidden=[2], activation="tanh",
                   optimizer="sgd", lr=0.1, batch_size=10, seed=ctx.seed,
                   data_seed=ctx.seed)
    ctx.note("How to tell them apart: a small loss change per step looks the same on a plateau "
             "and in a minimum, which is why the two are confused. Measure instead: at a local "
             f"minimum the gradient norm is ~0 (< {FLAT:g}) and every Hessian eigenvalue is ≥ 0; "
             "on a plateau the gradient is small but not zero, and a negative eigenvalue shows "
             "the way down. Training on leaves a plateau; only a restart leaves a minimum.")
    ctx.save(_curves(curves, stuck, longer), "loss_curves.svg",
             f"every XOR seed's loss; the seeds stopped at {STEPS} steps, trained on to "
             f"{LONGER * STEPS}: the flat stretches end (a plateau), they were not minima")
    ctx.save(_eigen(ctx.measured["stuck_eigenvalues"], valleys), "hessian.svg",
             "the Hessian's eigenvalues where training stopped: each XOR plateau has one below "
             "0 (a way down); both valleys of the neuron have all above 0 (minima)")
    ctx.save(_surface(paths, valleys), "neuron_surface.svg",
             "the loss surface of one neuron: two valleys; gradient descent from each start "
             "(grey) ends at the bottom of the valley it started in")


def _curves(curves: list[list[float]], stuck: list[int], longer: list[list[float]]) -> Any:
    fig = new_figure(7.5, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    for losses in curves:
        if losses[-1] < SOLVED:
            ax.plot(range(len(losses)), [max(v, 1e-6) for v in losses], color=palette.MUTED,
                    alpha=0.4, linewidth=0.7)
    ax.plot([], [], color=palette.MUTED, label=f"solved within {STEPS} steps")
    for i, (seed, losses) in enumerate(zip(stuck, longer)):
        ax.plot(range(len(losses)), [max(v, 1e-6) for v in losses],
                color=palette.SERIES[i % len(palette.SERIES)], linewidth=1.5,
                label=f"seed {seed}: stopped at step {STEPS}, trained on")
    ax.axvline(STEPS, color="black", linestyle=":", linewidth=1)
    ax.text(STEPS * 1.05, 2e-6, f"step {STEPS}: where the first run stopped", fontsize=8)
    ax.set_yscale("log")
    ax.set_xscale("symlog", linthresh=100)
    ax.set_xlim(0, LONGER * STEPS)
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("loss (mean squared error; < 1e-6 drawn at 1e-6)")
    ax.set_title("XOR: the flat stretches are plateaus")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower left", title="colour: one per stopped seed",
              title_fontsize=8)
    fig.tight_layout()
    return fig


def _eigen(xor: list[list[float]], valleys: list[dict[str, Any]]) -> Any:
    fig = new_figure(7.5, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    rows = [(f"XOR plateau {i + 1}", ev) for i, ev in enumerate(xor)]
    rows += [(f"neuron valley, loss {v['loss']:.3f}", v["eigenvalues"]) for v in valleys]
    for y, (_name, ev) in enumerate(rows):
        for e in ev:
            ax.scatter([e], [y], s=26, color=palette.signed(e), edgecolors="black",
                       linewidths=0.4, zorder=3)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r[0] for r in rows], fontsize=8)
    ax.set_xlabel("Hessian eigenvalue (symlog)")
    ax.scatter([], [], color=palette.POSITIVE, label="> 0: uphill that way")
    ax.scatter([], [], color=palette.NEGATIVE, label="< 0: downhill that way")
    ax.legend(fontsize=8, loc="upper left", title="red > 0, blue < 0", title_fontsize=8)
    ax.set_title("curvature where training stopped")
    ax.grid(True, axis="x", alpha=0.25)
    fig.tight_layout()
    return fig


def _surface(paths: list[list[tuple[float, float]]], valleys: list[dict[str, Any]]) -> Any:
    fig = new_figure(6.5, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    ws = [-4.0 + 8.0 * i / 80 for i in range(81)]
    bs = [-4.0 + 8.0 * j / 80 for j in range(81)]
    zs = [[neuron_value(w, b) for w in ws] for b in bs]
    cs = ax.contourf(ws, bs, zs, levels=20, cmap="Greys")
    fig.colorbar(cs, ax=ax, label="loss (mean squared error)")
    for path in paths:
        ax.plot([p[0] for p in path], [p[1] for p in path], color=palette.SERIES[6],
                linewidth=0.6, alpha=0.8)
        ax.plot(*path[0], marker=".", color=palette.SERIES[6], markersize=4)
    names = ("best valley", "local minimum")
    for i, v in enumerate(valleys[:2]):
        ax.plot(*v["point"], marker="*", markersize=14, color=palette.SERIES[i],
                markeredgecolor="black", linestyle="none",
                label=f"{names[min(i, 1)]}: loss {v['loss']:.3f} ({v['starts']} starts)")
    ax.plot([], [], color=palette.SERIES[6], label="gradient-descent paths")
    ax.set_xlim(-4, 4)
    ax.set_ylim(-4, 4)
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    ax.set_title("tanh(w x + b) on five noisy points: two valleys")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="Local minima and plateaus: how to tell them apart",
    summary="XOR's stuck seeds are plateaus (negative curvature, left by training on); one "
            "neuron's second valley is a true local minimum (gradient 0, Hessian > 0)",
    idea="When the loss stops falling, learners say the network is stuck in a local minimum. "
         "Often it is not: a plateau or saddle region also has a tiny gradient and a loss that "
         "barely moves, but it has a way down, and gradient descent finds it if it keeps going. "
         "A local minimum is a valley bottom: zero gradient, curving up in every direction "
         "(every eigenvalue of the Hessian at least 0), and a loss above the best one. "
         "Patience leaves a plateau; only a restart leaves a minimum.",
    run=run,
)
