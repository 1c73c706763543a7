"""``chainrule check``: the table, exit status 1 on a failed check, 2 on bad input."""

from __future__ import annotations

import argparse
import dataclasses
import math

import pytest

from autograd import ops
from visualize.app import cli


def run(argv: list[str]) -> int:
    """Run ``chainrule check`` through its own parser (independent of other commands)."""
    parser = argparse.ArgumentParser(prog="chainrule")
    sub = parser.add_subparsers()
    cli._add_check(sub)
    args = parser.parse_args(["check", *argv])
    return int(args.func(args))


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
    with pytest.raises(SystemExit) as info:
        run(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "chainrule check: error:" in err and message in err
    assert "Traceback" not in err
