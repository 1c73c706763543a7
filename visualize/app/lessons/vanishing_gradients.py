"""Lesson ``vanishing-gradients``: a deep sigmoid MLP against relu, and a better initialisation.

Three MLPs with 6 hidden layers of 16 units train on the moons data for the
same epochs with plain SGD: sigmoid with the Xavier initialisation (the
default), sigmoid with Xavier's weights times 4 (Glorot and Bengio's advice
for sigmoid: it makes up for sigmoid's slope of 1/4 at 0), and relu with He's
initialisation. ``History.grad_flow`` gives each layer's mean ``|grad|`` per
epoch: with sigmoid every layer multiplies the gradient by at most 1/4 times
its weights, so the first layer receives thousands of times less than the
last, and the network does not learn in those epochs.
"""

from __future__ import annotations

from typing import Any

import nn
import visualize
from visualize import palette
from visualize.app.lessons._base import Context, Lesson, new_figure

NAME = "vanishing-gradients"

RUNS = (("sigmoid", 1.0, "sigmoid, Xavier init"),
        ("sigmoid", 4.0, "sigmoid, 4 × Xavier init"),
        ("relu", 1.0, "relu, He init"))


def train(activation: str, scale: float, seed: int, *, epochs: int = 10, depth: int = 6,
          width: int = 16) -> nn.History:
    """Train one deep MLP on moons with SGD and return its history (with grad_flow).

    The weights start as the activation's default initialisation (Xavier for
    sigmoid, He for relu) times ``scale``; biases start at their default.
    """
    X, y = nn.data.make_moons(100, noise=0.1, seed=seed)
    model = nn.MLP(2, [width] * depth + [1], activation=activation, seed=seed)
    for layer in model.layers:
        for neuron in layer.neurons:
            for w in neuron.w:
                w.data *= scale
    return nn.fit(model, X, y, epochs=epochs, batch_size=20, optimizer="sgd", lr=0.1,
                  progress=False, seed=seed, pause_gc=True)


def times(r: float) -> str:
    """A ratio as the lesson prints it everywhere: ``1,234x`` from 100 up, ``1.6x`` below."""
    return f"{r:,.0f}x" if r >= 100 else f"{r:.1f}x"


def run(ctx: Context) -> None:
    """Train the three networks, measure the gradient flow, draw it and the consequence."""
    histories: dict[str, nn.History] = {}
    ratio: dict[str, float] = {}
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for activation, scale, label in RUNS:
        h = train(activation, scale, ctx.seed)
        histories[label] = h
        layers = list(h.grad_flow)
        first[label] = h.grad_flow[layers[0]][-1]
        last[label] = h.grad_flow[layers[-1]][-1]
        ratio[label] = last[label] / first[label] if first[label] else float("inf")
        ctx.echo(f"  {label}: mean |grad| layer 1 {first[label]:.2e}, layer {len(layers)} "
                 f"{last[label]:.2e} ({times(ratio[label])}); after {h.epochs_run} epochs "
                 f"loss {h.loss[-1]:.3f}, accuracy {100 * h.accuracy[-1]:.0f}%")
    sx, su, rh = (r[2] for r in RUNS)
    acc = {k: h.accuracy[-1] for k, h in histories.items()}
    loss = {k: h.loss[-1] for k, h in histories.items()}
    epochs = histories[sx].epochs_run
    ctx.measure(first_layer=first, last_layer=last, ratio=ratio, accuracy=acc, loss=loss,
                epochs=epochs)
    ctx.claim(f"in the last epoch, with sigmoid (Xavier init) the first layer's mean |grad| is "
              f"{first[sx]:.1e}, "
              f"{times(ratio[sx])} less than the last layer's {last[sx]:.1e}; with relu it is "
              f"{first[rh]:.1e}, only {times(ratio[rh])} less")
    ctx.claim(f"the consequence after the same {epochs} epochs: sigmoid {100 * acc[sx]:.0f}% "
              f"training accuracy (loss {loss[sx]:.3f}, chance level), relu {100 * acc[rh]:.0f}% "
              f"(loss {loss[rh]:.3f})")
    ctx.claim(f"a better initialisation for sigmoid, 4 × Xavier, lifts the first layer's "
              f"gradient {times(first[su] / first[sx])} to {first[su]:.1e} (last/first "
              f"{times(ratio[su])} instead of {times(ratio[sx])}); after the same {epochs} epochs "
              f"it reaches {100 * acc[su]:.0f}% (loss {loss[su]:.3f})")
    ctx.playground("six sigmoid layers on moons with SGD; then switch the activation to relu:",
                   dataset="moons", n_points=100, noise=0.1, hidden=[8] * 6,
                   activation="sigmoid", optimizer="sgd", lr=0.1, batch_size=20,
                   seed=ctx.seed, data_seed=ctx.seed)
    flows = {k: h.grad_flow for k, h in histories.items()}
    path = visualize.plot_grad_flow(flows, ctx.out / "gradient_flow.svg",
                                    title="mean |grad| per layer: 6 hidden layers of 16, "
                                          "moons, SGD")
    ctx.add_file(path, "each layer's mean |grad| over training (log scale), one row per "
                 "network: sigmoid's bars fall towards the input, relu's stay level", "svg")
    ctx.save(_curves(histories), "consequence.svg",
             "the consequence: the same epochs, loss and training accuracy of the three "
             "networks")


def _curves(histories: dict[str, Any]) -> Any:
    fig = new_figure(10.5, 3.8)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, (label, h) in enumerate(histories.items()):
        xs = list(range(1, len(h.loss) + 1))
        colour = palette.SERIES[i]
        left.plot(xs, h.loss, marker="o", markersize=3, label=label, color=colour)
        right.plot(xs, [100 * a for a in h.accuracy], marker="o", markersize=3, label=label,
                   color=colour)
    left.set_xlabel("epoch")
    left.set_ylabel("training loss (binary cross-entropy)")
    left.set_title("loss")
    right.set_xlabel("epoch")
    right.set_ylabel("training accuracy (%)")
    right.set_ylim(0, 102)
    right.axhline(50, color="grey", linestyle=":", linewidth=1)
    right.text(1, 52, "chance", color="grey", fontsize=8)
    right.set_title("accuracy")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    right.legend(loc="lower right", fontsize=8, title="colour: the network", title_fontsize=8)
    fig.tight_layout()
    return fig


LESSON = Lesson(
    name=NAME,
    title="Vanishing gradients: a deep sigmoid network against relu",
    summary="deep sigmoid vs relu MLP: per-layer mean |grad|, the accuracy it costs, a better init",
    idea="In a deep network the backward pass multiplies the gradient by every layer's "
         "weights and activation slope on its way to the input. Sigmoid's slope is at most "
         "1/4, so after a few layers the gradient reaching the first layers is tiny and they "
         "barely learn: the vanishing gradient problem. ReLU passes gradients through "
         "unchanged where it is active, and a suitable initialisation keeps their size.",
    run=run,
)
