"""nn.fit(..., compile=True) and ``chainrule train --compile`` on the batched path.

With NumPy installed, fit's compiled step is ``autograd.compile(per_sample_loss,
batch=True)``: the same losses, gradients and accuracies as the dynamic engine
(within rounding: the batch is summed in another order), for every built-in loss.
"""

from __future__ import annotations

import re

import pytest

import autograd
from nn import MLP, fit
from tests.helpers import moons

pytest.importorskip("numpy")


def run(X, y, sizes, loss, compile, **kw):  # noqa: A002
    model = MLP(len(X[0]), sizes, seed=2)
    hist = fit(model, X, y, epochs=3, batch_size=16, loss=loss, compile=compile, seed=0,
               progress=False, **kw)
    return model, hist


@pytest.mark.parametrize("loss,labels", [("hinge", "pm1"), ("bce", "01"), ("mse", "pm1"),
                                         ("l1", "pm1"), ("cross_entropy", "classes")])
def test_fit_batched_equals_dynamic(loss, labels):
    X, y = moons(48, 3, labels=(-1, 1))
    if labels == "01":
        y = [(v + 1) // 2 for v in y]
    sizes = [8, 1]
    if labels == "classes":
        y = [(v + 1) // 2 for v in y]
        sizes = [8, 2]
    m0, h0 = run(X, y, sizes, loss, False, l2=1e-3)
    m1, h1 = run(X, y, sizes, loss, True, l2=1e-3)
    assert h1.loss == pytest.approx(h0.loss, rel=1e-10)
    assert h1.accuracy == h0.accuracy
    for a, b in zip(m0.parameters(), m1.parameters()):
        assert a.data == pytest.approx(b.data, rel=1e-9, abs=1e-12)


def test_fit_compiled_uses_the_batched_path(monkeypatch):
    made = []
    real = autograd.compile

    def spy(fn=None, **kw):
        made.append(kw.get("batch", False))
        return real(fn, **kw)

    monkeypatch.setattr(autograd, "compile", spy)
    X, y = moons(16, 1, labels=(-1, 1))
    run(X, y, [4, 1], "hinge", True)
    assert made == [True]


def test_cli_train_compile_runs_batched(monkeypatch, capsys):
    from visualize.app.cli import main

    made = []
    real = autograd.compile

    def spy(fn=None, **kw):
        made.append(kw.get("batch", False))
        return real(fn, **kw)

    args = ["train", "--data", "moons", "--samples", "60", "--epochs", "3", "--hidden", "6",
            "--batch-size", "16", "--no-progress"]
    assert main(args) == 0
    plain = capsys.readouterr().out
    monkeypatch.setattr(autograd, "compile", spy)
    assert main([*args, "--compile"]) == 0
    batched = capsys.readouterr().out
    assert made == [True, True]  # the training step and the validation pass
    pick = re.compile(r"train loss \S+ train accuracy \S+ test accuracy \S+")
    assert pick.findall(plain.replace(",", "")) == pick.findall(batched.replace(",", "")) != []
