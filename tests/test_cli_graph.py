"""Tests of ``chainrule graph``: the expression's graph from the command line."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograd.expr import evaluate
from tests.cli_run import usage_error
from visualize import fmt, to_dot
from visualize.app.cli import main
from visualize.graph import find_dot

needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")

EXPR = "tanh(w*x + b)"
AT = "x=0.5,w=-3,b=2"


def _reference(**options: object) -> tuple[str, dict[str, float]]:
    # chainrule graph labels interior nodes with their text (w*x, w*x + b)
    root, leaves = evaluate(EXPR, {"x": 0.5, "w": -3.0, "b": 2.0}, label_nodes=True)
    root.backward()
    return to_dot(root, title=EXPR, **options), {n: v.grad for n, v in leaves.items()}  # type: ignore[arg-type]


def test_graph_writes_dot_and_prints_gradients(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.dot"
    assert main(["graph", EXPR, "--at", AT, "-o", str(out), "--partials"]) == 0
    text, grads = _reference(partials=True)
    assert out.read_text(encoding="utf-8") == text
    stdout = capsys.readouterr().out
    assert stdout.startswith(f"{EXPR} = 0.4621  at w=-3, x=0.5, b=2\n")
    for name, g in grads.items():
        assert f"  d/d{name} = {fmt(g)}\n" in stdout
    assert f"wrote {out}" in stdout


def test_graph_explain_prints_every_path(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.dot"
    assert main(["graph", "x*x + x", "--at", "x=3", "-o", str(out), "--explain",
                 "--rankdir", "TB", "--no-color"]) == 0
    stdout = capsys.readouterr().out
    assert "d root (add) / d x: the sum over 3 paths" in stdout
    assert "sum = 7   (x.grad = 7)" in stdout
    text = out.read_text(encoding="utf-8")
    assert "rankdir=TB;" in text and "bgcolor" not in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["graph", "x.__class__", "--at", "x=1"], "expression: attribute access not allowed"),
        (["graph", "__import__('os')"], "dunder names such as __import__"),
        (["graph", "x + y", "--at", "x=1"], "no value for variable(s) y"),
        (["graph", "x", "--at", "x=1,q"], "bindings: expected name=number, got 'q'"),
        (["graph", "x", "--at", "x=1", "-o", "g.jpg"], "the suffix must be one of .svg"),
        (["graph", "x", "--at", "x=1", "--max-nodes", "2"], "--max-nodes 2: must be at least 3"),
    ],
)
def test_graph_bad_input_is_a_usage_error(argv: list[str], message: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert message in usage_error(argv, capsys)
    assert list(tmp_path.iterdir()) == []


def test_rejected_expression_points_at_the_problem(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["graph", "tanh(x) + foo(x)", "--at", "x=1"])
    lines = capsys.readouterr().err.splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip() == "tanh(x) + foo(x)")
    assert lines[i + 1].index("^") == lines[i].index("foo")
    assert lines[i + 1].strip() == "^^^"


def test_missing_dot_writes_the_dot_file_and_says_so(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "g.svg"
    assert main(["graph", EXPR, "--at", AT, "-o", str(out)]) == 0
    assert not out.exists()
    written = tmp_path / "g.dot"
    assert written.read_text(encoding="utf-8") == _reference()[0]
    err = capsys.readouterr().err
    assert "`dot` program was not found" in err and "apt-get install graphviz" in err
    assert f"wrote the DOT text to {written} instead of {out}" in err


@needs_dot
def test_graph_svg_and_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.svg"
    steps = tmp_path / "steps"
    assert main(["graph", EXPR, "--at", AT, "-o", str(out), "--steps", str(steps)]) == 0
    assert ET.parse(out).getroot().tag.endswith("svg")
    assert (steps / "backward.html").exists()
    assert sorted(p.name for p in steps.glob("step_*.svg")) == [
        f"step_{k:03d}.svg" for k in range(5)]  # seed, 3 steps, the summary
    assert "wrote 5 frames of the backward pass" in capsys.readouterr().out


@needs_dot
def test_graph_explain_draws_each_variables_paths(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.svg"
    assert main(["graph", "x*x*w + sin(x)", "--at", "x=3,w=0.5", "--explain",
                 "-o", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "path 2: " in stdout and "(operand 2)" in stdout  # x*x's slots told apart
    for name, n_paths in (("x", 3), ("w", 1)):
        drawn = tmp_path / f"g.explain-{name}.svg"
        assert f"wrote {drawn} (the paths of d/d{name} highlighted)" in stdout
        svg = drawn.read_text(encoding="utf-8")
        assert f"orange: the {n_paths} path" in svg
        assert svg.count('stroke="#e6550d"') >= n_paths + 1  # its edges are drawn orange


def test_graph_labels_interior_nodes_with_their_text(tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    assert main(["graph", "tanh(w*x + b)", "--at", "x=0.5,w=-3,b=2", "-o", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    assert ">w*x<" in dot and ">w*x + b<" in dot
