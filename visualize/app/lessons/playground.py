"""Lesson ``playground``: a self-contained page replaying a training run, epoch by epoch.

:class:`Recorder` is a :func:`nn.fit` callback that keeps, after every
epoch of a 2-input MLP's training, every weight and bias and the gradients of
the epoch's last backward pass; with ``fit``'s history it gives the losses,
accuracies and per-layer gradient flow. :func:`write_page` turns a
:class:`Recording` into one HTML file with no network access: the network
drawn with each weight as an edge (red positive, blue negative, width by
size), the decision boundary (computed in the page from that epoch's weights),
the loss and accuracy curves, and each layer's mean ``|grad|``, all moved by a
slider, buttons, the arrow keys and autoplay. ``chainrule demo`` records its
own training run this way and writes its page (:func:`demo_page`);
:func:`record` trains and records in one call.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nn
from visualize import palette
from visualize.app.lessons._base import Context, Lesson, page, write_text
from visualize.escape import fill, html_text, script_json

NAME = "playground"


@dataclass
class Recording:
    """A training run, epoch by epoch (epoch 0 is the initial state).

    Attributes:
        title: what was trained.
        sizes: layer sizes, inputs first (``[2, 8, 8, 1]``).
        activation, output_activation: the model's; ``negative_slope`` for leaky_relu.
        weights: per epoch, per layer, per neuron ``[w1, ..., wn, b]``.
        grads: the same shape: each parameter's gradient in the epoch's last
            step (d loss / d parameter, from backward); epoch 0 has zeros.
        loss, val_loss, accuracy, val_accuracy: per epoch (from epoch 1).
        grad_flow: layer name -> mean ``|grad|`` per epoch.
        points: the training points ``[x1, x2, label]``; ``val_points`` likewise.
        threshold: the score separating the classes (0 for logits and ±1 labels).
    """

    title: str
    sizes: list[int]
    activation: str
    output_activation: str
    negative_slope: float
    weights: list[list[list[list[float]]]] = field(default_factory=list)
    grads: list[list[list[list[float]]]] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    grad_flow: dict[str, list[float]] = field(default_factory=dict)
    points: list[list[float]] = field(default_factory=list)
    val_points: list[list[float]] = field(default_factory=list)
    threshold: float = 0.0


def snapshot(model: nn.MLP, grads: bool = False) -> list[list[list[float]]]:
    """Return the model's weights (or their ``.grad``): per layer, per neuron ``[w1, ..., b]``."""
    if grads:
        return [[[w.grad for w in n.w] + [n.b.grad] for n in layer.neurons]
                for layer in model.layers]
    return [[[w.data for w in n.w] + [n.b.data] for n in layer.neurons]
            for layer in model.layers]


class Recorder:
    """A ``fit`` callback that keeps every epoch of a 2-input MLP's training.

    Pass it in ``fit``'s ``callbacks``; after ``fit`` returns, :meth:`finish`
    gives the :class:`Recording` for :func:`write_page`. Epoch 0 (the weights
    before training) is taken when the recorder is made.

    Args:
        model: a 2-input MLP with one output.
        X, y: the training data (labels 0/1 or -1/+1).
        title: the page's title.
        validation_data: the validation data ``fit`` is given, if any.

    Raises:
        ValueError: if the model does not take 2 inputs and give 1 output.
    """

    def __init__(self, model: nn.MLP, X: Sequence[Sequence[float]], y: Sequence[Any], *,
                 title: str,
                 validation_data: tuple[Sequence[Any], Sequence[Any]] | None = None) -> None:
        if model.nin != 2 or model.nouts[-1] != 1:
            raise ValueError(f"playground: the model must map 2 inputs to 1 output, got "
                             f"MLP({model.nin}, {model.nouts})")
        first = model.layers[0].neurons[0]
        self.model = model
        self.recording = Recording(
            title=title, sizes=[model.nin, *model.nouts], activation=model.activation,
            output_activation=model.output_activation or "linear",
            negative_slope=first.negative_slope, weights=[snapshot(model)],
            grads=[[[[0.0] * len(n) for n in layer] for layer in snapshot(model)]])
        self.recording.points = [[float(a), float(b), float(t)] for (a, b), t in zip(X, y)]
        self._data = (list(X), list(y))
        self._train: list[tuple[float, float | None]] = []  # after each epoch, its weights
        if validation_data is not None:
            self.recording.val_points = [[float(a), float(b), float(t)]
                                         for (a, b), t in zip(*validation_data)]

    def __call__(self, epoch: int, history: nn.History) -> None:
        """Keep the weights after ``epoch`` and the gradients of its last backward pass."""
        self.recording.weights.append(snapshot(self.model))
        self.recording.grads.append(snapshot(self.model, grads=True))
        # the training loss of the same weights as the frame's validation loss (fit's
        # history.loss averages the epoch's steps, each with other weights, plus any penalty)
        self._train.append(nn.evaluate(self.model, *self._data))

    def finish(self, history: nn.History) -> Recording:
        """Return the recording, with the curves of ``fit``'s ``history``."""
        rec = self.recording
        train = self._train[:history.epochs_run]
        rec.loss, rec.val_loss = [t[0] for t in train], list(history.val_loss)
        rec.accuracy = [t[1] if t[1] is not None else math.nan for t in train]
        rec.val_accuracy = list(history.val_accuracy)
        rec.grad_flow = {k: list(v) for k, v in history.grad_flow.items()}
        return rec


def record(model: nn.MLP, X: Sequence[Sequence[float]], y: Sequence[Any], *, title: str,
           validation_data: tuple[Sequence[Any], Sequence[Any]] | None = None,
           **fit_kwargs: Any) -> tuple[Recording, nn.History]:
    """Train ``model`` with :func:`nn.fit` and record every epoch (a :class:`Recorder`).

    Args:
        model: a 2-input MLP with one output.
        X, y: the training data (labels 0/1 or -1/+1).
        title: the page's title.
        validation_data: as for ``fit``.
        fit_kwargs: passed to ``fit`` (epochs, optimizer, lr, seed, ...).

    Returns:
        The recording and ``fit``'s history.

    Raises:
        ValueError: if the model does not take 2 inputs and give 1 output.
    """
    recorder = Recorder(model, X, y, title=title, validation_data=validation_data)
    fit_kwargs.setdefault("progress", False)
    history = nn.fit(model, X, y, validation_data=validation_data,
                     callbacks=[recorder, *fit_kwargs.pop("callbacks", ())], **fit_kwargs)
    return recorder.finish(history), history


def write_page(rec: Recording, path: str | os.PathLike[str]) -> Path:
    """Write the replay page of ``rec`` to ``path`` (self-contained HTML) and return it."""
    data = {
        "title": rec.title, "sizes": rec.sizes, "activation": rec.activation,
        "outputActivation": rec.output_activation, "slope": rec.negative_slope,
        "weights": rec.weights, "grads": rec.grads, "loss": rec.loss, "valLoss": rec.val_loss,
        "accuracy": rec.accuracy, "valAccuracy": rec.val_accuracy,
        "gradFlow": rec.grad_flow, "points": rec.points, "valPoints": rec.val_points,
        "threshold": rec.threshold,
        "palette": {"pos": palette.POSITIVE, "neg": palette.NEGATIVE,
                    "posFill": palette.POSITIVE_FILL, "negFill": palette.NEGATIVE_FILL,
                    "zero": palette.ZERO, "muted": palette.MUTED, "series": list(palette.SERIES)},
    }
    body = fill(_BODY, {"TITLE": html_text(rec.title)})
    script = "const DATA = " + script_json(data) + ";\n" + _SCRIPT
    style = palette.css_variables() + _STYLE
    return write_text(Path(path), page(rec.title, body, style=style, script=script))


def run(ctx: Context) -> None:
    """Record a moons run of MLP(2, [8, 8, 1]) and write its replay page."""
    X, y = nn.data.make_moons(160, noise=0.15, seed=ctx.seed)
    Xt, Xv, yt, yv = nn.data.train_test_split(X, y, test_size=0.25, seed=ctx.seed)
    model = nn.MLP(2, [8, 8, 1], activation="tanh", seed=ctx.seed)
    epochs = 30
    rec, history = record(model, Xt, yt, validation_data=(Xv, yv),
                          title="training replay: MLP(2, [8, 8, 1]), tanh, moons, Adam",
                          epochs=epochs, batch_size=20, optimizer="adam", lr=0.02,
                          seed=ctx.seed, pause_gc=True)
    path = write_page(rec, ctx.out / "training.html")
    final = [p.data for p in model.parameters()]
    replayed = [v for layer in rec.weights[-1] for n in layer for v in n]
    ctx.measure(epochs=epochs, frames=len(rec.weights), loss_first=history.loss[0],
                loss_last=history.loss[-1], val_accuracy_first=history.val_accuracy[0],
                val_accuracy_last=history.val_accuracy[-1], final_weights=final,
                replay_matches=final == replayed, grid_point_score=model.predict([[0.5, 0.25]])[0])
    ctx.claim(f"the page replays all {epochs} epochs of one run ({len(rec.weights)} frames "
              f"with every weight): training loss {history.loss[0]:.3f} → "
              f"{history.loss[-1]:.3f}, validation accuracy "
              f"{100 * history.val_accuracy[0]:.0f}% → {100 * history.val_accuracy[-1]:.0f}%")
    ctx.claim("its last frame holds exactly the trained weights "
              f"({'identical' if final == replayed else 'DIFFERENT'}), so the boundary it "
              "draws is the trained model's")
    ctx.add_file(path, "the replay: slider, ◀ ▶, play (space), ← → keys; the network's "
                 "weights as coloured edges, the boundary, the curves and the gradient flow "
                 "at each epoch", "page")


def demo_page(out_dir: str | os.PathLike[str], recorder: Recorder, history: nn.History, *,
              echo: Callable[[str], None] = print) -> Path | None:
    """Write ``out_dir/training.html`` for ``chainrule demo``: its run, replayed.

    Args:
        out_dir: the demo's folder.
        recorder: the :class:`Recorder` the demo's ``fit`` was given.
        history: that ``fit``'s history.
        echo: prints the path written.

    Returns:
        The page's path, or None when the demo trained no epoch.
    """
    if history.epochs_run < 1:
        return None
    path = write_page(recorder.finish(history), Path(out_dir) / "training.html")
    echo(f"wrote the training replay page {path}")
    return path


_STYLE = """
#controls { margin: 0.6em 0; display: flex; gap: 0.5em; align-items: center; flex-wrap: wrap; }
#slider { width: 24em; }
#epoch { font-weight: bold; min-width: 7em; }
.panels { display: grid; grid-template-columns: repeat(2, minmax(300px, 1fr)); gap: 1em; }
.panel { border: 1px solid var(--muted); padding: 0.5em; }
.pos { color: var(--positive); } .neg { color: var(--negative); }
.panel h2 { font-size: 1em; margin: 0 0 0.3em; }
.panel svg, .panel canvas { width: 100%; height: auto; display: block; }
#stats { font-family: monospace; }
"""

_BODY = """
<h1>__TITLE__</h1>
<p>Each frame is the network after one epoch of training (epoch 0: the initial weights).
Edges are weights: <span class="pos">red positive</span>,
<span class="neg">blue negative</span>, thicker = larger; hover over an edge or a
neuron for its weight and the gradient backward gave it in the epoch's last step (the chain
rule's answer to "which way should this weight move?"). The boundary is computed in this page
from that epoch's weights. Keys: ← → one epoch, Home/End, space play/pause.</p>
<div id="controls">
<button id="first" title="first epoch">« first</button>
<button id="prev" title="previous epoch">◀</button>
<button id="play">▶ play</button>
<button id="next" title="next epoch">▶</button>
<button id="last" title="last epoch">last »</button>
<input id="slider" type="range" min="0" value="0" aria-label="epoch">
<span id="epoch"></span>
<span id="stats"></span>
</div>
<div class="panels">
<div class="panel"><h2>the network: weights as edges</h2>
<svg id="net" viewBox="0 0 420 300"></svg></div>
<div class="panel"><h2>decision boundary (large dots: training, rings: validation)</h2>
<canvas id="boundary" width="360" height="300"></canvas></div>
<div class="panel"><h2>loss (solid: training, dashed: validation) and accuracy</h2>
<svg id="curves" viewBox="0 0 420 240"></svg></div>
<div class="panel"><h2>gradient flow: each layer's mean |grad| this epoch (log scale)</h2>
<svg id="flow" viewBox="0 0 420 240"></svg></div>
</div>
"""

_SCRIPT = "".join(Path(__file__).with_name(name).read_text(encoding="utf-8")
                  for name in ("controls.js", "playground.js"))



LESSON = Lesson(
    name=NAME,
    title="The training playground: watch a network learn",
    summary="a self-contained page replaying a training run: weights as edges, the boundary, "
            "curves and gradient flow per epoch",
    idea="Training repeats forward pass, loss, backward pass and weight update, epoch after "
         "epoch, until the loss converges. This page replays one run frame by frame: watch the "
         "weights change sign and size, the decision boundary bend around the data, the loss "
         "fall, and the gradients reaching each layer.",
    run=run,
)
