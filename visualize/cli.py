"""The ``chainrule`` command line: the one module that wires autograd, nn and visualize.

Subcommands:

* ``chainrule demo``: the README's main command.
* ``chainrule train``: train an MLP on a built-in data set (nn issue).
* ``chainrule graph``: render an expression's computation graph (visualize issue).
* ``chainrule check``: gradcheck an expression (gradient-checking issue).

Each subcommand has an ``_add_<name>`` function declaring its arguments and a
``_cmd_<name>`` function running it. Bad arguments get argparse's message and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import nn
from autograd import Value
from visualize.lessons import playground as _playground

# ---------------------------------------------------------------------------
# demo and train (nn issue)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0.0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text!r}")
    return value


def _widths(text: str) -> list[int]:
    parts = [t.strip() for t in text.split(",")]
    if not all(t.isdigit() and int(t) > 0 for t in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer widths such as 16,16, got {text!r}"
        )
    return [int(t) for t in parts]


def _fail(command: str, message: str, status: int = 1) -> int:
    print(f"chainrule {command}: error: {message}", file=sys.stderr)
    return status


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train an MLP on the moons data with a progress bar (the README's demo)",
        description="micrograd's demo with chainrule: one neuron's gradients, then an "
        "MLP(2, [16, 16, 1]) trained on 2-D moons with the max-margin loss, an L2 penalty "
        "and SGD with a linearly decaying learning rate; prints the accuracy.",
    )
    p.add_argument("--out", default="chainrule-out", metavar="DIR",
                   help="folder for the demo's files: the trained model (default: %(default)s)")
    p.add_argument("--epochs", type=_positive_int, default=100,
                   help="full-batch training steps (default: %(default)s)")
    p.add_argument("--samples", type=_positive_int, default=200,
                   help="moons points; 80%% train, 20%% test (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    # 1. The engine on one neuron, as in the first part of micrograd's lecture.
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    o.backward()
    print(f"engine: o = tanh(x1*w1 + x2*w2 + b) = {o.data:.4f}; do/dx1 = {x1.grad:.4f}, "
          f"do/dw1 = {w1.grad:.4f}, do/dx2 = {x2.grad:.4f}, do/dw2 = {w2.grad:.4f}")
    if args.samples < 10:
        return _fail("demo", f"--samples must be at least 10, got {args.samples}", 2)

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
    history = nn.fit(model, X_train, y_train, epochs=args.epochs, optimizer=optimizer,
                     loss="hinge", l2=1e-4, scheduler=schedule,
                     validation_data=(X_test, y_test), seed=args.seed,
                     progress=not args.no_progress, pause_gc=True)
    if history.interrupted:
        print(f"interrupted after {history.epochs_run} epochs")
    if history.epochs_run:
        print(f"trained {history.epochs_run} epochs in {history.seconds:.1f} s: "
              f"loss {history.loss[-1]:.4f}, train accuracy {100 * history.accuracy[-1]:.1f}%, "
              f"test accuracy {100 * history.val_accuracy[-1]:.1f}%")
    out_dir = Path(args.out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        model.save(out_dir / "model.json")
    except OSError as exc:
        return _fail("demo", f"cannot write to {str(out_dir)!r}: {exc.strerror or exc}")
    print(f"saved the model to {out_dir / 'model.json'}")
    _demo_pictures(out_dir, model, X_train + X_test, y_train + y_test, history)
    _playground.demo_page(out_dir, model, X_train, y_train, X_test, y_test, history,
                          seed=args.seed)
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train an MLP on a built-in data set",
        description="Train an MLP on a built-in data set (80%% train, 20%% test, features "
        "standardised on the training part) and print the accuracy.",
    )
    p.add_argument("--data", choices=nn.data.DATASETS, default="moons",
                   help="the data set (default: %(default)s)")
    p.add_argument("--samples", type=_positive_int, default=300,
                   help="points of a generated data set (default: %(default)s)")
    p.add_argument("--noise", type=_nonnegative_float, default=0.1,
                   help="noise of a generated data set (default: %(default)s)")
    p.add_argument("--hidden", type=_widths, default=[16, 16], metavar="W1,W2,...",
                   help="hidden layer widths (default: 16,16)")
    p.add_argument("--activation", choices=nn.fused.ACTIVATIONS, default="relu",
                   help="hidden activation (default: %(default)s)")
    p.add_argument("--optimizer", choices=tuple(nn.training.OPTIMIZERS), default="adam",
                   help="optimizer (default: %(default)s)")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: 0.1 for sgd, 0.01 otherwise)")
    p.add_argument("--epochs", type=_positive_int, default=50,
                   help="passes over the training data (default: %(default)s)")
    p.add_argument("--batch-size", type=_positive_int, default=32,
                   help="samples per step (default: %(default)s)")
    p.add_argument("--l2", type=_nonnegative_float, default=0.0,
                   help="L2 penalty strength (default: %(default)s)")
    p.add_argument("--test-size", type=_fraction, default=0.2,
                   help="held-out fraction (default: %(default)s)")
    p.add_argument("--early-stopping", type=_positive_int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a better test loss")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--save", default=None, metavar="PATH", help="save the trained model here")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="save the model here after every epoch")
    p.add_argument("--compile", action="store_true",
                   help="run each step as compiled straight-line code (same results, faster)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    for flag, path in (("--save", args.save), ("--checkpoint", args.checkpoint)):
        if path is not None and not Path(path).resolve().parent.is_dir():
            return _fail("train", f"{flag}: the folder of {path!r} does not exist", 2)
    try:
        X, y = nn.data.load_dataset(args.data, args.samples, args.noise, seed=args.seed)
        X_train, X_test, y_train, y_test = nn.data.train_test_split(
            X, y, test_size=args.test_size, seed=args.seed)
    except (ValueError, RuntimeError) as exc:
        return _fail("train", str(exc), 2)
    scaler = nn.data.StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    classes = max(y) + 1
    model = nn.MLP(len(X[0]), [*args.hidden, 1 if classes == 2 else classes],
                   activation=args.activation, seed=args.seed)
    print(f"data: {args.data}, {len(X_train)} train / {len(X_test)} test samples, "
          f"{classes} classes; model: {model.extra_repr()}")
    try:
        history = nn.fit(model, X_train, y_train, epochs=args.epochs,
                         batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                         l2=args.l2, validation_data=(X_test, y_test), seed=args.seed,
                         early_stopping=args.early_stopping, checkpoint=args.checkpoint,
                         progress=not args.no_progress, pause_gc=True, compile=args.compile)
    except OSError as exc:
        return _fail("train", f"cannot write the checkpoint: {exc.strerror or exc}")
    if history.interrupted:
        print(f"interrupted after {history.epochs_run} epochs")
    elif history.stopped_early:
        print(f"stopped early after {history.epochs_run} epochs (best: epoch "
              f"{history.best_epoch})")
    if history.epochs_run:
        _, test_acc = nn.evaluate(model, X_test, y_test)
        print(f"trained {history.epochs_run} epochs in {history.seconds:.1f} s: "
              f"train loss {history.loss[-1]:.4f}, train accuracy "
              f"{100 * history.accuracy[-1]:.1f}%, test accuracy {100 * (test_acc or 0):.1f}%")
    if args.save is not None:
        meta = {"data": args.data, "scaler": {"mean": scaler.mean_, "scale": scaler.scale_}}
        try:
            nn.save(model, args.save, meta=meta)
        except OSError as exc:
            return _fail("train", f"cannot save to {args.save!r}: {exc.strerror or exc}")
        print(f"saved the model to {args.save}")
    return 0


# ---------------------------------------------------------------------------
# the demo's pictures (visualize issue)


def _demo_pictures(out_dir: Path, model: nn.MLP, X: Sequence[Sequence[float]],
                   y: Sequence[float], history: nn.History) -> list[Path]:
    """Write the demo's pictures into ``out_dir`` and print what was written.

    The decision boundary, the loss/accuracy curves, the gradient flow (the
    plots need the ``plot`` extra) and the graph of one sample through the
    trained network, clustered by layer (SVG with Graphviz, else DOT text).
    Labels are -1/+1 (the max-margin loss). Returns the files written.
    """
    import autograd
    import visualize

    written: list[Path] = []
    notes: list[str] = []
    try:
        written.append(visualize.plot_decision_boundary(
            lambda a, b: float(model.predict([[a, b]])[0]), X, y,
            out_dir / "decision_boundary.svg", resolution=50,
            title="decision boundary of the trained MLP"))
        curves = {"loss": history.loss, "accuracy": history.accuracy,
                  "val_loss": history.val_loss, "val_accuracy": history.val_accuracy}
        if any(curves.values()):
            written.append(visualize.plot_history(curves, out_dir / "training_curves.svg",
                                                  title="training (dashed: test set)"))
        if history.grad_flow and any(history.grad_flow.values()):
            written.append(visualize.plot_grad_flow(history.grad_flow,
                                                    out_dir / "gradient_flow.svg"))
    except visualize.PlotDependencyError as e:
        notes.append(str(e))
    # one sample through the trained network, and its loss, as a graph
    x0, y0 = list(X[0]), float(y[0])
    score = model(x0)
    if isinstance(score, autograd.Value):
        with autograd.scope("loss"):
            loss = (1.0 - y0 * score).relu()
        loss.label = "loss"
        loss.backward()
        title = (f"one sample through the trained MLP: x = ({x0[0]:.3g}, {x0[1]:.3g}), "
                 f"label {y0:+g}")
        graph = out_dir / "sample_graph.svg"
        try:
            written.append(visualize.render(loss, graph, title=title))
        except visualize.GraphvizNotFoundError as e:
            written.append(visualize.render(loss, graph.with_suffix(".dot"), title=title))
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
            "never eval'd."
        ),
    )
    p.add_argument("expression", help='the expression, e.g. "tanh(w*x + b)"')
    p.add_argument("--at", default="", metavar="BINDINGS",
                   help="the variables' values, e.g. x=0.5,w=-3,b=2")
    p.add_argument("-o", "--output", default="graph.svg", metavar="PATH",
                   help="output file, format from the suffix: .svg .png .pdf or .dot "
                        "(.dot needs no Graphviz); default graph.svg")
    p.add_argument("--explain", action="store_true",
                   help="print the chain rule for each variable: every path, its product "
                        "of local derivatives, and their sum")
    p.add_argument("--partials", action="store_true",
                   help="label edges with the local derivative and the gradient passed back")
    p.add_argument("--rankdir", choices=("LR", "TB"), default="LR",
                   help="layout direction (default LR)")
    p.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES, metavar="N",
                   help=f"node budget; larger graphs collapse into summary nodes "
                        f"(default {DEFAULT_MAX_NODES})")
    p.add_argument("--no-color", action="store_true", help="do not colour nodes by |grad|")
    p.add_argument("--steps", metavar="DIR",
                   help="also write the backward pass step by step into DIR "
                        "(one SVG per step and backward.html)")
    p.set_defaults(func=_cmd_graph, graph_parser=p)


def _cmd_graph(args: argparse.Namespace) -> int:
    from pathlib import Path

    import visualize
    from autograd.expr import ExpressionError, evaluate, parse_bindings
    from visualize.graph import FORMATS

    parser: argparse.ArgumentParser = args.graph_parser
    try:
        root, leaves = evaluate(args.expression, parse_bindings(args.at))
    except ExpressionError as e:
        parser.error(str(e))
    out = Path(args.output)
    if out.suffix.lower().lstrip(".") not in FORMATS:
        parser.error(f"-o {args.output}: the suffix must be one of "
                     + ", ".join("." + f for f in FORMATS))
    if args.max_nodes < 3:
        parser.error(f"--max-nodes {args.max_nodes}: must be at least 3")
    root.backward()
    at = ", ".join(f"{n}={visualize.fmt(v.data)}" for n, v in leaves.items())
    print(f"{args.expression} = {visualize.fmt(root.data)}" + (f"  at {at}" if at else ""))
    for name, leaf in leaves.items():
        print(f"  d/d{name} = {visualize.fmt(leaf.grad)}")
    if args.explain:
        for leaf in leaves.values():
            print()
            print(visualize.explain(leaf, root))
    options = {"rankdir": args.rankdir, "partials": args.partials, "color": not args.no_color,
               "max_nodes": args.max_nodes, "title": args.expression}
    try:
        written = visualize.render(root, out, **options)
    except visualize.GraphvizNotFoundError as e:
        written = visualize.render(root, out.with_suffix(".dot"), **options)
        print(f"chainrule graph: {e}", file=sys.stderr)
        print(f"chainrule graph: wrote the DOT text to {written} instead of {out}",
              file=sys.stderr)
    else:
        print(f"wrote {written}")
    if args.steps:
        try:
            frames = visualize.render_backward(root, args.steps, rankdir=args.rankdir,
                                               title=args.expression)
        except visualize.GraphvizNotFoundError as e:
            print(f"chainrule graph: {e}", file=sys.stderr)
            return 1
        except ValueError as e:
            parser.error(f"--steps: {e}")
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
            "status 1 when a derivative disagrees; the report names the culprit node."
        ),
    )
    p.add_argument("expression", help='the expression, e.g. "x*y + sin(x)"')
    p.add_argument("--at", default="", metavar="BINDINGS",
                   help="the point: one value per variable, e.g. x=1,y=2")
    p.add_argument("--atol", type=_nonnegative_float, default=1e-5,
                   help="absolute tolerance (default: %(default)s)")
    p.add_argument("--rtol", type=_nonnegative_float, default=1e-3,
                   help="relative tolerance (default: %(default)s)")
    p.add_argument("--eps", type=_positive_float, default=None,
                   help="a fixed finite-difference step (default: scaled to each input)")
    p.add_argument("--second", action="store_true",
                   help="also check second derivatives (gradgradcheck)")
    p.set_defaults(func=_cmd_check, check_parser=p)


def _cmd_check(args: argparse.Namespace) -> int:
    import math

    from autograd import gradcheck, gradgradcheck
    from autograd.expr import ExpressionError, compile_expression, parse_bindings

    parser: argparse.ArgumentParser = args.check_parser
    try:
        expr = compile_expression(args.expression)
        point = parse_bindings(args.at)
        expr(**point)  # reports missing and unknown variables
    except ExpressionError as e:
        parser.error(str(e))
    if not expr.variables:
        parser.error(f"{args.expression!r} has no variables: there is no gradient to check")
    for name, v in point.items():
        if not math.isfinite(v):
            parser.error(f"--at: {name}={v} is not finite; check at a finite point")

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
    except ValueError as e:  # e.g. f is nan at the point
        parser.error(str(e))
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
    p.set_defaults(func=_cmd_lesson, lesson_parser=p)


def _cmd_lesson(args: argparse.Namespace) -> int:
    import visualize
    from visualize import lessons

    if not args.list and args.name is None:
        args.lesson_parser.error("name a lesson (chainrule lesson --list shows them) or all")
    if args.name not in (None, "all") and args.name not in lessons.LESSONS:
        args.lesson_parser.error(f"unknown lesson {args.name!r}; choose one of "
                                 f"{', '.join(lessons.LESSONS)} or all")
    try:
        return lessons.command(args.name, args.out, args.seed, args.list)
    except (lessons.LessonError, visualize.PlotDependencyError) as e:
        return _fail("lesson", str(e))


# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``chainrule`` command."""
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Backpropagation made visible and checkable.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_demo(sub)
    _add_train(sub)
    _add_graph(sub)
    _add_check(sub)
    _add_lesson(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chainrule`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
