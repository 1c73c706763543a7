"""The ``chainrule`` command line: the one module that wires autograd, nn and visualize.

Subcommands:

* ``chainrule demo``: the README's first command.
* ``chainrule train``: train an MLP on a built-in data set (nn issue).
* ``chainrule graph``: render an expression's computation graph (visualize issue).
* ``chainrule check``: gradcheck an expression (gradient-checking issue).
* ``chainrule playground``: the live playground (:mod:`visualize.app.playground`).

Each subcommand has an ``_add_<name>`` function declaring its arguments and a
``_cmd_<name>`` function running it. Bad arguments get argparse's message and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import nn
from autograd import Value
from chainrule import __version__
from nn.sweep import BACKENDS as _SWEEP_BACKENDS
from visualize.app import sweep as _sweep
from visualize.app.lessons import chain_rule as _chain_rule
from visualize.app.lessons import playground as _playground
from visualize.app.playground import command as _live_playground
from visualize.escape import shell
from visualize.outputs import OutputPathError, describe_os_error, output_dir, output_file

# ---------------------------------------------------------------------------
# limits: every command refuses work it could not finish in a few seconds to
# start, before doing any of it (stated in --help and docs/cli.md)

#: train: most samples of a generated data set
MAX_SAMPLES = 100_000
#: train: widest hidden layer, most hidden layers, most parameters of the model
MAX_WIDTH = 1_000
MAX_LAYERS = 10
MAX_TRAIN_PARAMETERS = 100_000
#: train and demo: most epochs
MAX_EPOCHS = 100_000
#: check: most variables; with --second; variables x graph nodes (first
#: derivatives) and variables^2 x graph nodes (--second)
MAX_CHECK_VARIABLES = 100
MAX_SECOND_VARIABLES = 20
MAX_CHECK_WORK = 50_000
MAX_SECOND_WORK = 100_000
#: graph: most nodes drawn (--max-nodes); most variables explained (--explain)
MAX_DRAWN_NODES = 2_000
MAX_EXPLAIN_VARIABLES = 50

# ---------------------------------------------------------------------------
# demo and train (nn issue)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text[:40]!r}") \
            from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _bounded_int(limit: int) -> Any:
    """An argparse type: a positive integer at most ``limit``."""

    def parse(text: str) -> int:
        value = _positive_int(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"{value} is over the limit of {limit}")
        return value

    parse.__name__ = "positive integer"
    return parse


def _number(expected: str, ok: Callable[[float], bool]) -> Callable[[str], float]:
    """An argparse type: a number for which ``ok`` holds, else "expected <expected>"."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected
    return parse


_positive_float = _number("a positive number", lambda v: 0.0 < v < math.inf)
_nonnegative_float = _number("a number >= 0", lambda v: 0.0 <= v < math.inf)
_fraction = _number("a fraction in (0, 1)", lambda v: 0.0 < v < 1.0)


def _widths(text: str) -> list[int]:
    parts = [t.strip() for t in text.split(",")]
    if len(parts) > MAX_LAYERS:
        raise argparse.ArgumentTypeError(f"{len(parts)} hidden layers are over the limit of "
                                         f"{MAX_LAYERS}")
    if not all(t.isascii() and t.isdigit() and len(t) <= 9 and int(t) > 0 for t in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer widths such as 16,16, got {text[:40]!r}"
        )
    widths = [int(t) for t in parts]
    if max(widths) > MAX_WIDTH:
        raise argparse.ArgumentTypeError(f"a layer of {max(widths)} is over the limit of "
                                         f"{MAX_WIDTH} units")
    return widths


def _expression_limits() -> str:
    from autograd.expr import MAX_DEPTH, MAX_NODES, MAX_SOURCE_LENGTH

    return (f"expressions of at most {MAX_SOURCE_LENGTH} characters, {MAX_NODES} syntax "
            f"nodes, nesting {MAX_DEPTH} deep")


_EXPRESSION_LIMITS = _expression_limits()


def _fail(command: str, message: str, status: int = 1) -> int:
    print(f"chainrule {command}: error: {message}", file=sys.stderr)
    return status


def _usage(command: str, message: str) -> NoReturn:
    """Refuse bad input as argparse does (exit status 2), with one message and no usage block."""
    print(f"chainrule {command}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


@contextmanager
def _ctrl_c(exiting: bool = False) -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt once; presses after it are ignored while we stop.

    The first press interrupts the work where it is (``fit`` returns with
    ``interrupted``, a write is abandoned whole); every later press, twice in
    a row included, is ignored so that the clean-up and the message finish.
    Only in the main thread (signals are delivered there). With ``exiting``
    (the program's own run, which ends the process), SIGINT stays ignored
    after the command so that a late press cannot kill the exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    fired = []

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        fired.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        if fired or exiting:  # the process is ending: later presses stay ignored
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGINT, previous)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train an MLP on the moons data with a progress bar (the README's demo)",
        description="micrograd's demo with chainrule: one neuron's gradients, then an "
        "MLP(2, [16, 16, 1]) trained on 2-D moons with the max-margin loss, an L2 penalty "
        "and SGD with a linearly decaying learning rate; prints the accuracy.",
    )
    p.add_argument("-o", "--out", default="chainrule-out", metavar="DIR",
                   help="folder for the demo's files: model, pictures, pages "
                        "(default: %(default)s)")
    p.add_argument("--epochs", type=_bounded_int(MAX_EPOCHS), default=100,
                   help=f"full-batch training steps, at most {MAX_EPOCHS} (default: %(default)s)")
    p.add_argument("--samples", type=_bounded_int(MAX_SAMPLES), default=200,
                   help=f"moons points, at most {MAX_SAMPLES}; 80%% train, 20%% test "
                        "(default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    try:  # the output folder is checked (or created) before any work
        out_dir = output_dir(args.out, "--out")
    except OutputPathError as exc:
        return _fail("demo", str(exc), 2)
    # 1. The engine on one neuron, as in the first part of micrograd's lecture.
    o, named = _chain_rule.neuron()
    o.backward()
    x1, w1, x2, w2 = (named[n] for n in ("x1", "w1", "x2", "w2"))
    print(f"engine: o = tanh(x1*w1 + x2*w2 + b) = {o.data:.4f}; do/dx1 = {x1.grad:.4f}, "
          f"do/dw1 = {w1.grad:.4f}, do/dx2 = {x2.grad:.4f}, do/dw2 = {w2.grad:.4f}")
    if args.samples < 10:
        return _fail("demo", f"--samples must be at least 10, got {args.samples}", 2)
    _neuron_pictures(out_dir, o)

    # 2. micrograd's demo: max-margin loss + 1e-4 L2, SGD with lr 1.0 -> 0.1.
    X, y = nn.data.make_moons(args.samples, noise=0.1, seed=args.seed)
    X_train, X_test, y_train, y_test = nn.data.train_test_split(X, y, test_size=0.2,
                                                                seed=args.seed)
    y_train = [2 * t - 1 for t in y_train]  # labels -1/+1 for the max-margin loss
    y_test = [2 * t - 1 for t in y_test]
    model = nn.MLP(2, [16, 16, 1], init="micrograd", seed=args.seed)
    print(f"model: {model.extra_repr()}")
    optimizer = nn.optim.SGD(model.parameters(), lr=1.0)
    schedule = nn.optim.LinearLR(optimizer, start_factor=1.0, end_factor=0.1,
                                 total_iters=args.epochs)
    curves = _ComparableCurves(model, X_train, y_train, X_test, y_test, l2=1e-4)
    replay = _playground.Recorder(
        model, X_train, y_train, validation_data=(X_test, y_test),
        title=f"chainrule demo, replayed: MLP(2, {model.nouts}) on moons, max-margin loss, SGD")
    history = nn.fit(model, X_train, y_train, epochs=args.epochs, optimizer=optimizer,
                     loss="hinge", l2=1e-4, scheduler=schedule,
                     validation_data=(X_test, y_test), seed=args.seed,
                     progress=not args.no_progress, pause_gc=True, callbacks=[curves, replay])
    if history.interrupted:  # as train: a part-trained model is never saved
        print(f"chainrule demo: interrupted after {history.epochs_run} epochs; nothing was "
              f"written to {args.out!r}", file=sys.stderr)
        return 130
    if history.epochs_run:
        print(f"trained {history.epochs_run} epochs in {history.seconds:.1f} s: "
              f"loss {history.loss[-1]:.4f}, train accuracy {100 * history.accuracy[-1]:.1f}%, "
              f"test accuracy {100 * history.val_accuracy[-1]:.1f}%")
    try:
        model.save(out_dir / "model.json")
    except OSError as exc:
        return _fail("demo", f"cannot write to {args.out!r}: {describe_os_error(exc)}")
    print(f"saved the model to {out_dir / 'model.json'}")
    page = _playground.demo_page(out_dir, replay, history)
    _demo_pictures(out_dir, model, (X_train, y_train), (X_test, y_test), history, curves)
    # where a learner goes next: the two pages, as links a terminal can open
    steps = out_dir / "neuron_steps" / "backward.html"
    pages = [(steps, "the backward pass through the neuron, one step at a time"),
             (page, "the training replayed epoch by epoch")]
    for path, what in pages:
        if path is not None and path.exists():
            print(f"open in a browser: {path.resolve().as_uri()}  ({what})")
    print(f"more: `{_command()} lesson --list` (the chain rule, learning rates, vanishing "
          "gradients, ... as lessons with pictures)")
    print(f"play: `{_command()} playground` (train live in the browser: data, layers, every "
          "weight, any point's backward pass)")
    return 0


def _command() -> str:
    """How to run this command again: ``chainrule`` if that is on PATH, else the path used."""
    import shutil

    here = sys.argv[0]
    if os.path.basename(here) != "chainrule":  # python -m visualize.app.cli, a test, ...
        return "chainrule"
    found = shutil.which("chainrule")
    try:
        if found and os.path.samefile(found, here):
            return "chainrule"
    except OSError:
        pass
    rel = os.path.relpath(here)
    return shell(rel if not rel.startswith(os.pardir) else here)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train an MLP on a built-in data set",
        description="Train an MLP on a built-in data set (by default 80% train, 20% test, "
        "features standardised on the training part) and print the accuracy. Ctrl-C stops "
        "after the current step: --save is then not written, and --checkpoint holds the last "
        "completed epoch; --resume continues from it, ending with the same weights as a run "
        "never interrupted. Missing folders of output files are created. "
        f"Limits: --samples <= {MAX_SAMPLES}, --epochs <= {MAX_EPOCHS}, at most {MAX_LAYERS} "
        f"hidden layers of <= {MAX_WIDTH} units and {MAX_TRAIN_PARAMETERS} parameters.",
    )
    p.add_argument("--data", choices=nn.data.DATASETS, default="moons",
                   help="the data set (default: %(default)s)")
    p.add_argument("--samples", type=_bounded_int(MAX_SAMPLES), default=300,
                   help=f"points of a generated data set, at most {MAX_SAMPLES} "
                        "(default: %(default)s)")
    p.add_argument("--noise", type=_nonnegative_float, default=0.1,
                   help="noise of a generated data set (default: %(default)s)")
    p.add_argument("--hidden", type=_widths, default=[16, 16], metavar="W1,W2,...",
                   help=f"hidden layer widths, at most {MAX_LAYERS} layers of {MAX_WIDTH} "
                        "(default: 16,16)")
    p.add_argument("--activation", choices=nn.fused.ACTIVATIONS, default="relu",
                   help="hidden activation (default: %(default)s)")
    p.add_argument("--optimizer", choices=tuple(nn.training.OPTIMIZERS), default="adam",
                   help="optimizer (default: %(default)s)")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: 0.1 for sgd, 0.01 otherwise)")
    p.add_argument("--epochs", type=_bounded_int(MAX_EPOCHS), default=50,
                   help=f"passes over the training data, at most {MAX_EPOCHS}; with --resume, "
                        "the total including the resumed ones (default: %(default)s)")
    p.add_argument("--batch-size", type=_positive_int, default=32,
                   help="samples per step (default: %(default)s)")
    p.add_argument("--l2", type=_nonnegative_float, default=0.0,
                   help="L2 penalty strength (default: %(default)s)")
    p.add_argument("--test-size", type=_fraction, default=0.2,
                   help="held-out fraction (default: %(default)s, i.e. 80%% train)")
    p.add_argument("--early-stopping", type=_positive_int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a better validation loss, "
                        "measured on 20%% of the training data (the test set is only "
                        "reported, never used to choose the epoch)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--save", default=None, metavar="PATH",
                   help="save the trained model here (only after a complete run)")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="save the model and the run's state here after every epoch "
                        "(default with --resume: the resumed file)")
    p.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue the run saved in CHECKPOINT (same data, model and "
                        "settings); the result equals an uninterrupted run")
    p.add_argument("--compile", nargs="?", choices=("auto", "on", "off"), default="auto",
                   const="on",
                   help="auto (default): compile each step when the run is long enough to "
                        "pay for the trace (the same results bit for bit); on (or plain "
                        "--compile): always (with NumPy: the batch as arrays, equal within "
                        "rounding); off: never")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_train)


def _train_outputs(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """Check --save, --checkpoint and --resume before any work (raises OutputPathError)."""
    save = None if args.save is None else output_file(args.save, "--save")
    if args.resume is not None:
        if not str(args.resume).strip():
            raise OutputPathError("--resume: the file name is empty; name a checkpoint file")
        if not Path(args.resume).is_file():
            raise OutputPathError(f"--resume {args.resume!r}: no such file; name the "
                                  "--checkpoint file of the run to continue")
    ckpt_arg = args.checkpoint if args.checkpoint is not None else args.resume
    ckpt = None if ckpt_arg is None else output_file(ckpt_arg, "--checkpoint")
    if save is not None and ckpt is not None and save.resolve() == ckpt.resolve():
        raise OutputPathError(f"--save {args.save!r} is also the checkpoint; name two files")
    return save, ckpt


def _model_size(nin: int, widths: list[int]) -> int:
    return sum((a + 1) * b for a, b in zip([nin, *widths], widths))


#: ``train --early-stopping``: the fraction of the training data it watches
EARLY_STOPPING_SPLIT = 0.2

#: ``train --compile``'s choices, as fit's ``compile=``
_COMPILE_CHOICES: dict[str, bool | str] = {"auto": "auto", "on": True, "off": False}


def _cmd_train(args: argparse.Namespace) -> int:
    try:
        save_path, ckpt = _train_outputs(args)
    except OutputPathError as exc:
        return _fail("train", str(exc), 2)
    try:
        return _train(args, save_path, ckpt)
    except KeyboardInterrupt:  # anywhere outside fit's loop: the checkpoint on disk tells
        return _report_interrupt(None, ckpt, save_path)


def train_data(data: str, samples: int, noise: float, test_size: float, seed: int) -> tuple[
        list[list[float]], list[list[float]], list[int], list[int], Any]:
    """The train command's data: drawn and split with ``seed``, scaled as its training part.

    Returns:
        ``(X_train, X_test, y_train, y_test, scaler)``, inputs already scaled.

    Raises:
        ValueError, RuntimeError: for a bad data set or setting (``nn.data``'s messages).
    """
    X, y = nn.data.load_dataset(data, samples, noise, seed=seed)
    X_train, X_test, y_train, y_test = nn.data.train_test_split(
        X, y, test_size=test_size, seed=seed)
    scaler = nn.data.StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test, scaler


def _train(args: argparse.Namespace, save_path: Path | None, ckpt: Path | None) -> int:
    """The train command once its outputs are checked."""
    try:
        X_train, X_test, y_train, y_test, scaler = train_data(
            args.data, args.samples, args.noise, args.test_size, args.seed)
    except (ValueError, RuntimeError) as exc:
        return _fail("train", str(exc), 2)
    classes = max(y_train + y_test) + 1
    n_in = len(X_train[0])
    widths = [*args.hidden, 1 if classes == 2 else classes]
    if _model_size(n_in, widths) > MAX_TRAIN_PARAMETERS:
        return _fail("train", f"the model MLP({n_in}, {widths}) has "
                     f"{_model_size(n_in, widths)} parameters, over the limit of "
                     f"{MAX_TRAIN_PARAMETERS}; use narrower or fewer --hidden layers", 2)
    model = nn.MLP(n_in, widths, activation=args.activation, seed=args.seed)
    print(f"data: {args.data}, {len(X_train)} train / {len(X_test)} test samples, "
          f"{classes} classes; model: {model.extra_repr()}")
    meta = {"data": args.data, "scaler": {"mean": scaler.mean_, "scale": scaler.scale_}}
    X_fit, y_fit, watch = X_train, y_train, (X_test, y_test)
    if args.early_stopping is not None:  # choose the epoch on training data, never the test set
        X_fit, X_val, y_fit, y_val = nn.data.train_test_split(
            X_train, y_train, test_size=EARLY_STOPPING_SPLIT, seed=args.seed)
        watch = (X_val, y_val)
        print(f"early stopping watches {len(X_val)} validation samples carved from the "
              f"training data; the {len(X_test)} test samples are only reported")
    try:
        history = nn.fit(model, X_fit, y_fit, epochs=args.epochs,
                         batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                         l2=args.l2, validation_data=watch, seed=args.seed,
                         early_stopping=args.early_stopping, checkpoint=ckpt,
                         resume=args.resume, checkpoint_meta=meta,
                         progress=not args.no_progress, pause_gc=True,
                         compile=_COMPILE_CHOICES[args.compile])
    except nn.training.TrainingDivergedError as exc:
        return _fail("train", f"{exc}; nothing was saved to --save", 1)
    except ValueError as exc:  # a bad setting, or --resume of another run (ModelFileError too)
        return _fail("train", str(exc), 2)
    except OSError as exc:
        return _fail("train", f"cannot write the checkpoint {str(ckpt)!r}: "
                     f"{describe_os_error(exc)}")
    if history.interrupted:
        return _report_interrupt(history, ckpt, save_path)
    if history.stopped_early:
        print(f"stopped early after {history.epochs_run} epochs (best: epoch "
              f"{history.best_epoch})")
    if history.epochs_run and history.loss:
        _, test_acc = nn.evaluate(model, X_test, y_test)
        print(f"trained {history.epochs_run} epochs in {history.seconds:.1f} s: "
              f"train loss {history.loss[-1]:.4f}, train accuracy "
              f"{100 * history.accuracy[-1]:.1f}%, test accuracy {100 * (test_acc or 0):.1f}%")
        print(f"steps: {history.path} ({history.path_reason})")
    if save_path is not None:
        try:
            nn.save(model, save_path, meta=meta)
        except OSError as exc:
            return _fail("train", f"cannot save to {args.save!r}: {describe_os_error(exc)}")
        print(f"saved the model to {args.save}")
    return 0


def _report_interrupt(history: nn.History | None, ckpt: Path | None, save: Path | None) -> int:
    """The message after Ctrl-C: what holds the last completed epoch and how to go on.

    The checkpoint file on disk is the truth (it may hold a resumed run's epoch).
    """
    done = None
    if ckpt is not None and ckpt.is_file():
        with contextlib.suppress(nn.ModelFileError):
            done = nn.load_meta(ckpt).get("epoch")
    n = history.epochs_run if history is not None else (done or 0)
    parts = [f"interrupted after {n} completed epoch{'' if n == 1 else 's'}"]
    if save is not None:
        parts.append(f"{str(save)!r} was not written (a part-trained model is not saved)")
    if ckpt is not None and done is not None:
        parts.append(f"the checkpoint {str(ckpt)!r} holds epoch {done}: continue with "
                     f"--resume {shell(str(ckpt))}")
    elif ckpt is not None:
        parts.append("no epoch was completed, so there is no checkpoint to resume")
    else:
        parts.append("nothing was saved; pass --checkpoint PATH to be able to resume")
    print("chainrule train: " + "; ".join(parts), file=sys.stderr)
    return 130


# ---------------------------------------------------------------------------
# the demo's pictures (visualize issue)


def _neuron_pictures(out_dir: Path, o: Value) -> list[Path]:
    """The lecture's neuron with data, grad and each edge's local derivative, and its stepper."""
    import visualize

    title = "the lecture's neuron: o = tanh(x1*w1 + x2*w2 + b), after o.backward()"
    written: list[Path] = []
    try:
        written.append(visualize.render(o, out_dir / "neuron.svg", partials=True, title=title))
        frames = visualize.render_backward(o, out_dir / "neuron_steps",
                                           title="the lecture's neuron, backward step by step")
        written.append(frames.html)
    except visualize.GraphvizNotFoundError as e:
        written.append(visualize.render(o, out_dir / "neuron.dot", partials=True, title=title))
        print(f"chainrule demo: note: {e} (wrote the DOT text instead)", file=sys.stderr)
    print("the neuron's pictures: " + ", ".join(str(p.relative_to(out_dir)) for p in written))
    return written


class _ComparableCurves:
    """A ``fit`` callback: after each epoch, train and test loss measured the same way.

    fit's own ``loss`` is the training objective with the L2 term, averaged
    over the epoch's steps, while ``val_loss`` is the test data loss after the
    epoch: not comparable. Here both are ``hinge + L2`` with the weights at
    the end of the epoch.
    """

    def __init__(self, model: nn.MLP, X_train: Sequence[Sequence[float]],
                 y_train: Sequence[int], X_test: Sequence[Sequence[float]],
                 y_test: Sequence[int], l2: float) -> None:
        self.model = model
        self.data = ((X_train, y_train), (X_test, y_test))
        self.l2 = l2
        self.train: list[float] = []
        self.test: list[float] = []
        self.train_acc: list[float] = []
        self.test_acc: list[float] = []

    def __call__(self, epoch: int, history: nn.History) -> None:
        penalty = self.l2 * sum(p.data * p.data for p in self.model.parameters())
        for (X, y), losses, accs in zip(self.data, (self.train, self.test),
                                        (self.train_acc, self.test_acc)):
            scores = [float(s) for s in self.model.predict(X)]
            hinge = sum(max(0.0, 1.0 - t * s) for s, t in zip(scores, y)) / len(y)
            losses.append(hinge + penalty)
            accs.append(sum((s > 0) == (t > 0) for s, t in zip(scores, y)) / len(y))


def _pick_sample(model: nn.MLP, X: Sequence[Sequence[float]],
                 y: Sequence[int]) -> tuple[int, float]:
    """The training sample whose hinge loss is largest (non-zero when any is), and its loss."""
    scores = [float(s) for s in model.predict(X)]
    losses = [max(0.0, 1.0 - t * s) for s, t in zip(scores, y)]
    k = max(range(len(losses)), key=lambda i: (losses[i], -i))
    return k, losses[k]


def _sample_loss(model: nn.MLP, x: list[float],
                 y: float) -> tuple[Value, Value] | None:
    """One sample's hinge loss through ``model`` after its own backward: ``(score, loss)``.

    The parameters' gradients are zeroed first, so the graph shows this
    sample's gradients alone (``fit`` leaves its last step's in ``.grad``);
    the caller zeroes them again after drawing. None if the model's output
    is not a single Value.
    """
    import autograd

    score = model(x)
    if not isinstance(score, Value):
        return None
    with autograd.scope("loss"):
        loss = (1.0 - y * score).relu()
    loss.label = "loss"
    model.zero_grad()
    loss.backward()
    return score, loss


#: The sample graph's node budget: the output side in full, layer 1's neurons as boxes.
SAMPLE_GRAPH_NODES = 60


def _demo_pictures(out_dir: Path, model: nn.MLP,
                   train: tuple[Sequence[Sequence[float]], Sequence[int]],
                   test: tuple[Sequence[Sequence[float]], Sequence[int]],
                   history: nn.History, curves: _ComparableCurves) -> list[Path]:
    """Write the demo's pictures into ``out_dir`` and print what was written.

    The decision boundary (confidence shading, the margin lines, train and
    test points apart), the loss/accuracy curves (train and test measured the
    same way: hinge + L2), the gradient flow (the plots need the ``plot``
    extra) and the graph of one training sample whose loss is not zero
    through the trained network (SVG with Graphviz, else DOT text). Labels
    are -1/+1 (the max-margin loss). Returns the files written.
    """
    import visualize

    (X_train, y_train), (X_test, y_test) = train, test
    written: list[Path] = []
    notes: list[str] = []
    try:
        written.append(visualize.plot_decision_boundary(
            lambda a, b: float(model.predict([[a, b]])[0]), X_train, y_train,
            out_dir / "decision_boundary.svg", resolution=60, score_margin=1.0,
            test_points=X_test, test_labels=y_test,
            title="the trained MLP's decision boundary and margins"))
        comparable = {"train": curves.train, "test": curves.test,
                      "train accuracy": curves.train_acc, "test accuracy": curves.test_acc}
        if any(comparable.values()):
            written.append(visualize.plot_history(
                comparable, out_dir / "training_curves.svg", loss_label="loss: hinge + L2",
                title="train and test, measured the same way after each epoch (dashed: test)"))
        if history.grad_flow and any(history.grad_flow.values()):
            written.append(visualize.plot_grad_flow(history.grad_flow,
                                                    out_dir / "gradient_flow.svg"))
    except visualize.PlotDependencyError as e:
        notes.append(str(e))
    # one training sample that still has a loss, through the trained network
    k, sample_loss = _pick_sample(model, X_train, y_train)
    x0, y0 = list(X_train[k]), float(y_train[k])
    drawn = _sample_loss(model, x0, y0)
    if drawn is not None:
        score, loss = drawn
        why = ("its hinge loss is not zero, so gradients flow" if sample_loss > 0 else
               "every sample is beyond the margin: loss 0, so every gradient is 0")
        title = (f"training sample {k}: x = ({x0[0]:.3g}, {x0[1]:.3g}), label {y0:+g}, score "
                 f"{score.data:.3g}; loss = relu(1 - label·score) = {loss.data:.3g} ({why})")
        graph = out_dir / "sample_graph.svg"
        try:
            written.append(visualize.render(loss, graph, title=title,
                                            max_nodes=SAMPLE_GRAPH_NODES))
        except visualize.GraphvizNotFoundError as e:
            written.append(visualize.render(loss, graph.with_suffix(".dot"), title=title,
                                            max_nodes=SAMPLE_GRAPH_NODES))
            notes.append(f"{e} (wrote the DOT text instead)")
        model.zero_grad()
    for note in notes:
        print(f"chainrule demo: note: {note}", file=sys.stderr)
    print(f"pictures in {out_dir}: " + ", ".join(p.name for p in written))
    return written


# ---------------------------------------------------------------------------
# graph (visualize issue)


def _add_graph(sub: argparse._SubParsersAction) -> None:
    from visualize.graph import DEFAULT_MAX_NODES

    p = sub.add_parser(
        "graph",
        help="render an expression's computation graph after backward",
        description=(
            "Build an expression at a point, run backward and draw its graph: every "
            "value with its data and gradient, every op. The expression is parsed "
            "against a whitelist (names, numbers, + - * / **, the op table's functions), "
            "never eval'd. Interior nodes are labelled with the text they compute (w*x, "
            f"w*x + b). Limits: {_EXPRESSION_LIMITS}; --max-nodes <= {MAX_DRAWN_NODES}; "
            f"--explain: {MAX_EXPLAIN_VARIABLES} variables. Missing folders of -o and --steps "
            "are created."
        ),
    )
    p.add_argument("expression", help='the expression, e.g. "tanh(w*x + b)"')
    p.add_argument("--at", action="append", default=[], metavar="BINDINGS",
                   help="the variables' values, e.g. x=0.5,w=-3,b=2 (repeat --at to add more)")
    p.add_argument("-o", "--output", default="graph.svg", metavar="PATH",
                   help="output file, format from the suffix: .svg .png .pdf or .dot "
                        "(.dot needs no Graphviz); default graph.svg")
    p.add_argument("--explain", action="store_true",
                   help="print the chain rule for each variable (at most "
                        f"{MAX_EXPLAIN_VARIABLES}): every path, its product of local "
                        "derivatives, and their sum")
    p.add_argument("--partials", action="store_true",
                   help="label edges with the local derivative and the gradient passed back")
    p.add_argument("--rankdir", choices=("LR", "TB"), default="LR",
                   help="layout direction (default LR)")
    p.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES, metavar="N",
                   help=f"node budget, 3..{MAX_DRAWN_NODES}; larger graphs collapse into "
                        f"summary nodes (default {DEFAULT_MAX_NODES})")
    p.add_argument("--no-color", action="store_true", help="do not colour nodes by |grad|")
    p.add_argument("--steps", metavar="DIR",
                   help="also write the backward pass step by step into DIR "
                        "(one SVG per step and backward.html)")
    p.set_defaults(func=_cmd_graph, graph_parser=p)


def _cmd_graph(args: argparse.Namespace) -> int:
    import visualize
    from autograd.expr import ExpressionError, evaluate, parse_bindings
    from visualize.graph import FORMATS

    try:
        root, leaves = evaluate(args.expression, parse_bindings(",".join(args.at)),
                                label_nodes=True)
    except ExpressionError as e:
        _usage("graph", str(e))
    if not 3 <= args.max_nodes <= MAX_DRAWN_NODES:
        _usage("graph", f"--max-nodes {args.max_nodes}: must be at "
               + ("least 3" if args.max_nodes < 3 else f"most {MAX_DRAWN_NODES}"))
    if args.explain and len(leaves) > MAX_EXPLAIN_VARIABLES:
        _usage("graph", f"--explain: the expression has {len(leaves)} variables, over the "
               f"limit of {MAX_EXPLAIN_VARIABLES}; explain a smaller expression")
    try:
        out = output_file(args.output, "-o")
        if out.suffix.lower().lstrip(".") not in FORMATS:
            raise OutputPathError(f"-o {args.output!r}: the suffix must be one of "
                                  + ", ".join("." + f for f in FORMATS))
        steps = output_dir(args.steps, "--steps") if args.steps is not None else None
    except OutputPathError as e:
        _usage("graph", str(e))
    root.backward()
    at = ", ".join(f"{n}={visualize.fmt(v.data)}" for n, v in leaves.items())
    print(f"{args.expression} = {visualize.fmt(root.data)}" + (f"  at {at}" if at else ""))
    for name, leaf in leaves.items():
        print(f"  d/d{name} = {visualize.fmt(leaf.grad)}")
    explained = {}
    if args.explain:
        for name, leaf in leaves.items():
            explained[name] = visualize.explain(leaf, root)
            print()
            print(explained[name])
    options = {"rankdir": args.rankdir, "partials": args.partials, "color": not args.no_color,
               "max_nodes": args.max_nodes, "title": args.expression}
    try:
        try:
            written = visualize.render(root, out, **options)
        except visualize.GraphvizNotFoundError as e:
            written = visualize.render(root, out.with_suffix(".dot"), **options)
            print(f"chainrule graph: {e}", file=sys.stderr)
            print(f"chainrule graph: wrote the DOT text to {written} instead of {out}",
                  file=sys.stderr)
        else:
            print(f"wrote {written}")
            # --explain also draws: each variable's paths highlighted, one file each
            for name, why in explained.items():
                target = written.with_name(f"{written.stem}.explain-{name}{written.suffix}")
                shown = visualize.render(root, target, highlight=why, **{
                    **options, "title": f"{args.expression}: d/d{name}"})
                print(f"wrote {shown} (the paths of d/d{name} highlighted)")
    except OSError as e:
        return _fail("graph", f"cannot write {args.output!r}: {describe_os_error(e)}")
    if steps is not None:
        try:
            frames = visualize.render_backward(root, steps, rankdir=args.rankdir,
                                               title=args.expression)
        except visualize.GraphvizNotFoundError as e:
            return _fail("graph", str(e))
        except ValueError as e:
            _usage("graph", f"--steps: {e}")
        except OSError as e:
            return _fail("graph", f"--steps {args.steps!r}: cannot write: "
                         f"{describe_os_error(e)}")
        print(f"wrote {len(frames.frames)} frames of the backward pass and {frames.html}")
    return 0


# ---------------------------------------------------------------------------
# check (gradient-checking issue)


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="gradcheck an expression: autodiff against finite differences, as a table",
        description=(
            "Compare the engine's gradient of an expression (autodiff) with finite "
            "differences (central differences refined by Richardson extrapolation, "
            "with an error estimate) at a point, and print the table. Kinks such as "
            "relu(0) pass when autodiff lies between the one-sided slopes. Exit "
            "status 1 when a derivative disagrees or the estimate is too uncertain to "
            "decide (a step too small or too large); the report names the culprit node. "
            f"Limits: {_EXPRESSION_LIMITS}; at most {MAX_CHECK_VARIABLES} variables and "
            f"variables x graph nodes <= {MAX_CHECK_WORK}; with --second at most "
            f"{MAX_SECOND_VARIABLES} variables and variables^2 x graph nodes <= "
            f"{MAX_SECOND_WORK}."
        ),
    )
    p.add_argument("expression", help='the expression, e.g. "x*y + sin(x)"')
    p.add_argument("--at", action="append", default=[], metavar="BINDINGS",
                   help="the point: one value per variable, e.g. x=1,y=2 (repeat --at to add "
                        "more)")
    p.add_argument("--atol", type=_nonnegative_float, default=1e-5,
                   help="absolute tolerance (default: %(default)s)")
    p.add_argument("--rtol", type=_nonnegative_float, default=1e-3,
                   help="relative tolerance (default: %(default)s)")
    p.add_argument("--eps", type=_positive_float, default=None,
                   help="a fixed finite-difference step (default: scaled to each input); "
                        "one below the spacing of floats at an input is refused")
    p.add_argument("--second", action="store_true",
                   help=f"also check second derivatives (gradgradcheck; at most "
                        f"{MAX_SECOND_VARIABLES} variables)")
    p.set_defaults(func=_cmd_check, check_parser=p)


def _check_budget(n_vars: int, n_nodes: int, second: bool) -> str | None:
    """Why the check is refused as too much work, or None."""
    if n_vars > MAX_CHECK_VARIABLES:
        return (f"the expression has {n_vars} variables, over the limit of "
                f"{MAX_CHECK_VARIABLES}; check a smaller expression")
    if n_vars * n_nodes > MAX_CHECK_WORK:
        return (f"{n_vars} variables x {n_nodes} graph nodes = {n_vars * n_nodes} is over the "
                f"limit of {MAX_CHECK_WORK}; check a smaller expression")
    if second and n_vars > MAX_SECOND_VARIABLES:
        return (f"--second: the expression has {n_vars} variables, over the limit of "
                f"{MAX_SECOND_VARIABLES} (the work grows with their cube); check fewer")
    if second and n_vars * n_vars * n_nodes > MAX_SECOND_WORK:
        return (f"--second: {n_vars}^2 variables x {n_nodes} graph nodes is over the limit "
                f"of {MAX_SECOND_WORK}; check a smaller expression")
    return None


def _cmd_check(args: argparse.Namespace) -> int:
    import math

    import autograd
    from autograd import gradcheck, gradgradcheck
    from autograd.expr import ExpressionError, compile_expression, parse_bindings

    try:
        expr = compile_expression(args.expression)
        point = parse_bindings(",".join(args.at))
        root = expr(**point)  # reports missing and unknown variables
    except ExpressionError as e:
        _usage("check", str(e))
    if not expr.variables:
        _usage("check", f"{args.expression!r} has no variables: there is no gradient to check")
    for name, v in point.items():
        if not math.isfinite(v):
            _usage("check", f"--at: {name}={v} is not finite; check at a finite point")
    refused = _check_budget(len(expr.variables), len(autograd.backward_order(root)) + 1,
                            args.second)
    if refused is not None:
        _usage("check", refused)

    class _Target:
        """The expression as a function of positional Values, printed as its source."""

        def __call__(self, *xs: Value) -> Value:
            return expr(**dict(zip(expr.variables, xs)))

        def __str__(self) -> str:
            return expr.source

    inputs = [Value(point[n], label=n) for n in expr.variables]
    options = {"eps": args.eps, "atol": args.atol, "rtol": args.rtol, "raise_exception": False}
    try:
        result = gradcheck(_Target(), inputs, **options)
        second = gradgradcheck(_Target(), inputs, **options) if args.second else None
    except ValueError as e:  # e.g. f is nan at the point, or eps below the float spacing
        _usage("check", str(e))
    print(result)
    ok = result.passed
    if second is not None:
        print()
        print(second)
        ok = ok and second.passed
    return 0 if ok else 1


# ---------------------------------------------------------------------------
# lesson (lessons issue)


def _add_lesson(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lesson",
        help="run a lesson: one idea of backpropagation, seen happening, with its numbers",
        description="Run a lesson on chainrule's engine: it prints what it measured and "
        "writes its pictures, README.md and index.html into DIR. `all` runs every lesson "
        "and writes an index.html linking them; --list shows the lessons.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="a lesson name (see --list) or all")
    p.add_argument("--list", action="store_true", help="list the lessons, one per line")
    p.add_argument("-o", "--out", default=None, metavar="DIR",
                   help="output folder (default: chainrule-out/lessons/NAME, or "
                        "chainrule-out/lessons for all)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--backend", choices=_SWEEP_BACKENDS, default="processes",
                   help="where the lessons that train many runs (seeds, rates, widths) run "
                        "them, through nn.sweep (default: %(default)s, one per local core; "
                        "the numbers do not depend on it)")
    p.set_defaults(func=_cmd_lesson, lesson_parser=p)


def _cmd_lesson(args: argparse.Namespace) -> int:
    import visualize
    from visualize.app import lessons

    if not args.list and args.name is None:
        args.lesson_parser.error("name a lesson (chainrule lesson --list shows them) or all")
    if args.name not in (None, "all") and args.name not in lessons.LESSONS:
        args.lesson_parser.error(f"unknown lesson {args.name!r}; choose one of "
                                 f"{', '.join(lessons.LESSONS)} or all")
    if not args.list:  # the output rule of every command (visualize/outputs.py), up front
        folder = args.out if args.out is not None else (
            "chainrule-out/lessons" if args.name == "all" else f"chainrule-out/lessons/{args.name}")
        try:
            output_dir(folder, "--out")
        except OutputPathError as e:
            return _fail("lesson", str(e), 2)
    try:
        return lessons.command(args.name, args.out, args.seed, args.list, backend=args.backend)
    except (lessons.LessonError, visualize.PlotDependencyError) as e:
        return _fail("lesson", str(e))


# ---------------------------------------------------------------------------


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="apply a saved model (train --save) to the rows of a CSV file",
        description="Load MODEL (a file written by `chainrule train --save` or nn.save) and "
        "print one line per row of CSV: the predicted class, then the model's outputs. Rows "
        "hold the raw features, comma-separated (a first line that is not numbers is taken "
        "as a header); the model's saved input scaler is applied. CSV '-' reads stdin.",
    )
    p.add_argument("model", metavar="MODEL", help="the model file")
    p.add_argument("csv", metavar="CSV", help="the inputs, one sample per row ('-': stdin)")
    p.set_defaults(func=_cmd_predict)


def _read_rows(path: str, nin: int) -> list[list[float]]:
    """The samples of a CSV file (raises ValueError naming the file and the row)."""
    import csv

    try:
        if path == "-":
            lines = sys.stdin.read().splitlines()
        else:
            with open(path, encoding="utf-8", newline="") as fh:
                lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path!r}: {getattr(exc, 'strerror', None) or exc}") from None
    rows: list[list[float]] = []
    for k, row in enumerate(csv.reader(lines), 1):
        if not row or not "".join(row).strip():
            continue
        try:
            values = [float(v) for v in row]
        except ValueError:
            if k == 1:  # a header
                continue
            raise ValueError(f"{path!r} row {k}: {','.join(row)[:60]!r} is not "
                             "comma-separated numbers") from None
        if len(values) != nin or not all(math.isfinite(v) for v in values):
            raise ValueError(f"{path!r} row {k}: the model takes {nin} finite numbers per "
                             f"row, got {len(values)} value(s)")
        rows.append(values)
    if not rows:
        raise ValueError(f"{path!r} holds no rows of numbers")
    return rows


def _cmd_predict(args: argparse.Namespace) -> int:
    try:
        model = nn.load(args.model)
    except nn.ModelFileError as exc:
        return _fail("predict", str(exc), 2)
    predict = getattr(model, "predict", None)
    nin = getattr(model, "nin", None)
    if not callable(predict) or not isinstance(nin, int):
        return _fail("predict", f"{args.model!r} holds a {type(model).__name__}; predict "
                     "takes an MLP (train --save)", 2)
    try:
        rows = _read_rows(args.csv, nin)
    except ValueError as exc:
        return _fail("predict", str(exc), 2)
    for out in predict(rows):
        outs = out if isinstance(out, list) else [out]
        label = max(range(len(outs)), key=outs.__getitem__) if len(outs) > 1 else int(outs[0] > 0)
        print(",".join([str(label), *(repr(float(o)) for o in outs)]))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what is wrong and where to read more, no usage block."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` and a pointer to ``--help``; exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``chainrule`` command."""
    parser = _Parser(
        prog="chainrule",
        description="Backpropagation made visible and checkable.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_demo(sub)
    _add_train(sub)
    _add_graph(sub)
    _add_check(sub)
    _add_lesson(sub)
    _add_predict(sub)
    _sweep.add_parser(sub)
    _live_playground.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chainrule`` command; returns the exit status.

    Ctrl-C ends any command cleanly: a one-line message on stderr and exit
    status 130, never a traceback; presses after the first are ignored while
    it stops (see ``_ctrl_c``). Run as the program (``argv`` None), SIGINT
    stays ignored once the command is done, so a late press cannot turn a
    finished run into a killed one.
    """
    command = ""
    with _ctrl_c(exiting=argv is None):  # argv None: the chainrule program itself
        try:
            try:
                parser = build_parser()
                args = parser.parse_args(argv)
                command = f" {args.command}"
                status = int(args.func(args))
            except SystemExit:  # --help, --version, a usage error: their text, flushed
                sys.stdout.flush()
                raise
            # what is still buffered (stdout into a pipe is block-buffered) is written here,
            # inside the handlers below, never in the interpreter's exit flush
            sys.stdout.flush()
            return status
        except KeyboardInterrupt:
            with contextlib.suppress(OSError, ValueError):
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            print(f"chainrule{command}: interrupted (Ctrl-C); nothing half-written was left",
                  file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader went away (`chainrule check ... | head`)
            with contextlib.suppress(OSError, ValueError):
                # nothing more can reach it: silence the flush at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141  # as a shell reports a command ended by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
