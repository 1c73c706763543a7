"""The playground's engine side: a real ``nn`` model trained from a :class:`PlaygroundState`.

A :class:`Session` owns the model (``nn.MLP``), its ``nn.optim`` optimizer
and the data, and does everything the page asks: one training epoch per
:meth:`Session.step` (shuffled, in batches, the way ``nn.fit`` does it), the
maps (the output and every neuron over a grid of the plane, one batched
forward), a data point's forward values and backward pass
(:meth:`Session.inspect`, drawn with :mod:`visualize.steps`), and the exports
(the model file ``nn.load`` reads, a script reproducing the run with
``nn.fit``).

With NumPy installed a step runs on ``autograd.compile(per_sample_loss,
batch=True)`` (the parameters in one array, updated with the optimizer's
``step_array``), and the grid forward is the same compiled function's
forward; without NumPy the dynamic engine does both.

Runs and segments: a run restarts (new weights from ``seed``) when the data,
features, network or activation change. Any other change in the middle of a
run (learning rate, optimizer, batch size, regularisation, an edited weight,
an added or deleted point, a loaded state) starts a new *segment*: its first
epoch, weights and optimizer state are remembered, and shuffling continues
from the seed ``seed + first epoch``. :meth:`Session.export_script` reproduces
the current segment with ``nn.fit`` exactly (up to float rounding).
"""

from __future__ import annotations

import base64
import json
import math
import random
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import autograd
import nn
from autograd import Value
from visualize.app.playground import state as S
from visualize.app.playground.state import PlaygroundState, StateError

__all__ = ["GRID", "NEURON_GRID", "PlaygroundError", "Session", "features", "make_points"]

#: cells per side of the output map and of each neuron's map
GRID = 40
NEURON_GRID = 20
#: the most steps (epochs) one request may run
MAX_STEPS = 1000
#: the most points of the curves sent with a frame
CURVE_POINTS = 300
#: the most epochs "save this run as a page" replays (from the last restart or load)
MAX_REPLAY = 500

#: fields whose change builds a new model (new weights) / new data
_MODEL_FIELDS = frozenset({"features", "hidden", "activation", "seed"})
_DATA_FIELDS = frozenset({"dataset", "n_points", "noise", "train_ratio", "data_seed"})
#: fields whose change starts a new segment of the same run
_SEGMENT_FIELDS = frozenset({"optimizer", "lr", "batch_size", "regularization", "reg_rate"})
_VIEW_FIELDS = frozenset({"show_test", "log_scale", "hidden_controls"})


class PlaygroundError(ValueError):
    """A request the playground cannot do (the message says why and what to do instead)."""


# ---------------------------------------------------------------------------
# data


def _scaled(X: Sequence[Sequence[float]], shift: tuple[float, float],
            factor: float) -> list[list[float]]:
    lim = S.DOMAIN
    return [[min(lim, max(-lim, (a + shift[0]) * factor)),
             min(lim, max(-lim, (b + shift[1]) * factor))] for a, b in X]


def make_points(state: PlaygroundState) -> tuple[list[list[float]], list[list[float]]]:
    """Generate the data set ``state`` describes: ``(train, test)`` lists of ``[x1, x2, label]``.

    Uses the generators of :mod:`nn.data` (seeded with ``state.data_seed``),
    scaled into the square [-6, 6]^2, split with ``nn.data.train_test_split``.
    """
    n, noise, seed = state.n_points, state.noise, state.data_seed
    name = state.dataset
    y: Sequence[float]
    if name == "circles":
        X, y = nn.data.make_circles(n, noise, factor=0.5, seed=seed)
        X = _scaled(X, (0.0, 0.0), 5.0)
    elif name == "xor":
        X, y = nn.data.make_xor(n, noise, seed=seed)
        X = _scaled(X, (0.0, 0.0), 5.0)
    elif name == "gaussians":
        X, y = nn.data.make_gaussians(n, noise, distance=0.4, seed=seed)
        X = _scaled(X, (0.0, 0.0), 5.0)
    elif name == "spiral":
        X, y = nn.data.make_spirals(n, classes=2, noise=noise, turns=1.25, seed=seed)
        X = _scaled(X, (0.0, 0.0), 5.5)
    elif name == "moons":
        X, y = nn.data.make_moons(n, noise, seed=seed)
        X = _scaled(X, (-0.5, -0.25), 3.5)
    elif name == "plane":
        X, y = nn.data.make_plane(n, noise, seed=seed)
        X = _scaled(X, (0.0, 0.0), 5.0)
    else:
        X, y = nn.data.make_gaussian_bumps(n, noise, seed=seed)
        X = _scaled(X, (0.0, 0.0), 5.0)
    pts = [[a, b, float(t)] for (a, b), t in zip(X, y)]
    train, test, _, _ = nn.data.train_test_split(pts, pts, test_size=1.0 - state.train_ratio,
                                                 seed=seed)
    return train, test


_FEATURE_FNS: dict[str, Callable[[float, float], float]] = {
    "x1": lambda a, b: a, "x2": lambda a, b: b, "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b, "x1*x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: math.sin(a), "sin(x2)": lambda a, b: math.sin(b),
}


def features(points: Sequence[Sequence[float]], names: Sequence[str]) -> list[list[float]]:
    """Return each point's feature vector (``names`` from :data:`state.FEATURES`)."""
    fns = [_FEATURE_FNS[n] for n in names]
    return [[f(p[0], p[1]) for f in fns] for p in points]


def _grid(cells: int) -> list[list[float]]:
    """Cell centres of a ``cells x cells`` grid over the square, row by row from the top."""
    lim, step = S.DOMAIN, 2 * S.DOMAIN / cells
    return [[-lim + (i + 0.5) * step, lim - (j + 0.5) * step]
            for j in range(cells) for i in range(cells)]


def _pack(values: Sequence[float], scale: float) -> str:
    """Quantise values in [-scale, scale] to bytes 1..255 (128 = 0), as base64."""
    s = scale if scale > 0 else 1.0
    raw = bytes(128 + max(-127, min(127, round(127 * v / s))) if math.isfinite(v) else 128
                for v in values)
    return base64.b64encode(raw).decode("ascii")


def _numpy_or_none() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


# ---------------------------------------------------------------------------
# the session


class Session:
    """A playground run on the real engine: the model, the optimizer, the data and the views.

    Args:
        state: where to start (default: :class:`PlaygroundState`'s defaults);
            its points are generated when it has none, its weights made from
            ``seed`` when it has none.
        use_numpy: False forces the dynamic engine even where NumPy is
            installed (None: use NumPy when it is there).

    Raises:
        StateError: if ``state`` is not a valid :class:`PlaygroundState`.
    """

    def __init__(self, state: PlaygroundState | None = None, *,
                 use_numpy: bool | None = None) -> None:
        st = PlaygroundState.from_dict(state.to_dict()) if state is not None \
            else PlaygroundState()
        self._np = _numpy_or_none() if use_numpy is not False else None
        if use_numpy and self._np is None:
            raise PlaygroundError("use_numpy=True but NumPy is not installed "
                                  "(pip install 'chainrule[fast]')")
        if not st.train:
            st.train, st.test = make_points(st)
        self._s = st
        self._build(st.weights)

    # -- building -------------------------------------------------------------
    def _build(self, weights: list[list[list[float]]] | None) -> None:
        s = self._s
        self.model = nn.MLP(len(s.features), [*s.hidden, 1], activation=s.activation,
                            seed=s.seed)
        self._params = self.model.parameters()
        if weights is not None:
            flat = [w for layer in weights for neuron in layer for w in neuron]
            for p, w in zip(self._params, flat):
                p.data = w
        self._last_grad = [0.0] * len(self._params)
        self._replay = [(self.weights(), self._shaped(self._last_grad))]
        self._replay_from = self._s.epoch
        self._compile()
        self._new_segment(fresh_optimizer=True)
        if not s.history_train:
            self._record_losses()

    def _compile(self) -> None:
        s, np = self._s, self._np
        self._train_step: Any = None
        self._eval: Any = None
        self._probe: Any = None
        if np is None:
            return
        self._train_step = autograd.compile(self._per_sample(True), batch=True,
                                            reduction="mean").array_step(self._params)
        self._eval = autograd.compile(self._per_sample(False), batch=True, reduction="mean")
        model = self.model

        def probe(x: Any) -> tuple[Value, ...]:
            acts = _layers(model, x)
            return (acts[-1][0], *[a for layer in acts for a in layer])

        self._probe = autograd.compile(probe, batch=True, reduction="mean")
        del s

    def _per_sample(self, regularised: bool) -> Callable[..., tuple[Value, ...]]:
        s, model, params = self._s, self.model, self._params
        regression, reg, rate = s.regression, s.regularization, s.reg_rate

        def per_sample(x: Any, t: Any) -> tuple[Value, ...]:
            o = _layers(model, x)[-1][0]
            loss = (o - t) * (o - t) if regression else o.softplus() - t * o
            if regularised and rate and reg == "l2":
                loss = loss + rate * autograd.dot(params, params)
            elif regularised and rate and reg == "l1":
                loss = loss + rate * autograd.sum([abs(p) for p in params])
            return (loss, o)

        return per_sample

    def _make_optimizer(self) -> nn.optim.Optimizer:
        s = self._s
        if s.optimizer == "sgd":
            return nn.optim.SGD(self._params, lr=s.lr)
        if s.optimizer == "momentum":
            return nn.optim.SGD(self._params, lr=s.lr, momentum=0.9)
        if s.optimizer == "rmsprop":
            return nn.optim.RMSprop(self._params, lr=s.lr)
        return nn.optim.Adam(self._params, lr=s.lr)

    def _new_segment(self, fresh_optimizer: bool = False) -> None:
        """Start a segment at the current epoch (see the module docstring)."""
        s = self._s
        old = getattr(self, "opt", None)
        self.opt = self._make_optimizer()
        if old is not None and not fresh_optimizer and type(old) is type(self.opt):
            state = old.state_dict()
            state["lr"] = s.lr
            self.opt.load_state_dict(state)
        self._rng = random.Random(_shuffle_seed(s.seed, s.epoch))
        self.segment = {"epoch": s.epoch, "weights": self.weights(),
                        "optimizer": self.opt.state_dict(),
                        "shuffle_seed": _shuffle_seed(s.seed, s.epoch)}

    # -- reading ---------------------------------------------------------------
    @property
    def state(self) -> PlaygroundState:
        """A copy of the whole state, with the current weights."""
        d = self._s.to_dict()
        d["weights"] = self.weights()
        return PlaygroundState.from_dict(d)

    @property
    def path(self) -> str:
        """How the steps run: ``"batched"`` (NumPy arrays) or ``"dynamic"`` (the engine's graph)."""
        return "batched" if self._np is not None else "dynamic"

    def weights(self) -> list[list[list[float]]]:
        """The weights: per layer, per neuron ``[w1, ..., wn, b]``."""
        return [[[*(w.data for w in n.w), n.b.data] for n in layer.neurons]
                for layer in self.model.layers]

    def _shaped(self, flat: Sequence[float]) -> list[list[list[float]]]:
        it = iter(flat)
        return [[[next(it) for _ in range(n.nin + 1)] for n in layer.neurons]
                for layer in self.model.layers]

    # -- changing ----------------------------------------------------------------
    def apply(self, changes: dict[str, Any]) -> set[str]:
        """Change settings (checked whole first); returns the names of the fields that changed.

        Data fields regenerate the points and restart the run; features,
        layers, activation or seed restart it with new weights; training
        settings start a new segment; view settings change nothing else.

        Raises:
            StateError: for an unknown or bad field (nothing is changed).
            PlaygroundError: for fields only the playground itself sets
                (points, weights, epoch, history: use the matching request).
        """
        if not isinstance(changes, dict):
            raise StateError("the settings must be a JSON object of field: value")
        owned = set(changes) & {"train", "test", "weights", "epoch", "history_train",
                                "history_test", "version"}
        if owned:
            raise PlaygroundError(f"{', '.join(sorted(owned))} cannot be set directly: use "
                                  "add_point/delete_point, set_weight, reset or load_state")
        new = PlaygroundState.from_dict(changes, base=self._s)
        old = self._s
        changed = {k for k in changes if getattr(new, k) != getattr(old, k)}
        if not changed:
            return changed
        new.weights = None
        self._s = new
        if changed & _DATA_FIELDS:
            new.train, new.test = make_points(new)
        if changed & (_DATA_FIELDS | _MODEL_FIELDS) or \
                ("dataset" in changed and new.regression != old.regression):
            self._restart()
        elif changed & _SEGMENT_FIELDS:
            self._compile()
            self._new_segment(fresh_optimizer="optimizer" in changed)
        return changed

    def _restart(self) -> None:
        s = self._s
        s.epoch, s.history_train, s.history_test = 0, [], []
        self._build(None)

    def reset(self) -> None:
        """Start the run again: new weights from ``seed``, epoch 0, the history cleared."""
        self._restart()

    def regenerate(self) -> None:
        """New data of the same kind (the next ``data_seed``); restarts the run."""
        self.apply({"data_seed": (self._s.data_seed + 1) % 2**31})

    def load(self, state: PlaygroundState) -> None:
        """Replace everything with ``state`` (its weights, epoch and history kept)."""
        st = PlaygroundState.from_dict(state.to_dict())
        if not st.train:
            st.train, st.test = make_points(st)
        self._s = st
        self._build(st.weights)

    def add_point(self, x1: float, x2: float, label: float, split: str = "train") -> None:
        """Add a data point (label 0/1, or a target for regression); a new segment starts.

        Raises:
            StateError: for a coordinate outside [-6, 6], a bad label or too many points.
        """
        s = self._s
        pts = [*getattr(s, _split(split)), [x1, x2, label]]
        checked = PlaygroundState.from_dict({_split(split): pts}, base=s)
        setattr(s, _split(split), getattr(checked, _split(split)))
        self._new_segment()

    def delete_point(self, split: str, index: int) -> None:
        """Delete a data point; a new segment starts.

        Raises:
            PlaygroundError: for a bad index or deleting the last training point.
        """
        pts = getattr(self._s, _split(split))
        _index(index, len(pts), f"{split} point")
        if split == "train" and len(pts) == 1:
            raise PlaygroundError("cannot delete the last training point; add another first")
        del pts[index]
        self._new_segment()

    def set_weight(self, layer: int, neuron: int, index: int, value: float) -> None:
        """Set one weight (``index`` = the neuron's inputs count for its bias); a new segment.

        Raises:
            PlaygroundError: for an index out of range.
            StateError: for a value that is not a number in [-1e6, 1e6].
        """
        layers = self.model.layers
        _index(layer, len(layers), "layer")
        neurons = layers[layer].neurons
        _index(neuron, len(neurons), "neuron")
        n = neurons[neuron]
        _index(index, n.nin + 1, "weight (the last index is the bias)")
        v = S._real("value", value, -S.MAX_WEIGHT, S.MAX_WEIGHT)
        (n.b if index == n.nin else n.w[index]).data = v
        self._new_segment()

    # -- training ------------------------------------------------------------------
    def _data(self, split: str) -> tuple[list[list[float]], list[float]]:
        pts = getattr(self._s, split)
        return features(pts, self._s.features), [p[2] for p in pts]

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` epochs (each a shuffled pass over the training points in batches).

        Raises:
            PlaygroundError: if the loss or the gradients become nan or inf
                (the weights are those before that step), or for a bad count.
        """
        epochs = _index(epochs, MAX_STEPS + 1, "steps", low=1)
        X, y = self._data("train")
        for _ in range(epochs):
            self._epoch(X, y)
            self._s.epoch += 1
            self._record_losses()
            if len(self._replay) <= MAX_REPLAY:
                self._replay.append((self.weights(), self._shaped(self._last_grad)))

    def _epoch(self, X: list[list[float]], y: list[float]) -> None:
        n = len(X)
        bs = min(self._s.batch_size, n)
        order = list(range(n))
        self._rng.shuffle(order)
        np = self._np
        if np is not None:
            theta = np.array([p.data for p in self._params], dtype=np.float64)
            Xa, ya = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
            try:
                for s in range(math.ceil(n / bs)):
                    ix = np.array(order[s * bs:(s + 1) * bs], dtype=np.intp)
                    loss, grad, _ = self._train_step(theta, Xa[ix], ya[ix])
                    self._check(loss, grad.tolist())
                    self.opt.step_array(theta, grad)
            finally:
                for p, v in zip(self._params, theta.tolist()):
                    p.data = v
                self.opt._lists()
            return
        per_sample = self._per_sample(True)
        for s in range(math.ceil(n / bs)):
            idx = order[s * bs:(s + 1) * bs]
            loss = autograd.mean([per_sample(X[i], y[i])[0] for i in idx])
            self.opt.zero_grad()
            loss.backward()
            self._check(loss.data, [p.grad for p in self._params])
            self.opt.step()

    def _check(self, loss: float, grad: list[float]) -> None:
        if not (math.isfinite(loss) and all(map(math.isfinite, grad))):
            raise PlaygroundError(
                f"training diverged in epoch {self._s.epoch + 1}: the loss became {loss!r} "
                f"(lr={self._s.lr:g}); lower the learning rate and press reset")
        self._last_grad = grad

    def losses(self) -> tuple[float, float | None]:
        """The mean data loss (no regularisation) over the training and the test points."""
        out: list[float | None] = []
        for split in ("train", "test"):
            X, y = self._data(split)
            if not X:
                out.append(None)
                continue
            if self._eval is not None:
                loss = float(self._eval.forward(X, y)[0])
            else:
                per_sample = self._per_sample(False)
                with autograd.no_grad():
                    loss = math.fsum(per_sample(x, t)[0].data for x, t in zip(X, y)) / len(X)
            out.append(loss)
        train = out[0]
        return (train if train is not None else math.nan), out[1]

    def _record_losses(self) -> None:
        train, test = self.losses()
        s = self._s
        for hist, v in ((s.history_train, train), (s.history_test, test)):
            hist.append(v if v is not None and math.isfinite(v) else None)
            if len(hist) >= S.MAX_HISTORY:  # keep every other epoch of the oldest half
                del hist[1:S.MAX_HISTORY // 2:2]

    # -- views --------------------------------------------------------------------
    def _activations(self, points: list[list[float]]) -> list[list[float]]:
        """Per point: the output, then every neuron's activation (layer by layer)."""
        X = features(points, self._s.features)
        if self._probe is not None:  # forward gives (mean output, *every neuron's column)
            cols = [c.tolist() for c in self._probe.forward(X)[1:]]
            return [[r[-1], *r] for r in zip(*cols)]
        rows = []
        with autograd.no_grad():
            for x in X:
                acts = _layers(self.model, x)
                rows.append([acts[-1][0].data, *[a.data for layer in acts for a in layer]])
        return rows

    def _grid_columns(self, cells: int) -> list[Any]:
        """The output, then every neuron, over the grid: one column (array or list) each.

        With NumPy, one batched forward of the compiled probe over the grid's
        features (computed once per feature set).
        """
        np = self._np
        if np is None or self._probe is None:
            rows = self._activations(_grid(cells))
            return [list(c) for c in zip(*rows)]
        key = (cells, tuple(self._s.features))
        grids: dict[Any, Any] = self.__dict__.setdefault("_grids", {})
        if key not in grids:
            grids[key] = np.asarray(features(_grid(cells), self._s.features), dtype=np.float64)
        cols = list(self._probe.forward(grids[key])[1:])
        return [cols[-1], *cols]

    def _tanh_half(self, col: Any) -> Any:
        if self._np is not None:
            return self._np.tanh(col / 2)
        return [math.tanh(v / 2) for v in col]

    def _top(self, col: Any) -> float:
        np = self._np
        if np is not None:
            finite = np.abs(col[np.isfinite(col)])
            return float(finite.max()) if finite.size else 1.0
        return max((abs(v) for v in col if math.isfinite(v)), default=1.0)

    def _pack(self, col: Any, scale: float) -> str:
        np = self._np
        if np is None:
            return _pack(col, scale)
        s = scale if scale > 0 else 1.0
        q = np.clip(np.rint(127 * np.nan_to_num(col, nan=0.0, posinf=s, neginf=-s) / s),
                    -127, 127) + 128
        return base64.b64encode(q.astype(np.uint8).tobytes()).decode("ascii")

    def frame(self) -> dict[str, Any]:
        """What the page draws after a change or a step: weights, gradients, maps, curves."""
        s = self._s
        cells, ncells = (GRID, NEURON_GRID) if self._np is not None else (20, 10)
        out = self._grid_columns(cells)[0]
        out_map = self._pack(out if s.regression else self._tanh_half(out), 1.0)
        maps = []
        for col in self._grid_columns(ncells)[1:]:
            top = self._top(col)
            maps.append({"scale": top, "data": self._pack(col, top)})
        train, test = s.history_train, s.history_test
        every = max(1, math.ceil(len(train) / CURVE_POINTS))
        picks = list(range(0, len(train), every))
        if picks[-1] != len(train) - 1:
            picks.append(len(train) - 1)
        return {
            "type": "frame", "epoch": s.epoch, "path": self.path,
            "loss_train": train[-1], "loss_test": test[-1],
            "weights": self.weights(), "grads": self._shaped(self._last_grad),
            "output_map": {"cells": cells, "data": out_map},
            "neuron_maps": {"cells": ncells, "maps": maps},
            "curve": {"epochs": picks, "train": [train[i] for i in picks],
                      "test": [test[i] for i in picks]},
        }

    def inspect(self, split: str, index: int, *, frames: bool = True) -> dict[str, Any]:
        """One data point's forward values and backward pass.

        Returns a dict: the point, its features, every neuron's activation,
        the loss, ``d loss / d activation`` for every neuron, ``d loss / d
        weight`` for every weight (the engine's backward through the real
        model: which way each weight should move for this point), and, with
        ``frames``, the step-through frames of the backward pass over the
        neuron graph (SVG images from :func:`visualize.render_backward`, with
        their captions) when Graphviz is installed.

        Raises:
            PlaygroundError: for a bad split or index.
        """
        s = self._s
        pts = getattr(s, _split(split))
        _index(index, len(pts), f"{split} point")
        p = pts[index]
        x = features([p], s.features)[0]
        t = p[2]
        # the real model's backward: d loss / d every weight for this point
        o = self.model(x)
        assert isinstance(o, Value)
        loss = (o - t) * (o - t) if s.regression else o.softplus() - t * o
        wgrads = [float(g) for g in autograd.grad(loss, self._params)]
        # the neuron graph: one node per neuron, weights as constants
        graph_loss, nodes = self._neuron_graph(x, t)
        dacts = [float(g) for g in autograd.grad(graph_loss, [v for layer in nodes for v in layer])]
        it = iter(dacts)
        result: dict[str, Any] = {
            "type": "inspect", "split": split, "index": index, "point": p,
            "features": dict(zip(s.features, x)),
            "activations": [[v.data for v in layer] for layer in nodes],
            "dactivations": [[next(it) for _ in layer] for layer in nodes],
            "loss": graph_loss.data, "output": o.data,
            "weight_grads": self._shaped(wgrads), "frames": [], "captions": [],
        }
        if frames:
            result["frames"], result["captions"], result["frames_note"] = \
                self._backward_frames(graph_loss)
        return result

    def _neuron_graph(self, x: list[float], t: float) -> tuple[Value, list[list[Value]]]:
        from nn.fused import NEURON_OPS

        s = self._s
        h: list[Value] = [Value(v, label=name) for v, name in zip(x, s.features)]
        nodes = []
        last = len(self.model.layers) - 1
        for li, layer in enumerate(self.model.layers):
            act = "linear" if li == last else s.activation
            row = []
            for j, n in enumerate(layer.neurons):
                v = autograd.apply(NEURON_OPS[act], *h, *(w.data for w in n.w), n.b.data)
                v.label = "out" if li == last else f"h{li + 1}.{j + 1}"
                row.append(v)
            nodes.append(row)
            h = row
        o = h[0]
        if s.regression:
            loss = nn.mse_loss([o], [t])
        else:
            loss = nn.binary_cross_entropy_with_logits([o], [t])
        loss.label = "loss"
        return loss, nodes

    def _backward_frames(self, loss: Value) -> tuple[list[str], list[str], str]:
        import visualize

        if visualize.find_dot() is None:
            return [], [], ("Graphviz's dot is not installed: the step-through frames need it "
                            "(apt-get install graphviz)")
        dots = visualize.backward_dots(loss, title="this point's backward pass")
        with tempfile.TemporaryDirectory(prefix="chainrule-playground-") as tmp:
            frames = visualize.render_backward(loss, tmp, title="this point's backward pass")
            svgs = [base64.b64encode(f.read_bytes()).decode("ascii") for f in frames.frames]
        return svgs, list(dots.captions), ""

    # -- exports ---------------------------------------------------------------------
    def export_model(self) -> str:
        """The model as the text of a file ``nn.load`` reads (JSON)."""
        with tempfile.TemporaryDirectory(prefix="chainrule-playground-") as tmp:
            path = Path(tmp) / "model.json"
            nn.save(self.model, path, meta={"playground": {"features": self._s.features,
                                                            "epoch": self._s.epoch}})
            return path.read_text(encoding="utf-8")

    def export_page(self) -> str:
        """This run since its last restart as the self-contained replay page (HTML text).

        The page is the ``playground`` lesson's (:func:`visualize.app.lessons.playground.
        write_page`): the network, the boundary and the curves at every epoch, moved by a
        slider; it replays the first :data:`MAX_REPLAY` epochs.

        Raises:
            PlaygroundError: unless the inputs are x1 and x2 and the task is
                classification (what the replay page draws).
        """
        from visualize.app.lessons import playground as replay

        s = self._s
        if s.features != ["x1", "x2"] or s.regression:
            raise PlaygroundError("the replay page draws classifiers of the two inputs x1, x2; "
                                  "choose a classification data set and only x1 and x2")
        frames = self._replay
        epochs = len(frames) - 1
        first = self._replay_from + 1
        whole = len(s.history_train) == s.epoch + 1  # one entry per epoch (not thinned)
        hist_train = [math.nan if v is None else v
                      for v in s.history_train[first:first + epochs]] if whole else []
        hist_test = [math.nan if v is None else v
                     for v in s.history_test[first:first + epochs]] if whole else []
        rec = replay.Recording(
            title=f"chainrule playground, replayed: MLP(2, {[*s.hidden, 1]}), {s.activation}, "
                  f"{s.dataset}, {s.optimizer} lr {s.lr:g}",
            sizes=s.sizes, activation=s.activation, output_activation="linear",
            negative_slope=0.01, weights=[w for w, _ in frames], grads=[g for _, g in frames],
            loss=hist_train, val_loss=hist_test if s.test else [],
            points=[list(p) for p in s.train], val_points=[list(p) for p in s.test])
        with tempfile.TemporaryDirectory(prefix="chainrule-playground-") as tmp:
            return replay.write_page(rec, Path(tmp) / "replay.html").read_text(encoding="utf-8")

    def export_script(self) -> str:
        """A Python script reproducing the current segment with ``nn.fit``.

        Running it trains a new model from the segment's first weights on the
        current data and settings for as many epochs as this session has
        trained since, and prints its weights as JSON; they equal
        :meth:`weights` up to float rounding.
        """
        from visualize.app.playground.export import script

        return script(self._s, self.segment)


def _layers(model: nn.MLP, x: Any) -> list[list[Value]]:
    """Every layer's outputs for one sample (the same nodes as ``model(x)``)."""
    acts = []
    h = x
    for layer in model.layers:
        out = layer(h)
        h = out if isinstance(out, list) else [out]
        acts.append(h)
    return acts


def _shuffle_seed(seed: int, epoch: int) -> int:
    return (seed + epoch) % 2**31


def _split(split: Any) -> str:
    if split not in ("train", "test"):
        raise PlaygroundError(f"split must be 'train' or 'test', got {str(split)[:20]!r}")
    return str(split)


def _index(i: Any, n: int, what: str, low: int = 0) -> int:
    if isinstance(i, bool) or not isinstance(i, int) or not low <= i < n:
        raise PlaygroundError(f"{what} index must be an integer in [{low}, {n - 1}], "
                              f"got {str(i)[:20]}")
    return i


def dumps(obj: Any) -> str:
    """JSON for the page: compact, no nan/inf (they become null)."""
    return json.dumps(_finite(obj), separators=(",", ":"), allow_nan=False)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
