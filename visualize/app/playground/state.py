"""The playground's whole state in one serialisable, validated object.

:class:`PlaygroundState` holds everything a run is made of: the data settings
and the points themselves (generated, then added to or deleted from by the
learner), the features, the network's shape and activation, the training
settings, the seed, the weights, the epoch, the loss history and the
classroom's hidden controls. It converts to and from a plain JSON dict
(:meth:`PlaygroundState.to_dict`, :meth:`PlaygroundState.from_dict`), a state
file (:func:`save_state`, :func:`load_state`) and a URL fragment
(:func:`to_fragment`, :func:`from_fragment`). Every field is checked on the
way in: a bad one raises :class:`StateError` naming the field and what it
allows, and nothing is half-applied.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chainrule.outputs import write_file

__all__ = [
    "ACTIVATIONS",
    "CLASSIFICATION",
    "CONTROLS",
    "DATASETS",
    "DOMAIN",
    "FEATURES",
    "MAX_HIDDEN_LAYERS",
    "MAX_NEURONS",
    "MAX_POINTS",
    "OPTIMIZERS",
    "REGRESSION",
    "REGULARIZATIONS",
    "PlaygroundState",
    "StateError",
    "from_fragment",
    "load_state",
    "save_state",
    "to_fragment",
]

#: the classification data sets (labels 0/1) and the regression ones (float targets)
CLASSIFICATION: tuple[str, ...] = ("circles", "xor", "gaussians", "spiral", "moons")
REGRESSION: tuple[str, ...] = ("plane", "bumps")
DATASETS: tuple[str, ...] = CLASSIFICATION + REGRESSION
#: the input features the network can be given, computed from (x1, x2)
FEATURES: tuple[str, ...] = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "sigmoid", "linear")
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "rmsprop", "adam")
REGULARIZATIONS: tuple[str, ...] = ("none", "l1", "l2")
#: the controls classroom mode can hide (``hidden_controls``)
CONTROLS: tuple[str, ...] = (
    "dataset", "noise", "train_ratio", "n_points", "regenerate", "features", "layers",
    "activation", "optimizer", "lr", "batch_size", "regularization", "reg_rate", "edit_weights",
    "add_points", "inspect", "export", "show_test",
)
#: the square the points live in: both coordinates in [-DOMAIN, DOMAIN]
DOMAIN = 6.0
MAX_HIDDEN_LAYERS = 6
MAX_NEURONS = 8
#: most points (training + test) a state may hold, and most a data set generates
MAX_POINTS = 2000
MAX_GENERATED = 1000
MAX_BATCH = 1000
MAX_HISTORY = 5000
MAX_EPOCH = 10**9
MAX_WEIGHT = 1e6
MAX_TARGET = 100.0
#: the longest state file or fragment read (bytes)
MAX_STATE_BYTES = 2_000_000
VERSION = 1


class StateError(ValueError):
    """A state (or a change to one) has a field out of range or malformed; the message names it."""


def _fail(name: str, allowed: str, got: Any) -> StateError:
    text = repr(got)
    if len(text) > 60:
        text = text[:57] + "..."
    return StateError(f"{name} must be {allowed}, got {text}")


def _choice(name: str, v: Any, options: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v not in options:
        raise _fail(name, "one of " + ", ".join(options), v)
    return v


def _int(name: str, v: Any, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _fail(name, f"an integer in [{lo}, {hi}]", v)
    return v


def _real(name: str, v: Any, lo: float, hi: float, *, open_low: bool = False) -> float:
    ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
    if ok:
        f = float(v)
        ok = (lo < f if open_low else lo <= f) and f <= hi
    if not ok:
        bracket = "(" if open_low else "["
        raise _fail(name, f"a number in {bracket}{lo:g}, {hi:g}]", v)
    return float(v)


def _bool(name: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise _fail(name, "true or false", v)
    return v


def _list(name: str, v: Any, most: int) -> list[Any]:
    if not isinstance(v, list):
        raise _fail(name, "a list", v)
    if len(v) > most:
        raise StateError(f"{name} must have at most {most} entries, got {len(v)}")
    return v


def _names(name: str, v: Any, options: tuple[str, ...], *, empty: bool) -> list[str]:
    items = _list(name, v, len(options))
    out = [_choice(f"{name}[{i}]", x, options) for i, x in enumerate(items)]
    if len(set(out)) != len(out):
        raise StateError(f"{name} lists a name twice: {out}")
    if not empty and not out:
        raise StateError(f"{name} must name at least one of {', '.join(options)}")
    return [o for o in options if o in out]  # canonical order


def _points(name: str, v: Any, regression: bool) -> list[list[float]]:
    pts = _list(name, v, MAX_POINTS)
    out = []
    for i, p in enumerate(pts):
        if not isinstance(p, list) or len(p) != 3:
            raise _fail(f"{name}[{i}]", "a list [x1, x2, label]", p)
        x1 = _real(f"{name}[{i}][0] (x1)", p[0], -DOMAIN, DOMAIN)
        x2 = _real(f"{name}[{i}][1] (x2)", p[1], -DOMAIN, DOMAIN)
        if regression:
            y = _real(f"{name}[{i}][2] (target)", p[2], -MAX_TARGET, MAX_TARGET)
        else:
            if p[2] not in (0, 1) or isinstance(p[2], bool):
                raise _fail(f"{name}[{i}][2] (label)", "0 or 1", p[2])
            y = float(p[2])
        out.append([x1, x2, y])
    return out


def _history(name: str, v: Any) -> list[float | None]:
    items = _list(name, v, MAX_HISTORY)
    out: list[float | None] = []
    for i, x in enumerate(items):
        if x is None:  # a loss that overflowed
            out.append(None)
        else:
            out.append(_real(f"{name}[{i}]", x, 0.0, math.inf))
    return out


@dataclass
class PlaygroundState:
    """Everything a playground run is: settings, data, weights and history (JSON-able).

    Attributes:
        dataset: one of :data:`DATASETS`; n_points: how many points it generates
            (10..1000); noise: 0..0.5 (in the set's own units); train_ratio:
            the training fraction (0.1..0.9); data_seed: the generator's seed.
        train, test: the points ``[x1, x2, label]`` (label 0/1, or a float
            target for the regression sets), both coordinates in [-6, 6].
        features: the inputs the network sees, from :data:`FEATURES`.
        hidden: the hidden layers' widths (0..6 layers of 1..8 neurons).
        activation: the hidden layers' activation (the output is linear).
        optimizer, lr, batch_size: the training settings (lr in (0, 10]).
        regularization, reg_rate: ``"none"``, ``"l1"`` or ``"l2"`` and its rate.
        seed: the weights' initialisation and the shuffling seed.
        weights: per layer, per neuron ``[w1, ..., wn, b]``; None until the
            model is built (then from ``seed``).
        epoch: the epochs trained since the last reset.
        history_train, history_test: the loss after each epoch (epoch 0 first).
        show_test: draw the test points; log_scale: the loss curves' y axis.
        hidden_controls: classroom mode's hidden controls, from :data:`CONTROLS`.
    """

    dataset: str = "circles"
    n_points: int = 200
    noise: float = 0.1
    train_ratio: float = 0.5
    data_seed: int = 0
    train: list[list[float]] = field(default_factory=list)
    test: list[list[float]] = field(default_factory=list)
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    hidden: list[int] = field(default_factory=lambda: [4, 2])
    activation: str = "tanh"
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    regularization: str = "none"
    reg_rate: float = 0.0
    seed: int = 0
    weights: list[list[list[float]]] | None = None
    epoch: int = 0
    history_train: list[float | None] = field(default_factory=list)
    history_test: list[float | None] = field(default_factory=list)
    show_test: bool = False
    log_scale: bool = False
    hidden_controls: list[str] = field(default_factory=list)

    @property
    def regression(self) -> bool:
        """True for the regression data sets (float targets, mean squared error)."""
        return self.dataset in REGRESSION

    @property
    def sizes(self) -> list[int]:
        """The layer sizes, inputs first: ``[len(features), *hidden, 1]``."""
        return [len(self.features), *self.hidden, 1]

    def to_dict(self) -> dict[str, Any]:
        """Return the state as a JSON-serialisable dict (with a ``version`` entry)."""
        d = dataclasses.asdict(self)
        d["version"] = VERSION
        return d

    @classmethod
    def from_dict(cls, d: Any, base: PlaygroundState | None = None) -> PlaygroundState:
        """Check ``d`` and build a state; missing fields come from ``base`` (or the defaults).

        Raises:
            StateError: for a field that is unknown, out of range or malformed
                (the message names it and what it allows), or weights that do
                not fit the network.
        """
        if not isinstance(d, dict):
            raise _fail("the state", "a JSON object", d)
        known = {f.name for f in dataclasses.fields(cls)}
        for k in d:
            if k != "version" and k not in known:
                raise StateError(f"unknown state field {str(k)[:40]!r}; the fields are "
                                 + ", ".join(sorted(known)))
        if "version" in d and d["version"] != VERSION:
            raise _fail("version", str(VERSION), d["version"])
        merged = (base or cls()).to_dict()
        merged.update({k: v for k, v in d.items() if k != "version"})
        return cls._checked(merged)

    @classmethod
    def _checked(cls, m: dict[str, Any]) -> PlaygroundState:
        ds = _choice("dataset", m["dataset"], DATASETS)
        reg = ds in REGRESSION
        train = _points("train", m["train"], reg)
        test = _points("test", m["test"], reg)
        if len(train) + len(test) > MAX_POINTS:
            raise StateError(f"train and test hold {len(train) + len(test)} points; at most "
                             f"{MAX_POINTS} in all")
        hidden = [_int(f"hidden[{i}]", k, 1, MAX_NEURONS)
                  for i, k in enumerate(_list("hidden", m["hidden"], MAX_HIDDEN_LAYERS))]
        s = cls(
            dataset=ds,
            n_points=_int("n_points", m["n_points"], 10, MAX_GENERATED),
            noise=_real("noise", m["noise"], 0.0, 0.5),
            train_ratio=_real("train_ratio", m["train_ratio"], 0.1, 0.9),
            data_seed=_int("data_seed", m["data_seed"], 0, 2**31 - 1),
            train=train, test=test,
            features=_names("features", m["features"], FEATURES, empty=False),
            hidden=hidden,
            activation=_choice("activation", m["activation"], ACTIVATIONS),
            optimizer=_choice("optimizer", m["optimizer"], OPTIMIZERS),
            lr=_real("lr", m["lr"], 0.0, 10.0, open_low=True),
            batch_size=_int("batch_size", m["batch_size"], 1, MAX_BATCH),
            regularization=_choice("regularization", m["regularization"], REGULARIZATIONS),
            reg_rate=_real("reg_rate", m["reg_rate"], 0.0, 10.0),
            seed=_int("seed", m["seed"], 0, 2**31 - 1),
            weights=None,
            epoch=_int("epoch", m["epoch"], 0, MAX_EPOCH),
            history_train=_history("history_train", m["history_train"]),
            history_test=_history("history_test", m["history_test"]),
            show_test=_bool("show_test", m["show_test"]),
            log_scale=_bool("log_scale", m["log_scale"]),
            hidden_controls=_names("hidden_controls", m["hidden_controls"], CONTROLS,
                                   empty=True),
        )
        if m["weights"] is not None:
            s.weights = _weights(m["weights"], s.sizes)
        return s


def _weights(v: Any, sizes: list[int]) -> list[list[list[float]]]:
    """Check per layer, per neuron ``[w1, ..., wn, b]`` against the layer sizes."""
    want = ", ".join(f"{b} neurons of {a + 1} numbers" for a, b in itertools.pairwise(sizes))
    layers = _list("weights", v, len(sizes) - 1)
    if len(layers) != len(sizes) - 1:
        raise StateError(f"weights has {len(layers)} layers; the network {sizes} needs "
                         f"{len(sizes) - 1} ({want})")
    out = []
    for li, (layer, nin, nout) in enumerate(zip(layers, sizes, sizes[1:])):
        if not isinstance(layer, list) or len(layer) != nout:
            raise StateError(f"weights[{li}] must be {nout} neurons of {nin + 1} numbers "
                             f"for the network {sizes}")
        rows = []
        for j, neuron in enumerate(layer):
            if not isinstance(neuron, list) or len(neuron) != nin + 1:
                raise StateError(f"weights[{li}][{j}] must be {nin + 1} numbers "
                                 f"([w1, ..., w{nin}, b]) for the network {sizes}")
            rows.append([_real(f"weights[{li}][{j}][{k}]", w, -MAX_WEIGHT, MAX_WEIGHT)
                         for k, w in enumerate(neuron)])
        out.append(rows)
    return out


def save_state(state: PlaygroundState, path: str | os.PathLike[str]) -> Path:
    """Write ``state`` as a JSON state file (atomically) and return its path.

    Raises:
        OSError: if the file cannot be written.
    """
    text = json.dumps(state.to_dict(), indent=1) + "\n"
    return write_file(path, text.encode("utf-8"), "--state")  # the output rule


def load_state(path: str | os.PathLike[str]) -> PlaygroundState:
    """Read a state file written by :func:`save_state` (or the page's "save state").

    Raises:
        StateError: if the file is not a playground state (the message says
            which field is wrong) or is larger than 2 MB.
        OSError: if it cannot be read.
    """
    p = Path(path)
    if p.stat().st_size > MAX_STATE_BYTES:
        raise StateError(f"{p}: a state file is at most {MAX_STATE_BYTES} bytes")
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"{p}: not a playground state file ({exc})") from None
    return PlaygroundState.from_dict(d)


def to_fragment(state: PlaygroundState) -> str:
    """Return the state as a URL fragment (base64url of its compact JSON, no ``#``)."""
    text = json.dumps(state.to_dict(), separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def from_fragment(fragment: str) -> PlaygroundState:
    """Read a state from :func:`to_fragment`'s text (a leading ``#`` or ``state=`` is allowed).

    Raises:
        StateError: if the text is not a state fragment or a field is bad.
    """
    text = fragment.lstrip("#")
    if text.startswith("state="):
        text = text[len("state="):]
    if len(text) > MAX_STATE_BYTES:
        raise StateError(f"a state fragment is at most {MAX_STATE_BYTES} characters")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        d = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError) as exc:
        raise StateError(f"the URL fragment is not a playground state ({exc})") from None
    return PlaygroundState.from_dict(d)
