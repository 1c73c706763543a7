"""`chainrule predict MODEL CSV` and nn.load of a model saved by `train --save`.

train standardises the features on its training part and saves that scaler with
the model; loaded, the model must take raw inputs again (nn.Standardized), and
predict applies it to a CSV of raw rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nn
from visualize.app.cli import main


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("predict") / "m.json"
    assert main(["train", "--data", "moons", "--samples", "300", "--noise", "0.1",
                 "--epochs", "30", "--seed", "1", "--no-progress", "--save", str(path)]) == 0
    return path


def _raw_accuracy(model: nn.Module, X: list[list[float]], y: list[int]) -> float:
    scores = model.predict(X)  # type: ignore[attr-defined]
    return sum((s > 0) == (t == 1) for s, t in zip(scores, y)) / len(y)


def test_a_model_saved_by_train_predicts_raw_inputs(saved: Path) -> None:
    model = nn.load(saved)
    assert isinstance(model, nn.Standardized) and model.nin == 2
    # the scaler is the training part's: inputs scaled by it give the inner network's view
    Xt, _, _, _ = nn.data.train_test_split(*nn.data.make_moons(300, noise=0.1, seed=1),
                                           test_size=0.2, seed=1)
    scaler = nn.data.StandardScaler().fit(Xt)
    assert model.mean == pytest.approx(scaler.mean_) and model.scale == pytest.approx(
        scaler.scale_)
    X, y = nn.data.make_moons(300, noise=0.1, seed=1)
    assert _raw_accuracy(model, X, y) > 0.95
    assert model.predict(X[:3]) == model.model.predict(scaler.transform(X[:3]))
    assert float(model(X[0]).data) == pytest.approx(model.predict(X[:1])[0])


def test_a_loaded_model_saves_back_with_its_scaler(saved: Path, tmp_path: Path) -> None:
    model = nn.load(saved)
    model.save(tmp_path / "again.json")
    again = nn.load(tmp_path / "again.json")
    X, _ = nn.data.make_moons(20, noise=0.1, seed=4)
    assert isinstance(again, nn.Standardized) and again.predict(X) == model.predict(X)


def test_predict_prints_one_class_and_score_per_row(saved: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    X, y = nn.data.make_moons(40, noise=0.05, seed=7)
    csv = tmp_path / "in.csv"
    csv.write_text("x1,x2\n" + "\n".join(f"{a},{b}" for a, b in X) + "\n")
    capsys.readouterr()
    assert main(["predict", str(saved), str(csv)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(X)
    labels = [int(line.split(",")[0]) for line in lines]
    scores = [float(line.split(",")[1]) for line in lines]
    assert scores == pytest.approx(nn.load(saved).predict(X))
    assert sum(a == b for a, b in zip(labels, y)) / len(y) > 0.95


@pytest.mark.parametrize("text, message", [
    ("1,2,3\n", "takes 2 finite numbers per row, got 3"),
    ("1,2\nx,y\n", "row 2"),
    ("", "no rows of numbers"),
])
def test_predict_refuses_bad_rows_in_one_line(saved: Path, tmp_path: Path, text: str,
                                              message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text(text)
    capsys.readouterr()
    assert main(["predict", str(saved), str(csv)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule predict: error: ") and message in err
    assert len(err.splitlines()) == 1
