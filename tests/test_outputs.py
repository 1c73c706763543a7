"""The output rule (chainrule.outputs) through every writer: model.save, fit's checkpoint,
train --save/--checkpoint, graph renders, the steps page, lesson and replay pages.

Each writer is pointed at a FIFO, a device node, a socket, a symbolic link and a
full disk: a non-regular file is refused with a message naming the path and left
as it was; a link's target is replaced and the link kept; a full disk names the
path and keeps the old file; missing folders are created.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import nn
import visualize
from autograd import Value
from tests.cli_run import TRAIN, status_and_err
from visualize.app import lessons
from visualize.app.cli import main
from visualize.app.lessons import playground as _playground
from visualize.app.playground.state import PlaygroundState, save_state
from visualize.graph import find_dot

X, Y = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], [0, 1, 1, 0]


def _graph() -> Value:
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    return (x * w).tanh()


def _cli(*args: str) -> Callable[[Path], None]:
    def run(p: Path) -> None:
        if main(["train", "--samples", "40", "--epochs", "1", "--hidden", "2",
                 "--no-progress", *args, str(p)]) != 0:
            raise OSError("train failed")
    return run


def _steps(p: Path) -> None:
    if find_dot() is None:
        pytest.skip("Graphviz's dot is not installed")
    visualize.render_backward(_graph(), p.parent)


def _page(p: Path) -> None:
    rec, _ = _playground.record(nn.MLP(2, [2, 1], seed=0), X, Y, title="t", epochs=1)
    _playground.write_page(rec, p)


# name -> (file name the writer writes, write it, flag or function named in messages)
WRITERS: dict[str, tuple[str, Callable[[Path], object], str]] = {
    "model.save": ("m.json", lambda p: nn.MLP(2, [1], seed=0).save(p), "save"),
    "fit checkpoint": ("ck.json", lambda p: nn.fit(nn.MLP(2, [1], seed=0), X, Y, epochs=1,
                                                    checkpoint=p, progress=False),
                       "checkpoint"),
    "train --save": ("m.json", _cli("--save"), "--save"),
    "train --checkpoint": ("ck.json", _cli("--checkpoint"), "--checkpoint"),
    "render": ("g.dot", lambda p: visualize.render(_graph(), p), "render"),
    "steps page": ("backward.html", _steps, ""),
    "replay page": ("training.html", _page, ""),
    "lesson file": ("index.html", lambda p: lessons.write_text(p, "<p>x</p>"), "lesson"),
    "playground state": ("state.json", lambda p: save_state(PlaygroundState(), p), "--state"),
}


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _device(p: Path) -> None:
    try:  # a second /dev/null (character device 1, 3): harmless, and only root may make it
        os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")


@contextlib.contextmanager
def _socket(p: Path) -> Iterator[None]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(p))
        yield
    finally:
        s.close()


@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.parametrize("kind", ["fifo", "device", "socket"])
def test_a_special_file_is_refused_and_left_as_it_was(
        tmp_path: Path, writer: str, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    name, write, flag = WRITERS[writer]
    p = tmp_path / name
    with contextlib.ExitStack() as stack:
        if kind == "fifo":
            _fifo(p)
        elif kind == "device":
            _device(p)
        else:
            stack.enter_context(_socket(p))
        before = os.stat(p, follow_symlinks=False)
        with pytest.raises(OSError) as err:
            write(p)
        after = os.stat(p, follow_symlinks=False)
        assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)  # still special
        assert after.st_ino == before.st_ino
    message = str(err.value) + capsys.readouterr().err
    assert str(p) in message and "not a regular file" in message, message
    assert flag in message
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_link_is_followed_its_target_replaced_and_the_link_kept(tmp_path: Path,
                                                                  writer: str) -> None:
    name, write, _ = WRITERS[writer]
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "real" / name
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "links" / name
    link.symlink_to(target)
    write(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() != "old" and target.stat().st_size > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the old file's bits, kept
    leftovers = [f for d in ("real", "links") for f in os.listdir(tmp_path / d)
                 if f.endswith(".tmp")]
    assert leftovers == []


@pytest.mark.parametrize("writer", list(WRITERS))
def test_missing_folders_are_created(tmp_path: Path, writer: str) -> None:
    name, write, _ = WRITERS[writer]
    p = tmp_path / "a" / "b" / name
    write(p)
    assert p.is_file() and p.stat().st_size > 0


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only): a real full disk, not a simulated one."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("mounting a tiny tmpfs needs root: " + done.stderr.decode().strip())
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.mark.parametrize("writer", [w for w in WRITERS if w != "steps page"])
def test_a_full_disk_names_the_path_and_keeps_the_old_file(
        tiny_disk: Path, writer: str, capsys: pytest.CaptureFixture[str]) -> None:
    name, write, _ = WRITERS[writer]
    p = tiny_disk / name
    p.write_text("old")
    filler = tiny_disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as f:
        while True:
            f.write(b"\0" * 4096)
            f.flush()
    with pytest.raises(OSError) as err:
        write(p)
    message = str(err.value) + capsys.readouterr().err
    assert str(p) in message and "No space left on device" in message, message
    assert p.read_text() == "old"
    assert sorted(os.listdir(tiny_disk)) == sorted([name, "filler"])


def test_a_dangling_link_gets_its_target_and_a_looping_one_is_refused(tmp_path: Path) -> None:
    from chainrule.outputs import write_file

    link = tmp_path / "m.json"
    link.symlink_to(tmp_path / "real" / "m.json")  # the folder does not exist yet
    nn.MLP(2, [1], seed=0).save(link)
    assert link.is_symlink() and (tmp_path / "real" / "m.json").is_file()
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(OSError, match="loops"):
        write_file(loop, b"x", "-o")
    assert loop.is_symlink()


# ---------------------------------------------------------------------------
# the command line's output options: one rule for every command


def _cases(tmp: Path) -> list[tuple[list[str], str, str]]:
    afile = tmp / "afile"
    folder = tmp / "folder"
    return [
        (["graph", "x*y", "--at", "x=1,y=2", "-o", str(folder)], "-o", "is a folder"),
        (["graph", "x*y", "--at", "x=1,y=2", "-o", ""], "-o", "the file name is empty"),
        (["graph", "x*y", "--at", "x=1,y=2", "-o", str(afile / "g.svg")], "-o",
         f"runs through {str(afile)!r}, which is a file"),
        (["graph", "x*y", "--at", "x=1,y=2", "-o", str(tmp / "g.dot"), "--steps", str(afile)],
         "--steps", "is a file, not a folder"),
        (["graph", "x*y", "--at", "x=1,y=2", "-o", str(tmp / "g.dot"), "--steps",
          str(afile / "s")], "--steps", "runs through"),
        ([*TRAIN, "--epochs", "1", "--save", ""], "--save", "the file name is empty"),
        ([*TRAIN, "--epochs", "1", "--save", str(folder)], "--save", "is a folder"),
        ([*TRAIN, "--epochs", "1", "--checkpoint", str(afile / "c.json")], "--checkpoint",
         "runs through"),
        ([*TRAIN, "--epochs", "1", "--resume", str(tmp / "missing.json")], "--resume",
         "no such file"),
        ([*TRAIN, "--epochs", "1", "--save", str(tmp / "s.json"), "--checkpoint",
          str(tmp / "s.json")], "--save", "is also the checkpoint"),
        (["demo", "--epochs", "1", "--no-progress", "--out", str(afile)], "--out",
         "is a file, not a folder"),
        (["demo", "--epochs", "1", "--no-progress", "--out", ""], "--out",
         "the folder name is empty"),
        (["lesson", "all", "--out", str(afile)], "--out", "is a file, not a folder"),
        (["lesson", "all", "--out", str(afile / "x")], "--out", "runs through"),
        (["lesson", "all", "--out", ""], "--out", "the folder name is empty"),
    ]


def test_every_output_option_refuses_bad_paths_in_one_line_before_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "folder").mkdir()
    for argv, flag, reason in _cases(tmp_path):
        status, err = status_and_err(argv, capsys)
        assert status == 2, (argv, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"chainrule {argv[0]}: error: {flag}"), \
            (argv, err)
        assert reason in lines[0], (argv, err)
    assert sorted(os.listdir(tmp_path)) == ["afile", "folder"]  # nothing was written
    assert os.listdir(tmp_path / "folder") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_a_read_only_folder_is_refused(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        status, err = status_and_err([*TRAIN, "--epochs", "1", "--save", str(ro / "m.json")],
                                     capsys)
    finally:
        ro.chmod(0o755)
    assert status == 2 and "is not writable" in err


def test_missing_folders_are_created_for_every_output(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "x*y", "--at", "x=1,y=2", "-o", str(tmp_path / "a" / "b" / "g.dot")]) \
        == 0
    assert (tmp_path / "a" / "b" / "g.dot").is_file()
    assert main([*TRAIN, "--epochs", "1", "--save", str(tmp_path / "c" / "m.json"),
                 "--checkpoint", str(tmp_path / "d" / "e" / "k.json")]) == 0
    assert nn.load(tmp_path / "c" / "m.json") is not None
    assert nn.load_meta(tmp_path / "d" / "e" / "k.json")["epoch"] == 1
    if find_dot() is not None:
        assert main(["graph", "x*y", "--at", "x=1,y=2", "-o", str(tmp_path / "g.dot"),
                     "--steps", str(tmp_path / "f" / "g")]) == 0
        assert (tmp_path / "f" / "g" / "backward.html").is_file()


def test_train_save_into_missing_folder_creates_it(tmp_path, capsys):
    # the one output rule: missing folders on the way to an output are created
    target = tmp_path / "missing" / "deeper" / "m.json"
    status = main(["train", "--epochs", "1", "--no-progress", "--save", str(target)])
    assert status == 0
    assert nn.load(target).config()["nouts"] == [16, 16, 1]


def test_train_save_through_a_file_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    status = main(["train", "--epochs", "1", "--no-progress",
                   "--save", str(blocker / "m.json")])
    err = capsys.readouterr()
    assert status == 2
    assert f"runs through {str(blocker)!r}, which is a file" in err.err
    assert "trained" not in err.out and "data:" not in err.out
