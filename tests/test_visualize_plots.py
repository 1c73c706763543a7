"""Tests of visualize.plots: loss/accuracy curves, decision boundaries, gradient flow."""

from __future__ import annotations

import math
import random
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")

from visualize import (
    PlotDependencyError,
    plot_decision_boundary,
    plot_grad_flow,
    plot_history,
)


def _texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return ["".join(t.itertext()) for t in root.iter() if t.tag.endswith("text")]


def _history(seed: int, epochs: int = 12) -> dict[str, list[float]]:
    rng = random.Random(seed)
    loss = [1.0 / (1 + e) + rng.uniform(0, 0.05) for e in range(epochs)]
    return {
        "loss": loss,
        "val_loss": [v * 1.1 for v in loss],
        "accuracy": [min(1.0, 0.5 + 0.04 * e) for e in range(epochs)],
        "val_accuracy": [min(1.0, 0.45 + 0.04 * e) for e in range(epochs)],
    }


def test_history_svg_has_both_panels_and_legends(tmp_path: Path) -> None:
    out = plot_history(_history(0), tmp_path / "curves.svg", title="moons")
    texts = _texts(out)
    for label in ("loss", "val_loss", "accuracy", "val_accuracy", "epoch", "moons"):
        assert label in texts


def test_history_is_reproducible(tmp_path: Path) -> None:
    a = plot_history(_history(1), tmp_path / "a.svg").read_bytes()
    b = plot_history(_history(1), tmp_path / "b.svg").read_bytes()
    assert a == b
    c = plot_history(_history(2), tmp_path / "c.svg").read_bytes()
    assert a != c


def test_history_only_loss_and_empty_series(tmp_path: Path) -> None:
    out = plot_history({"loss": [3.0, 2.0, 1.0], "accuracy": []}, tmp_path / "l.svg")
    texts = _texts(out)
    assert "loss" in texts and "accuracy" not in texts


@pytest.mark.parametrize(
    ("history", "error", "message"),
    [
        ({}, ValueError, "history is empty"),
        ({"loss": []}, ValueError, "every series is empty"),
        ({"loss": [1.0, "x"]}, TypeError, r"loss\[1\] must be a real number, got str"),
        ({"loss": 3.0}, TypeError, "'loss' must be a sequence of numbers"),
        ([1.0, 2.0], TypeError, "history must be a mapping"),
    ],
)
def test_history_bad_input_writes_nothing(tmp_path: Path, history: object,
                                          error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        plot_history(history, tmp_path / "h.svg")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"use \.svg, \.png or \.pdf"):
        plot_history({"loss": [1.0]}, tmp_path / "h.gif")
    assert list(tmp_path.iterdir()) == []


def test_png_and_pdf(tmp_path: Path) -> None:
    assert plot_history({"loss": [1.0, 0.5]}, tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    assert plot_history({"loss": [1.0, 0.5]}, tmp_path / "h.pdf").read_bytes()[:4] == b"%PDF"


def test_missing_matplotlib_names_the_extra(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import now fails
    with pytest.raises(PlotDependencyError, match=r"pip install 'chainrule\[plot\]'") as info:
        plot_history({"loss": [1.0]}, tmp_path / "h.svg")
    assert isinstance(info.value, ImportError)
    assert list(tmp_path.iterdir()) == []


def _moons(seed: int, n: int = 40) -> tuple[list[tuple[float, float]], list[int]]:
    rng = random.Random(seed)
    pts, labels = [], []
    for i in range(n):
        t = rng.uniform(0, math.pi)
        if i % 2:
            pts.append((math.cos(t), math.sin(t)))
            labels.append(1)
        else:
            pts.append((1 - math.cos(t), 0.5 - math.sin(t)))
            labels.append(-1)
    return pts, labels


def test_decision_boundary_calls_predict_on_the_grid(tmp_path: Path) -> None:
    pts, labels = _moons(0)
    calls: list[tuple[float, float]] = []

    def predict(x: float, y: float) -> float:
        calls.append((x, y))
        return y - 0.25

    out = plot_decision_boundary(predict, pts, labels, tmp_path / "b.svg", resolution=20,
                                 margin=0.5)
    assert len(calls) == 400
    xs = [c[0] for c in calls]
    assert min(xs) == pytest.approx(min(p[0] for p in pts) - 0.5)
    assert max(xs) == pytest.approx(max(p[0] for p in pts) + 0.5)
    texts = _texts(out)
    assert "label -1" in texts and "label 1" in texts
    assert "decision boundary" in texts


def test_decision_boundary_multiclass(tmp_path: Path) -> None:
    pts = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
    out = plot_decision_boundary(lambda x, y: float(x > 0.5) + 2 * float(y > 0.5), pts,
                                 [0, 1, 2, 3], tmp_path / "m.svg", resolution=10)
    assert {"label 0", "label 1", "label 2", "label 3"} <= set(_texts(out))


@pytest.mark.parametrize(
    ("points", "labels", "kwargs", "error", "message"),
    [
        ([], [], {}, ValueError, "points is empty"),
        ([(0.0, 1.0)], [1, 2], {}, ValueError, "1 points but 2 labels"),
        ([(0.0, 1.0, 2.0)], [1], {}, ValueError, r"points\[0\] has 3 coordinates"),
        ([(0.0, 1.0)], [1], {"resolution": 2}, ValueError, "resolution must be an int"),
    ],
)
def test_decision_boundary_bad_input(tmp_path: Path, points: list, labels: list,
                                     kwargs: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        plot_decision_boundary(lambda x, y: 0.0, points, labels, tmp_path / "b.svg", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_decision_boundary_predict_must_return_numbers(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"predict\(.*\) returned str"):
        plot_decision_boundary(lambda x, y: "yes", [(0.0, 0.0), (1.0, 1.0)], [0, 1],  # type: ignore[arg-type, return-value]
                               tmp_path / "b.svg", resolution=5)
    assert list(tmp_path.iterdir()) == []


def _flow(depth: int, ratio: float, epochs: int = 8) -> dict[str, list[float]]:
    return {f"layer {i + 1}": [ratio ** (depth - i) * (1 + 0.1 * e) for e in range(epochs)]
            for i in range(depth)}


def test_grad_flow_single_and_compared(tmp_path: Path) -> None:
    out = plot_grad_flow(_flow(4, 0.1), tmp_path / "flow.svg")
    texts = _texts(out)
    for i in range(1, 5):
        assert f"layer {i}" in texts
    assert "mean |grad| per layer over training" in texts
    both = plot_grad_flow({"sigmoid": _flow(4, 0.05), "relu": _flow(4, 0.9)},
                          tmp_path / "cmp.svg", title="vanishing gradients")
    texts = _texts(both)
    assert "sigmoid: mean |grad| per layer over training" in texts
    assert "relu: mean |grad| per layer over training" in texts
    assert "vanishing gradients" in texts


def test_grad_flow_zeros_and_nan_do_not_break_the_log_scale(tmp_path: Path) -> None:
    out = plot_grad_flow({"layer 1": [0.0, 0.0], "layer 2": [math.nan, 1e-3]},
                         tmp_path / "z.svg")
    assert "layer 1" in _texts(out)


def test_grad_flow_bad_input(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="mix of runs and layers"):
        plot_grad_flow({"a": {"layer 1": [1.0]}, "layer 2": [1.0]},  # type: ignore[dict-item]
                       tmp_path / "f.svg")
    with pytest.raises(ValueError, match="grad_flow is empty"):
        plot_grad_flow({}, tmp_path / "f.svg")
    with pytest.raises(TypeError, match=r"layer 1\[0\] must be a real number"):
        plot_grad_flow({"layer 1": [None]}, tmp_path / "f.svg")  # type: ignore[list-item]
    assert list(tmp_path.iterdir()) == []


def test_history_names_the_loss_and_dashes_test_series(tmp_path: Path) -> None:
    h = {"train": [1.0, 0.5, 0.4], "test": [1.1, 0.6, 0.5],
         "train accuracy": [0.5, 0.7, 0.8], "test accuracy": [0.4, 0.6, 0.7]}
    out = plot_history(h, tmp_path / "h.svg", loss_label="loss: hinge + L2")
    texts = _texts(out)
    assert texts.count("loss: hinge + L2") == 2  # panel title and axis label
    assert {"train", "test", "train accuracy", "test accuracy"} <= set(texts)
    svg = out.read_text(encoding="utf-8")
    assert svg.count("stroke-dasharray") >= 2  # both test series are dashed


def test_decision_boundary_shades_confidence_draws_margins_and_test_points(
        tmp_path: Path) -> None:
    pts, labels = _moons(0)
    test_pts = [(0.1, 0.9), (1.5, -0.3)]
    out = plot_decision_boundary(lambda x, y: 3 * (y - 0.25), pts, labels,
                                 tmp_path / "b.svg", resolution=20, score_margin=1.0,
                                 test_points=test_pts, test_labels=[-1, 1])
    texts = _texts(out)
    assert {"train, label -1", "train, label 1", "test, label -1", "test, label 1"} <= set(texts)
    assert "margin: score = 0 ± 1" in texts and "decision boundary" in texts
    assert any("the model's confidence" in t for t in texts)  # the shading's colour bar
    with pytest.raises(ValueError, match="2 test points but 1 test labels"):
        plot_decision_boundary(lambda x, y: y, pts, labels, tmp_path / "c.svg",
                               test_points=test_pts, test_labels=[1])
    with pytest.raises(ValueError, match="score_margin must be a positive number"):
        plot_decision_boundary(lambda x, y: y, pts, labels, tmp_path / "c.svg",
                               score_margin=-1.0)
    assert not (tmp_path / "c.svg").exists()
