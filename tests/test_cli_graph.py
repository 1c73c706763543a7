"""Tests of ``chainrule graph``: the expression's graph from the command line."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograd.expr import evaluate
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
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "chainrule graph: error: " in err
    assert message in err
    assert "Traceback" not in err
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


def test_demo_writes_its_pictures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--epochs", "3", "--samples", "40",
                 "--no-progress"]) == 0
    graph = "sample_graph.svg" if find_dot() else "sample_graph.dot"
    names = ["decision_boundary.svg", "training_curves.svg", "gradient_flow.svg", graph]
    for name in names[:3]:
        assert ET.parse(out / name).getroot().tag.endswith("svg")
    assert (out / graph).exists()
    text = (out / graph).read_text(encoding="utf-8")
    assert "layer 1" in text and "layer 2" in text  # clustered by layer
    # the sample drawn has a non-zero loss, so its graph shows non-zero gradients
    assert "its hinge loss is not zero" in text
    grads = re.findall(r"grad (&#45;)?([0-9][0-9.]*(?:e(?:&#45;|\+)?[0-9]+)?)", text)
    assert len([g for _, g in grads if float(g.replace("&#45;", "-")) not in (0.0, 1.0)]) >= 5
    lines = capsys.readouterr().out.splitlines()
    assert f"pictures in {out}: " + ", ".join(names) in lines
    # it ends saying where to go next: the pages as links a terminal opens, then the lessons
    replay = f"open in a browser: {(out / 'training.html').resolve().as_uri()}  (the training "
    assert replay + "replayed epoch by epoch)" in lines
    assert lines[-2].startswith("more: `chainrule lesson --list`")
    assert lines[-1].startswith("play: `chainrule playground`")
    if find_dot():
        steps = (out / "neuron_steps" / "backward.html").resolve().as_uri()
        assert lines[-4] == (f"open in a browser: {steps}  (the backward pass through the "
                             "neuron, one step at a time)")
    if find_dot():
        assert "the neuron's pictures: neuron.svg, neuron_steps/backward.html" in lines
        neuron = (out / "neuron.svg").read_text(encoding="utf-8")
        # data, grad and the local derivative of each edge, named
        assert "data 0.7071" in neuron and "grad &#45;1.5" in neuron
        import autograd

        dtanh = autograd.get_op("tanh").derivative.replace("x", "n").replace("-", "&#45;")
        assert f"∂o/∂n = {dtanh} = 0.5" in neuron  # the op table's formula, in n
        assert "∂(x1*w1)/∂w1 = x1 = 2" in neuron
        assert len(list((out / "neuron_steps").glob("step_*.svg"))) == 7
    curves = (out / "training_curves.svg").read_text(encoding="utf-8")
    assert "hinge + L2" in curves


def test_demo_curves_are_comparable_and_the_sample_has_a_loss() -> None:
    import nn
    from visualize.app.cli import _ComparableCurves, _pick_sample

    X, y = nn.data.make_moons(30, noise=0.1, seed=1)
    y = [2 * t - 1 for t in y]
    Xtr, Xte, ytr, yte = X[:24], X[24:], y[:24], y[24:]
    model = nn.MLP(2, [4, 1], init="micrograd", seed=2)
    curves = _ComparableCurves(model, Xtr, ytr, Xte, yte, l2=1e-3)
    nn.fit(model, Xtr, ytr, epochs=2, optimizer="sgd", lr=0.5, loss="hinge", l2=1e-3,
           callbacks=[curves], progress=False, seed=0)
    assert len(curves.train) == len(curves.test) == 2
    # both are hinge + L2 with the weights after the last epoch
    penalty = 1e-3 * sum(p.data ** 2 for p in model.parameters())
    for Xs, ys, got in ((Xtr, ytr, curves.train[-1]), (Xte, yte, curves.test[-1])):
        scores = model.predict(Xs)
        hinge = sum(max(0.0, 1 - t * s) for s, t in zip(scores, ys)) / len(ys)
        assert got == pytest.approx(hinge + penalty)
    k, loss = _pick_sample(model, Xtr, ytr)
    losses = [max(0.0, 1 - t * s) for s, t in zip(model.predict(Xtr), ytr)]
    assert loss == max(losses) > 0 and losses[k] == loss


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


def test_demo_sample_graph_shows_that_samples_gradients_alone() -> None:
    # fit leaves its last step's gradients in .grad; the drawn sample must not add to them
    import nn
    from autograd import Value
    from visualize.app.cli import _sample_loss

    model = nn.MLP(2, [4, 1], seed=3)
    x, y = [0.5, -1.25], -1.0
    fresh = nn.MLP(2, [4, 1], seed=3)
    expect_loss = (1.0 - y * fresh(x)).relu()
    expect_loss.backward()
    for p in model.parameters():
        p.grad = 0.75  # stale gradients, as after training
    drawn = _sample_loss(model, x, y)
    assert drawn is not None
    score, loss = drawn
    assert isinstance(score, Value) and loss.label == "loss"
    assert loss.data == expect_loss.data > 0.0
    assert [p.grad for p in model.parameters()] == [p.grad for p in fresh.parameters()]


def test_demo_names_the_command_as_the_user_can_run_it(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import sys

    from visualize.app.cli import _command

    exe = tmp_path / "venv" / "bin" / "chainrule"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(exe), "demo"])
    monkeypatch.setenv("PATH", "/nonexistent")
    assert _command() == os.path.join("venv", "bin", "chainrule")  # not on PATH: the path
    monkeypatch.setenv("PATH", str(exe.parent))
    assert _command() == "chainrule"  # on PATH: the name
    monkeypatch.setattr(sys, "argv", ["/x/visualize/app/cli.py"])
    assert _command() == "chainrule"
