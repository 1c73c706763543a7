"""Output paths of the command line: one rule for every file and folder chainrule writes.

The rule (docs/cli.md's "Output files" section states it):

* a missing folder on the way to an output is created, as ``mkdir -p`` does,
  for every command and option (``graph -o``, ``graph --steps``, ``train
  --save``, ``train --checkpoint``, ``demo --out``, lessons);
* an output is refused before any work is done, with one line naming the
  path and the reason, when its name is empty, when a file is asked for and
  the path is a folder (or a folder is asked for and the path is a file), when
  the path runs through a file, or when the folder cannot be created or
  written;
* files are written whole or not at all (a temporary file in the same folder,
  then a rename), and keep an existing file's permission bits.

:func:`output_file` and :func:`output_dir` apply the rule;
:class:`OutputPathError` carries the one-line message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

__all__ = ["OutputPathError", "describe_os_error", "output_dir", "output_file"]

PathLike = Union[str, "os.PathLike[str]"]


class OutputPathError(ValueError):
    """An output path that cannot be written; the message is one line naming it and why."""


def describe_os_error(exc: OSError) -> str:
    """A short reason for an ``OSError`` (its ``strerror``, else its text)."""
    return exc.strerror or str(exc) or type(exc).__name__


def _through_file(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a folder, if any."""
    for up in reversed(path.parents):
        if up.exists() and not up.is_dir():
            return up
    return None


def _make_folder(folder: Path, shown: str, flag: str) -> None:
    blocker = _through_file(folder / "x")
    if blocker is not None:
        raise OutputPathError(f"{flag} {shown!r}: the path runs through {str(blocker)!r}, "
                              "which is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{flag} {shown!r}: cannot create the folder {str(folder)!r}: "
                              f"{describe_os_error(exc)}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{flag} {shown!r}: the folder {str(folder)!r} is not writable")


def output_file(path: PathLike, flag: str) -> Path:
    """Apply the rule to an output file: create its folder, or refuse it.

    Args:
        path: the file the command will write.
        flag: the option that named it, for the message (``"--save"``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`, its folder existing and writable.

    Raises:
        OutputPathError: naming ``flag``, the path and the reason.
    """
    shown = os.fspath(path)
    if not str(shown).strip():
        raise OutputPathError(f"{flag}: the file name is empty; name a file such as model.json")
    target = Path(shown)
    if target.is_dir():
        raise OutputPathError(f"{flag} {shown!r}: is a folder; name a file (for example "
                              f"{str(target / 'out')!r})")
    if target.name in ("", ".", ".."):
        raise OutputPathError(f"{flag} {shown!r}: names no file; name a file")
    _make_folder(target.parent, shown, flag)
    return target


def output_dir(path: PathLike, flag: str) -> Path:
    """Apply the rule to an output folder: create it (and its parents), or refuse it.

    Raises:
        OutputPathError: naming ``flag``, the path and the reason.
    """
    shown = os.fspath(path)
    if not str(shown).strip():
        raise OutputPathError(f"{flag}: the folder name is empty; name a folder such as out")
    folder = Path(shown)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"{flag} {shown!r}: is a file, not a folder; name a folder")
    _make_folder(folder, shown, flag)
    return folder
