"""fit's compile choice: "auto" (the default) compiles only along a bit-identical path, when it
pays; True and False force a path; ``History.path`` and ``path_reason`` say which ran and why.

"auto" uses ``autograd.compile`` (straight-line float code, the dynamic engine's numbers
bit for bit), never the batched NumPy path (summed in another order); it compiles when
the run has at least ``AUTO_STEPS_PER_TRACE`` steps per traced batch size and runs a model
that cannot be traced dynamically, without an error. (``chainrule train --compile``:
``test_cli_train.py``; the array form of compile=True's batched path:
``test_nn_training_arrays.py``.)
"""

from __future__ import annotations

import os
import sys

import pytest

import autograd
import nn
from nn import MLP, fit, training


def _moons(n=48):
    X, y = nn.data.make_moons(n, noise=0.15, seed=2)
    return X, y


def _digits(n=120):
    X, y = nn.data.load_digits()
    return [[v / 16.0 for v in r] for r in X[:n]], list(y[:n])


def _fit(X, y, sizes, compile, **kw):  # noqa: A002
    model = MLP(len(X[0]), sizes, seed=3)
    opts = {"epochs": 3, "batch_size": 16, "seed": 0, "progress": False}
    opts.update(kw)
    h = fit(model, X, y, compile=compile, **opts)
    return model, h


def _same(a, b):
    (ma, ha), (mb, hb) = a, b
    assert ma.state_dict() == mb.state_dict()  # exact float equality
    assert [p.grad for p in ma.parameters()] == [p.grad for p in mb.parameters()]
    da, db = ha.as_dict(), hb.as_dict()
    for d in (da, db):
        for k in ("seconds", "path", "path_reason"):
            d.pop(k)
    assert da == db


def _dynamic_and_auto(make_model, X, y, epochs):
    """Fit a fresh ``make_model()`` with compile=False, then with "auto"; return each run's
    (inner MLP's state dict, History)."""
    runs = []
    for mode in (False, "auto"):
        model = make_model()
        h = fit(model, X, y, epochs=epochs, batch_size=16, seed=0, progress=False, compile=mode)
        runs.append((model.mlp.state_dict(), h))
    return runs


@pytest.fixture
def always_pays(monkeypatch):
    monkeypatch.setattr(training, "AUTO_STEPS_PER_TRACE", 1)


@pytest.fixture(params=["numpy", "no numpy"])
def numpy_or_not(request, monkeypatch):
    if request.param == "no numpy":
        monkeypatch.setitem(sys.modules, "numpy", None)
    else:
        pytest.importorskip("numpy")
    return request.param


CASES = [
    ("moons", [6, 1], {"loss": "bce"}),
    ("moons", [6, 1], {"loss": "hinge", "l2": 1e-3, "optimizer": "sgd"}),
    ("moons", [6, 1], {"loss": "mse", "clip_grad_norm": 0.1}),
    ("moons", [6, 1], {"loss": "l1", "optimizer": "rmsprop"}),
    ("moons", [6, 2], {"loss": "cross_entropy", "validation_split": 0.25}),
    ("digits", [8, 10], {"optimizer": "adamw", "l2": 1e-4}),
    ("digits", [8, 10], {"loss": "mse", "optimizer": "sgd", "batch_size": 32}),
]


@pytest.mark.parametrize("data,sizes,kw", CASES, ids=[f"{d}-{k}" for d, _, k in CASES])
def test_auto_equals_dynamic_bit_for_bit(always_pays, numpy_or_not, data, sizes, kw):
    X, y = _moons() if data == "moons" else _digits()
    if kw.get("loss") in ("hinge", "mse", "l1") and sizes[-1] == 1:
        y = [2 * v - 1 for v in y]
    dynamic = _fit(X, y, sizes, False, **kw)
    auto = _fit(X, y, sizes, "auto", **kw)
    assert dynamic[1].path == "dynamic" and dynamic[1].path_reason == "compile=False"
    assert auto[1].path == "compiled", auto[1].path_reason
    _same(dynamic, auto)


def test_auto_with_a_custom_loss(always_pays):
    X, y = _moons()

    def loss(outs, ts):
        return autograd.mean([(o - t) * (o - t) for o, t in zip(outs, ts)])

    dynamic = _fit(X, y, [5, 1], False, loss=loss)
    auto = _fit(X, y, [5, 1], "auto", loss=loss)
    assert auto[1].path == "compiled"
    _same(dynamic, auto)


def test_auto_decides_by_the_runs_length():
    X, y = _moons(48)  # 3 batches of 16: one trace
    _, short = _fit(X, y, [4, 1], "auto", epochs=2)
    assert short.path == "dynamic"
    assert short.path_reason == "auto: 6 steps, fewer than the 120 that pay for 1 trace"
    _, long = _fit(X, y, [4, 1], "auto", epochs=40)
    assert long.path == "compiled"
    assert long.path_reason == "auto: 120 steps pay for 1 trace, 120 steps or more each"
    X, y = _moons(40)  # 16 + 16 + 8: the last batch is traced too
    _, h = _fit(X, y, [4, 1], "auto", epochs=40)
    assert h.path == "dynamic" and "240 that pay for 2 traces" in h.path_reason


def test_auto_does_not_compile_a_trace_too_large_for_memory(monkeypatch):
    X, y = _moons(48)
    model = MLP(2, [4, 1], seed=0)  # 17 parameters
    monkeypatch.setattr(training, "AUTO_MAX_WEIGHT_USES", 16 * 17 - 1)
    h = fit(model, X, y, epochs=60, batch_size=16, seed=0, progress=False)
    assert h.path == "dynamic"
    assert h.path_reason == ("auto: a step uses the weights 272 times (batch 16 x 17 "
                             "parameters), more than the 271 a trace compiles in reasonable "
                             "memory")
    monkeypatch.setattr(training, "AUTO_MAX_WEIGHT_USES", 16 * 17)
    h = fit(MLP(2, [4, 1], seed=0), X, y, epochs=60, batch_size=16, seed=0, progress=False)
    assert h.path == "compiled"


class _Wrapped(nn.Module):
    """A module around MLP(2, [4, 1]) whose __call__ a test writes."""

    def __init__(self):
        self.mlp = MLP(2, [4, 1], seed=5)

    def parameters(self):
        return self.mlp.parameters()


class _Untraceable(_Wrapped):
    """A model whose forward reads a Value's number (float(v)): it cannot be traced."""

    def __call__(self, x):
        out = self.mlp(x)
        return out * (0.5 if float(out) > 0 else 1.0)


def test_auto_falls_back_on_a_model_that_cannot_compile(always_pays):
    X, y = _moons()
    (w0, h0), (w1, h1) = _dynamic_and_auto(_Untraceable, X, y, epochs=2)
    assert h1.path == "dynamic"
    assert h1.path_reason.startswith("auto: the model could not be compiled (TraceError: ")
    assert h1.path_reason.endswith("; dynamic")
    assert w1 == w0 and h1.loss == h0.loss
    with pytest.raises(autograd.TraceError):  # forced, it says why
        fit(_Untraceable(), X, y, epochs=1, batch_size=16, progress=False, compile=True)


def test_auto_is_the_default_and_compile_is_checked():
    import inspect

    assert inspect.signature(fit).parameters["compile"].default == "auto"
    X, y = _moons(16)
    with pytest.raises(ValueError, match=r"fit: compile must be True, False or 'auto', "
                                         r"got 'yes'"):
        fit(MLP(2, [2, 1]), X, y, compile="yes", progress=False)


def test_forced_paths_are_recorded(numpy_or_not):
    X, y = _moons()
    _, h = _fit(X, y, [4, 1], True, epochs=1)
    if numpy_or_not == "numpy":
        assert (h.path, h.path_reason) == ("batched", "compile=True, NumPy arrays")
    else:
        assert (h.path, h.path_reason) == ("compiled", "compile=True, no NumPy")
    assert h.as_dict()["path"] == h.path


class _Branchy(_Wrapped):
    """A model with a Python branch on a Value: every other batch takes another trace."""

    def __call__(self, x):
        out = self.mlp(x)
        return out * 2.0 if out > 0 else out


def test_auto_stops_compiling_a_model_that_keeps_retracing(always_pays):
    X, y = _moons()
    (w0, h0), (w1, h1) = _dynamic_and_auto(_Branchy, X, y, epochs=3)
    assert h1.path == "dynamic"
    assert "traces for 1 batch size(s) (its branches depend on the data); compiled for" \
        in h1.path_reason, h1.path_reason
    assert w1 == w0 and h1.loss == h0.loss and h1.accuracy == h0.accuracy


class _Jitter(_Wrapped):
    """A model that makes a new Value from its own state on every call (a constant to a trace)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.mlp(x) + autograd.Value(0.001 * (self.calls % 7))


def test_auto_runs_dynamic_when_the_model_makes_values_every_time(always_pays, recwarn):
    # compiled code would keep the first trace's Value(...) as a constant; auto notices on
    # every fit in the process (the CompileWarning itself is shown once per source line)
    X, y = _moons()
    for _ in range(2):
        (w0, h0), (w1, h1) = _dynamic_and_auto(_Jitter, X, y, epochs=2)
        assert h1.path == "dynamic", h1.path_reason
        where = f"makes Values inside its forward pass ({os.path.basename(__file__)}:"
        assert where in h1.path_reason
        assert w1 == w0 and h1.loss == h0.loss and h1.accuracy == h0.accuracy
    assert not [w for w in recwarn if issubclass(w.category, autograd.CompileWarning)]
