"""``chainrule demo``: it trains, keeps the model, writes its pictures and pages, and says where
to go next; its curves and drawn sample; argparse-style errors. (Ctrl-C: ``test_cli_signals.py``.)
"""

from __future__ import annotations

import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import nn
from tests.cli_run import usage_error
from visualize.app.cli import main
from visualize.graph import find_dot


def test_demo_trains_and_keeps_the_model(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    status = main(["demo", "--epochs", "30", "--no-progress", "--out", str(out_dir)])
    out = capsys.readouterr().out
    assert status == 0
    assert "engine: o = tanh(x1*w1 + x2*w2 + b) = 0.7071" in out
    assert re.search(r"train accuracy \d+\.\d%, test accuracy \d+\.\d%", out)
    model = nn.load(out_dir / "model.json")
    assert model.config()["nouts"] == [16, 16, 1]


def test_demo_bad_arguments(capsys):
    assert "argument --epochs" in usage_error(["demo", "--epochs", "-3"], capsys)


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
