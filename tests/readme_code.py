"""Run a code block of the README as the tests' own code.

The block is compiled under a name of its own and registered with
``linecache``, so that ``inspect.getsource`` (which Hypothesis calls on every
``@given`` test to seed it) reads the block itself, not whatever lines of the
real README.md happen to sit at the same line numbers.
"""

from __future__ import annotations

import linecache
from typing import Any


def exec_block(code: str, ns: dict[str, Any], name: str) -> None:
    """Execute ``code`` (a README block) in ``ns``; tracebacks show it as ``<README: name>``."""
    filename = f"<README: {name}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    exec(compile(code, filename, "exec"), ns)
