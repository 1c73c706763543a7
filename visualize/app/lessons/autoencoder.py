"""Lesson ``autoencoder``: backpropagation without labels, 64 → k → 64 on the digits.

An autoencoder is trained to output its own input through a narrow middle
layer of ``k`` units (the code): ``MLP(64, [k, 64])`` with tanh in the middle
and a linear output, the mean squared error between the output and the input,
Adam. Pixels are scaled to [0, 1] and the training set's average digit is
subtracted (so the code units start away from tanh's flat ends); pictures add
it back. No digit label is used in training.
The lesson measures the reconstruction error on held-out images against
``k``, shows reconstructions before and after training, and draws the 2-D code
space of the ``k = 2`` network coloured by the digit each image shows.
"""

from __future__ import annotations

from typing import Any

import autograd
import nn
from visualize import palette
from visualize.app.lessons._base import Context, Lesson, new_figure
from visualize.app.lessons._draw import draw_digit

NAME = "autoencoder"
CODES = (2, 4, 8, 16)
N_TRAIN = 250
N_TEST = 200
EPOCHS = 5


def _mse(model: nn.MLP, X: list[list[float]]) -> float:
    out = model.predict(X)
    return sum((o - x) ** 2 for row, xs in zip(out, X) for o, x in zip(row, xs)) / (64 * len(X))


def run(ctx: Context) -> None:
    """Train one autoencoder per code size; measure, reconstruct, map the code space."""
    X, y = nn.data.load_digits()
    order = list(range(len(X)))
    import random

    random.Random(ctx.seed).shuffle(order)
    X = [[v / 16.0 for v in X[i]] for i in order]
    y = [y[i] for i in order]
    Xt, Xh, yh = X[:N_TRAIN], X[N_TRAIN:N_TRAIN + N_TEST], y[N_TRAIN:N_TRAIN + N_TEST]
    mean = [sum(col) / len(Xt) for col in zip(*Xt)]
    baseline = sum((m - x) ** 2 for xs in Xh for m, x in zip(mean, xs)) / (64 * len(Xh))

    def centre(rows: list[list[float]]) -> list[list[float]]:
        return [[v - m for v, m in zip(r, mean)] for r in rows]

    def uncentre(rows: list[list[float]]) -> list[list[float]]:
        return [[v + m for v, m in zip(r, mean)] for r in rows]

    Xt, Xh_raw, Xh = centre(Xt), Xh, centre(Xh)
    models: dict[int, nn.MLP] = {}
    before: dict[int, float] = {}
    error: dict[int, float] = {}
    untrained: list[Any] = []
    for k in CODES:
        model = nn.MLP(64, [k, 64], activation="tanh", seed=ctx.seed)
        before[k] = _mse(model, Xh)
        if k == max(CODES):
            untrained = uncentre(model.predict(Xh[:8]))
        nn.fit(model, Xt, Xt, epochs=EPOCHS, batch_size=10, optimizer="adam", lr=0.01,
               loss="mse", progress=False, seed=ctx.seed, pause_gc=True)
        models[k] = model
        error[k] = _mse(model, Xh)
        ctx.echo(f"  k = {k:2d}: held-out reconstruction error {before[k]:.4f} -> {error[k]:.4f}")
    ctx.measure(error=error, error_before=before, mean_image_error=baseline, codes=list(CODES),
                n_train=N_TRAIN, n_test=N_TEST, epochs=EPOCHS)
    kmax, kmin = max(CODES), min(CODES)
    ctx.claim(f"trained on {N_TRAIN} digits without their labels ({EPOCHS} epochs), the "
              f"64 → {kmax} → 64 network's error on {N_TEST} unseen digits falls from "
              f"{before[kmax]:.4f} (untrained) to {error[kmax]:.4f}, below the "
              f"{baseline:.4f} of always answering the average digit")
    ctx.claim("a wider code keeps more: held-out reconstruction error "
              + ", ".join(f"{error[k]:.4f} at k = {k}" for k in CODES))
    codes = _codes(models[kmin], Xh)
    spread = _separation(codes, yh)
    ctx.measure(code_separation=spread)
    ctx.claim(f"the k = {kmin} code groups digits it was never told about: the average "
              f"distance between images of the same digit is {spread:.2f}x smaller than "
              "between different digits")
    ctx.save(_reconstructions(Xh_raw[:8], untrained, uncentre(models[kmax].predict(Xh[:8])),
                              kmax),
             "reconstructions.svg",
             f"8 unseen digits (top), the untrained 64 → {kmax} → 64 network's output "
             "(middle), and the trained network's reconstruction (bottom)")
    ctx.save(_error_curve(error, before, baseline), "error_vs_k.svg",
             "reconstruction error on unseen digits against the code size k")
    ctx.save(_code_space(codes, yh), "code_space.svg",
             f"the {kmin}-D code of {len(Xh)} unseen digits, coloured by the digit (a label "
             "the network never saw)")


def _codes(model: nn.MLP, X: list[list[float]]) -> list[list[float]]:
    encoder = model.layers[0]
    out = []
    with autograd.no_grad():
        for x in X:
            h = encoder(x)
            out.append([v.data for v in (h if isinstance(h, list) else [h])])
    return out


def _separation(codes: list[list[float]], labels: list[int]) -> float:
    """Mean distance between different digits over mean distance within a digit."""
    same = diff = 0.0
    ns = nd = 0
    for i in range(len(codes)):
        for j in range(i + 1, len(codes)):
            d = sum((a - b) ** 2 for a, b in zip(codes[i], codes[j])) ** 0.5
            if labels[i] == labels[j]:
                same += d
                ns += 1
            else:
                diff += d
                nd += 1
    return (diff / nd) / (same / ns) if ns and nd and same else float("nan")


def _reconstructions(orig: list[Any], before: list[Any], after: list[Any], k: int) -> Any:
    fig = new_figure(8.0, 3.4)
    rows = (("input", orig), ("untrained", before), (f"trained, k = {k}", after))
    for r, (name, images) in enumerate(rows):
        for c, img in enumerate(images):
            ax = fig.add_subplot(3, len(images), r * len(images) + c + 1)
            draw_digit(ax, img)
            if c == 0:
                ax.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle("reconstructions of unseen digits", fontsize=10)
    return fig


def _error_curve(error: dict[int, float], before: dict[int, float], baseline: float) -> Any:
    fig = new_figure(6.0, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    ks = list(error)
    ax.plot(ks, [error[k] for k in ks], "o-", color=palette.SERIES[0], label="after training")
    ax.plot(ks, [before[k] for k in ks], "s--", color=palette.MUTED, label="untrained")
    ax.axhline(baseline, color=palette.SERIES[1], linestyle=":", label="always the average digit")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    ax.set_xlabel("code size k (units in the middle layer)")
    ax.set_ylabel("reconstruction error (mean squared, per pixel)")
    ax.set_title("a wider code reconstructs better")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    fig.tight_layout()
    return fig


def _code_space(codes: list[list[float]], labels: list[int]) -> Any:
    fig = new_figure(6.5, 5.5)
    ax = fig.add_subplot(1, 1, 1)
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for d in range(10):
        pts = [c for c, t in zip(codes, labels) if t == d]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, color=cmap(d),
                       label=str(d), edgecolors="none")
            cx = sum(p[0] for p in pts) / len(pts)
            cy = sum(p[1] for p in pts) / len(pts)
            ax.text(cx, cy, str(d), fontsize=14, fontweight="bold", color=cmap(d),
                    ha="center", va="center",
                    bbox={"boxstyle": "circle,pad=0.1", "fc": "white", "ec": cmap(d),
                          "alpha": 0.8})
    ax.set_xlabel("code unit 1 (tanh output)")
    ax.set_ylabel("code unit 2 (tanh output)")
    ax.set_title("the 2-D code space (big digits: each digit's mean)")
    ax.legend(title="digit", fontsize=7, title_fontsize=8, loc="center left",
              bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="Autoencoders: backpropagation without labels",
    summary="the digits through 64 → k → 64 trained without labels: reconstructions, error "
            "against k, the 2-D code space",
    idea="Backpropagation needs a loss, not labels: an autoencoder is trained to reproduce its "
         "input through a narrow middle layer, so the loss is the reconstruction error. To "
         "pass an image through a few numbers it must learn which features matter; similar "
         "images get similar codes, without anyone telling it which digit is which.",
    run=run,
)
