"""The training loop: ``fit`` (epochs, batches, metrics, validation, checkpoints), ``History``.

``fit`` trains a model on ``(X, y)`` lists and returns a :class:`History` of
per-epoch figures that plotting code reads as plain lists and dicts. The
loop shuffles with a seeded ``random.Random``, shows a tqdm progress bar with
the live loss and accuracy, stops early when the monitored loss stalls,
writes an atomic checkpoint (temporary file + ``os.replace``) after every
epoch, and returns cleanly on Ctrl-C (``KeyboardInterrupt``) with
``history.interrupted = True`` and the last checkpoint intact.

How each step runs (``compile=``, recorded in ``History.path``): ``"dynamic"``
builds the graph with the engine; ``"compiled"`` runs the batch as
straight-line float code (``autograd.compile``, bit for bit the dynamic
engine's numbers); ``"batched"`` runs the per-sample loss over the batch as
NumPy arrays (``autograd.compile(..., batch=True)``) with the parameters held
in one array and updated by the optimizer's ``step_array`` (the Values are
written back at the end of every epoch and whenever training stops, so
validation, callbacks, checkpoints, early stopping, Ctrl-C and divergence
errors see them), and validates the same way, as one NumPy pass; its numbers
equal the dynamic engine's within rounding.
``compile="auto"`` (the default) compiles (``"compiled"``) when the run is
long enough for the trace to pay for itself, and never picks ``"batched"``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import numbers
import os
import random
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import autograd
from autograd import Value
from chainrule.outputs import output_file
from nn import losses as L
from nn.data import train_test_split
from nn.layers import MLP, Seed, check_int, make_rng
from nn.module import Module
from nn.optim import (
    SGD,
    Adam,
    AdamW,
    LRScheduler,
    Optimizer,
    RMSprop,
    _real,
    clip_grad_norm_,
    clip_grad_norm_array,
)
from nn.serialize import PathLike, save

__all__ = ["LOSSES", "OPTIMIZERS", "History", "TrainingDivergedError", "evaluate", "fit"]

#: Loss names ``fit`` understands (or pass a callable ``loss(outputs, targets) -> Value``).
LOSSES: tuple[str, ...] = ("auto", "hinge", "bce", "cross_entropy", "mse", "l1")

#: Optimizer names and their default learning rates.
OPTIMIZERS: dict[str, tuple[type[Optimizer], float]] = {
    "sgd": (SGD, 0.1),
    "adam": (Adam, 0.01),
    "adamw": (AdamW, 0.01),
    "rmsprop": (RMSprop, 0.01),
}

LossFn = Callable[[list[Any], list[Any]], Value]
Callback = Callable[[int, "History"], Any]


@dataclass
class History:
    """What ``fit`` measured, one entry per completed epoch.

    Attributes:
        loss: the training objective (data loss plus any L2 penalty), averaged
            over the epoch's samples.
        accuracy: the training accuracy over the epoch (from the same forward
            passes); empty for regression.
        val_loss, val_accuracy: the data loss and accuracy on the validation
            set after the epoch; empty without validation (accuracy: or for
            regression).
        grad_flow: ``{"layer 1": [...], ...}``: the mean absolute gradient of
            each layer's parameters, averaged over the epoch's steps.
        lr: the learning rate used in each epoch.
        epochs_run: completed epochs.
        stopped_early: True if early stopping (or a callback) ended training.
        interrupted: True if Ctrl-C (``KeyboardInterrupt``) ended training.
        best_epoch: the epoch (1-based) with the best monitored loss, if early
            stopping was on.
        seconds: wall-clock training time.
        checkpoint_epoch: the epoch the checkpoint file holds (the last one
            written), or None without a checkpoint.
        path: how the steps ran: ``"dynamic"`` (the engine's graph),
            ``"compiled"`` (``autograd.compile``: the same numbers bit for
            bit) or ``"batched"`` (NumPy arrays: equal within rounding).
        path_reason: why (``compile=True``/``False``, or what ``"auto"``
            measured and decided).
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    grad_flow: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    epochs_run: int = 0
    stopped_early: bool = False
    interrupted: bool = False
    best_epoch: int | None = None
    seconds: float = 0.0
    checkpoint_epoch: int | None = None
    path: str = ""
    path_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the history as a JSON-serialisable dict of plain lists and numbers."""
        return {
            "loss": list(self.loss), "accuracy": list(self.accuracy),
            "val_loss": list(self.val_loss), "val_accuracy": list(self.val_accuracy),
            "grad_flow": {k: list(v) for k, v in self.grad_flow.items()},
            "lr": list(self.lr), "epochs_run": self.epochs_run,
            "stopped_early": self.stopped_early, "interrupted": self.interrupted,
            "best_epoch": self.best_epoch, "seconds": self.seconds,
            "checkpoint_epoch": self.checkpoint_epoch,
            "path": self.path, "path_reason": self.path_reason,
        }


# ---------------------------------------------------------------------------
# Task: how labels, outputs, the loss and accuracy fit together.


def _label(v: Any) -> float | int | None:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return None
    f = float(v)
    return int(f) if f.is_integer() else f


@dataclass
class _Task:
    kind: str  # "binary", "multiclass", "regression"
    loss_name: str
    loss_fn: LossFn
    targets: list[Any]


def _loss_for(name: str) -> LossFn:
    return {
        "hinge": L.hinge_loss,
        "bce": L.binary_cross_entropy_with_logits,
        "cross_entropy": L.cross_entropy,
        "mse": _flat(L.mse_loss),
        "l1": _flat(L.l1_loss),
    }[name]


def _flat(fn: Callable[..., Value]) -> LossFn:
    def loss(outputs: list[Any], targets: list[Any]) -> Value:
        if outputs and isinstance(outputs[0], list):
            return fn([o for row in outputs for o in row], [t for row in targets for t in row])
        return fn(outputs, targets)

    return loss


#: integer labels with at most this many distinct values look like classes, not a regression
_MAX_CLASS_LOOK = 10


def _stray_label_message(labels: list[Any], who: str, prefix: str = "") -> str:
    """The error for one-output integer labels that are neither 0/1 nor -1/+1."""
    head = prefix or who
    values = sorted(set(labels))
    for enc in ({0, 1}, {-1, 1}):
        stray = [(k, v) for k, v in enumerate(labels) if v not in enc]
        if len(stray) <= max(1, len(labels) // 10):
            k, v = stray[0]
            a, b = sorted(enc)
            return (f"{head}: the labels are {a}/{b} but sample {k} has label {v!r}; fix that "
                    f"label, or pass loss='mse' to treat the labels as numbers to regress on")
    return (f"{head}: the model has 1 output but the labels look like classes {values}; give "
            f"the model {len(values)} outputs (class indices 0..k-1), or pass loss='mse' to "
            "regress on them")


def _task(y: Sequence[Any], nout: int, loss: str | LossFn, who: str = "fit") -> _Task:
    """Decide the task from the labels and the output size, and convert targets.

    ``who`` names the caller (and the label set: ``"fit: validation labels"``)
    in every error.
    """
    labels = [_label(v) if not isinstance(v, (list, tuple)) else None for v in y]
    ints = all(isinstance(v, int) for v in labels)
    if callable(loss):
        if ints and nout == 1 and set(labels) <= {-1, 0, 1}:
            return _Task("binary", "custom", loss, list(y))
        if ints and nout > 1 and all(0 <= v < nout for v in labels):  # type: ignore[operator]
            return _Task("multiclass", "custom", loss, list(y))
        return _Task("regression", "custom", loss, list(y))
    if loss not in LOSSES:
        raise ValueError(f"{who}: unknown loss {loss!r}; choose one of {', '.join(LOSSES)} "
                         "or pass a callable loss(outputs, targets) -> Value")
    if nout == 1:
        if any(isinstance(v, (list, tuple)) for v in y):
            raise ValueError(f"{who}: the model has one output, so each target must be a number")
        if any(v is None for v in labels):
            raise TypeError(f"{who}: every target must be a real number")
        binary = ints and set(labels) <= {-1, 0, 1} and not ({-1, 0} <= set(labels))
        if loss == "auto" and ints and not binary and len(set(labels)) <= _MAX_CLASS_LOOK:
            raise ValueError(_stray_label_message(labels, who))
        if loss == "auto":
            loss = "hinge" if binary and -1 in labels else "bce" if binary else "mse"
        if loss == "cross_entropy":
            raise ValueError(f"{who}: loss 'cross_entropy' needs one output per class, this model "
                             "has 1: use 'bce' (0/1 labels) or 'hinge' (-1/+1 labels)")
        if loss in ("hinge", "bce"):
            if not binary and ints:
                raise ValueError(_stray_label_message(
                    labels, who, f"{who}: loss {loss!r} needs binary labels (0/1 or -1/+1)"))
            if not binary:
                raise ValueError(
                    f"{who}: loss {loss!r} needs binary labels (0/1 or -1/+1), got "
                    f"{sorted(set(map(str, labels)))[:6]}"
                )
            pos = [v == 1 for v in labels]
            t = [1 if p else -1 for p in pos] if loss == "hinge" else [1 if p else 0 for p in pos]
            return _Task("binary", loss, _loss_for(loss), t)
        return _Task("regression", loss, _loss_for(loss), [float(v) for v in labels])  # type: ignore[arg-type]
    # several outputs
    if ints and all(0 <= v < nout for v in labels):  # type: ignore[operator]
        if loss == "auto":
            loss = "cross_entropy"
        if loss in ("hinge", "bce"):
            raise ValueError(f"{who}: loss {loss!r} needs a model with one output; "
                             f"this one has {nout}: use 'cross_entropy'")
        if loss == "cross_entropy":
            return _Task("multiclass", loss, L.cross_entropy, list(labels))
        onehot = [[1.0 if j == v else 0.0 for j in range(nout)] for v in labels]
        return _Task("multiclass", loss, _loss_for(loss), onehot)
    if all(isinstance(v, (list, tuple)) and len(v) == nout for v in y):
        if loss == "auto":
            loss = "mse"
        if loss not in ("mse", "l1"):
            raise ValueError(f"{who}: vector targets need loss 'mse' or 'l1', got {loss!r}")
        return _Task("regression", loss, _loss_for(loss), [[float(t) for t in v] for v in y])
    bad = next(k for k, v in enumerate(y) if not (isinstance(labels[k], int) and
                                                  0 <= labels[k] < nout)  # type: ignore[operator]
               and not (isinstance(v, (list, tuple)) and len(v) == nout))
    raise ValueError(
        f"{who}: the model has {nout} outputs, so each target must be a class index in "
        f"0..{nout - 1} or a list of {nout} numbers; sample {bad} has {y[bad]!r}"
    )


def _correct(kind: str, output: Any, target: Any) -> bool:
    if kind == "binary":
        score = output.data if isinstance(output, Value) else float(output)
        return (score > 0.0) == (target == 1)
    row = [o.data if isinstance(o, Value) else float(o) for o in output]
    guess = max(range(len(row)), key=row.__getitem__)
    want = target if isinstance(target, int) else max(range(len(target)), key=target.__getitem__)
    return bool(guess == want)


def _predict(model: Any, X: Sequence[Any]) -> list[Any]:
    predict = getattr(model, "predict", None)
    if callable(predict):
        return list(predict(X))
    with autograd.no_grad():
        outs = [model(x) for x in X]
    return [o.data if isinstance(o, Value) else [v.data for v in o] for o in outs]


def _nout(model: Any, x: Any) -> int:
    layers = getattr(model, "layers", None)
    if layers:
        return int(layers[-1].nout)
    with autograd.no_grad():
        out = model(x)
    return 1 if isinstance(out, Value) else len(out)


def evaluate(model: Any, X: Sequence[Any], y: Sequence[Any],
             loss: str | LossFn = "auto") -> tuple[float, float | None]:
    """Return ``(loss, accuracy)`` of ``model`` on ``(X, y)`` without recording a graph.

    Args:
        model: a callable module (e.g. :class:`~nn.MLP`).
        X: samples; y: labels or targets (as for :func:`fit`).
        loss: as for :func:`fit`.

    Returns:
        The mean data loss and the accuracy (None for regression).

    Raises:
        ValueError: if ``X`` is empty or ``X`` and ``y`` differ in length, or
            the labels do not fit the model's outputs.
    """
    X, y = _rows(X), _rows(y)
    if not len(X) or len(X) != len(y):
        raise ValueError(f"evaluate: X has {len(X)} samples and y has {len(y)}; pass the "
                         "same non-zero number of each")
    _check_finite(X, y, "evaluate")
    task = _task(y, _nout(model, X[0]), loss, "evaluate")
    return _evaluate(model, X, task)


def _evaluate(model: Any, X: Sequence[Any], task: _Task) -> tuple[float, float | None]:
    outs = _predict(model, X)
    with autograd.no_grad():
        value = task.loss_fn(outs, task.targets)
    lossv = value.data if isinstance(value, Value) else float(value)
    if task.kind == "regression":
        return lossv, None
    hits = sum(_correct(task.kind, o, t) for o, t in zip(outs, task.targets))
    return lossv, hits / len(outs)


def _layer_params(model: Any) -> dict[str, list[Value]]:
    layers = getattr(model, "layers", None)
    if isinstance(layers, (list, tuple)) and layers and all(isinstance(m, Module) for m in layers):
        return {f"layer {i + 1}": m.parameters() for i, m in enumerate(layers)}
    return {"layer 1": list(model.parameters())}


def _make_optimizer(optimizer: str | Optimizer, params: list[Value], lr: float | None) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            optimizer.lr = lr
        return optimizer
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        raise ValueError(f"fit: unknown optimizer {optimizer!r}; choose one of "
                         f"{', '.join(OPTIMIZERS)} or pass an nn.optim optimizer")
    cls, default_lr = OPTIMIZERS[optimizer.lower()]
    return cls(params, lr=default_lr if lr is None else lr)


class _Bar:
    """The tqdm progress bar, or nothing."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="step", dynamic_ncols=True, leave=True)

    def update(self, desc: str | None = None, **postfix: float) -> None:
        if self.bar is not None:
            if desc is not None:
                self.bar.set_description(desc, refresh=False)
            if postfix:
                self.bar.set_postfix({k: f"{v:.4f}" for k, v in postfix.items()}, refresh=False)
            self.bar.update(1)

    def postfix(self, **postfix: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in postfix.items()})

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _per_sample_loss(forward: Callable[[list[Any]], list[Any]], task: _Task,
                     params: list[Value], l2: float) -> Callable[..., tuple[Value, ...]] | None:
    """fit's loss for one sample, written with formula ops (for the batched path).

    Returns ``per_sample(x, t) -> (loss, *outputs)``, whose mean over a batch
    is the batch loss of ``task`` (the mean of the per-sample losses), or
    None for a custom loss, which sees the whole batch.
    """
    name = task.loss_name
    if name not in ("hinge", "bce", "cross_entropy", "mse", "l1"):
        return None

    def per_sample(x: Any, t: Any) -> tuple[Value, ...]:
        out = forward([x])[0]
        outs = out if isinstance(out, list) else [out]
        if name == "hinge":
            loss = (1.0 - t * outs[0]).relu()
        elif name == "bce":
            loss = outs[0].softplus() - t * outs[0]
        elif name == "cross_entropy":  # one-hot t: sum(t) * logsumexp(z) - t . z
            loss = autograd.logsumexp(outs) - autograd.dot(t, outs)
        else:
            ts = t if isinstance(t, (list, tuple)) else [t]
            d = [o - ti for o, ti in zip(outs, ts)]
            loss = autograd.mean([v * v for v in d] if name == "mse" else [abs(v) for v in d])
        if l2:
            loss = loss + l2 * autograd.dot(params, params)
        return (loss, *outs)

    return per_sample


def _compiled_step(forward: Callable[[list[Any]], list[Any]], task: _Task,
                   params: list[Value], l2: float, nout: int,
                   batched: bool = True) -> tuple[Any, list[Any]]:
    """Build fit's compiled step: ``step(xs, ts) -> (loss, *outputs)`` and its targets.

    With NumPy installed and a built-in loss, the step is the batched path
    (``autograd.compile(per_sample_loss, batch=True)``: the whole batch as
    arrays); otherwise straight-line code over the batch (``autograd.compile``).
    ``batched=False`` always takes the straight-line path (bit for bit the
    dynamic engine's numbers). Class-index targets become one-hot rows
    (soft-target cross-entropy, the same node the dynamic loss builds), so that they
    enter the trace as data.
    """
    from nn.fused import CROSS_ENTROPY

    onehot = task.loss_name == "cross_entropy"
    targets = ([[1.0 if j == t else 0.0 for j in range(nout)] for t in task.targets] if onehot
               else task.targets)
    per_sample = _per_sample_loss(forward, task, params, l2) if batched else None
    if per_sample is not None:
        try:
            return autograd.compile(per_sample, batch=True, reduction="mean"), targets
        except ImportError:  # no NumPy: the straight-line path below
            pass

    def loss_and_outputs(xs: list[Any], ts: list[Any]) -> tuple[Value, ...]:
        outs = forward(xs)
        if onehot:
            loss = autograd.mean([autograd.apply(CROSS_ENTROPY, *o, *t) for o, t in zip(outs, ts)])
        else:
            loss = task.loss_fn(outs, ts)
        if l2:
            loss = loss + _l2_term(params, l2)
        return (loss, *[v for o in outs for v in (o if isinstance(o, list) else [o])])

    return autograd.compile(loss_and_outputs), targets


class TrainingDivergedError(FloatingPointError):
    """``fit`` stopped because the loss or the gradients became nan or inf.

    The message names the epoch and the batch and suggests a fix. Attributes:
        history: the :class:`History` of the epochs completed before.
        epoch, batch: where it happened (1-based).
    """

    def __init__(self, message: str, history: History, epoch: int, batch: int) -> None:
        super().__init__(message)
        self.history = history
        self.epoch = epoch
        self.batch = batch


def _rows(data: Any) -> list[Any]:
    """``data`` as a list of plain rows: NumPy arrays (and their rows), pandas frames too.

    Anything with ``to_numpy()`` (pandas) or ``tolist()`` (NumPy) is converted, so
    that every path of ``fit`` (dynamic, compiled, batched) sees the same numbers.
    """
    to_numpy = getattr(data, "to_numpy", None)
    if callable(to_numpy):
        data = to_numpy()
    tolist = getattr(data, "tolist", None)
    rows = tolist() if callable(tolist) else list(data)
    return [r.tolist() if callable(getattr(r, "tolist", None)) else r for r in rows]


def _check_finite(X: Sequence[Any], y: Sequence[Any], who: str) -> None:
    """Refuse nan/inf (and numbers too large for a float) in ``X`` or ``y``, naming the place."""
    found = _first_not_finite(X)
    if found is not None:
        i, j, v, _ = found
        raise ValueError(f"{who}: X[{i}][{j}] is {v!r}; every feature must be a finite "
                         "number: drop or fill that sample")
    found = _first_not_finite(y)
    if found is not None:
        i, j, v, listed = found
        where = f"y[{i}][{j}]" if listed else f"y[{i}]"
        raise ValueError(f"{who}: {where} is {v!r}; every target must be a finite "
                         "number: drop or fix that sample")


def _first_not_finite(rows: Sequence[Any]) -> tuple[int, int, Any, bool] | None:
    """The first nan, inf or too-large number in ``rows`` (a row may be one number).

    Returns:
        ``(row, column, value, whether the row is a list)``, or None when all
        the numbers are finite (cells that are not numbers are let through).
    """
    def bad(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            return False  # not a number at all: the model or the task says so
        try:
            return not math.isfinite(v)
        except OverflowError:
            return True

    for i, row in enumerate(rows):
        listed = isinstance(row, (list, tuple))
        cells = row if listed else [row]
        if _all_finite(cells):
            continue
        for j, v in enumerate(cells):
            if bad(v):
                return i, j, v, listed
    return None


def _all_finite(cells: Sequence[Any]) -> bool:
    """A fast yes for a row of finite numbers (an exact sum of them is finite).

    False means "look closer": a nan or inf, a number too large, or something
    that is not a number at all (which the cell-by-cell check lets through).
    """
    try:
        return math.isfinite(math.fsum(cells))
    except (TypeError, ValueError, OverflowError):
        return False


def _fingerprint(*parts: Any) -> str:
    """A short hash of the training data, to refuse resuming on other data."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class _Run:
    """Everything one ``fit`` call trains with and keeps track of between its steps."""

    model: Module
    Xt: list[Any]
    Xv: list[Any]
    Xv_task: _Task | None
    task: _Task
    nout: int
    params: list[Value]
    opt: Optimizer
    sched: LRScheduler | None
    groups: dict[str, list[Value]]
    history: History
    rng: Any
    bs: int
    steps: int
    forward: Callable[[list[Any]], list[Any]]
    step_fn: Any
    ctargets: list[Any]
    l2: float
    clip_grad_norm: float | None
    shuffle: bool
    early_stopping: int | None
    min_delta: float
    restore_best: bool
    checkpoint: PathLike | None
    callbacks: list[Callback]
    epochs: int
    best: float = math.inf
    best_state: dict[str, float] | None = None
    waited: int = 0
    first_epoch: int = 1
    extra_meta: dict[str, Any] = field(default_factory=dict)
    compile: bool | str = False
    arrays: _Arrays | None = None
    auto_traces: int = 1  # compile="auto": the traces the batch sizes need
    auto_steps: int = 0  # compile="auto": the steps run compiled
    validate: Callable[[], tuple[float, float | None]] | None = None  # None: _evaluate

    @functools.cached_property
    def data_hash(self) -> str:
        """A hash of the training and validation data (only checkpoints and resume need it)."""
        vt = self.Xv_task
        return _fingerprint(self.Xt, self.task.targets, self.Xv, vt.targets if vt else None)

    @property
    def monitor(self) -> list[float]:
        """The loss early stopping watches: ``val_loss`` with validation, else ``loss``."""
        return self.history.val_loss if self.Xv else self.history.loss


def _check_settings(lr: Any, min_delta: Any, scheduler: Any, callbacks: Iterable[Any],
                    clip_grad_norm: Any, checkpoint: PathLike | None) -> list[Callback]:
    """Step 1b: the settings used only after the first epoch, checked before it."""
    if lr is not None:
        _real(lr, "fit", "lr")
    _real(min_delta, "fit", "min_delta")
    if clip_grad_norm is not None:
        _real(clip_grad_norm, "fit", "clip_grad_norm")
    if scheduler is not None and not callable(scheduler) \
            and not isinstance(scheduler, LRScheduler):
        raise TypeError(f"fit: scheduler must be an nn.optim scheduler or a function building one "
                        f"from the optimizer, got {type(scheduler).__name__}")
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise TypeError(f"fit: callbacks must be a list of functions cb(epoch, history), got "
                        f"{type(callbacks).__name__}")
    cbs = list(callbacks)
    for k, cb in enumerate(cbs):
        if not callable(cb):
            raise TypeError(f"fit: callbacks[{k}] is a {type(cb).__name__}, not a function "
                            "cb(epoch, history)")
    if checkpoint is not None:
        output_file(checkpoint, "fit: checkpoint")
    return cbs


def _check_args(model: Any, X: Sequence[Any], y: Sequence[Any], epochs: Any, batch_size: Any,
                early_stopping: Any, l2: float,
                checkpoint: Any) -> tuple[int, int | None, int | None]:
    """Step 1: check ``fit``'s arguments; return epochs, batch_size and patience as ints."""
    if not callable(model) or not hasattr(model, "parameters"):
        raise TypeError(f"fit: model must be a callable nn.Module, got {type(model).__name__}")
    if not len(X) or len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} samples and y has {len(y)}; pass the same "
                         "non-zero number of each")
    epochs = check_int(epochs, "fit: epochs")
    if batch_size is not None:
        batch_size = check_int(batch_size, "fit: batch_size")
    if early_stopping is not None:
        early_stopping = check_int(early_stopping, "fit: early_stopping")
    if not isinstance(l2, numbers.Real) or not 0.0 <= l2 < math.inf:
        raise ValueError(f"fit: l2 must be a finite number >= 0, got {l2!r}")
    if checkpoint is not None and not callable(getattr(model, "config", None)):
        raise TypeError(f"fit: cannot checkpoint a {type(model).__name__}: it has no config()")
    _check_finite(X, y, "fit")
    return epochs, batch_size, early_stopping


def _prepare_data(X: Sequence[Any], y: Sequence[Any], validation_split: float,
                  validation_data: tuple[Sequence[Any], Sequence[Any]] | None,
                  rng: Any) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """Step 2: the training and validation sets ``(Xt, yt, Xv, yv)``."""
    Xt, yt = list(X), list(y)
    Xv: list[Any] = []
    yv: list[Any] = []
    if validation_data is not None:
        Xv, yv = _rows(validation_data[0]), _rows(validation_data[1])
        if not Xv or len(Xv) != len(yv):
            raise ValueError("fit: validation_data must be (X_val, y_val) of equal, "
                             "non-zero length")
        _check_finite(Xv, yv, "fit: validation_data")
    elif validation_split:
        if not isinstance(validation_split, numbers.Real) or not 0.0 < validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
        Xt, Xv, yt, yv = train_test_split(Xt, yt, test_size=float(validation_split), seed=rng)
    return Xt, yt, Xv, yv


def _forward_of(model: Any) -> Callable[[list[Any]], list[Any]]:
    """The batch forward pass: ``forward_batch`` where the model has one."""
    if isinstance(model, MLP):  # nodes nobody draws: skip the scope tags
        return functools.partial(model.forward_batch, scopes=False)
    if callable(getattr(model, "forward_batch", None)):
        return model.forward_batch
    return lambda rows: [model(r) for r in rows]


def _build_run(model: Module, data: tuple[list[Any], list[Any], list[Any], list[Any]],
               rng: Any, epochs: int, batch_size: int | None, optimizer: str | Optimizer,
               lr: float | None, loss: str | LossFn, l2: float,
               scheduler: Union[LRScheduler, Callable[[Optimizer], LRScheduler], None],
               compile: bool | str, **settings: Any) -> _Run:  # noqa: A002
    """Step 3: decide the task, build the optimizer, scheduler and step function."""
    Xt, yt, Xv, yv = data
    nout = _nout(model, Xt[0])
    task = _task(yt, nout, loss)
    vtask = _task(yv, nout, loss if callable(loss) else task.loss_name,
                  "fit: validation labels") if Xv else None
    if vtask is not None and vtask.kind != task.kind:
        raise ValueError(f"fit: the validation labels make a {vtask.kind} task but the training "
                         f"labels a {task.kind} one; label both sets the same way")
    params = list(model.parameters())
    opt = _make_optimizer(optimizer, params, lr)
    sched = scheduler(opt) if callable(scheduler) and not isinstance(scheduler, LRScheduler) \
        else scheduler
    groups = _layer_params(model)
    n = len(Xt)
    bs = n if batch_size is None else min(batch_size, n)
    forward = _forward_of(model)
    return _Run(model=model, Xt=Xt, Xv=Xv, Xv_task=vtask, task=task, nout=nout, params=params,
                opt=opt, sched=sched, groups=groups,
                history=History(grad_flow={name: [] for name in groups}), rng=rng, bs=bs,
                steps=math.ceil(n / bs), forward=forward, step_fn=None, ctargets=task.targets,
                l2=float(l2), epochs=epochs, compile=compile,
                **settings)


#: compile="auto" compiles when the run has at least this many steps per batch size
#: traced. Measured (``python -m benchmarks.batched --breakeven``: fit on moons, blobs
#: and digits, MLPs of 2..64 inputs and 16..64 hidden units, batches of 16..128; two
#: runs): a trace and its compile cost 35-67 dynamic steps, a compiled step 0.11-0.57
#: of a dynamic one, so compiling pays after 48-100 steps per trace; 120 keeps a margin.
AUTO_STEPS_PER_TRACE = 120

#: ... and when a step uses the weights at most this many times (batch size x
#: parameters): compiling a trace holds its generated source, which took 5.6-8.8 KB of
#: memory per weight use (peak RSS: digits MLP(64, [32, 10]) batch 32 0.46 GB, batch
#: 128 1.8 GB, batch 256 3.5 GB; moons MLP(2, [64, 64, 1]) batch 64 2.4 GB); this
#: keeps a trace under about 0.9 GB.
AUTO_MAX_WEIGHT_USES = 100_000


def _check_compile(compile: Any) -> bool | str:  # noqa: A002
    if compile is True or compile is False or (isinstance(compile, str) and compile == "auto"):
        return compile
    raise ValueError(f"fit: compile must be True, False or 'auto', got {compile!r}")


def _choose_path(run: _Run, epochs: int) -> None:
    """Step 3b (after resume): decide how the steps run; build the compiled step."""
    history = run.history
    if run.compile is False:
        history.path, history.path_reason = "dynamic", "compile=False"
        return
    if run.compile == "auto":
        uses = run.bs * len(run.params)
        if uses > AUTO_MAX_WEIGHT_USES:
            history.path = "dynamic"
            history.path_reason = (f"auto: a step uses the weights {uses} times (batch "
                                   f"{run.bs} x {len(run.params)} parameters), more than the "
                                   f"{AUTO_MAX_WEIGHT_USES} a trace compiles in reasonable "
                                   "memory")
            return
        # the whole run's steps (a resumed run decides as the uninterrupted one did)
        steps_left = epochs * run.steps
        traces = 1 if len(run.Xt) % run.bs == 0 else 2  # the last, shorter batch: its own
        if steps_left < AUTO_STEPS_PER_TRACE * traces:
            history.path = "dynamic"
            history.path_reason = (f"auto: {steps_left} steps, fewer than the "
                                   f"{AUTO_STEPS_PER_TRACE * traces} that pay for "
                                   f"{_traces(traces)}")
            return
        run.step_fn, run.ctargets = _compiled_step(run.forward, run.task, run.params, run.l2,
                                                   run.nout, batched=False)
        run.auto_traces = traces
        history.path = "compiled"
        history.path_reason = (f"auto: {steps_left} steps pay for {_traces(traces)}, "
                               f"{AUTO_STEPS_PER_TRACE} steps or more each")
        return
    run.step_fn, run.ctargets = _compiled_step(run.forward, run.task, run.params, run.l2,
                                               run.nout)
    if isinstance(run.step_fn, autograd.BatchedCompiled):
        run.validate = _batched_validation(run)
        run.arrays, why = _Arrays.build(run)
        history.path = "batched"
        history.path_reason = "compile=True, NumPy arrays" + (
            "" if run.arrays is not None else f"; the parameters stay Values ({why})")
    else:
        history.path = "compiled"
        history.path_reason = "compile=True, " + (
            "a custom loss" if _per_sample_loss(run.forward, run.task, run.params, run.l2)
            is None else "no NumPy")


def _traces(k: int) -> str:
    """``"1 trace"`` or ``"2 traces"`` (one per batch size: a shorter last batch is its own)."""
    return "1 trace" if k == 1 else f"{k} traces"


def _batched_validation(run: _Run) -> Callable[[], tuple[float, float | None]] | None:
    """The batched path's validation: the data loss and accuracy over the set as arrays.

    ``autograd.compile(per_sample_data_loss, batch=True).forward`` on the
    validation set (the Values hold the epoch's weights when it runs): one
    NumPy pass instead of a float forward per sample; equal to
    :func:`_evaluate` within rounding, as the batched training steps are.
    None (use :func:`_evaluate`) for a custom loss or no validation set.
    """
    vtask = run.Xv_task
    if vtask is None:
        return None
    per_sample = _per_sample_loss(run.forward, vtask, run.params, 0.0)
    if per_sample is None:
        return None
    np = autograd.batched.require_numpy("fit(compile=True)")
    targets = vtask.targets
    if vtask.loss_name == "cross_entropy":
        targets = [[1.0 if j == t else 0.0 for j in range(run.nout)] for t in targets]
    try:
        X, T = np.asarray(run.Xv, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    step = autograd.compile(per_sample, batch=True, reduction="mean")
    kind = vtask.kind
    want = _hit_targets(vtask, np)

    def validate() -> tuple[float, float | None]:
        loss, *outs = step.forward(X, T)
        return float(loss), _hits(kind, outs, want, np) / len(X) if want is not None else None

    return validate


def _hit_targets(task: _Task, np: Any) -> Any:
    """Per sample what accuracy compares an output with (None for regression)."""
    if task.kind == "binary":
        return np.array([t == 1 for t in task.targets])
    if task.kind == "multiclass":
        return np.array([t if isinstance(t, int) else max(range(len(t)), key=t.__getitem__)
                         for t in task.targets], dtype=np.intp)
    return None


def _hits(kind: str, outs: Sequence[Any], want: Any, np: Any) -> int:
    """How many samples the per-sample output arrays ``outs`` get right (as ``_correct``)."""
    if kind == "binary":
        return int(np.count_nonzero((outs[0] > 0.0) == want))
    guess = np.argmax(np.column_stack(outs), axis=1)
    return int(np.count_nonzero(guess == want))


class _Arrays:
    """The batched path's parameters in one array while an epoch runs.

    ``theta`` holds ``opt.params``' values (read from the Values when an epoch
    starts, written back when it ends, however it ends); the step returns the
    gradient as an array and the optimizer updates ``theta`` with
    ``step_array``. ``X``, ``T``: the training inputs and targets as arrays;
    ``groups``: each layer's parameters as indices into ``theta``;
    ``want``: per sample what accuracy compares with.
    """

    def __init__(self, run: _Run, arr: Any, np: Any) -> None:
        self.np = np
        self.step = arr
        self.params = run.opt.params
        where = {p: i for i, p in enumerate(self.params)}
        self.groups = {name: np.array([where[p] for p in ps], dtype=np.intp)
                       for name, ps in run.groups.items()}
        self.X = np.asarray(run.Xt, dtype=np.float64)
        self.T = np.asarray(run.ctargets, dtype=np.float64)
        self.want = _hit_targets(run.task, np)

    @classmethod
    def build(cls, run: _Run) -> tuple[_Arrays | None, str]:
        """The array form of the run's batched step, or None and why not."""
        from nn.optim import _ARRAY_STEPS

        np = autograd.batched.require_numpy("fit(compile=True)")
        opt = run.opt
        if type(opt).step not in _ARRAY_STEPS:
            return None, f"{type(opt).__name__} has its own step()"
        if len(opt.params) != len(run.params) or set(opt.params) != set(run.params):
            return None, "the optimizer does not hold exactly the model's parameters"
        arr = run.step_fn.array_step(opt.params)
        try:
            self = cls(run, arr, np)
        except (TypeError, ValueError) as exc:  # ragged samples: the batched call says why
            return None, f"the data is not one array ({exc})"
        # trace now, on the first sample, to check that the loss reads only parameters
        # (the program is reused by every step: its key is the sample's shape)
        X1, T1 = self.X[:1], self.T[:1]
        try:
            run.step_fn.forward(X1, T1)
            for prog in run.step_fn.programs(X1, T1):
                arr._perm(prog)
        except ValueError as exc:
            return None, str(exc)
        return self, ""

    def epoch(self, run: _Run, epoch: int, bar: _Bar) -> tuple[float, int, dict[str, float]]:
        """Step 4 on the batched path: one pass over the data with ``theta`` an array."""
        np = self.np
        bs, task, history, opt = run.bs, run.task, run.history, run.opt
        order = _epoch_order(run)
        total = 0.0
        hits = 0
        flow = dict.fromkeys(run.groups, 0.0)
        theta = np.array([p.data for p in self.params], dtype=np.float64)
        grad = None
        absolute = np.abs
        try:
            for s in range(run.steps):
                idx = order[s * bs : (s + 1) * bs]
                ix = np.array(idx, dtype=np.intp)
                loss_value, grad, outs = self.step(theta, self.X[ix], self.T[ix])
                step_flow = {name: _mean(absolute(grad[gi]).tolist())
                             for name, gi in self.groups.items()}
                if not (math.isfinite(loss_value) and _finite(step_flow)):
                    _diverged(run, epoch, s + 1, loss_value)
                for name in run.groups:
                    flow[name] += step_flow[name]
                if run.clip_grad_norm is not None:
                    clip_grad_norm_array(grad, run.clip_grad_norm)
                opt.step_array(theta, grad)
                total += loss_value * len(idx)
                if self.want is not None:
                    hits += _hits(task.kind, outs, self.want[ix], np)
                bar.update(f"epoch {epoch}/{run.epochs}",
                           **_live(history, task, total, hits, s * bs + len(idx)))
        finally:  # whatever ends the epoch, the Values hold the weights (and gradients)
            self.write_back(theta, grad)
            opt._lists()
        return total, hits, flow

    def write_back(self, theta: Any, grad: Any) -> None:
        """Put ``theta`` (and the last gradient) into the parameters' Values."""
        for p, v in zip(self.params, theta.tolist()):
            p.data = v
        if grad is not None:
            for p, g in zip(self.params, grad.tolist()):
                p.grad = g


def _step(run: _Run, idx: list[int]) -> tuple[float, list[Any]]:
    """One optimizer step on the samples ``idx``: returns the batch loss and outputs."""
    task, opt = run.task, run.opt
    if run.step_fn is not None:  # compiled: floats out, .grad accumulated
        opt.zero_grad()
        xs, ts = [run.Xt[i] for i in idx], [run.ctargets[i] for i in idx]
        switch = None
        if run.compile == "auto":
            try:
                with warnings.catch_warnings():  # auto was not asked to compile: no warning
                    warnings.simplefilter("ignore", autograd.CompileWarning)
                    res = run.step_fn(xs, ts)
            except Exception as exc:  # any failure to trace: this step and the rest dynamic
                _auto_to_dynamic(run, f"the model could not be compiled "
                                      f"({type(exc).__name__}: {exc})")
                return _step(run, idx)
            run.auto_steps += 1
            baked = run.step_fn.constants
            if baked:  # right for this batch (traced on it), not for later ones
                where = ", ".join(f"{os.path.basename(f)}:{line}" for f, line in baked[:3])
                switch = (f"the model makes Values inside its forward pass ({where}), which "
                          "compiled code would keep as constants")
            elif run.step_fn.traces > run.auto_traces:  # a branch on the data: traces cost
                switch = (f"the model needed {run.step_fn.traces} traces for "
                          f"{run.auto_traces} batch size(s) (its branches depend on the data)")
        else:
            res = run.step_fn(xs, ts)
        nout = run.nout
        if isinstance(run.step_fn, autograd.BatchedCompiled):  # one array per output
            cols = [c.tolist() for c in res[1:]]
            return res[0], cols[0] if nout == 1 else [list(r) for r in zip(*cols)]
        outs = list(res[1:]) if nout == 1 else [
            list(res[1 + k * nout : 1 + (k + 1) * nout]) for k in range(len(idx))]
        if switch is not None:
            _auto_to_dynamic(run, switch)
        return res[0], outs
    outs = run.forward([run.Xt[i] for i in idx])
    batch_loss = task.loss_fn(outs, [task.targets[i] for i in idx])
    if run.l2:
        batch_loss = batch_loss + _l2_term(run.params, run.l2)
        batch_loss.label = "loss"
    opt.zero_grad()
    batch_loss.backward()
    return batch_loss.data, outs


def _auto_to_dynamic(run: _Run, why: str) -> None:
    """compile="auto": run the remaining steps dynamic (the same numbers), and say why."""
    done = run.auto_steps
    run.step_fn, run.ctargets = None, run.task.targets
    run.history.path = "dynamic"
    run.history.path_reason = f"auto: {why}; " + (
        f"compiled for {done} step(s), then dynamic" if done else "dynamic")


def _epoch_order(run: _Run) -> list[int]:
    """The order of the training samples for one epoch (shuffled with the run's seed)."""
    order = list(range(len(run.Xt)))
    if run.shuffle:
        run.rng.shuffle(order)
    return order


def _run_epoch(run: _Run, epoch: int, bar: _Bar) -> tuple[float, int, dict[str, float]]:
    """Step 4: one pass over the training data; returns summed loss, hits and grad flow."""
    if run.arrays is not None:
        return run.arrays.epoch(run, epoch, bar)
    bs, task, history = run.bs, run.task, run.history
    order = _epoch_order(run)
    total = 0.0
    hits = 0
    flow = dict.fromkeys(run.groups, 0.0)
    for s in range(run.steps):
        idx = order[s * bs : (s + 1) * bs]
        loss_value, outs = _step(run, idx)
        step_flow = {name: _mean([abs(p.grad) for p in ps]) for name, ps in run.groups.items()}
        if not (math.isfinite(loss_value) and _finite(step_flow)):
            _diverged(run, epoch, s + 1, loss_value)
        for name in run.groups:
            flow[name] += step_flow[name]
        if run.clip_grad_norm is not None:
            clip_grad_norm_(run.params, run.clip_grad_norm)
        run.opt.step()
        total += loss_value * len(idx)
        if task.kind != "regression":
            hits += sum(_correct(task.kind, outs[k], task.targets[i])
                        for k, i in enumerate(idx))
        bar.update(f"epoch {epoch}/{run.epochs}",
                   **_live(history, task, total, hits, s * bs + len(idx)))
    return total, hits, flow


def _live(history: History, task: _Task, total: float, hits: float,
          seen: int) -> dict[str, float]:
    """The progress bar's figures so far in an epoch: mean loss, accuracy, last validation."""
    live = {"loss": total / seen}
    if task.kind != "regression":
        live["acc"] = hits / seen
    if history.val_loss:
        live["val_loss"] = history.val_loss[-1]
    if history.val_accuracy:
        live["val_acc"] = history.val_accuracy[-1]
    return live


def _mean(values: list[float]) -> float:
    """The mean of ``values``, exactly summed; huge finite values give a finite mean."""
    n = len(values)
    try:
        return math.fsum(values) / n
    except OverflowError:  # the sum is beyond a float, the mean is not
        return math.fsum(v / n for v in values)
    except ValueError:  # inf and -inf
        return math.nan


def _finite(flow: dict[str, float]) -> bool:
    return all(math.isfinite(v) for v in flow.values())


def _l2_term(params: Sequence[Value], l2: float) -> Value:
    """fit's L2 term: ``l2_penalty``, whose overflow makes the loss inf (a divergence).

    Every path (dynamic, compiled, batched) then sees the same thing, an
    infinite loss at the step where the penalty overflows, and stops with
    :class:`TrainingDivergedError` naming ``l2``.
    """
    try:
        return L.l2_penalty(params, l2)
    except ValueError:  # alpha * sum(p^2) overflows a float (alpha itself was checked)
        return Value(math.inf)


def _diverged(run: _Run, epoch: int, batch: int, loss_value: float) -> None:
    """Stop the run: the loss or a gradient is nan/inf (the weights are those before the step)."""
    what = f"the loss became {loss_value!r}" if not math.isfinite(loss_value) \
        else "the gradients became nan or inf"
    fix = "lower the learning rate, or clip gradients with clip_grad_norm=1.0"
    if run.l2 and not math.isfinite(loss_value):
        squares = math.fsum(min(p.data * p.data, 1e308) for p in run.params)
        if not math.isfinite(run.l2 * squares):
            fix = (f"the L2 penalty l2 * sum(p^2) = {run.l2:g} * {squares:.4g} overflows a "
                   "float: use a smaller l2")
    raise TrainingDivergedError(
        f"fit: training diverged: {what} in epoch {epoch}, batch {batch} (lr={run.opt.lr:g}); "
        f"{fix}", run.history, epoch, batch)


def _record_epoch(run: _Run, epoch: int, result: tuple[float, int, dict[str, float]],
                  lr: float, bar: _Bar, started: float) -> None:
    """Step 5: record the epoch's figures and evaluate on the validation set."""
    total, hits, flow = result
    history, n = run.history, len(run.Xt)
    # validation first: a Ctrl-C in it leaves no half-recorded epoch behind
    val = None
    if run.Xv_task is not None:
        val = run.validate() if run.validate is not None else \
            _evaluate(run.model, run.Xv, run.Xv_task)
    history.loss.append(total / n)
    if run.task.kind != "regression":
        history.accuracy.append(hits / n)
    for name in run.groups:
        history.grad_flow[name].append(flow[name] / run.steps)
    history.lr.append(lr)
    if val is not None:
        vl, va = val
        history.val_loss.append(vl)
        if va is not None:
            history.val_accuracy.append(va)
    history.epochs_run = epoch
    history.seconds = time.perf_counter() - started
    shown = {"loss": history.loss[-1]}
    if history.accuracy:
        shown["acc"] = history.accuracy[-1]
    if history.val_loss:
        shown["val_loss"] = history.val_loss[-1]
    if history.val_accuracy:
        shown["val_acc"] = history.val_accuracy[-1]
    bar.postfix(**shown)


def _end_epoch(run: _Run, epoch: int) -> bool:
    """Step 6: scheduler, checkpoint, early stopping and callbacks; True to stop."""
    if run.sched is not None:
        run.sched.step()
    stop = False
    if run.early_stopping is not None:
        current = run.monitor[-1]
        if current < run.best - run.min_delta:
            run.best = current
            run.history.best_epoch = epoch
            run.waited = 0
            if run.restore_best:
                run.best_state = run.model.state_dict()
        else:
            run.waited += 1
            stop = run.waited >= run.early_stopping
    if run.checkpoint is not None:
        _save_checkpoint(run, epoch)
    for cb in run.callbacks:
        if cb(epoch, run.history) is True:
            stop = True
    if stop:
        run.history.stopped_early = True
        if run.best_state is not None and run.early_stopping is not None \
                and run.waited >= run.early_stopping:
            run.model.load_state_dict(run.best_state)
    return stop


def _save_checkpoint(run: _Run, epoch: int) -> None:
    """Write the checkpoint: the model, the history and everything ``resume`` needs."""
    version, internal, gauss_next = run.rng.getstate()
    state = {
        "optimizer": run.opt.state_dict(),
        "scheduler": run.sched.state_dict() if run.sched is not None else None,
        "rng": [version, list(internal), gauss_next],
        "best": run.best if math.isfinite(run.best) else None,
        "waited": run.waited, "best_state": run.best_state, "data": run.data_hash,
        "batch_size": run.bs, "loss": run.task.loss_name, "settings": _settings(run),
    }
    meta = {**run.extra_meta, "epoch": epoch, "history": run.history.as_dict(), "resume": state}
    save(run.model, run.checkpoint, meta=meta)  # type: ignore[arg-type]
    run.history.checkpoint_epoch = epoch


def _settings(run: _Run) -> dict[str, Any]:
    """What shapes the training besides data, model, batch size and loss: fixed by a resume."""
    return {"lr": run.opt.initial_lr, "l2": float(run.l2),
            "early_stopping": run.early_stopping, "min_delta": float(run.min_delta),
            "restore_best": bool(run.restore_best), "shuffle": bool(run.shuffle),
            "clip_grad_norm": None if run.clip_grad_norm is None else float(run.clip_grad_norm)}


def _check_same_settings(run: _Run, state: dict[str, Any], where: str) -> None:
    """Refuse a resume whose settings would change the run (a new lr, l2, patience...)."""
    saved = state.get("settings")
    if not isinstance(saved, dict):  # a checkpoint written before settings were recorded
        opt = state.get("optimizer")
        saved = {"lr": opt.get("initial_lr")} if isinstance(opt, dict) else {}
    now = _settings(run)
    opt = state.get("optimizer")
    if isinstance(opt, dict) and opt.get("type") != type(run.opt).__name__:
        del now["lr"]  # another optimizer altogether: its load_state_dict says so
    changed = [k for k in now if k in saved and saved[k] != now[k]]
    if changed:
        was = ", ".join(f"{k}={saved[k]!r}" for k in changed)
        asked = ", ".join(f"{k}={now[k]!r}" for k in changed)
        raise ValueError(f"{where} was trained with {was}; this call asks for {asked}. A "
                         "resumed run continues the same training: pass the same settings, "
                         "or start a new run without resume")


def _resume_state(meta: dict[str, Any], state: dict[str, Any], where: str) -> tuple[Any, ...]:
    """A checkpoint's history, RNG state, best loss, patience count and best weights, checked.

    Raises:
        ModelFileError: if any of them is damaged.
    """
    from nn.serialize import ModelFileError

    try:
        history = _history_from(meta["history"])
        rng = state["rng"]
        rng_state = (int(rng[0]), tuple(int(v) for v in rng[1]),
                     None if rng[2] is None else float(rng[2]))
        best = math.inf if state["best"] is None else float(state["best"])
        waited, best_state = int(state["waited"]), state["best_state"]
        probe = random.Random()
        probe.setstate(rng_state)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(f"{where}: its resume state is damaged ({exc})") from exc
    return history, rng_state, best, waited, best_state


def _resume(run: _Run, path: PathLike) -> None:
    """Load a checkpoint written by ``fit`` into the run (checked whole before anything changes)."""
    from nn.serialize import ModelFileError, read_model_file

    doc = read_model_file(path, "fit: resume")
    meta, arch = doc["meta"], doc["architecture"]
    where = f"fit: resume: {str(path)!r}"
    state = meta.get("resume") if isinstance(meta, dict) else None
    if not isinstance(state, dict) or not isinstance(meta.get("epoch"), int):
        raise ModelFileError(f"{where} is a saved model, not a checkpoint written by fit "
                             "(checkpoint=...); resume from a checkpoint file")
    config = getattr(run.model, "config", None)
    if not callable(config) or config() != arch:
        raise ValueError(f"{where} holds a model {arch!r}; build the same model to resume it")
    history, rng_state, best, waited, best_state = _resume_state(meta, state, where)
    _check_same_settings(run, state, where)  # before the data: early stopping changes the split
    if state.get("data") != run.data_hash:
        raise ValueError(f"{where} was trained on other data (or another split or seed); "
                         "resume with the same X, y, validation and seed")
    if state.get("batch_size") != run.bs or state.get("loss") != run.task.loss_name:
        raise ValueError(f"{where} used batch size {state.get('batch_size')} and loss "
                         f"{state.get('loss')!r}; resume with the same settings")
    if (state.get("scheduler") is None) != (run.sched is None):
        raise ValueError(f"{where}: the run {'had' if run.sched is None else 'had no'} "
                         "scheduler; resume with the same settings")
    previous = run.opt.state_dict()
    try:  # each load checks its state whole first; undo the optimizer's if the scheduler's fails
        run.opt.load_state_dict(state["optimizer"])
        if run.sched is not None:
            run.sched.load_state_dict(state["scheduler"])
    except ValueError as exc:
        run.opt.load_state_dict(previous)
        raise ValueError(f"{where}: {exc}") from exc
    run.model.load_state_dict(doc["weights"])
    run.rng.setstate(rng_state)
    history.interrupted = history.stopped_early = False
    history.checkpoint_epoch = meta["epoch"]
    run.history, run.best, run.waited = history, best, waited
    run.best_state = best_state if isinstance(best_state, dict) else None
    run.first_epoch = meta["epoch"] + 1


def _history_from(d: Any) -> History:
    """Rebuild a :class:`History` from its ``as_dict()``."""
    if not isinstance(d, dict):
        raise TypeError("the history is not an object")
    known = {f.name for f in dataclasses.fields(History)}
    h = History(**{k: v for k, v in d.items() if k in known})
    for name in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        if not isinstance(getattr(h, name), list):
            raise TypeError(f"history {name} is not a list")
    return h


def fit(
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    *,
    epochs: int = 100,
    batch_size: int | None = None,
    optimizer: str | Optimizer = "adam",
    lr: float | None = None,
    loss: str | LossFn = "auto",
    l2: float = 0.0,
    scheduler: Union[LRScheduler, Callable[[Optimizer], LRScheduler], None] = None,
    clip_grad_norm: float | None = None,
    validation_split: float = 0.0,
    validation_data: tuple[Sequence[Any], Sequence[Any]] | None = None,
    shuffle: bool = True,
    seed: Seed = None,
    early_stopping: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    checkpoint: PathLike | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    pause_gc: bool = False,
    compile: bool | str = "auto",  # noqa: A002 - as torch.compile
    resume: PathLike | None = None,
    checkpoint_meta: dict[str, Any] | None = None,
) -> History:
    """Train ``model`` on ``(X, y)`` and return the :class:`History`.

    Args:
        model: a callable module, e.g. ``MLP(2, [16, 16, 1])``.
        X: samples, each a list of numbers. y: per sample a class index
            (0..k-1 for k outputs), a binary label (0/1 or -1/+1 for one
            output), a number (regression) or a list of numbers.
        epochs: passes over the training data (>= 1).
        batch_size: samples per step; None means the whole set (full batch).
        optimizer: ``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"`` or an
            ``nn.optim`` optimizer over the model's parameters.
        lr: the learning rate (default per optimizer, see :data:`OPTIMIZERS`).
        loss: ``"auto"`` (hinge for -1/+1 labels, bce for 0/1, cross_entropy
            for class indices, mse otherwise), a name from :data:`LOSSES`, or
            a callable ``loss(outputs, targets) -> Value`` over one batch.
        l2: adds ``l2 * sum(p^2)`` over the parameters to each step's loss.
        scheduler: an ``nn.optim`` scheduler (or a function building one from
            the optimizer), stepped after every epoch.
        clip_grad_norm: if set, gradients are clipped to this total norm.
        validation_split: a fraction in [0, 1) of ``(X, y)`` held out (seeded)
            for validation; ignored when ``validation_data`` is given.
        validation_data: ``(X_val, y_val)``.
        shuffle: reshuffle the training samples every epoch.
        seed: an int, a ``random.Random`` or None, for shuffling and the split.
        early_stopping: patience in epochs: stop when the monitored loss
            (``val_loss`` if there is validation, else ``loss``) has not
            improved by ``min_delta`` for that many epochs.
        restore_best: on an early stop, put back the best epoch's weights.
        checkpoint: a file path: after every epoch the model and the history
            so far are saved there atomically (read back with ``nn.load`` and
            ``nn.load_meta``).
        callbacks: functions ``cb(epoch, history)`` called after each epoch;
            one returning True stops training (``stopped_early``).
        progress: show the tqdm bar with live loss and accuracy.
        pause_gc: pause CPython's cyclic garbage collector while training
            (``autograd.pause_gc()``; chainrule's graphs have no cycles).
        compile: ``"auto"`` (default): compile with ``autograd.compile`` (the
            same numbers bit for bit, several times faster per step) when the
            run has at least :data:`AUTO_STEPS_PER_TRACE` steps per batch size
            (what a trace costs) and a step uses the weights at most
            :data:`AUTO_MAX_WEIGHT_USES` times (batch size x parameters: what
            a trace's memory grows with), else run dynamic; a model that
            cannot be compiled runs dynamic. ``False``: always dynamic.
            ``True``: always compiled. With NumPy installed and a built-in
            loss, through ``autograd.compile(per_sample_loss, batch=True)``:
            the sample's loss is traced once and each step runs it over the
            whole batch as arrays (same losses and gradients as the dynamic
            engine up to rounding: the batch is summed in another order);
            otherwise through ``autograd.compile``: the batch's forward and
            backward become straight-line float code, traced once per batch
            size. Targets enter as data (class indices as one-hot rows). On
            the batched path with an ``nn.optim`` optimizer over the model's
            parameters, the parameters live in one array during each epoch
            (updated by ``step_array``) and are written back to the Values at
            its end and whenever training stops; the validation set is
            evaluated as one NumPy pass too. ``History.path`` says which path
            ran and ``History.path_reason`` why.
        resume: a checkpoint written by an earlier ``fit(checkpoint=...)``:
            the model's weights, the optimizer's and scheduler's state, the
            random state, the early-stopping state and the history are loaded
            and training continues with the epoch after the checkpoint's, up
            to ``epochs`` in all. Call ``fit`` with the same model, data,
            seed and settings; the run then ends with the same weights, bit
            for bit, as one that was never interrupted.
        checkpoint_meta: extra JSON entries stored in every checkpoint's
            ``meta`` (the CLI stores its feature scaler there).

    Returns:
        The history. On Ctrl-C the history of the completed epochs is
        returned with ``interrupted=True``; the model keeps the weights of the
        last step, the checkpoint file those of the last completed epoch
        (``history.checkpoint_epoch``).

    Raises:
        ValueError: for empty or mismatched data, nan or inf in the data,
            labels that do not fit the model, an out-of-range setting, or a
            ``resume`` checkpoint of another model, data or settings.
        TypeError: for a model that is not callable, a checkpoint with a
            model that cannot be saved, or callbacks that are not functions.
        OSError: if the checkpoint's folder is missing or not writable
            (checked before the first epoch).
        nn.ModelFileError: if the ``resume`` file is damaged.
        TrainingDivergedError: (a ``FloatingPointError``) if the loss or the
            gradients become nan or inf; the model keeps the weights before
            that step and the error carries the history.
    """
    X, y = _rows(X), _rows(y)  # NumPy arrays, pandas frames: plain lists, on every path
    epochs, batch_size, early_stopping = _check_args(model, X, y, epochs, batch_size,
                                                     early_stopping, l2, checkpoint)
    compile = _check_compile(compile)  # noqa: A001
    cbs = _check_settings(lr, min_delta, scheduler, callbacks, clip_grad_norm, checkpoint)
    rng = make_rng(seed, "fit")
    data = _prepare_data(X, y, validation_split, validation_data, rng)
    run = _build_run(model, data, rng, epochs, batch_size, optimizer, lr, loss, l2, scheduler,
                     compile, clip_grad_norm=clip_grad_norm, shuffle=shuffle,
                     early_stopping=early_stopping, min_delta=min_delta,
                     restore_best=restore_best, checkpoint=checkpoint, callbacks=cbs,
                     extra_meta=dict(checkpoint_meta or {}))
    if resume is not None:
        _resume(run, resume)
    _choose_path(run, epochs)
    return _train(run, epochs, progress, pause_gc)


def _train(run: _Run, epochs: int, progress: bool, pause_gc: bool) -> History:
    """Run the epochs from ``run.first_epoch`` to ``epochs``, with the bar and the clock.

    Ctrl-C ends the run with ``interrupted`` set; ``seconds`` adds up over
    resumes.

    Returns:
        The run's history.
    """
    history = run.history
    bar = _Bar(progress, max(0, epochs - run.first_epoch + 1) * run.steps)
    gc_block = autograd.pause_gc() if pause_gc else contextlib.nullcontext()
    started = time.perf_counter() - history.seconds
    try:
        with gc_block:
            for epoch in range(run.first_epoch, epochs + 1):
                lr_used = run.opt.lr
                result = _run_epoch(run, epoch, bar)
                _record_epoch(run, epoch, result, lr_used, bar, started)
                if _end_epoch(run, epoch):
                    break
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        bar.close()
        history.seconds = time.perf_counter() - started
    return history
