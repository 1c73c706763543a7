"""Lesson ``loss-functions``: MSE against cross-entropy on a classifier that is confidently wrong.

A classifier's output is a probability ``p = sigmoid(z)`` of its logit ``z``.
With the squared error ``(p - y)²`` the gradient with respect to ``z`` is
``2 (p - y) p (1 - p)``: the sigmoid's slope ``p (1 - p)`` multiplies it, and
where the model is confidently wrong (``p`` near 0 for ``y = 1``) that slope is
near 0, so the gradient vanishes exactly where it is needed most. With binary
cross-entropy on the logit the gradient is ``p - y``: near -1 there, as large as
it gets. Part 1 measures both gradients on the engine for one prediction;
part 2 trains one neuron from confidently wrong weights with each loss.
"""

from __future__ import annotations

import math
import random
from typing import Any

import autograd
import nn
from autograd import Value
from visualize import palette
from visualize.app.lessons._base import Context, Lesson, new_figure

NAME = "loss-functions"
Z_WRONG = -6.0          # the confidently wrong logit for a class-1 point (p = 0.0025)
START = (-3.0, -3.0, 0.0)   # w1, w2, b: pointing the wrong way, confidently
STEPS, LR = 150, 0.5
LOSSES = ("sigmoid + MSE", "cross-entropy")


def gradient_at(z: float, y: float, loss: str) -> float:
    """d loss / d z for one prediction with logit ``z`` and label ``y``, by the engine."""
    zv = Value(z, label="z")
    out = _loss([zv], [y], loss)
    out.backward()
    return zv.grad


def _loss(zs: list[Any], ys: list[float], loss: str) -> Value:
    if loss == "cross-entropy":
        return nn.binary_cross_entropy_with_logits(zs, ys)
    return nn.mse_loss([z.sigmoid() for z in zs], ys)


def data(seed: int, n: int = 20) -> tuple[list[tuple[float, float]], list[float]]:
    """Two blobs: class 1 around (1, 1), class 0 around (-1, -1), ``n`` points each."""
    rng = random.Random(seed)
    X: list[tuple[float, float]] = []
    y: list[float] = []
    for label, centre in ((1.0, 1.0), (0.0, -1.0)):
        for _ in range(n):
            X.append((centre + rng.gauss(0, 0.5), centre + rng.gauss(0, 0.5)))
            y.append(label)
    return X, y


def train(loss: str, seed: int, steps: int = STEPS, lr: float = LR) -> dict[str, list[float]]:
    """Gradient descent on one neuron ``z = w1 x1 + w2 x2 + b`` from :data:`START`.

    Returns:
        ``{"loss", "accuracy", "grad_norm"}`` per step (before each update) and at the end.
    """
    X, y = data(seed)
    params = [Value(v) for v in START]
    w1, w2, b = params

    def objective() -> Value:
        return _loss([w1 * a + w2 * c + b for a, c in X], y, loss)

    step = autograd.compile(objective)
    opt = nn.optim.SGD(params, lr=lr)
    out: dict[str, list[float]] = {"loss": [], "accuracy": [], "grad_norm": []}
    for k in range(steps + 1):
        opt.zero_grad()
        out["loss"].append(float(step()))
        out["grad_norm"].append(math.sqrt(sum(p.grad ** 2 for p in params)))
        hits = sum((w1.data * a + w2.data * c + b.data > 0) == (t == 1.0)
                   for (a, c), t in zip(X, y))
        out["accuracy"].append(hits / len(X))
        if k < steps:
            opt.step()
    return out


def run(ctx: Context) -> None:
    """Measure both gradients at a confidently wrong prediction; train with each loss."""
    p = 1 / (1 + math.exp(-Z_WRONG))
    g = {k: gradient_at(Z_WRONG, 1.0, k) for k in LOSSES}
    zs = [-8 + 16 * i / 160 for i in range(161)]
    curves = {k: [abs(gradient_at(z, 1.0, k)) for z in zs] for k in LOSSES}
    runs = {k: train(k, ctx.seed) for k in LOSSES}
    reach = {k: next((i for i, a in enumerate(r["accuracy"]) if a >= 0.95), None)
             for k, r in runs.items()}
    mse, ce = LOSSES
    ctx.measure(z=Z_WRONG, p=p, gradient=g, start_grad_norm={k: r["grad_norm"][0]
                                                              for k, r in runs.items()},
                final_accuracy={k: r["accuracy"][-1] for k, r in runs.items()},
                final_loss={k: r["loss"][-1] for k, r in runs.items()},
                steps_to_95=reach, steps=STEPS)
    ctx.claim(f"one class-1 point predicted confidently wrong (logit {Z_WRONG:g}, p = {p:.4f}): "
              f"d loss/d z is {g[mse]:.5f} with sigmoid + MSE and {g[ce]:.4f} with "
              f"cross-entropy, {abs(g[ce] / g[mse]):,.0f}× larger: MSE's gradient carries the "
              f"sigmoid's slope p(1 - p) = {p * (1 - p):.4f}, which vanishes where the model is "
              "most wrong")

    def when(k: str) -> str:
        return f"after {reach[k]} steps" if reach[k] is not None else f"not within {STEPS} steps"

    ctx.claim(f"what that does to training: one neuron on 40 separable points, starting "
              f"confidently wrong (w = {START[:2]}), {STEPS} steps of gradient descent (rate "
              f"{LR:g}): the first gradient's norm is {runs[mse]['grad_norm'][0]:.4f} with MSE "
              f"and {runs[ce]['grad_norm'][0]:.4f} with cross-entropy; cross-entropy reaches "
              f"95% accuracy {when(ce)}, MSE {when(mse)} (it ends at "
              f"{100 * runs[mse]['accuracy'][-1]:.0f}%)")
    ctx.save(_gradient(zs, curves, g), "gradient.svg",
             "how hard each loss pushes a class-1 prediction, by its logit z: cross-entropy "
             "pushes hardest when most wrong; sigmoid + MSE hardly at all")
    ctx.save(_training(runs), "training.svg",
             "the same neuron from the same confidently wrong start, trained with each loss")


def _gradient(zs: list[float], curves: dict[str, list[float]], g: dict[str, float]) -> Any:
    fig = new_figure(7.0, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    for i, (name, ys) in enumerate(curves.items()):
        ax.plot(zs, ys, color=palette.SERIES[i], linewidth=1.8, label=name)
        ax.plot([Z_WRONG], [abs(g[name])], "o", color=palette.SERIES[i], markeredgecolor="black")
    ax.axvline(0, color=palette.MUTED, linestyle=":", linewidth=1)
    ax.annotate("confidently wrong", (Z_WRONG, 0.5), fontsize=8, ha="center")
    ax.set_xlabel("logit z of a class-1 point (z < 0: predicted class 0, wrong)")
    ax.set_ylabel("|d loss / d z|")
    ax.set_title("the gradient a prediction receives, label y = 1")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title="colour: the loss", title_fontsize=8)
    fig.tight_layout()
    return fig


def _training(runs: dict[str, dict[str, list[float]]]) -> Any:
    fig = new_figure(10.5, 3.8)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, (name, r) in enumerate(runs.items()):
        c = palette.SERIES[i]
        left.plot(r["grad_norm"], color=c, label=name)
        right.plot([100 * a for a in r["accuracy"]], color=c, label=name)
    left.set_yscale("log")
    left.set_xlabel("step")
    left.set_ylabel("gradient norm (log)")
    left.set_title("how hard the loss pushes")
    right.set_xlabel("step")
    right.set_ylabel("training accuracy (%)")
    right.set_ylim(-2, 102)
    right.set_title("what the push achieves")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.25)
    right.legend(fontsize=8, loc="center right", title="colour: the loss", title_fontsize=8)
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="Loss functions: why classifiers use cross-entropy, not squared error",
    summary="the gradient a confidently wrong prediction gets under sigmoid + MSE (vanishes) and "
            "cross-entropy (does not), and what that does to training",
    idea="The loss decides how hard each mistake pushes the weights. With a sigmoid output and "
         "the squared error, the push carries the sigmoid's slope, which is nearly zero where "
         "the output is saturated: a prediction that is confidently wrong gets almost no "
         "gradient and the network learns slowly from its worst mistakes. Cross-entropy on the "
         "logit cancels that slope: its gradient is the error p - y itself.",
    run=run,
)
