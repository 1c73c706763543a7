"""The command line's limits: every oversized request is refused at once, naming the limit,
before any allocation, and every limit is stated in ``--help``.
"""

from __future__ import annotations

import pytest

from tests.cli_run import status_and_err
from visualize.app import cli
from visualize.app.cli import main


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
    status, err = status_and_err(argv, capsys)
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
    status, err = status_and_err(["train", "--no-progress", *args], capsys)
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
