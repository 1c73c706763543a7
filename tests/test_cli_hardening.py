"""The command line under Ctrl-C, bad output paths and oversized requests.

Ctrl-C is a real SIGINT sent to a ``chainrule`` subprocess, once and twice in a
row; the interrupted run's checkpoint is resumed and must end with the weights
of an uninterrupted run, bit for bit. Every output option of every command gets
the same one-line refusals; every limit is refused at once, naming it, and is
stated in ``--help``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nn
from visualize.app import cli
from visualize.app.cli import main
from visualize.graph import find_dot

ROOT = Path(__file__).parents[1]
TRAIN = ["train", "--samples", "200", "--batch-size", "16", "--no-progress", "--seed", "3"]


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-u", "-m", "visualize.app.cli", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(cond: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("the subprocess never got there")
        time.sleep(0.002)


def _interrupt(p: subprocess.Popen[str], times: int) -> tuple[str, str]:
    for _ in range(times):
        p.send_signal(signal.SIGINT)
        time.sleep(0.001)
    out, err = p.communicate(timeout=60)
    return out, err


@pytest.mark.parametrize("times", [1, 2])
def test_ctrl_c_during_training_keeps_save_untouched_and_resume_is_bit_for_bit(
        tmp_path: Path, times: int) -> None:
    # the reference: the same run, never interrupted
    assert main([*TRAIN, "--epochs", "12", "--save", str(tmp_path / "full.json")]) == 0
    (tmp_path / "model.json").write_text("an older model")
    p = _start([*TRAIN, "--epochs", "12", "--checkpoint", "run.json", "--save", "model.json"],
               tmp_path)
    _wait_for(lambda: (tmp_path / "run.json").exists())
    _out, err = _interrupt(p, times)
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
    p = _start(["train", "--samples", "5000", "--batch-size", "5000", "--epochs", "3",
                "--no-progress", "--checkpoint", "run.json"], tmp_path)
    assert p.stdout is not None
    first = p.stdout.readline()  # "data: ..." is printed just before training starts
    assert first.startswith("data:")
    _out, err = _interrupt(p, 2)
    assert p.returncode == 130 and "Traceback" not in err
    assert "no epoch was completed, so there is no checkpoint to resume" in err
    assert not (tmp_path / "run.json").exists()


def test_ctrl_c_at_any_moment_of_a_short_run_never_shows_a_traceback(tmp_path: Path) -> None:
    # a run that ends within about a second: the signal lands in set-up, in an epoch, in a
    # checkpoint write, in the final save or after; twice in a row each time
    for delay in (0.0, 0.2, 0.6):
        p = _start([*TRAIN, "--epochs", "4", "--checkpoint", "c.json", "--save", "m.json"],
                   tmp_path)
        assert p.stdout is not None and p.stdout.readline().startswith("data:")
        time.sleep(delay)
        _out, err = _interrupt(p, 2)
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
    p = _start(["demo", "--epochs", "100000", "--no-progress", "--out", "out"], tmp_path)
    assert p.stdout is not None
    while not p.stdout.readline().startswith("model:"):  # training starts after this line
        pass
    time.sleep(0.2)
    _out, err = _interrupt(p, 2)
    assert p.returncode == 130 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("chainrule demo: interrupted after ")
    assert line.endswith("epochs; nothing was written to 'out'")
    assert not (tmp_path / "out" / "model.json").exists()


def _long_check() -> list[str]:
    """``check --second`` on 20 variables and 40 more terms: seconds of work to interrupt."""
    n = 20
    names = ",".join(f"v{i}" for i in range(n))
    terms = [f"tanh(v{i}*v{(i + 1) % n} + v{(i + 3) % n})" for i in range(n)]
    terms += [f"sin(v{i}*v{(i + 7) % n})" for i in range(n)]
    source = f"logsumexp({names}) * tanh(sum({names})) + " + " + ".join(terms)
    at = ",".join(f"v{i}=0.{i + 1}" for i in range(n))
    return ["check", source, "--at", at, "--second"]


def _plain_env() -> dict[str, str]:
    """The environment a user's shell gives: no PYTHONUNBUFFERED or other PYTHON* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return dict(env, PYTHONPATH=str(ROOT))


@pytest.mark.parametrize("args", [
    _long_check()[:-1],                   # check, its report printed at the end
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


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import chainrule

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"chainrule {chainrule.__version__}"
    assert chainrule.__version__[0].isdigit()


@pytest.mark.parametrize("command", ["check", "graph"])
def test_at_given_twice_keeps_both(tmp_path: Path, command: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["-o", str(tmp_path / "g.dot")] if command == "graph" else []
    assert main([command, "x*y", "--at", "x=3", "--at", "y=2", *extra]) == 0
    out = capsys.readouterr().out
    assert ("f = 6" if command == "check" else "x=3, y=2") in out  # x*y at x=3, y=2: both kept
    with pytest.raises(SystemExit) as done:  # one value per variable, as in one --at
        main([command, "x*y", "--at", "x=3", "--at", "x=2", *extra])
    assert done.value.code == 2
    assert "x is given twice" in capsys.readouterr().err


def test_a_long_expression_is_shortened_in_the_report(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_long_check()[:-1]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("gradcheck of logsumexp(v0,v1,") and "..." in first
    assert "_Target" not in first


def test_ctrl_c_in_check_and_graph_ends_with_one_line(tmp_path: Path) -> None:
    argv = _long_check()
    # as the chainrule program runs it (argv from sys.argv): a press after the work is
    # done is ignored, as it is for users, so a fast machine cannot turn it into a kill
    code = ("import sys, visualize.app.cli as c; print('ready', flush=True); "
            f"sys.argv = ['chainrule', *{argv!r}]; sys.exit(c.main())")
    p = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.stdout is not None and p.stdout.readline() == "ready\n"
    time.sleep(0.3)  # main has started: checking
    _out, err = _interrupt(p, 2)
    if p.returncode == 130:
        assert err.strip() == ("chainrule check: interrupted (Ctrl-C); nothing half-written "
                               "was left")
    else:  # finished before the signal: a normal result
        assert p.returncode in (0, 1) and "Traceback" not in err


# ---------------------------------------------------------------------------
# output paths: one rule for every command


def _err_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        status = main(argv)
    except SystemExit as exc:
        status = int(exc.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


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
        status, err = _err_of(argv, capsys)
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
        status, err = _err_of([*TRAIN, "--epochs", "1", "--save", str(ro / "m.json")], capsys)
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


# ---------------------------------------------------------------------------
# limits


def _sum_of(n: int) -> tuple[str, str]:
    names = [f"v{i}" for i in range(n)]
    return f"sum({', '.join(names)})", ",".join(f"{v}=0.5" for v in names)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", *_sum_of(200)[:1], "--at", _sum_of(200)[1], "--second"],
         "200 variables, over the limit of 100"),
        (["check", *_sum_of(21)[:1], "--at", _sum_of(21)[1], "--second"],
         "--second: the expression has 21 variables, over the limit of 20"),
        (["check", "sum(" + ", ".join(f"tanh(v{i % 90} * v{(i + 1) % 90})" for i in range(400))
          + ")", "--at", ",".join(f"v{i}=0.1" for i in range(90))],
         "over the limit of 50000"),
        (["graph", "x", "--at", "x=1", "--max-nodes", "1000000"], "must be at most 2000"),
        (["graph", *_sum_of(60)[:1], "--at", _sum_of(60)[1], "--explain"],
         "--explain: the expression has 60 variables, over the limit of 50"),
        (["check", "--at", "x=1", "--", "-" * 9000 + "x"], "9000 signs in a row nest deeper"),
        (["graph", "(" * 300 + "x" + ")" * 300, "--at", "x=1"],
         "nested too deeply (parentheses 300 deep"),
    ],
)
def test_oversized_requests_are_refused_at_once_naming_the_limit(
        argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _err_of(argv, capsys)
    assert status == 2
    assert message in err.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--samples", str(10**9)], "1000000000 is over the limit of 100000"),
        (["--samples", "9" * 5000], "expected a positive integer"),
        (["--hidden", "5000"], "a layer of 5000 is over the limit of 1000 units"),
        (["--hidden", ",".join(["4"] * 11)], "11 hidden layers are over the limit of 10"),
        (["--hidden", "999,999"], "parameters, over the limit of 100000"),
        (["--epochs", str(10**7)], "over the limit of 100000"),
        (["--noise", "1e300"], "noise must be a real number in [0, 1e+06]"),
    ],
)
def test_train_limits_are_refused_before_any_allocation(
        args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _err_of(["train", "--no-progress", *args], capsys)
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert err.startswith("chainrule train: error: ")


def test_help_states_the_limits_and_the_split(capsys: pytest.CaptureFixture[str]) -> None:
    for command, needles in {
        "train": ["80% train", f"--samples <= {cli.MAX_SAMPLES}", "--resume",
                  f"{cli.MAX_TRAIN_PARAMETERS} parameters"],
        "check": [f"at most {cli.MAX_CHECK_VARIABLES} variables",
                  f"at most {cli.MAX_SECOND_VARIABLES} variables", "10000 characters"],
        "graph": [f"--max-nodes <= {cli.MAX_DRAWN_NODES}", "w*x + b"],
    }.items():
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "%%" not in text
        for needle in needles:
            assert needle in text, (command, needle)


def test_gradcheck_step_errors_in_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _err_of(["check", "x*x", "--at", "x=0.7", "--eps", "1e-300"], capsys)
    assert status == 2 and "below the spacing of floats" in err
    assert main(["check", "x*x", "--at", "x=0.7", "--eps", "1e-16"]) == 1
    assert "uncertain (FD error too large)" in capsys.readouterr().out


def test_graph_labels_interior_nodes_with_their_text(tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    assert main(["graph", "tanh(w*x + b)", "--at", "x=0.5,w=-3,b=2", "-o", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    assert ">w*x<" in dot and ">w*x + b<" in dot


@pytest.mark.parametrize("compile_", ["on", "off", "auto"])
def test_an_overflowing_l2_is_one_line_on_every_path(compile_: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--samples", "40", "--epochs", "2", "--hidden", "4", "--no-progress",
            "--l2", "1e308", "--compile", compile_]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule train: error: fit: training diverged: the loss became "
                          "inf in epoch 1, batch 1")
    assert "use a smaller l2" in err and "--resume" not in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("change", [["--lr", "0.5"], ["--l2", "0.1"],
                                    ["--early-stopping", "3"]])
def test_resume_refuses_a_changed_setting(tmp_path: Path, change: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    ck = str(tmp_path / "ck.json")
    argv = ["train", "--samples", "40", "--hidden", "4", "--no-progress"]
    assert main([*argv, "--epochs", "2", "--checkpoint", ck]) == 0
    capsys.readouterr()
    assert main([*argv, "--epochs", "4", "--resume", ck, *change]) == 2
    err = capsys.readouterr().err.strip()
    name = change[0].lstrip("-").replace("-", "_")
    # the changed setting is named (early stopping also carves a validation split, but the
    # setting is what the user changed)
    assert f"was trained with {name}=" in err and f"asks for {name}=" in err
    assert main([*argv, "--epochs", "4", "--resume", ck]) == 0  # the same settings go on
