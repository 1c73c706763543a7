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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``chainrule`` command."""
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Backpropagation made visible and checkable.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_demo(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chainrule`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
