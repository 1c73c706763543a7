"""The command line under signals: Ctrl-C (SIGINT) and a reader that goes away (SIGPIPE).

Ctrl-C is a real SIGINT sent to a ``chainrule`` subprocess, once and twice in a
row: one line, exit status 130, nothing half-written; the interrupted run's
checkpoint is resumed and must end with the weights of an uninterrupted run,
bit for bit. A closed stdout ends any command with status 141 and no
traceback. (Ctrl-C while the program loads: ``test_console.py``; during a
sweep: ``test_cli_sweep.py``.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nn
from tests.cli_run import ROOT, TRAIN, interrupt, long_check, start, wait_for
from visualize.app.cli import main


@pytest.mark.parametrize("times", [1, 2])
def test_ctrl_c_during_training_keeps_save_untouched_and_resume_is_bit_for_bit(
        tmp_path: Path, times: int) -> None:
    # the reference: the same run, never interrupted
    assert main([*TRAIN, "--epochs", "12", "--save", str(tmp_path / "full.json")]) == 0
    (tmp_path / "model.json").write_text("an older model")
    p = start([*TRAIN, "--epochs", "12", "--checkpoint", "run.json", "--save", "model.json"],
               tmp_path)
    wait_for(lambda: (tmp_path / "run.json").exists())
    _out, err = interrupt(p, times)
    assert p.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    done = nn.load_meta(tmp_path / "run.json")["epoch"]
    assert f"the checkpoint 'run.json' holds epoch {done}: continue with --resume" in lines[0]
    assert "'model.json' was not written" in lines[0]
    assert (tmp_path / "model.json").read_text() == "an older model"  # not replaced
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    # resume: the same weights as the uninterrupted run, every float equal
    assert main([*TRAIN, "--epochs", "12", "--resume", str(tmp_path / "run.json"),
                 "--save", str(tmp_path / "model.json")]) == 0
    full = json.loads((tmp_path / "full.json").read_text())["weights"]
    resumed = json.loads((tmp_path / "model.json").read_text())["weights"]
    assert resumed == full


def test_ctrl_c_before_the_first_epoch_ends_says_there_is_nothing_to_resume(
        tmp_path: Path) -> None:
    p = start(["train", "--samples", "5000", "--batch-size", "5000", "--epochs", "3",
                "--no-progress", "--checkpoint", "run.json"], tmp_path)
    assert p.stdout is not None
    first = p.stdout.readline()  # "data: ..." is printed just before training starts
    assert first.startswith("data:")
    _out, err = interrupt(p, 2)
    assert p.returncode == 130 and "Traceback" not in err
    assert "no epoch was completed, so there is no checkpoint to resume" in err
    assert not (tmp_path / "run.json").exists()


def test_ctrl_c_at_any_moment_of_a_short_run_never_shows_a_traceback(tmp_path: Path) -> None:
    # a run that ends within about a second: the signal lands in set-up, in an epoch, in a
    # checkpoint write, in the final save or after; twice in a row each time
    for delay in (0.0, 0.2, 0.6):
        p = start([*TRAIN, "--epochs", "4", "--checkpoint", "c.json", "--save", "m.json"],
                   tmp_path)
        assert p.stdout is not None and p.stdout.readline().startswith("data:")
        time.sleep(delay)
        _out, err = interrupt(p, 2)
        assert p.returncode in (0, 130), (delay, err)
        assert "Traceback" not in err, (delay, err)
        if p.returncode == 130:
            assert len(err.strip().splitlines()) == 1, (delay, err)
        for name in ("c.json", "m.json"):  # whatever exists is a whole, valid file
            if (tmp_path / name).exists():
                nn.load(tmp_path / name)
        assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
        for name in ("c.json", "m.json"):
            (tmp_path / name).unlink(missing_ok=True)


def test_ctrl_c_in_the_demo_saves_nothing(tmp_path: Path) -> None:
    p = start(["demo", "--epochs", "100000", "--no-progress", "--out", "out"], tmp_path)
    assert p.stdout is not None
    while not p.stdout.readline().startswith("model:"):  # training starts after this line
        pass
    time.sleep(0.2)
    _out, err = interrupt(p, 2)
    assert p.returncode == 130 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("chainrule demo: interrupted after ")
    assert line.endswith("epochs; nothing was written to 'out'")
    assert not (tmp_path / "out" / "model.json").exists()


def test_ctrl_c_in_check_and_graph_ends_with_one_line(tmp_path: Path) -> None:
    argv = long_check()
    # as the chainrule program runs it (argv from sys.argv): a press after the work is
    # done is ignored, as it is for users, so a fast machine cannot turn it into a kill
    code = ("import sys, visualize.app.cli as c; print('ready', flush=True); "
            f"sys.argv = ['chainrule', *{argv!r}]; sys.exit(c.main())")
    p = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.stdout is not None and p.stdout.readline() == "ready\n"
    time.sleep(0.3)  # main has started: checking
    _out, err = interrupt(p, 2)
    if p.returncode == 130:
        assert err.strip() == ("chainrule check: interrupted (Ctrl-C); nothing half-written "
                               "was left")
    else:  # finished before the signal: a normal result
        assert p.returncode in (0, 1) and "Traceback" not in err


def _plain_env() -> dict[str, str]:
    """The environment a user's shell gives: no PYTHONUNBUFFERED or other PYTHON* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return dict(env, PYTHONPATH=str(ROOT))


@pytest.mark.parametrize("args", [
    long_check()[:-1],                   # check, its report printed at the end
    ["--help"], ["check", "--help"],      # argparse's text, printed as it exits
    ["lesson", "--list"], ["--version"],
])
def test_a_reader_that_goes_away_ends_check_quietly(tmp_path: Path, args: list[str]) -> None:
    # `chainrule check ... | head -1` where head has gone, in a plain environment (stdout
    # block-buffered): exit 141, never a traceback nor "Exception ignored ... BrokenPipeError"
    p = subprocess.Popen([sys.executable, "-m", "visualize.app.cli", *args],
                         cwd=tmp_path, text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=_plain_env())
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # before the command prints anything
    err = p.stderr.read()
    p.wait(timeout=60)
    assert p.returncode == 141 and err == ""
