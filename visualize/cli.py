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

import autograd
from autograd import Value

# ---------------------------------------------------------------------------
# demo


def _add_demo(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="show the engine on a small expression")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    print("o = tanh(x1*w1 + x2*w2 + b)")
    print(f"forward: o = {o.data:.6g}")
    print("gradients d o / d node:")
    nodes = [o, *autograd.backward_order(o)[1:], x1, x2, w1, w2, b]
    for v in nodes:
        name = v.label or f"({v.op})"
        print(f"  {name:>8}  data={v.data:>10.6g}  grad={v.grad:>10.6g}  op={v.op or 'leaf'}")
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``chainrule`` command."""
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Backpropagation made visible and checkable.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_demo(sub)
    _add_graph(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chainrule`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
