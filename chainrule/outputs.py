"""The one rule for every file and folder chainrule writes (library and command line).

docs/cli.md's "Output files" section states it for the command line.

* A missing folder on the way to an output is created, as ``mkdir -p`` does.
* An output is refused before any work is done, with one line naming the
  option (or function) and the path and the reason, when its name is empty,
  when a file is asked for and the path is a folder (or a folder is asked for
  and the path is a file), when the path runs through a file, when the folder
  cannot be created or written, or when the path is not a regular file: a
  device (``/dev/null``), a FIFO or a socket is never replaced.
* A symbolic link is followed: its target is replaced, the link stays.
* Files are written whole or not at all: a temporary file in the target's
  folder, flushed to disk, then ``os.replace``. An existing file keeps its
  permission bits; if the write fails (a full disk), the old file is left as
  it was and the message names the path.

:func:`output_file` and :func:`output_dir` check a path up front;
:func:`write_file` writes one file by the rule. Every failure is an
:class:`OutputPathError`: an ``OSError`` whose text is the one-line message
(and whose ``filename`` and ``strerror`` are the path and the reason).
"""

from __future__ import annotations

import contextlib
import errno as _errno
import os
import secrets
import stat
from pathlib import Path
from typing import Union

__all__ = ["OutputPathError", "describe_os_error", "output_dir", "output_file", "write_file"]

PathLike = Union[str, "os.PathLike[str]"]


class OutputPathError(OSError):
    """An output path that cannot be written; ``str()`` is one line naming it and why."""

    def __init__(self, message: str, path: str = "", reason: str = "",
                 code: int | None = None) -> None:
        super().__init__(code or _errno.EINVAL, reason or message, path or None)
        self.message = message

    def __str__(self) -> str:
        return self.message


def describe_os_error(exc: OSError) -> str:
    """A short reason for an ``OSError`` (its ``strerror``, else its text)."""
    return exc.strerror or str(exc) or type(exc).__name__


_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def _not_regular(path: Path) -> str | None:
    """What ``path`` is when it exists and is neither a regular file nor a folder."""
    try:
        mode = os.stat(path).st_mode  # follows a symbolic link to what it names
    except OSError:
        return None
    return next((what for test, what in _KINDS if test(mode)), None)


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
                              "which is a file, not a folder", shown, "runs through a file",
                              _errno.ENOTDIR)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{flag} {shown!r}: cannot create the folder {str(folder)!r}: "
                              f"{describe_os_error(exc)}", shown, describe_os_error(exc),
                              exc.errno) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{flag} {shown!r}: the folder {str(folder)!r} is not writable",
                              shown, "folder not writable", _errno.EACCES)


def _named(path: PathLike, flag: str, kind: str, example: str) -> str:
    """``path`` as ``os.fspath`` gives it; OutputPathError if the name is empty or blank."""
    shown = os.fspath(path)
    if not str(shown).strip():
        raise OutputPathError(f"{flag}: the {kind} name is empty; name {example}")
    return shown


def output_file(path: PathLike, flag: str) -> Path:
    """Apply the rule to an output file: create its folder, or refuse it.

    Args:
        path: the file that will be written.
        flag: the option or function that named it, for the message (``"--save"``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`, its folder existing and writable.

    Raises:
        OutputPathError: naming ``flag``, the path and the reason.
    """
    shown = _named(path, flag, "file", "a file such as model.json")
    target = Path(shown)
    if target.is_dir():
        raise OutputPathError(f"{flag} {shown!r}: is a folder; name a file (for example "
                              f"{str(target / 'out')!r})", shown, "is a folder", _errno.EISDIR)
    if target.name in ("", ".", ".."):
        raise OutputPathError(f"{flag} {shown!r}: names no file; name a file")
    kind = _not_regular(target)
    if kind is not None:
        raise OutputPathError(f"{flag} {shown!r}: is {kind}, not a regular file; chainrule "
                              "writes only regular files, so name a file path instead",
                              shown, f"is {kind}")
    _make_folder(target.parent, shown, flag)
    return target


def output_dir(path: PathLike, flag: str) -> Path:
    """Apply the rule to an output folder: create it (and its parents), or refuse it.

    Raises:
        OutputPathError: naming ``flag``, the path and the reason.
    """
    shown = _named(path, flag, "folder", "a folder such as out")
    folder = Path(shown)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"{flag} {shown!r}: is a file, not a folder; name a folder",
                              shown, "is a file", _errno.ENOTDIR)
    _make_folder(folder, shown, flag)
    return folder


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def write_file(path: PathLike, data: bytes, flag: str) -> Path:
    """Write ``data`` to ``path`` by the rule: whole or not at all, regular files only.

    A symbolic link is followed and its target replaced; missing folders are
    created; an existing file keeps its permission bits.

    Args:
        path: the file to write.
        data: its new content.
        flag: the option or function writing it, for messages (``"--save"``, ``"nn.save"``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputPathError: the path is refused (see :func:`output_file`) or the
            write failed (disk full, ...); the old file, if any, is unchanged.
    """
    given = output_file(path, flag)
    shown = os.fspath(path)
    target = given
    if given.is_symlink():
        try:
            os.stat(given)
        except OSError as exc:
            if exc.errno == _errno.ELOOP:
                raise OutputPathError(f"{flag} {shown!r}: is a symbolic link that loops; name a "
                                      "file", shown, "a looping link", exc.errno) from None
        target = Path(os.path.realpath(given))
    if target != given:
        output_file(target, f"{flag} {shown!r} (a link to)")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
        existed = True
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode, existed = 0o666 & ~umask, False
    tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.fchmod(fd, mode)  # the existing file's bits, whatever the umask
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        kept = "the old file is unchanged" if existed else "nothing was written"
        reason = describe_os_error(exc)
        raise OutputPathError(f"{flag} {shown!r}: cannot write it: {reason}; {kept}",
                              shown, reason, exc.errno) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return given
