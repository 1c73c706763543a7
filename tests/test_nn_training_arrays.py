"""fit(compile=True) on the batched path with the parameters in one array.

The array path (ArrayStep + the optimizer's step_array) runs the same NumPy program and
the same update formula as the batched path over Values, so the two agree bit for bit;
every place where anything can look at the weights (epoch end, validation, callbacks,
checkpoints, early stopping's best weights, Ctrl-C, divergence) sees the array's numbers.
The reference, the batched path over Values, is what fit runs for an optimizer with a
step() of its own (``History.path_reason`` says so): the same optimizer class with a
``step`` that calls the class's.
"""

from __future__ import annotations

import pytest

import autograd
import nn
from nn import MLP, fit, training

pytest.importorskip("numpy")


def _data(n=60, classes=False):
    X, y = nn.data.make_moons(n, noise=0.15, seed=4)
    if classes:
        return X, y
    return X, [2 * v - 1 for v in y]


def _reference(opt, step=None):
    """``opt`` with a step() of its own (the class's, or ``step``): fit's batched path then
    keeps the parameters as Values, the reference the array path must equal."""
    base = type(opt)
    own = step or (lambda self: base.step(self))
    opt.__class__ = type(f"Values{base.__name__}", (base,), {"step": own})
    return opt


def _optimizer(model, optimizer, arrays: bool, step=None):
    """The optimizer fit gets for ``optimizer`` (a name, as fit reads it from
    ``training.OPTIMIZERS``, or a factory of the parameters): on the array path as it is,
    on the reference path with a step() of its own (``step``, or the class's)."""
    if isinstance(optimizer, str):
        cls, lr = training.OPTIMIZERS[optimizer]
        opt = cls(model.parameters(), lr=lr)
    else:
        opt = optimizer(model.parameters())
    return opt if arrays else _reference(opt, step)


def _run(arrays: bool, sizes=(6, 1), classes=False, step=None, **kw):
    X, y = _data(classes=classes)
    model = MLP(2, list(sizes), seed=1)
    kw["optimizer"] = _optimizer(model, kw.get("optimizer", "adam"), arrays, step)
    seen = []

    def cb(epoch, history):
        seen.append((epoch, [p.data for p in model.parameters()],
                     [p.grad for p in model.parameters()]))

    kw.setdefault("callbacks", [cb])
    opts = {"epochs": 3, "batch_size": 16, "compile": True, "seed": 0, "progress": False}
    opts.update(kw)
    h = fit(model, X, y, **opts)
    assert h.path == "batched" and ("stay Values" in h.path_reason) != arrays
    return model, h, seen


@pytest.mark.parametrize("optimizer", [
    "sgd", "adam", "adamw", "rmsprop",
    lambda ps: nn.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: nn.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
], ids=["sgd", "adam", "adamw", "rmsprop", "sgd-nesterov", "rmsprop-centered"])
def test_array_path_equals_value_path_bit_for_bit(optimizer):
    def run(arrays):
        model = MLP(2, [6, 1], seed=1)
        opt = _optimizer(model, optimizer, arrays)
        X, y = _data()
        seen = []
        h = fit(model, X, y, epochs=3, batch_size=16, optimizer=opt, compile=True, seed=0,
                progress=False, validation_split=0.25, l2=1e-3, clip_grad_norm=0.5,
                callbacks=[lambda e, hist: seen.append([p.data for p in model.parameters()])])
        return model, h, seen

    m0, h0, s0 = run(False)
    m1, h1, s1 = run(True)
    assert h1.path == h0.path == "batched"
    assert h0.path_reason.startswith("compile=True, NumPy arrays; the parameters stay Values "
                                     "(Values")
    assert h1.path_reason == "compile=True, NumPy arrays"
    assert m1.state_dict() == m0.state_dict()
    assert [p.grad for p in m1.parameters()] == [p.grad for p in m0.parameters()]
    d0, d1 = h0.as_dict(), h1.as_dict()
    for d in (d0, d1):
        d.pop("seconds")
        d.pop("path_reason")
    assert d1 == d0  # loss, accuracy, validation (read from the Values), grad flow
    assert s1 == s0 and len(s1) == 3  # callbacks see the weights of each epoch's end


def test_multiclass_accuracy_and_regression():
    for kw in ({"sizes": (5, 3), "classes": True}, {"loss": "mse"}, {"loss": "l1"}):
        _, h0, s0 = _run(False, **kw)
        _, h1, s1 = _run(True, **kw)
        assert (h1.loss, h1.accuracy, h1.grad_flow) == (h0.loss, h0.accuracy, h0.grad_flow)
        assert s1 == s0


def test_checkpoint_and_early_stopping_see_the_array(tmp_path):
    runs = []
    for arrays in (False, True):
        path = tmp_path / f"ck{arrays}.json"
        model, h, seen = _run(arrays, epochs=8, validation_split=0.3,
                              early_stopping=2, checkpoint=path, optimizer="sgd", lr=2.0)
        runs.append((model.state_dict(), h, nn.load(path).state_dict(), seen))
    (w0, h0, c0, s0), (w1, h1, c1, s1) = runs
    assert s1 == s0
    assert h1.stopped_early and h0.stopped_early and h1.best_epoch == h0.best_epoch
    assert w1 == w0  # the restored best weights
    assert c1 == c0  # the last checkpoint's weights
    # the checkpoint holds the weights of its epoch, as a callback saw them
    epoch_of = {e: ws for e, ws, _ in s1}
    assert list(c1.values()) == epoch_of[h1.checkpoint_epoch]


def test_ctrl_c_mid_epoch_leaves_the_last_steps_weights(monkeypatch):
    calls = {"n": 0}

    def counting(real):
        def step(self, *a):
            calls["n"] += 1
            if calls["n"] == 6:  # the second step of the second epoch (4 per epoch)
                raise KeyboardInterrupt
            return real(self, *a)
        return step

    # the array path calls Adam.step_array; the reference, its own step()
    monkeypatch.setattr(nn.optim.Adam, "step_array", counting(nn.optim.Adam.step_array))
    results = []
    for arrays in (False, True):
        calls["n"] = 0
        model, h, _ = _run(arrays, callbacks=[], step=counting(nn.optim.Adam.step))
        results.append((model.state_dict(), [p.grad for p in model.parameters()], h))
    (w0, g0, h0), (w1, g1, h1) = results
    assert h0.interrupted and h1.interrupted and h1.epochs_run == 1
    assert w1 == w0 and g1 == g0


def test_divergence_keeps_the_weights_before_the_step():
    results = []
    for arrays in (False, True):
        X, y = _data()
        model = MLP(2, [6, 1], seed=1)
        with pytest.raises(training.TrainingDivergedError) as info:
            fit(model, X, [v * 1e300 for v in y], loss="mse", epochs=3, batch_size=16,
                optimizer=_optimizer(model, "sgd", arrays), lr=1e10, compile=True, seed=0,
                progress=False)
        results.append((model.state_dict(), info.value.epoch, info.value.batch,
                        str(info.value)))
    assert results[1] == results[0]


def test_weights_changed_between_epochs_are_read_back():
    """A callback that edits the weights: the next epoch trains from the edited ones."""
    def shrink(model):
        def cb(epoch, history):
            for p in model.parameters():
                p.data = p.data * 0.5
        return cb

    out = []
    for arrays in (False, True):
        X, y = _data()
        model = MLP(2, [6, 1], seed=1)
        fit(model, X, y, epochs=3, batch_size=16, compile=True, seed=0, progress=False,
            optimizer=_optimizer(model, "adam", arrays), callbacks=[shrink(model)])
        out.append(model.state_dict())
    assert out[1] == out[0]


def test_custom_optimizer_subclass_keeps_values():
    class Halving(nn.optim.SGD):
        def step(self):
            super().step()
            for p in self.params:
                p.data = p.data * 0.999

    X, y = _data()
    model = MLP(2, [4, 1], seed=1)
    h = fit(model, X, y, epochs=2, batch_size=16, optimizer=Halving(model.parameters()),
            compile=True, seed=0, progress=False)
    assert h.path == "batched" and "Halving has its own step()" in h.path_reason


def test_interrupted_and_resumed_equals_uninterrupted_on_the_array_path(tmp_path, monkeypatch):
    X, y = _data()

    def train(resume=None, stop_at=None):
        model = MLP(2, [6, 1], seed=1)
        calls = {"n": 0}
        real = nn.optim.Adam.step_array

        def step_array(self, data, grad):
            calls["n"] += 1
            if calls["n"] == stop_at:
                raise KeyboardInterrupt
            return real(self, data, grad)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(nn.optim.Adam, "step_array", step_array)
            h = fit(model, X, y, epochs=4, batch_size=16, compile=True, seed=0, progress=False,
                    checkpoint=tmp_path / "ck.json", resume=resume)
        return model, h

    full_model, full = train()
    (tmp_path / "ck.json").unlink()
    _, cut = train(stop_at=10)  # 4 steps an epoch: in epoch 3
    assert cut.interrupted and cut.checkpoint_epoch == 2
    assert (cut.path, cut.path_reason) == ("batched", "compile=True, NumPy arrays")
    model, resumed = train(resume=tmp_path / "ck.json")
    assert model.state_dict() == full_model.state_dict()
    assert resumed.loss == full.loss and resumed.grad_flow == full.grad_flow


class _Scaled(nn.Module):
    """An MLP times a Value that is not among its parameters()."""

    def __init__(self):
        self.mlp = MLP(2, [4, 1], seed=1)
        self.scale = autograd.Value(0.5)

    def parameters(self):
        return self.mlp.parameters()

    def __call__(self, x):
        return self.mlp(x) * self.scale


def test_values_outside_the_optimizer_keep_the_value_path():
    X, y = _data()
    model = _Scaled()
    h = fit(model, X, y, epochs=2, batch_size=16, compile=True, seed=0, progress=False)
    assert h.path == "batched"
    assert "the parameters stay Values (compile(batch=True).array_step: the function reads 1 " \
           "Value(s) not in params" in h.path_reason
    model = MLP(2, [4, 1], seed=1)
    half = nn.optim.SGD(model.parameters()[:5], lr=0.1)
    h = fit(model, X, y, epochs=1, batch_size=16, optimizer=half, compile=True, seed=0,
            progress=False)
    assert h.path_reason.endswith("(the optimizer does not hold exactly the model's parameters)")


def test_ragged_samples_keep_the_batched_error():
    X, y = _data(8)
    X[3] = X[3][:1]
    with pytest.raises(TypeError, match=r"compile\(batch=True\): argument 0 is not a batch of "
                                        "numbers with one shape per sample"):
        fit(MLP(2, [3, 1]), X, y, epochs=1, compile=True, progress=False)


@pytest.mark.parametrize("classes,loss", [(False, "hinge"), (True, "cross_entropy"),
                                          (False, "mse")])
def test_batched_validation_equals_evaluate(classes, loss, monkeypatch):
    """The batched path validates as one NumPy pass: evaluate()'s numbers within rounding."""
    X, y = _data(80, classes=classes)
    model = MLP(2, [6, 2 if classes else 1], seed=1)
    calls = []
    inside = [False]
    real = training._evaluate

    def spy(*a):
        if not inside[0]:
            calls.append(1)
        return real(*a)

    monkeypatch.setattr(training, "_evaluate", spy)
    seen = []

    def cb(epoch, history):  # the reference: evaluate() on the epoch's weights
        inside[0] = True
        seen.append(nn.evaluate(model, X[60:], y[60:], loss=loss))
        inside[0] = False

    h = fit(model, X[:60], y[:60], validation_data=(X[60:], y[60:]), loss=loss, epochs=3,
            batch_size=16, compile=True, seed=0, progress=False, l2=1e-2, callbacks=[cb])
    assert calls == []  # never the per-sample evaluation
    assert h.val_loss == pytest.approx([v for v, _ in seen], rel=1e-12)  # data loss, no l2
    if loss != "mse":
        assert h.val_accuracy == [a for _, a in seen]
    else:
        assert h.val_accuracy == []
