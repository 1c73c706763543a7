"""nn.fit and nn.evaluate: history contract, metrics, validation, early stopping, checkpoints,
Ctrl-C, and what they refuse (non-finite data, divergence, stray labels, bad settings)."""

from __future__ import annotations

import gc
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from nn import data, losses, optim
from nn.training import TrainingDivergedError


def _moons(n: int = 60, seed: int = 0):
    return data.make_moons(n, noise=0.1, seed=seed)


def test_history_contract_and_learning():
    X, y = _moons()
    m = nn.MLP(2, [8, 8, 1], seed=0)
    h = nn.fit(m, X, y, epochs=40, batch_size=16, lr=0.05, seed=0, progress=False)
    assert h.epochs_run == 40 and not h.stopped_early and not h.interrupted
    assert len(h.loss) == len(h.accuracy) == len(h.lr) == 40
    assert h.val_loss == [] and h.val_accuracy == []
    assert list(h.grad_flow) == ["layer 1", "layer 2", "layer 3"]
    assert all(len(v) == 40 and all(g >= 0.0 and math.isfinite(g) for g in v)
               for v in h.grad_flow.values())
    assert h.loss[-1] < 0.5 * h.loss[0]
    assert h.accuracy[-1] >= 0.95
    d = h.as_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["grad_flow"]["layer 2"] == h.grad_flow["layer 2"]
    assert set(d) >= {"loss", "accuracy", "val_loss", "val_accuracy", "grad_flow", "epochs_run",
                      "stopped_early", "interrupted"}


def test_reported_accuracy_matches_a_recount_and_loss_matches_evaluate():
    X, y = _moons(40)
    m = nn.MLP(2, [6, 1], seed=1)
    # lr 0: the model does not change, so the epoch's figures equal a plain evaluation
    h = nn.fit(m, X, y, epochs=2, optimizer=optim.SGD(m.parameters(), lr=0.0),
               batch_size=7, progress=False, seed=0)
    loss, acc = nn.evaluate(m, X, y)
    scores = m.predict(X)
    recount = sum((s > 0) == (t == 1) for s, t in zip(scores, y)) / len(y)
    assert h.accuracy == [recount, recount] and acc == recount
    assert math.isclose(h.loss[0], loss, rel_tol=1e-12)
    expected = sum(math.log1p(math.exp(-abs(s))) + max(s, 0) - t * s
                   for s, t in zip(scores, y)) / len(y)
    assert math.isclose(loss, expected, rel_tol=1e-12)  # bce on 0/1 labels


def test_l2_penalty_is_part_of_the_training_loss():
    X, y = _moons(20)
    m = nn.MLP(2, [4, 1], seed=2)
    sq = sum(p.data ** 2 for p in m.parameters())
    base, _ = nn.evaluate(m, X, y)
    h = nn.fit(m, X, y, epochs=1, optimizer=optim.SGD(m.parameters(), lr=0.0), l2=0.01,
               progress=False)
    assert math.isclose(h.loss[0], base + 0.01 * sq, rel_tol=1e-12)


def test_seeded_training_is_reproducible():
    X, y = _moons(30)
    runs = []
    for _ in range(2):
        m = nn.MLP(2, [5, 1], seed=3)
        h = nn.fit(m, X, y, epochs=5, batch_size=4, seed=11, progress=False)
        runs.append((h.loss, m.state_dict()))
    assert runs[0] == runs[1]
    m = nn.MLP(2, [5, 1], seed=3)
    h = nn.fit(m, X, y, epochs=5, batch_size=4, seed=12, progress=False)
    assert h.loss != runs[0][0]


def test_multiclass_cross_entropy_and_validation_split():
    X, y = data.make_blobs(90, centers=3, cluster_std=0.8, seed=1)
    m = nn.MLP(2, [8, 3], seed=0)
    h = nn.fit(m, X, y, epochs=15, batch_size=16, lr=0.05, validation_split=0.2, seed=0,
               progress=False)
    assert len(h.val_loss) == len(h.val_accuracy) == 15
    assert h.val_accuracy[-1] >= 0.9 and h.accuracy[-1] >= 0.9


def test_hinge_labels_and_custom_loss():
    X, y = _moons(30)
    pm = [2 * t - 1 for t in y]
    m = nn.MLP(2, [6, 1], seed=4)
    calls = []

    def loss(outputs, targets):
        calls.append(len(outputs))
        return nn.hinge_loss(outputs, targets)

    h = nn.fit(m, X, pm, epochs=3, batch_size=10, loss=loss, progress=False, seed=0)
    assert calls == [10] * 9 and len(h.accuracy) == 3
    h2 = nn.fit(nn.MLP(2, [6, 1], seed=4), X, pm, epochs=3, batch_size=10, progress=False,
                seed=0)
    assert h2.loss == h.loss  # -1/+1 labels pick the hinge loss by default


def test_regression_has_no_accuracy():
    X = [[i / 10, (i % 3) / 3] for i in range(20)]
    y = [a - 2 * b for a, b in X]
    m = nn.MLP(2, [8, 1], activation="tanh", seed=0)
    h = nn.fit(m, X, y, epochs=30, lr=0.05, progress=False, seed=0)
    assert h.accuracy == [] and h.loss[-1] < 0.2 * h.loss[0]
    loss, acc = nn.evaluate(m, X, y)
    assert acc is None and math.isclose(loss, h.loss[-1], rel_tol=0.5)


def test_scheduler_and_clipping():
    X, y = _moons(20)
    m = nn.MLP(2, [4, 1], seed=0)
    opt = optim.SGD(m.parameters(), lr=1.0)
    h = nn.fit(m, X, y, epochs=4, optimizer=opt, progress=False,
               scheduler=lambda o: optim.LinearLR(o, 1.0, 0.5, 4), clip_grad_norm=0.01)
    assert h.lr == [1.0, 0.875, 0.75, 0.625]
    before = m.state_dict()
    nn.fit(m, X, y, epochs=1, optimizer=optim.SGD(m.parameters(), lr=1.0), progress=False,
           clip_grad_norm=0.01)
    after = m.state_dict()
    step = math.sqrt(sum((after[k] - before[k]) ** 2 for k in before))
    assert 0.0 < step <= 0.01 + 1e-9


def test_early_stopping_restores_the_best_weights():
    X, y = _moons(40)
    m = nn.MLP(2, [6, 1], seed=0)
    states = {}

    def remember(epoch, history):
        states[epoch] = m.state_dict()

    # a learning rate far too large: the loss jumps about and soon stops improving
    h = nn.fit(m, X, y, epochs=60, optimizer=optim.SGD(m.parameters(), lr=25.0),
               early_stopping=3, progress=False, callbacks=[remember], seed=0)
    assert h.stopped_early and h.epochs_run < 60
    best = min(range(len(h.loss)), key=h.loss.__getitem__) + 1
    assert h.best_epoch == best
    assert h.epochs_run == best + 3
    assert m.state_dict() == states[best]


def test_callback_can_stop_training():
    X, y = _moons(20)
    h = nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, epochs=10, progress=False,
               callbacks=[lambda epoch, hist: epoch == 2])
    assert h.epochs_run == 2 and h.stopped_early


def test_checkpoint_every_epoch_is_loadable(tmp_path):
    X, y = _moons(30)
    m = nn.MLP(2, [5, 1], seed=0)
    path = tmp_path / "ckpt.json"
    seen = []

    def check(epoch, history):
        meta = nn.load_meta(path)
        seen.append(meta["epoch"])
        assert meta["history"]["loss"] == history.loss
        assert nn.load(path).state_dict() == m.state_dict()

    h = nn.fit(m, X, y, epochs=3, checkpoint=path, callbacks=[check], progress=False)
    assert seen == [1, 2, 3] and h.epochs_run == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.json"]


def test_ctrl_c_in_a_callback_returns_the_history(tmp_path):
    X, y = _moons(30)
    m = nn.MLP(2, [5, 1], seed=0)
    path = tmp_path / "ckpt.json"

    def interrupt(epoch, history):
        if epoch == 3:
            raise KeyboardInterrupt

    h = nn.fit(m, X, y, epochs=10, checkpoint=path, callbacks=[interrupt], progress=False)
    assert h.interrupted and not h.stopped_early
    assert h.epochs_run == 3 and len(h.loss) == 3
    assert nn.load_meta(path)["epoch"] == 3


def test_ctrl_c_mid_epoch_keeps_the_last_checkpoint_intact(tmp_path):
    X, y = _moons(30)
    m = nn.MLP(2, [5, 1], seed=0)
    path = tmp_path / "ckpt.json"

    states = {}

    class Interrupting(optim.SGD):
        def step(self) -> None:
            if self.steps == 7:  # second step of epoch 3 (three steps per epoch)
                raise KeyboardInterrupt
            super().step()

    h = nn.fit(m, X, y, epochs=10, batch_size=10, checkpoint=path, progress=False,
               optimizer=Interrupting(m.parameters(), lr=0.1),
               callbacks=[lambda epoch, hist: states.update({epoch: m.state_dict()})])
    assert h.interrupted and h.epochs_run == 2 and len(h.loss) == 2
    assert nn.load_meta(path)["epoch"] == 2
    assert nn.load(path).state_dict() == states[2]  # the end of epoch 2
    assert m.state_dict() != states[2]  # the model keeps the first step of epoch 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.json"]


def test_pause_gc_pauses_and_restores():
    X, y = _moons(10)
    assert gc.isenabled()
    states = []
    nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, epochs=2, progress=False, pause_gc=True,
           callbacks=[lambda e, h: states.append(gc.isenabled())])
    assert states == [False, False] and gc.isenabled()
    nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, epochs=1, progress=False,
           callbacks=[lambda e, h: states.append(gc.isenabled())])
    assert states[-1] is True


def test_progress_bar_shows_live_loss_and_accuracy(capsys):
    X, y = _moons(20)
    nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, epochs=2, batch_size=10, progress=True,
           validation_split=0.25, seed=0)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "loss=" in err and "acc=" in err and "val_acc=" in err


def test_bad_arguments():
    X, y = _moons(10)
    m = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="X has 10 samples and y has 9"):
        nn.fit(m, X, y[:9], progress=False)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        nn.fit(m, X, y, epochs=0, progress=False)
    with pytest.raises(ValueError, match="unknown loss 'focal'"):
        nn.fit(m, X, y, loss="focal", progress=False)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        nn.fit(m, X, y, optimizer="lbfgs", progress=False)
    with pytest.raises(ValueError, match="needs binary labels"):
        nn.fit(m, X, [0, 1, 2] * 3 + [0], loss="hinge", progress=False)
    with pytest.raises(ValueError, match=r"class index in 0\.\.2"):
        nn.fit(nn.MLP(2, [3], seed=0), X, [5] * 10, progress=False)
    with pytest.raises(ValueError, match="'cross_entropy' needs one output per class"):
        nn.fit(m, X, y, loss="cross_entropy", progress=False)
    with pytest.raises(ValueError, match="validation_split"):
        nn.fit(m, X, y, validation_split=1.5, progress=False)

    class Custom(nn.Module):
        def __call__(self, x):
            return x[0]

    with pytest.raises(TypeError, match="cannot checkpoint"):
        nn.fit(Custom(), X, y, checkpoint="x.json", progress=False)


def test_ctrl_c_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    from nn import serialize

    X, y = _moons(20)
    path = tmp_path / "ckpt.json"
    real_replace = serialize.os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(serialize.os, "replace", replace)
    h = nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, epochs=5, checkpoint=path, progress=False)
    assert h.interrupted and h.epochs_run == 3
    assert nn.load_meta(path)["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.json"]


# ---------------------------------------------------------------------------
# numbers at the edges: the same behaviour under every compile setting

COMPILES = [True, False, "auto"]
# inputs near the float limit: finite gradients whose per-layer sum overflows a float
HUGE_X = [[3e307, -3e307], [6e307, 3e307], [-3e307, 1.5e307], [1e307, -6e307]]
HUGE_Y = [0, 1, 1, 0]


@pytest.mark.filterwarnings("ignore::autograd.CompileWarning")
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # Adam's v, in NumPy
@pytest.mark.parametrize("kwargs", [{}, {"clip_grad_norm": 1.0}, {"optimizer": "sgd"}])
def test_huge_finite_gradients_never_raise_a_raw_overflow(kwargs):
    results = []
    for c in COMPILES:
        try:
            h = nn.fit(nn.MLP(2, [64, 1], seed=0), HUGE_X, HUGE_Y, epochs=2, compile=c,
                       progress=False, **kwargs)
            assert all(math.isfinite(g) for v in h.grad_flow.values() for g in v)
            results.append(("trained", h.epochs_run))
        except nn.training.TrainingDivergedError as e:  # a clear stop is fine, the same one
            results.append(("diverged", e.epoch, e.batch))
    assert results[0] == results[1] == results[2]


def test_clip_grad_norm_of_huge_finite_gradients_is_their_true_norm():
    ps = [nn.Neuron(1, seed=k).b for k in range(4)]
    for p in ps:
        p.grad = 1e200  # each square overflows a float; the norm, 2e200, does not
    assert optim.clip_grad_norm_(ps, 1.0) == pytest.approx(2e200)
    assert math.fsum(p.grad ** 2 for p in ps) == pytest.approx(1.0, rel=1e-5)
    for p in ps:
        p.grad = 1e308  # the norm itself, 2e308, is beyond a float: inf, as PyTorch says
    assert optim.clip_grad_norm_(ps, 1.0) == math.inf
    assert all(p.grad == 0.0 for p in ps)


@pytest.mark.filterwarnings("ignore::autograd.CompileWarning")
def test_an_overflowing_l2_penalty_stops_every_path_the_same_way():
    X, y = _moons(40)
    messages = []
    for c in COMPILES:
        m = nn.MLP(2, [4, 1], seed=0)
        before = m.state_dict()
        with pytest.raises(nn.training.TrainingDivergedError) as err:
            nn.fit(m, X, y, epochs=2, l2=1e308, compile=c, progress=False)
        assert (err.value.epoch, err.value.batch) == (1, 1)
        assert m.state_dict() == before
        messages.append(str(err.value))
    assert messages[0] == messages[1] == messages[2]
    assert "use a smaller l2" in messages[0]


@pytest.mark.filterwarnings("ignore::autograd.CompileWarning")
def test_numpy_and_pandas_inputs_work_on_every_path():
    np = pytest.importorskip("numpy")
    X, y = _moons(40)
    Xv, yv = _moons(20, seed=1)
    want = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=2, seed=0, progress=False,
                  validation_data=(Xv, yv)).as_dict()
    for c in COMPILES:
        cases = [(np.array(X), np.array(y)), ([np.array(r) for r in X], list(np.array(y)))]
        try:  # pandas is optional (not in the dev extra)
            import pandas as pd

            cases.append((pd.DataFrame(X), pd.Series(y)))
        except ImportError:
            pass
        for Xa, ya in cases:
            h = nn.fit(nn.MLP(2, [4, 1], seed=0), Xa, ya, epochs=2, seed=0, compile=c,
                       progress=False, validation_data=(np.array(Xv), np.array(yv)))
            assert h.loss == pytest.approx(want["loss"], rel=1e-12)
            assert h.val_accuracy == want["val_accuracy"]
    assert nn.evaluate(nn.MLP(2, [4, 1], seed=0), np.array(X), np.array(y)) == \
        nn.evaluate(nn.MLP(2, [4, 1], seed=0), X, y)


@pytest.mark.parametrize("change", [
    {"lr": 0.5}, {"l2": 0.01}, {"early_stopping": 2}, {"min_delta": 0.1},
    {"clip_grad_norm": 1.0}, {"shuffle": False},
])
def test_resume_refuses_settings_that_change_the_run(tmp_path, change):
    X, y = _moons(40)
    base = {"lr": 0.01, "l2": 0.0, "seed": 0, "progress": False}
    ck = tmp_path / "ck.json"
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=2, checkpoint=ck, **base)
    saved = ck.read_bytes()
    m = nn.MLP(2, [4, 1], seed=0)
    before = m.state_dict()
    key = next(iter(change))
    with pytest.raises(ValueError, match=f"was trained with {key}=.*asks for {key}="):
        nn.fit(m, X, y, epochs=4, checkpoint=ck, resume=ck, **{**base, **change})
    assert m.state_dict() == before and ck.read_bytes() == saved
    h = nn.fit(m, X, y, epochs=4, checkpoint=ck, resume=ck, **base)  # the same: it goes on
    assert len(h.loss) == 4 and h.loss[:2] == json.loads(saved)["meta"]["history"]["loss"]


# ---------------------------------------------------------------------------
# what fit and evaluate refuse: non-finite data (named by row and column),
# divergence (stopped with the epoch, the batch and a hint, the weights those
# before the bad step), stray labels, settings checked before the first epoch

X, Y = data.make_moons(24, noise=0.1, seed=0)
few = settings(max_examples=min(settings().max_examples, 50))


def _model() -> nn.MLP:
    return nn.MLP(2, [4, 1], seed=0)


# ---------------------------------------------------------------------------
# non-finite data


@few
@given(row=st.integers(0, 23), col=st.integers(0, 1),
       bad=st.sampled_from([math.nan, math.inf, -math.inf, 10**400]))
def test_non_finite_features_are_refused_naming_row_and_column(row: int, col: int,
                                                                bad: Any) -> None:
    Xb = [list(r) for r in X]
    Xb[row][col] = bad
    m = _model()
    before = m.state_dict()
    with pytest.raises(ValueError, match=rf"fit: X\[{row}\]\[{col}\] is "):
        nn.fit(m, Xb, Y, epochs=1, progress=False)
    assert m.state_dict() == before


@few
@given(row=st.integers(0, 23), bad=st.sampled_from([math.nan, math.inf]))
def test_non_finite_targets_are_refused(row: int, bad: float) -> None:
    yb = [float(v) for v in Y]
    yb[row] = bad
    with pytest.raises(ValueError, match=rf"fit: y\[{row}\] is {bad!r}"):
        nn.fit(_model(), X, yb, epochs=1, loss="mse", progress=False)


def test_non_finite_validation_data_and_evaluate_data_are_refused() -> None:
    Xv = [list(r) for r in X[:4]]
    Xv[2][1] = math.nan
    with pytest.raises(ValueError, match=r"fit: validation_data: X\[2\]\[1\] is nan"):
        nn.fit(_model(), X, Y, epochs=1, validation_data=(Xv, Y[:4]), progress=False)
    with pytest.raises(ValueError, match=r"evaluate: X\[2\]\[1\] is nan"):
        nn.evaluate(_model(), Xv, Y[:4])


# ---------------------------------------------------------------------------
# divergence


def test_a_diverging_run_stops_with_epoch_batch_and_a_hint() -> None:
    m = nn.MLP(2, [8, 1], seed=0)
    big = [[1e150 * a, 1e150 * b] for a, b in X]
    with pytest.raises(TrainingDivergedError) as info:
        nn.fit(m, big, [float(v) for v in Y], epochs=5, batch_size=6, loss="mse",
               optimizer="sgd", lr=1.0, progress=False)
    err = info.value
    assert f"epoch {err.epoch}, batch {err.batch}" in str(err)
    assert "lower the learning rate" in str(err) and "clip_grad_norm" in str(err)
    assert isinstance(err, FloatingPointError)
    assert err.history.epochs_run == err.epoch - 1
    assert all(math.isfinite(v) for v in m.state_dict().values())  # no nan weights returned


def test_divergence_inside_a_later_epoch_keeps_the_history_so_far() -> None:
    calls = {"n": 0}

    def loss(outs: list[Any], ts: list[Any]) -> Any:
        calls["n"] += 1
        value = losses.binary_cross_entropy_with_logits(outs, ts)
        return value * math.inf if calls["n"] == 7 else value  # the 7th step blows up

    m = _model()
    with pytest.raises(TrainingDivergedError, match=r"loss became inf in epoch 3, batch 1"):
        nn.fit(m, X, Y, epochs=5, batch_size=8, loss=loss, progress=False)


# ---------------------------------------------------------------------------
# labels


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([0, 1] * 11 + [1, 2], "the labels are 0/1 but sample 23 has label 2"),
        ([-1, 1] * 11 + [0, 1], "the labels are -1/1 but sample 22 has label 0"),
        ([0, 1, 2, 3] * 6, r"labels look like classes \[0, 1, 2, 3\]; give the model 4 outputs"),
    ],
)
def test_a_stray_label_is_an_error_not_a_switch_to_regression(labels: list[int],
                                                              message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nn.fit(_model(), X, labels, epochs=1, progress=False)
    # asked for explicitly, the same labels are a regression
    h = nn.fit(_model(), X, labels, epochs=1, loss="mse", progress=False)
    assert h.accuracy == []


def test_a_multiclass_label_out_of_range_names_the_sample() -> None:
    y = [0, 1, 2] * 8
    y[5] = 3
    with pytest.raises(ValueError, match=r"class index in 0..2 .*sample 5 has 3"):
        nn.fit(nn.MLP(2, [4, 3], seed=0), X, y, epochs=1, progress=False)


def test_validation_labels_are_checked_like_training_labels() -> None:
    with pytest.raises(ValueError, match=r"fit: validation labels: .*sample 1 has label 2"):
        nn.fit(_model(), X, Y, epochs=1, validation_data=(X[:4], [0, 2, 1, 0]), progress=False)
    with pytest.raises(ValueError, match=r"validation labels: .*sample 2 has 7"):
        nn.fit(nn.MLP(2, [4, 3], seed=0), X, [0, 1, 2] * 8, epochs=1,
               validation_data=(X[:3], [0, 1, 7]), progress=False)


def test_evaluate_errors_name_evaluate() -> None:
    with pytest.raises(ValueError, match=r"^evaluate: loss 'cross_entropy' needs one output"):
        nn.evaluate(_model(), X, Y, loss="cross_entropy")
    with pytest.raises(ValueError, match=r"^evaluate: unknown loss"):
        nn.evaluate(_model(), X, Y, loss="nope")


# ---------------------------------------------------------------------------
# settings checked before the first epoch


class _Counter:
    def __init__(self) -> None:
        self.epochs = 0

    def __call__(self, epoch: int, history: nn.History) -> None:
        self.epochs += 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"callbacks": [print, 3]}, TypeError, r"callbacks\[1\] is a int"),
        ({"callbacks": "cb"}, TypeError, "callbacks must be a list"),
        ({"scheduler": 0.5}, TypeError, "scheduler must be an nn.optim scheduler"),
        ({"min_delta": math.nan}, ValueError, "fit: min_delta"),
        ({"min_delta": -1.0}, ValueError, "fit: min_delta"),
        ({"lr": math.nan}, ValueError, "fit: lr"),
        ({"lr": math.inf}, ValueError, "fit: lr must be a finite number"),
        ({"clip_grad_norm": -1.0}, ValueError, "fit: clip_grad_norm"),
        ({"l2": math.inf}, ValueError, "fit: l2 must be a finite number"),
        ({"checkpoint": "/dev/null"}, OSError, "is a character device, not a regular file"),
        ({"checkpoint": ""}, OSError, "the file name is empty"),
    ],
)
def test_fit_arguments_are_checked_before_the_first_epoch(kwargs: dict[str, Any],
                                                          error: type, message: str) -> None:
    m = _model()
    before = m.state_dict()
    counter = _Counter()
    cbs = kwargs.pop("callbacks", [counter])
    with pytest.raises(error, match=message):
        nn.fit(m, X, Y, epochs=2, progress=False, callbacks=cbs, **kwargs)
    assert m.state_dict() == before and counter.epochs == 0


def test_a_checkpoint_path_that_is_a_folder_or_runs_through_a_file(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="is a folder"):
        nn.fit(_model(), X, Y, epochs=1, checkpoint=tmp_path, progress=False)
    (tmp_path / "f").write_text("x")
    with pytest.raises(OSError, match="runs through"):
        nn.fit(_model(), X, Y, epochs=1, checkpoint=tmp_path / "f" / "ck.json", progress=False)



# l2_penalty is nn.losses' (its file, test_nn_losses.py, is the formula helper's now);
# it is what fit's l2 computes
def test_l2_penalty_refuses_a_negative_or_overflowing_weight() -> None:
    ps = _model().parameters()
    with pytest.raises(ValueError, match="l2_penalty: alpha must be a finite number >= 0"):
        losses.l2_penalty(ps, -1e-4)
    with pytest.raises(ValueError, match="l2_penalty: alpha must be a finite number >= 0"):
        losses.l2_penalty(ps, math.inf)
    for p in ps:
        p.data = 1.0  # sum(p^2) = 17: 1.5e308 * 17 overflows
    with pytest.raises(ValueError, match="overflows a float"):
        losses.l2_penalty(ps, 1.5e308)
