"""Running the ``chainrule`` command line for the tests: in-process and as a subprocess.

In-process through :func:`visualize.app.cli.main` (argparse exits with
``SystemExit``); as a subprocess for what needs a real process (signals, a
closed pipe). Shared by the ``tests/test_cli_*.py`` files and ``test_outputs.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from visualize.app.cli import main

ROOT = Path(__file__).parents[1]

#: a small, seeded ``chainrule train`` run (add ``--epochs``)
TRAIN = ["train", "--samples", "200", "--batch-size", "16", "--no-progress", "--seed", "3"]


def status_and_err(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``chainrule ARGV`` in-process; return its exit status and stderr (never a traceback)."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = int(exc.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``chainrule ARGV``, which must be an argparse-style error: status 2, the command
    named (``chainrule train: error: ...``), no traceback. Returns stderr."""
    status, err = status_and_err(argv, capsys)
    assert status == 2, err
    assert f"chainrule {argv[0]}: error: " in err, err
    return err


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``python -m visualize.app.cli ARGS`` in ``cwd``, unbuffered, with pipes."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-u", "-m", "visualize.app.cli", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(cond: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll until ``cond()`` holds (an AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("the subprocess never got there")
        time.sleep(0.002)


def interrupt(p: subprocess.Popen[str], times: int) -> tuple[str, str]:
    """Press Ctrl-C (SIGINT) ``times`` times in a row; return the process's stdout, stderr."""
    for _ in range(times):
        p.send_signal(signal.SIGINT)
        time.sleep(0.001)
    out, err = p.communicate(timeout=60)
    return out, err


def long_check() -> list[str]:
    """``check --second`` on 20 variables and 40 more terms: seconds of work to interrupt."""
    n = 20
    names = ",".join(f"v{i}" for i in range(n))
    terms = [f"tanh(v{i}*v{(i + 1) % n} + v{(i + 3) % n})" for i in range(n)]
    terms += [f"sin(v{i}*v{(i + 7) % n})" for i in range(n)]
    expression = f"logsumexp({names}) * tanh(sum({names})) + " + " + ".join(terms)
    at = ",".join(f"v{i}=0.{i + 1}" for i in range(n))
    return ["check", expression, "--at", at, "--second"]
