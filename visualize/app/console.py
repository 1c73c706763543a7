"""The ``chainrule`` program's entry point: Ctrl-C ends it cleanly from its first moment.

The console script runs :func:`main` here. It imports :mod:`visualize.app.cli`
(and through it the engine, ``nn`` and the pictures) inside a handler, so a
Ctrl-C pressed while Python is still loading the program ends it with one
line and exit status 130 instead of a ``KeyboardInterrupt`` traceback. Once
loaded, :func:`visualize.app.cli.main` handles Ctrl-C itself. ``import visualize``
is cheap (its names load on first use), so nothing heavy runs before this
handler.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Load the command line and run it; returns the exit status (130 after Ctrl-C)."""
    try:
        from visualize.app.cli import main as cli_main
    except KeyboardInterrupt:
        print("chainrule: interrupted (Ctrl-C) while starting; nothing was done",
              file=sys.stderr)
        return 130
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
