"""The ``chainrule playground`` subcommand's arguments (``visualize.app.cli`` registers them)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Declare ``chainrule playground [--port N] [--host H] [--no-browser] [--state FILE]``."""
    p = sub.add_parser(
        "playground",
        help="train a network live in the browser: data, features, layers, every weight "
             "and any point's backward pass",
        description="Start the live playground on http://127.0.0.1:PORT/ and open it in the "
        "browser: pick a data set, features, layers and optimizer, and watch chainrule's "
        "engine train; click a point for its backward pass. Ctrl-C stops it. Needs the "
        "playground extra (pip install 'chainrule[playground]').",
    )
    p.add_argument("--port", type=int, default=8765,
                   help="the port (default: %(default)s; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default: %(default)s, this machine only; "
                        "another address lets other machines train on yours)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--state", default=None, metavar="FILE",
                   help="load the state from FILE if it exists, and keep saving it there")
    p.set_defaults(func=run, playground_parser=p)


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit status."""
    if not 0 <= args.port <= 65535:
        args.playground_parser.error(f"--port must be in [0, 65535], got {args.port}")
    from visualize.app.playground.server import serve

    return serve(host=args.host, port=args.port, open_browser=not args.no_browser,
                 state_file=args.state)
