"""``chainrule check``: the table, exit status 1 on a failed check, 2 on bad input, ``--at``."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from autograd import ops
from tests.cli_run import long_check, status_and_err, usage_error
from visualize.app import cli
from visualize.app.cli import main


def run(argv: list[str]) -> int:
    """Run ``chainrule check ARGV`` (the whole program, as a user runs it)."""
    return main(["check", *argv])


def test_prints_the_table_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["x*y + sin(x)", "--at", "x=1,y=2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gradcheck of x*y + sin(x) (f = 2.84147): passed")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:5]}
    assert float(rows["x"][2]) == pytest.approx(2 + math.cos(1.0), rel=1e-5)
    assert float(rows["y"][2]) == pytest.approx(1.0)
    assert rows["x"][-1] == rows["y"][-1] == "ok"
    assert "autodiff" in out and "finite diff" in out


def test_through_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "tanh(w*x + b)", "--at", "w=-3,x=2,b=6.88"]) == 0
    assert "passed" in capsys.readouterr().out


def test_kinks_pass_and_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["relu(x) + abs(x - y)", "--at", "x=0,y=0", "--second"]) == 0
    out = capsys.readouterr().out
    assert "kink at node 1 (relu, input 0.0)" in out
    assert "gradgradcheck of relu(x) + abs(x - y)" in out


def test_a_failing_check_exits_1_and_names_the_culprit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sin = ops.get_op("sin")
    wrong = dataclasses.replace(sin, local=lambda out, x: (math.cos(x) + 0.5,))
    monkeypatch.setitem(ops._REGISTRY, "sin", wrong)  # expressions call ops by name
    assert run(["x * sin(x)", "--at", "x=0.5"]) == 1
    out = capsys.readouterr().out
    assert "FAILED for 1 of 1 inputs" in out
    assert "culprit: node 1 (sin, input 0.5)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x*y + sin(", "--at", "x=1"], "invalid syntax"),
        (["x*y", "--at", "x=1"], "no value for variable(s) y"),
        (["x", "--at", "x=1,z=2"], "does not use"),
        (["x", "--at", "x=nan"], "x=nan is not finite"),
        (["2 + 3"], "has no variables"),
        (["x", "--at", "x"], "expected name=number"),
        (["x", "--at", "x=1", "--atol", "-1"], "expected a number >= 0"),
        (["__import__('os')", "--at", ""], "expression"),
        (["log(x) + x", "--at", "x=-1"], "f is nan at the point (first nan at node 1 (log"),
    ],
)
def test_bad_input_is_an_argparse_error_with_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in usage_error(["check", *argv], capsys)


@pytest.mark.parametrize("command", ["check", "graph"])
def test_at_given_twice_keeps_both(tmp_path: Path, command: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["-o", str(tmp_path / "g.dot")] if command == "graph" else []
    assert main([command, "x*y", "--at", "x=3", "--at", "y=2", *extra]) == 0
    out = capsys.readouterr().out
    assert ("f = 6" if command == "check" else "x=3, y=2") in out  # x*y at x=3, y=2: both kept
    # one value per variable, as in one --at
    assert "x is given twice" in usage_error([command, "x*y", "--at", "x=3", "--at", "x=2", *extra],
                                             capsys)


def test_a_long_expression_is_shortened_in_the_report(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(long_check()[:-1]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("gradcheck of logsumexp(v0,v1,") and "..." in first
    assert "_Target" not in first


def test_gradcheck_step_errors_in_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    status, err = status_and_err(["check", "x*x", "--at", "x=0.7", "--eps", "1e-300"], capsys)
    assert status == 2 and "below the spacing of floats" in err
    assert main(["check", "x*x", "--at", "x=0.7", "--eps", "1e-16"]) == 1
    assert "uncertain (FD error too large)" in capsys.readouterr().out
