"""``chainrule train``: runs, outputs, compile paths, early stopping, resume, argparse-style errors.

(Its output paths: ``test_outputs.py``; its limits: ``test_cli_limits.py``; Ctrl-C:
``test_cli_signals.py``.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nn
from tests.cli_run import usage_error
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
    assert message in usage_error(["train", *args], capsys)


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


@pytest.mark.parametrize("flag,want", [([], "auto"), (["--compile"], True),
                                       (["--compile", "on"], True),
                                       (["--compile", "off"], False),
                                       (["--compile", "auto"], "auto")])
def test_cli_train_compile_follows_fit(monkeypatch, capsys, flag, want):
    seen = []
    real = nn.fit

    def spy(*a, **kw):
        seen.append(kw["compile"])
        return real(*a, **kw)

    monkeypatch.setattr(nn, "fit", spy)
    args = ["train", "--data", "moons", "--samples", "40", "--epochs", "2", "--hidden", "4",
            "--batch-size", "16", "--no-progress", *flag]
    assert main(args) == 0
    assert seen == [want]
    assert "test accuracy" in capsys.readouterr().out


def test_cli_train_refuses_an_unknown_compile_choice(capsys):
    assert "invalid choice: 'maybe'" in usage_error(["train", "--compile", "maybe"], capsys)

