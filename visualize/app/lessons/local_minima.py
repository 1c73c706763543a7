"""Lesson ``local-minima``: one network from many seeds, where each one ends, and what helps.

The smallest network that can compute XOR, ``MLP(2, [2, 1])`` with tanh,
trained on the four XOR points with the mean squared error and plain gradient
descent from 30 seeds (30 different initial weights). Most seeds reach a loss
near 0; some stop in a local minimum where one point stays wrong (loss 1/8)
or on a plateau (loss 1/4). A 1-D slice of the loss along the straight line
between two solutions shows the hills between valleys. The same seeds with
momentum, and restarts (keep the best of 3 seeds), show what changes.

Every step is compiled (:func:`autograd.compile`): the loss of the four points
and its backward pass run as straight-line code, since the graph never changes.
"""

from __future__ import annotations

from typing import Any

import autograd
import nn
from visualize.app.lessons._base import Context, Lesson, new_figure

NAME = "local-minima"
X = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
Y = [0.0, 1.0, 1.0, 0.0]
SEEDS = 30
STEPS = 1000
SOLVED = 0.01  # a loss below this gets all four points right by a wide margin


def train(seed: int, momentum: float, lr: float = 0.1, steps: int = STEPS) -> tuple[nn.MLP,
                                                                                    list[float]]:
    """Train one XOR network from ``seed``; return it and its loss per step."""
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


def loss_at(model: nn.MLP, params: list[float]) -> float:
    """The XOR loss of ``model``'s architecture with the parameter vector ``params``."""
    for p, v in zip(model.parameters(), params):
        p.data = v
    return float(nn.mse_loss(model.predict(X), Y).data)


def run(ctx: Context) -> None:
    """Train from many seeds with and without momentum; slice the loss between solutions."""
    seeds = [ctx.seed * 1000 + k for k in range(SEEDS)]
    plain = [train(s, 0.0) for s in seeds]
    heavy = [train(s, 0.9) for s in seeds]
    final_plain = [h[-1] for _, h in plain]
    final_mom = [h[-1] for _, h in heavy]
    ok_plain = sum(v < SOLVED for v in final_plain)
    ok_mom = sum(v < SOLVED for v in final_mom)
    stuck = sorted({round(v, 3) for v in final_plain if v >= SOLVED})
    triples = [final_plain[i:i + 3] for i in range(0, SEEDS, 3)]
    ok_restart = sum(min(t) < SOLVED for t in triples)
    ctx.echo(f"  plain SGD: {ok_plain}/{SEEDS} seeds solve XOR; stuck at {stuck}")
    ctx.echo(f"  momentum 0.9: {ok_mom}/{SEEDS}; best of 3 restarts: {ok_restart}/{len(triples)}")
    # the slices: between two solved seeds, and from a stuck seed to a solved one
    good = [k for k, v in enumerate(final_plain) if v < SOLVED]
    bad = [k for k, v in enumerate(final_plain) if v >= SOLVED]
    probe = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    vec = [[p.data for p in m.parameters()] for m, _ in plain]
    alphas = [-0.25 + 1.5 * i / 60 for i in range(61)]

    def slice_(a: int, b: int) -> list[float]:
        return [loss_at(probe, [(1 - t) * u + t * v for u, v in zip(vec[a], vec[b])])
                for t in alphas]

    slices: dict[str, list[float]] = {}
    barrier = None
    if len(good) >= 2:
        g2 = slice_(good[0], good[1])
        slices[f"seed {seeds[good[0]]} → seed {seeds[good[1]]} (both solved)"] = g2
        barrier = max(g2[10:51])
    if bad and good:
        slices[f"seed {seeds[bad[0]]} (stuck) → seed {seeds[good[0]]} (solved)"] = \
            slice_(bad[0], good[0])
    ctx.measure(final_plain=final_plain, final_momentum=final_mom, solved_plain=ok_plain,
                solved_momentum=ok_mom, solved_restarts=ok_restart, restart_groups=len(triples),
                stuck_losses=stuck, seeds=SEEDS, barrier=barrier,
                endpoints=[final_plain[good[0]], final_plain[good[1]]] if len(good) >= 2
                else None)
    ctx.claim(f"the same network and data from {SEEDS} seeds: plain gradient descent "
              f"({STEPS} steps, rate 0.1) solves XOR (loss < {SOLVED}) from {ok_plain} seeds; "
              f"{SEEDS - ok_plain} stop at losses {', '.join(f'{v:g}' for v in stuck)} "
              f"(1/8 = one point wrong)")
    if barrier is not None:
        ctx.claim(f"between two solutions (losses {final_plain[good[0]]:.1e} and "
                  f"{final_plain[good[1]]:.1e}) the straight line climbs to loss {barrier:.3f}: "
                  "they lie in different valleys, with a hill between")
    ctx.claim(f"momentum 0.9 on the same seeds solves {ok_mom}/{SEEDS}; restarts (keep the best "
              f"of 3 seeds) solve {ok_restart}/{len(triples)} groups")
    ctx.save(_spread(final_plain, final_mom), "final_losses.svg",
             f"where each of the {SEEDS} seeds ends: final loss per seed, plain gradient "
             "descent and with momentum")
    ctx.save(_curves(plain), "loss_curves.svg",
             "the loss of every seed during training (plain gradient descent): most fall to 0, "
             "some flatten out in a local minimum")
    if slices:
        ctx.save(_slices(alphas, slices), "loss_slice.svg",
                 "the loss along the straight line between two trained networks' weights "
                 "(0 and 1 are the two solutions; in between, a hill)")


def _spread(plain: list[float], mom: list[float]) -> Any:
    fig = new_figure(7.0, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    floor = 1e-6
    for k, (_name, values, colour) in enumerate((("plain", plain, "#4575b4"),
                                                ("momentum 0.9", mom, "#d73027"))):
        xs = [k + 0.3 * ((i * 7) % 11 / 10 - 0.5) for i in range(len(values))]
        ax.scatter(xs, [max(v, floor) for v in values], s=22, color=colour, edgecolors="black",
                   linewidths=0.4, zorder=3)
        ok = sum(v < SOLVED for v in values)
        ax.text(k, floor * 3, f"{ok}/{len(values)} solved", ha="center", fontsize=9)
    ax.axhline(SOLVED, color="grey", linestyle=":", linewidth=1)
    ax.text(1.45, SOLVED * 1.3, f"solved (< {SOLVED})", fontsize=8, color="grey", ha="right")
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, 1)
    ax.set_xticks([0, 1])
    ax.set_xticklabels(["plain gradient descent", "with momentum 0.9"])
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylabel(f"final loss after {STEPS} steps (log; < 1e-6 drawn at 1e-6)")
    ax.set_title(f"XOR with MLP(2, [2, 1]), tanh: {len(plain)} seeds")
    ax.grid(True, axis="y", which="both", alpha=0.25)
    fig.tight_layout()
    return fig


def _curves(runs: list[tuple[Any, list[float]]]) -> Any:
    fig = new_figure(7.0, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    for _, losses in runs:
        stuck = losses[-1] >= SOLVED
        ax.plot(range(len(losses)), [max(v, 1e-6) for v in losses],
                color="#d73027" if stuck else "#4575b4", alpha=0.9 if stuck else 0.35,
                linewidth=1.4 if stuck else 0.8)
    ax.plot([], [], color="#4575b4", label="solved")
    ax.plot([], [], color="#d73027", label="stuck in a local minimum")
    ax.set_yscale("log")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("loss (mean squared error, log; < 1e-6 drawn at 1e-6)")
    ax.set_title("every seed's loss during training")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig


def _slices(alphas: list[float], slices: dict[str, list[float]]) -> Any:
    fig = new_figure(7.0, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    for name, ys in slices.items():
        ax.plot(alphas, ys, label=name)
    for t in (0.0, 1.0):
        ax.axvline(t, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("t: weights = (1 - t) · first + t · second")
    ax.set_ylabel("loss (mean squared error)")
    ax.set_title("a 1-D slice of the loss surface between two trained networks")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="Local minima: the same network from many seeds",
    summary="one XOR network from 30 seeds: the spread of final losses, a slice between two "
            "solutions, momentum and restarts",
    idea="Gradient descent only goes downhill from where it starts. The loss surface of a "
         "neural network has many valleys, and a run can settle in one whose bottom is not the "
         "lowest: a local minimum, a suboptimal solution. Different random initial weights "
         "end in different valleys; momentum can roll through small dips, and restarting from "
         "several seeds keeps the best.",
    run=run,
)
