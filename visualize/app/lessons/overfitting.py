"""Lesson ``overfitting``: few noisy points, a large network, and three fixes.

30 noisy moons points: 20 train an ``MLP(2, [32, 32, 1])`` (1185 parameters,
about sixty per point) with Adam, full batch, for 300 epochs; the other 10
are the validation split, carved from the training data, that early stopping
watches. 300 fresh points from the same distribution are the test set: never
trained on, never used to choose anything, only reported. The training loss
falls to ~0 while the validation loss turns up: the network memorises the
noise. Three fixes are measured against it on the test set: an L2 penalty,
early stopping and ten times more data. Every training loss shown is the
data loss alone; the L2 penalty is drawn apart.
"""

from __future__ import annotations

from typing import Any

import nn
from visualize import palette
from visualize.app.lessons._base import Context, Lesson, new_figure

NAME = "overfitting"
EPOCHS = 300
L2 = 3e-3
PATIENCE = 20
N_FEW, N_MORE, N_TEST = 30, 300, 300
VAL_FRACTION = 1 / 3
HIDDEN = [32, 32]
NOISE = 0.3


def data(n: int, seed: int) -> tuple[list[list[float]], list[int]]:
    """``n`` noisy moons points (noise :data:`NOISE`) for ``seed``."""
    X, y = nn.data.make_moons(n, noise=NOISE, seed=seed)
    return [list(map(float, x)) for x in X], list(y)


def test_set(seed: int) -> tuple[list[list[float]], list[int]]:
    """The lesson's test set: :data:`N_TEST` points drawn apart from every training set."""
    return data(N_TEST, 10_000 + seed)


def penalty(model: nn.MLP) -> float:
    """``sum(p²)`` over the model's parameters (times ``l2``: what fit adds to the loss)."""
    return sum(p.data * p.data for p in model.parameters())


def train(n: int, l2: float, patience: int | None, seed: int) -> dict[str, Any]:
    """Train one network on ``n`` points (a third held out for validation); return the run.

    Returns:
        ``{"model", "history", "fit", "val", "data_loss", "penalty"}``: the data loss per
        epoch is fit's training objective minus ``l2 * sum(p²)`` of the weights it was
        computed with (full batch: one step per epoch, loss before the step).
    """
    X, y = data(n, seed)
    Xf, Xv, yf, yv = nn.data.train_test_split(X, y, test_size=VAL_FRACTION, seed=seed)
    model = nn.MLP(2, [*HIDDEN, 1], seed=seed)
    squares = [penalty(model)]

    def record(epoch: int, history: nn.History) -> None:
        squares.append(penalty(model))

    h = nn.fit(model, Xf, yf, epochs=EPOCHS, optimizer="adam", lr=0.01, l2=l2,
               validation_data=(Xv, yv), early_stopping=patience, progress=False,
               seed=seed, pause_gc=True, compile=True,
               callbacks=[record])
    pen = [l2 * s for s in squares[:len(h.loss)]]
    return {"model": model, "history": h, "fit": (Xf, yf), "val": (Xv, yv),
            "data_loss": [t - p for t, p in zip(h.loss, pen)], "penalty": pen}


def run(ctx: Context) -> None:
    """Train with no fix, L2, early stopping and more data; measure on the test set; draw."""
    Xte, yte = test_set(ctx.seed)
    settings = {"no fix": (N_FEW, 0.0, None), f"L2 {L2:g}": (N_FEW, L2, None),
                "early stopping": (N_FEW, 0.0, PATIENCE),
                f"{N_MORE // N_FEW}× more data": (N_MORE, 0.0, None)}
    runs = {name: train(n, l2, pat, ctx.seed) for name, (n, l2, pat) in settings.items()}
    result: dict[str, dict[str, Any]] = {}
    for name, r in runs.items():
        tl, ta = nn.evaluate(r["model"], *r["fit"])
        sl, sa = nn.evaluate(r["model"], Xte, yte)
        result[name] = {"train_loss": tl, "test_loss": sl, "gap": sl - tl,
                        "train_accuracy": ta or 0.0, "test_accuracy": sa or 0.0,
                        "epochs": r["history"].epochs_run, "n_train": len(r["fit"][0]),
                        "params": [p.data for p in r["model"].parameters()]}
        ctx.echo(f"  {name}: train data loss {tl:.3f} ({100 * (ta or 0):.0f}%), test loss "
                 f"{sl:.3f} ({100 * (sa or 0):.0f}%), gap {sl - tl:.3f}, "
                 f"{r['history'].epochs_run} epochs")
    plain = runs["no fix"]
    hv = plain["history"].val_loss
    best = min(range(len(hv)), key=hv.__getitem__)
    early = runs["early stopping"]["history"]
    ctx.measure(runs=result, plain_best_val_epoch=best + 1, plain_best_val_loss=hv[best],
                plain_final_val_loss=hv[-1], plain_first_train_loss=plain["data_loss"][0],
                plain_final_train_loss=plain["data_loss"][-1],
                early_best_epoch=early.best_epoch, early_val_loss=list(early.val_loss),
                l2_penalty_final=runs[f"L2 {L2:g}"]["penalty"][-1],
                n_train=len(plain["fit"][0]), n_val=len(plain["val"][0]), n_test=len(Xte),
                parameters=plain["model"].num_parameters(), seed=ctx.seed)
    r0 = result["no fix"]
    ctx.claim(f"{len(plain['fit'][0])} noisy training points, "
              f"{plain['model'].num_parameters()} parameters: the training data loss falls from "
              f"{plain['data_loss'][0]:.3f} to {plain['data_loss'][-1]:.4f} in {EPOCHS} epochs "
              f"while the validation loss ({len(plain['val'][0])} points carved from the "
              f"training data) bottoms out at {hv[best]:.3f} in epoch {best + 1} and climbs to "
              f"{hv[-1]:.3f}: memorised")
    ctx.claim(f"measured on {len(Xte)} test points never used in training or in choosing: no "
              f"fix has test loss {r0['test_loss']:.3f} ({100 * r0['test_accuracy']:.0f}%), "
              f"gap {r0['gap']:.3f} over its training loss; "
              + "; ".join(f"{k}: {v['test_loss']:.3f} ({100 * v['test_accuracy']:.0f}%), gap "
                          f"{v['gap']:.3f}" for k, v in result.items() if k != "no fix"))
    ctx.claim(f"early stopping (patience {PATIENCE}) kept epoch {early.best_epoch}, the lowest "
              f"validation loss it saw ({min(early.val_loss):.3f}) before {PATIENCE} epochs "
              f"without a better one, and stopped after {early.epochs_run}; the test set played "
              "no part in that choice")
    ctx.playground("the same memorisation on 30 moons points with the largest network the "
                   "playground draws (two layers of 8); switch on L2 and watch the test loss:",
                   dataset="moons", n_points=N_FEW, noise=NOISE, train_ratio=0.67,
                   hidden=[8, 8], activation="relu", optimizer="adam", lr=0.01,
                   batch_size=20, show_test=True, seed=ctx.seed, data_seed=ctx.seed)
    ctx.note(f"The L2 run's training curve is its data loss alone; the penalty {L2:g} × Σp² is "
             "drawn apart, so that the curves compare like with like.")
    ctx.save(_curves(runs), "loss_curves.svg",
             "left: training data loss (solid) and validation loss (dashed) per epoch; without "
             "a fix they part ways. Right: the L2 run's penalty, apart from its data loss")
    ctx.save(_boundaries(runs, result, Xte, yte), "boundaries.svg",
             "what each network learned, side by side: filled dots are its training points, "
             "small rings the test points; the unfixed boundary bends around single noisy points")


def _curves(runs: dict[str, dict[str, Any]]) -> Any:
    fig = new_figure(11.0, 4.2)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, (name, r) in enumerate(runs.items()):
        c = palette.SERIES[i]
        h = r["history"]
        xs = list(range(1, h.epochs_run + 1))
        left.plot(xs, [max(v, 1e-4) for v in r["data_loss"]], "-", color=c,
                  label=f"{name}: training data loss")
        left.plot(xs, h.val_loss, "--", color=c, label=f"{name}: validation loss")
        if any(r["penalty"]):
            right.plot(xs, r["penalty"], "-", color=c, label=f"{name}: penalty l2 × Σp²")
    left.set_yscale("log")
    left.set_xlabel("epoch")
    left.set_ylabel("loss (binary cross-entropy, no penalty; log)")
    left.set_title("training loss falls, validation loss rises")
    left.grid(True, which="both", alpha=0.25)
    left.legend(fontsize=6.5, loc="lower left", ncol=2, title="colour: the run",
                title_fontsize=7)
    right.set_xlabel("epoch")
    right.set_ylabel("L2 penalty added to the objective")
    right.set_title("the penalty, apart from the data loss")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _boundaries(runs: dict[str, dict[str, Any]], result: dict[str, dict[str, Any]],
                Xte: list[list[float]], yte: list[int]) -> Any:
    from matplotlib.colors import ListedColormap

    pts = list(Xte) + [p for r in runs.values() for p in r["fit"][0]]
    lo0, hi0 = min(p[0] for p in pts) - 0.3, max(p[0] for p in pts) + 0.3
    lo1, hi1 = min(p[1] for p in pts) - 0.3, max(p[1] for p in pts) + 0.3
    n = 50
    gx = [lo0 + (hi0 - lo0) * i / (n - 1) for i in range(n)]
    gy = [lo1 + (hi1 - lo1) * j / (n - 1) for j in range(n)]
    fig = new_figure(16.0, 4.4)
    fills = ListedColormap([palette.NEGATIVE_FILL, palette.POSITIVE_FILL])
    for k, (name, r) in enumerate(runs.items()):
        ax = fig.add_subplot(1, len(runs), k + 1)
        scores = r["model"].predict([[x, yy] for yy in gy for x in gx])
        grid = [[1.0 if scores[j * n + i] > 0 else 0.0 for i in range(n)] for j in range(n)]
        ax.contourf(gx, gy, grid, levels=[-0.5, 0.5, 1.5], cmap=fills, alpha=0.8)
        Xf, yf = r["fit"]
        for label in (0, 1):
            colour = palette.CLASS_COLOURS[label]
            ax.scatter([p[0] for p, t in zip(Xte, yte) if t == label],
                       [p[1] for p, t in zip(Xte, yte) if t == label], s=10,
                       facecolors="none", edgecolors=colour, linewidths=0.6,
                       label=f"class {label}, test")
            ax.scatter([p[0] for p, t in zip(Xf, yf) if t == label],
                       [p[1] for p, t in zip(Xf, yf) if t == label], s=36 if k < 3 else 14,
                       c=colour, edgecolors="black", linewidths=0.7,
                       label=f"class {label}, training")
        ax.set_xlim(lo0, hi0)
        ax.set_ylim(lo1, hi1)
        ax.set_xlabel("x1")
        if k == 0:
            ax.set_ylabel("x2")
            ax.legend(fontsize=7, loc="lower left",
                      title="red = class 1, blue = class 0", title_fontsize=7)
        v = result[name]
        ax.set_title(f"{name}\ntrain {v['train_loss']:.3f}, test {v['test_loss']:.3f} "
                     f"(gap {v['gap']:.3f})", fontsize=9)
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="Overfitting: when the training loss lies",
    summary="20 noisy points, 1185 parameters: training loss falls, validation loss rises; L2, "
            "early stopping and more data, measured on a test set",
    idea="A network with many more weights than training examples can memorise the training "
         "data, noise included, instead of learning the pattern: overfitting. Its training loss "
         "keeps falling while its loss on fresh, unseen data gets worse. Penalising large "
         "weights (L2), stopping when the loss on a validation split carved from the training "
         "data stops improving (early stopping), or simply more data keep it from fitting the "
         "noise; a test set that none of these choices saw tells whether they worked.",
    run=run,
)
