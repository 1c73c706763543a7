"""fit, evaluate, the optimizers, the scaler and the losses refuse what would break them.

Non-finite data (named by row and column), divergence (stopped with the epoch,
the batch and a hint, the weights those before the bad step), stray labels,
validation labels, settings checked before the first epoch, optimizer
hyper-parameters, overflow in L2, noise and scaling.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from nn import data, losses, optim
from nn.training import TrainingDivergedError

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


def test_saved_files_are_strict_json_and_nan_weights_are_not_saved(tmp_path: Path) -> None:
    m = _model()
    m.parameters()[0].data = math.nan
    with pytest.raises(ValueError, match="finite weights only"):
        m.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
    with pytest.raises(TypeError, match="finite numbers"):
        nn.save(_model(), tmp_path / "m.json", meta={"x": math.inf})
    _model().save(tmp_path / "ok.json")
    assert "NaN" not in (tmp_path / "ok.json").read_text()


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


# ---------------------------------------------------------------------------
# optimizers


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda ps: optim.Adam(ps, eps=0.0), r"eps must be in \(0"),
        (lambda ps: optim.AdamW(ps, eps=-1e-8), r"eps must be in \(0"),
        (lambda ps: optim.RMSprop(ps, eps=0.0), r"eps must be in \(0"),
        (lambda ps: optim.Adam(ps, lr=math.inf), "lr must be a finite number"),
        (lambda ps: optim.SGD(ps, lr=math.nan), "lr must be in"),
        (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), r"betas\[1\] must be in"),
        (lambda ps: optim.Adam(ps, betas=(math.nan, 0.9)), r"betas\[0\] must be in"),
        (lambda ps: optim.SGD(ps, momentum=math.inf), "momentum must be a finite"),
        (lambda ps: optim.SGD(ps, lr=10**400), "lr must be a finite number"),
    ],
)
def test_optimizer_hyperparameters_are_validated_at_construction(build: Any,
                                                                 message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(_model().parameters())


def test_lr_assignment_is_checked_and_adam_never_divides_by_zero() -> None:
    m = _model()
    opt = optim.Adam(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="Adam: lr"):
        opt.lr = -0.5
    with pytest.raises(ValueError, match="fit: lr"):
        nn.fit(m, X, Y, epochs=1, optimizer=opt, lr=-1.0, progress=False)
    assert opt.lr == 0.1
    # zero gradients with the smallest eps: a finite step of 0, not ZeroDivisionError
    tiny = optim.Adam(m.parameters(), lr=0.1, eps=5e-324)
    m.zero_grad()
    before = m.state_dict()
    tiny.step()
    assert m.state_dict() == before


# ---------------------------------------------------------------------------
# scaler, l2, noise


def test_standard_scaler_refuses_non_finite_columns_and_survives_huge_spreads() -> None:
    with pytest.raises(ValueError, match=r"StandardScaler.fit: X\[1\]\[0\] is inf"):
        data.StandardScaler().fit([[1.0, 2.0], [math.inf, 3.0]])
    with pytest.raises(ValueError, match="too large for a float"):
        data.StandardScaler().fit([[10**400], [1]])
    s = data.StandardScaler().fit([[1e300], [-1e300]])
    assert s.scale_ == [1e300]
    assert s.transform([[1e300]]) == [[1.0]]


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


@pytest.mark.parametrize("maker", [data.make_moons, data.make_xor])
def test_generator_noise_that_would_overflow_is_refused(maker: Any) -> None:
    with pytest.raises(ValueError, match=r"noise must be a real number in \[0, 1e\+06\]"):
        maker(10, noise=1e308, seed=0)
    with pytest.raises(ValueError, match="noise"):
        maker(10, noise=10**400, seed=0)
