"""``chainrule demo`` and ``chainrule train``: runs, outputs and argparse-style errors."""

from __future__ import annotations

import re

import pytest

import nn
from visualize.app.cli import main


def test_train_runs_prints_accuracy_and_saves(tmp_path, capsys):
    path = tmp_path / "model.json"
    status = main(["train", "--data", "moons", "--samples", "80", "--epochs", "15",
                   "--hidden", "8,8", "--activation", "tanh", "--optimizer", "adam",
                   "--lr", "0.05", "--batch-size", "16", "--seed", "1", "--no-progress",
                   "--save", str(path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "64 train / 16 test samples, 2 classes" in out
    acc = float(re.search(r"test accuracy (\d+\.\d)%", out).group(1))
    assert acc >= 80.0
    model = nn.load(path)
    assert model.config()["nouts"] == [8, 8, 1] and model.config()["activation"] == "tanh"
    meta = nn.load_meta(path)
    assert meta["data"] == "moons" and len(meta["scaler"]["mean"]) == 2


def test_train_multiclass_and_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "ckpt.json"
    status = main(["train", "--data", "blobs", "--samples", "60", "--epochs", "3",
                   "--hidden", "6", "--optimizer", "sgd", "--no-progress",
                   "--checkpoint", str(ckpt)])
    assert status == 0
    assert "3 classes" in capsys.readouterr().out
    assert nn.load(ckpt).config()["nouts"] == [6, 3]
    assert nn.load_meta(ckpt)["epoch"] == 3


@pytest.mark.parametrize("args, message", [
    (["--hidden", "16,x"], "argument --hidden: expected comma-separated positive layer widths"),
    (["--hidden", "0"], "argument --hidden"),
    (["--data", "mnist"], "argument --data: invalid choice: 'mnist'"),
    (["--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
    (["--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
    (["--batch-size", "two"], "argument --batch-size: expected a positive integer"),
    (["--activation", "swish"], "argument --activation: invalid choice"),
    (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice"),
    (["--test-size", "1.5"], "argument --test-size: expected a fraction in (0, 1)"),
])
def test_train_bad_arguments_get_argparse_messages(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "chainrule train: error:" in err and message in err
    assert "Traceback" not in err


def test_train_save_into_missing_folder_creates_it(tmp_path, capsys):
    # the one output rule: missing folders on the way to an output are created
    target = tmp_path / "missing" / "deeper" / "m.json"
    status = main(["train", "--epochs", "1", "--no-progress", "--save", str(target)])
    assert status == 0
    assert nn.load(target).config()["nouts"] == [16, 16, 1]


def test_train_save_through_a_file_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    status = main(["train", "--epochs", "1", "--no-progress",
                   "--save", str(blocker / "m.json")])
    err = capsys.readouterr()
    assert status == 2
    assert f"runs through {str(blocker)!r}, which is a file" in err.err
    assert "trained" not in err.out and "data:" not in err.out


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
    with pytest.raises(SystemExit) as info:
        main(["demo", "--epochs", "-3"])
    assert info.value.code == 2
    assert "argument --epochs" in capsys.readouterr().err


def test_train_compile_flag_gives_the_same_result(capsys):
    args = ["train", "--data", "xor", "--samples", "60", "--epochs", "4", "--hidden", "6",
            "--batch-size", "8", "--no-progress"]
    assert main(args) == 0
    plain = capsys.readouterr().out
    assert main([*args, "--compile"]) == 0
    compiled = capsys.readouterr().out
    pick = re.compile(r"train loss \S+ train accuracy \S+ test accuracy \S+")
    strip = lambda text: pick.findall(text.replace(",", ""))  # noqa: E731
    assert strip(plain) == strip(compiled) != []
    # the last line says which path ran the steps, and why
    assert plain.splitlines()[-1] == (
        "steps: dynamic (auto: 24 steps, fewer than the 120 that pay for 1 trace)")
    assert compiled.splitlines()[-1].startswith("steps: ")
    assert main([*args, "--compile", "off"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "steps: dynamic (compile=False)"


def test_train_early_stopping_chooses_on_training_data_not_the_test_set(monkeypatch, capsys):
    seen = {}
    real_fit, real_split = nn.fit, nn.data.train_test_split

    def split(X, y, **kw):  # type: ignore[no-untyped-def]
        parts = real_split(X, y, **kw)
        seen.setdefault("splits", []).append(parts)
        return parts

    def fit(model, X, y, **kw):  # type: ignore[no-untyped-def]
        seen["fit_X"], seen["watch"] = X, kw["validation_data"]
        return real_fit(model, X, y, **kw)

    monkeypatch.setattr(nn.data, "train_test_split", split)
    monkeypatch.setattr(nn, "fit", fit)
    status = main(["train", "--data", "moons", "--samples", "100", "--epochs", "30",
                   "--hidden", "8", "--early-stopping", "3", "--seed", "2", "--no-progress"])
    out = capsys.readouterr().out
    assert status == 0
    assert "early stopping watches 16 validation samples carved from the training data" in out
    watched = {tuple(x) for x in seen["watch"][0]}
    fitted = {tuple(x) for x in seen["fit_X"]}
    (X_train, X_test, _, _), (X_fit, X_val, _, _) = seen["splits"]
    assert len(X_train) == 80 and len(X_test) == 20
    # the watched samples are the second split's held-out part, carved from the 80 training
    # samples; the fit never sees them and the 20 test samples are neither fitted nor watched
    assert watched == {tuple(x) for x in X_val} and len(watched) == 16
    assert fitted == {tuple(x) for x in X_fit} and len(fitted) == 64 and not watched & fitted
