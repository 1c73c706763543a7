"""Lesson ``overfitting``: little noisy data, a large network, and two fixes.

30 noisy moons points train an ``MLP(2, [16, 16, 1])`` (337 parameters, eleven
per point) with Adam for 120 epochs; 100 more points from the same
distribution are held out for validation. The training loss falls towards 0
while the validation loss turns up after a few dozen epochs: the network
memorises the noise. An L2 penalty (``fit(l2=...)``) and early stopping
(``fit(early_stopping=patience)``, which restores the best epoch's weights)
are measured against it by the gap between validation and training loss.
"""

from __future__ import annotations

from typing import Any

import nn
from visualize.app.lessons._base import Context, Lesson, new_figure

NAME = "overfitting"
EPOCHS = 120
L2 = 1e-2
PATIENCE = 20


def run(ctx: Context) -> None:
    """Train plain, with L2 and with early stopping; measure the gaps; draw curves and fits."""
    X, y = nn.data.make_moons(130, noise=0.3, seed=ctx.seed)
    Xt, Xv, yt, yv = nn.data.train_test_split(X, y, test_size=100 / 130, seed=ctx.seed)
    runs: dict[str, tuple[nn.MLP, nn.History]] = {}
    for name, l2, patience in (("no fix", 0.0, None), (f"L2 {L2:g}", L2, None),
                               ("early stopping", 0.0, PATIENCE)):
        model = nn.MLP(2, [16, 16, 1], seed=ctx.seed)
        h = nn.fit(model, Xt, yt, epochs=EPOCHS, optimizer="adam", lr=0.01, l2=l2,
                   validation_data=(Xv, yv), early_stopping=patience, progress=False,
                   seed=ctx.seed, pause_gc=True)
        runs[name] = (model, h)
    result: dict[str, dict[str, float]] = {}
    for name, (model, h) in runs.items():
        tl, ta = nn.evaluate(model, Xt, yt)
        vl, va = nn.evaluate(model, Xv, yv)
        result[name] = {"train_loss": tl, "val_loss": vl, "gap": vl - tl,
                        "train_accuracy": ta or 0.0, "val_accuracy": va or 0.0,
                        "epochs": h.epochs_run}
        ctx.echo(f"  {name}: train loss {tl:.3f} ({100 * (ta or 0):.0f}%), validation loss "
                 f"{vl:.3f} ({100 * (va or 0):.0f}%), gap {vl - tl:.3f}, {h.epochs_run} epochs")
    plain = runs["no fix"][1]
    best = min(range(len(plain.val_loss)), key=plain.val_loss.__getitem__)
    ctx.measure(runs=result, plain_best_val_epoch=best + 1,
                plain_best_val_loss=plain.val_loss[best], plain_final_val_loss=plain.val_loss[-1],
                plain_first_train_loss=plain.loss[0], plain_final_train_loss=plain.loss[-1],
                early_best_epoch=runs["early stopping"][1].best_epoch,
                n_train=len(Xt), n_val=len(Xv), parameters=runs["no fix"][0].num_parameters())
    r0, r1, r2 = result["no fix"], result[f"L2 {L2:g}"], result["early stopping"]
    ctx.claim(f"{len(Xt)} training points, {runs['no fix'][0].num_parameters()} parameters: the "
              f"training loss falls from {plain.loss[0]:.3f} to {plain.loss[-1]:.4f} in {EPOCHS} "
              f"epochs while the validation loss bottoms out at {plain.val_loss[best]:.3f} in "
              f"epoch {best + 1} and climbs to {plain.val_loss[-1]:.3f}")
    ctx.claim(f"the gap (validation minus training loss) after training: {r0['gap']:.3f} with no "
              f"fix, {r1['gap']:.3f} with L2 {L2:g}, {r2['gap']:.3f} with early stopping "
              f"(patience {PATIENCE}: stopped after {r2['epochs']} epochs, kept epoch "
              f"{runs['early stopping'][1].best_epoch})")
    ctx.claim(f"validation loss: {r0['val_loss']:.3f} (no fix), {r1['val_loss']:.3f} (L2), "
              f"{r2['val_loss']:.3f} (early stopping); validation accuracy "
              f"{100 * r0['val_accuracy']:.0f}%, {100 * r1['val_accuracy']:.0f}%, "
              f"{100 * r2['val_accuracy']:.0f}%: the fixes stop the loss from growing, accuracy "
              "barely moves")
    ctx.save(_curves(runs, best), "loss_curves.svg",
             "training (solid) and validation (dashed) loss per epoch: without a fix they part "
             "ways; the dot marks the best validation epoch")
    ctx.save(_boundaries(runs, Xt, yt, Xv, yv), "boundaries.svg",
             "what each network learned: large dots are the 30 training points, small rings "
             "the validation points; the unfixed boundary bends around single noisy points")


def _curves(runs: dict[str, Any], best: int) -> Any:
    fig = new_figure(7.5, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    colours = ["#d73027", "#4575b4", "#1a9850"]
    for (name, (_, h)), c in zip(runs.items(), colours):
        xs = list(range(1, h.epochs_run + 1))
        ax.plot(xs, h.loss, "-", color=c, label=f"{name}: training")
        ax.plot(xs, h.val_loss, "--", color=c, label=f"{name}: validation")
    plain = runs["no fix"][1]
    ax.plot(best + 1, plain.val_loss[best], "o", color="black", markersize=6)
    ax.annotate("validation loss turns up", (best + 1, plain.val_loss[best]),
                (best + 25, plain.val_loss[best] + 0.3), fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "black"})
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (binary cross-entropy; L2 run: + penalty)")
    ax.set_title("overfitting: training loss falls, validation loss rises")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", ncol=1)
    fig.tight_layout()
    return fig


def _boundaries(runs: dict[str, Any], Xt: Any, yt: Any, Xv: Any, yv: Any) -> Any:
    from matplotlib.colors import ListedColormap

    pts = list(Xt) + list(Xv)
    lo0, hi0 = min(p[0] for p in pts) - 0.4, max(p[0] for p in pts) + 0.4
    lo1, hi1 = min(p[1] for p in pts) - 0.4, max(p[1] for p in pts) + 0.4
    n = 50
    gx = [lo0 + (hi0 - lo0) * i / (n - 1) for i in range(n)]
    gy = [lo1 + (hi1 - lo1) * j / (n - 1) for j in range(n)]
    fig = new_figure(12.0, 4.0)
    for k, (name, (model, _)) in enumerate(runs.items()):
        ax = fig.add_subplot(1, 3, k + 1)
        scores = model.predict([[x, yy] for yy in gy for x in gx])
        grid = [[1.0 if scores[j * n + i] > 0 else 0.0 for i in range(n)] for j in range(n)]
        ax.contourf(gx, gy, grid, levels=[-0.5, 0.5, 1.5],
                    cmap=ListedColormap(["#c6dbef", "#fcbba1"]), alpha=0.8)
        for label, colour in ((0, "#4575b4"), (1, "#d73027")):
            ax.scatter([p[0] for p, t in zip(Xv, yv) if t == label],
                       [p[1] for p, t in zip(Xv, yv) if t == label], s=14, facecolors="none",
                       edgecolors=colour, linewidths=0.8)
            ax.scatter([p[0] for p, t in zip(Xt, yt) if t == label],
                       [p[1] for p, t in zip(Xt, yt) if t == label], s=40, c=colour,
                       edgecolors="black", linewidths=0.8, label=f"class {label} (training)")
        ax.set_xlim(lo0, hi0)
        ax.set_ylim(lo1, hi1)
        ax.set_xlabel("x1")
        if k == 0:
            ax.set_ylabel("x2")
            ax.legend(fontsize=7, loc="lower left")
        ax.set_title(name)
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="Overfitting: when the training loss lies",
    summary="little noisy data and a large MLP: training loss falls, validation loss turns up; "
            "L2 and early stopping",
    idea="A network with many more weights than training examples can memorise the training "
         "data, noise included, instead of learning the pattern: overfitting. Its training loss "
         "keeps falling while its loss on fresh, unseen data gets worse. Penalising large "
         "weights (L2) or stopping when the validation loss stops improving (early stopping) "
         "keeps it from fitting the noise.",
    run=run,
)
