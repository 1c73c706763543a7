"""The README and the pages of ``docs/`` as test material: their text, code blocks, regions.

A code block is compiled under a name of its own and registered with
``linecache``, so that ``inspect.getsource`` (which Hypothesis calls on every
``@given`` test to seed it) reads the block itself, not whatever lines of the
real file happen to sit at the same line numbers.
"""

from __future__ import annotations

import linecache
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def page(name: str) -> str:
    """The text of ``README`` (for ``"README"``) or of ``docs/<name>.md``."""
    path = README if name == "README" else DOCS / f"{name}.md"
    return path.read_text(encoding="utf-8")


def python_blocks(text: str) -> list[str]:
    """The ```python code blocks of ``text``, in order."""
    return re.findall(r"```python\n(.*?)```", text, re.S)


def region(text: str, marker: str) -> str:
    """The text between ``<!-- marker:start -->`` and ``<!-- marker:end -->``.

    Raises:
        ValueError: if either marker is missing.
    """
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} region")
    return text[text.index(start) + len(start):text.index(end)]


def exec_block(code: str, ns: dict[str, Any], name: str) -> None:
    """Execute ``code`` (a docs block) in ``ns``; tracebacks show it as ``<docs: name>``."""
    filename = f"<docs: {name}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    exec(compile(code, filename, "exec"), ns)
