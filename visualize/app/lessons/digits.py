"""Lesson ``digits``: handwriting recognition, the articles' first example, on the shipped digits.

``MLP(64, [h, 10])`` (relu hidden layer, cross-entropy over 10 classes, Adam)
learns the 8×8 handwritten digits (:func:`nn.data.load_digits`, pixels scaled
to [0, 1]) from 500 images and is tested on 400 others. The lesson measures
the test accuracy against the hidden width ``h``, draws the widest network's
confusion matrix (which digits it mistakes for which) and the test digits it
gets wrong, with their true and predicted labels.
"""

from __future__ import annotations

import random
from typing import Any

import nn
from visualize import palette
from visualize.app.lessons._base import Context, Lesson, new_figure
from visualize.app.lessons._draw import confusion_matrix, draw_confusion, draw_digit

NAME = "digits"
WIDTHS = (4, 8, 16, 32)
N_TRAIN = 500
N_TEST = 400
EPOCHS = 5


def _argmax(row: list[float]) -> int:
    return max(range(len(row)), key=row.__getitem__)


def split(seed: int) -> tuple[list[list[float]], list[int], list[list[float]], list[int]]:
    """The shuffled digits (pixels scaled to 0..1): training and held-out images and labels."""
    X, y = nn.data.load_digits()
    order = list(range(len(X)))
    random.Random(seed).shuffle(order)
    X = [[v / 16.0 for v in X[i]] for i in order]
    y = [y[i] for i in order]
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:N_TRAIN + N_TEST], y[N_TRAIN:N_TRAIN + N_TEST]


def width_run(point: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train ``MLP(64, [point["width"], 10])`` for ``nn.sweep``; its accuracies and readings."""
    Xt, yt, Xh, yh = split(seed)
    model = nn.MLP(64, [point["width"], 10], seed=seed)
    hist = nn.fit(model, Xt, yt, epochs=EPOCHS, batch_size=20, optimizer="adam", lr=0.02,
                  progress=False, seed=seed, pause_gc=True)
    _, acc = nn.evaluate(model, Xh, yh)
    return {"accuracy": acc or 0.0, "train_accuracy": hist.accuracy[-1],
            "parameters": model.num_parameters(),
            "predicted": [_argmax(r) for r in model.predict(Xh)]}


def run(ctx: Context) -> None:
    """Train one classifier per hidden width; confusion matrix and mistakes of the widest."""
    Xt, _, Xh, yh = split(ctx.seed)
    rows = ctx.sweep(width_run, {"width": list(WIDTHS)}, seeds=[ctx.seed])
    accuracy = {r["width"]: r["accuracy"] for r in rows}
    train_accuracy = {r["width"]: r["train_accuracy"] for r in rows}
    for r in rows:
        ctx.echo(f"  hidden width {r['width']:2d}: test accuracy {100 * r['accuracy']:.1f}% "
                 f"({r['parameters']} parameters)")
    wide = WIDTHS[-1]
    predicted = rows[-1]["predicted"]
    m = confusion_matrix(yh, predicted, 10)
    wrong = [i for i, (t, p) in enumerate(zip(yh, predicted)) if t != p]
    pairs = sorted(((m[t][p], t, p) for t in range(10) for p in range(10) if t != p),
                   reverse=True)
    top = pairs[0]
    ctx.measure(accuracy=accuracy, train_accuracy=train_accuracy, confusion=m,
                mistakes=len(wrong), n_test=len(Xh), n_train=len(Xt), epochs=EPOCHS,
                top_confusion=list(top))
    ctx.claim(f"trained on {N_TRAIN} images for {EPOCHS} epochs, MLP(64, [{wide}, 10]) reads "
              f"{100 * accuracy[wide]:.1f}% of {N_TEST} unseen handwritten digits correctly "
              f"({len(wrong)} mistakes; chance is 10%)")
    ctx.claim("accuracy against hidden width: "
              + ", ".join(f"{100 * accuracy[h]:.1f}% at {h}" for h in WIDTHS))
    ctx.claim(f"its commonest mistake: a {top[1]} read as a {top[2]} ({top[0]} times)")
    ctx.save(_width_curve(accuracy, train_accuracy), "accuracy_vs_width.svg",
             "test accuracy (and training accuracy) against the hidden layer's width")
    ctx.save(_confusion(m, accuracy[wide], wide), "confusion.svg",
             f"the confusion matrix of MLP(64, [{wide}, 10]) on the {N_TEST} test digits: the "
             "diagonal is right, every other cell a kind of mistake")
    if wrong:
        ctx.save(_mistakes(Xh, yh, predicted, wrong), "mistakes.svg",
                 "test digits the network gets wrong: true label, then what it read")


def _width_curve(acc: dict[int, float], train: dict[int, float]) -> Any:
    fig = new_figure(6.0, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    ws = list(acc)
    ax.plot(ws, [100 * acc[w] for w in ws], "o-", color=palette.SERIES[0],
            label="test (unseen digits)")
    ax.plot(ws, [100 * train[w] for w in ws], "s--", color="grey",
            label="training (last epoch)")
    ax.axhline(10, color="grey", linestyle=":", linewidth=1)
    ax.text(ws[0], 12, "chance (10%)", fontsize=8, color="grey", ha="left")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ws)
    ax.set_xticklabels([str(w) for w in ws])
    ax.set_ylim(0, 102)
    ax.set_xlabel("hidden layer width h in MLP(64, [h, 10])")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("a wider hidden layer reads digits better")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig


def _confusion(m: list[list[int]], acc: float, wide: int) -> Any:
    fig = new_figure(5.5, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    draw_confusion(ax, m, f"MLP(64, [{wide}, 10]): {100 * acc:.1f}% right")
    fig.tight_layout()
    return fig


def _mistakes(X: list[list[float]], y: list[int], pred: list[int], wrong: list[int]) -> Any:
    shown = wrong[:24]
    cols = 8
    rows = (len(shown) + cols - 1) // cols
    fig = new_figure(8.0, 1.5 * rows + 0.4)
    for k, i in enumerate(shown):
        ax = fig.add_subplot(rows, cols, k + 1)
        draw_digit(ax, X[i], f"true {y[i]}\nread {pred[i]}", colour=palette.HIGHLIGHT)
    what = (f"all {len(wrong)}" if len(shown) == len(wrong)
            else f"{len(shown)} of the {len(wrong)}")
    fig.suptitle(f"{what} misread test digits: the true digit and what the network read",
                 fontsize=10)
    return fig


LESSON = Lesson(
    name=NAME,
    title="Handwriting recognition: reading digits",
    summary="a digit classifier on the shipped 8x8 digits: confusion matrix, misread digits, "
            "accuracy against hidden width",
    idea="Handwriting recognition is backpropagation's classic success: postal codes read by "
         "networks trained on labelled examples. Each 8×8 image is 64 numbers in; ten scores "
         "come out, one per digit, and the cross-entropy loss pulls the right one up. A wider "
         "hidden layer has more features to tell similar shapes apart.",
    run=run,
)
