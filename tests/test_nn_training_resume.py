"""fit(resume=...): an interrupted-and-resumed run ends with the same weights, bit for bit.

The interruption is a real ``KeyboardInterrupt`` raised inside a training step
at an arbitrary batch (the CLI's tests send real SIGINTs to a subprocess). The
checkpoint then holds the last completed epoch; resuming from it with the same
call must give the weights, the history and the optimizer state of a run that
was never interrupted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from nn import data, optim

# each example trains a few tiny models: a handful of examples, even in CI
few = settings(max_examples=min(settings().max_examples, 20))

X2, Y2 = data.make_moons(36, noise=0.1, seed=1)
X3, Y3 = data.make_blobs(30, centers=3, seed=2)


class _StopAt:
    """A loss that raises KeyboardInterrupt (as Ctrl-C does) on its ``k``-th call."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.calls = 0

    def __call__(self, outputs: list[Any], targets: list[Any]) -> Any:
        self.calls += 1
        if self.calls == self.k:
            raise KeyboardInterrupt
        return nn.losses.binary_cross_entropy_with_logits(outputs, targets)


def _optimizer(name: str, model: nn.Module) -> optim.Optimizer:
    ps = model.parameters()
    return {
        "sgd": lambda: optim.SGD(ps, lr=0.3, momentum=0.9, nesterov=True),
        "adam": lambda: optim.Adam(ps, lr=0.05),
        "adamw": lambda: optim.AdamW(ps, lr=0.05),
        "rmsprop": lambda: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    }[name]()


def _train(tmp: Path, opt: str, epochs: int, *, loss: Any = None, resume: Path | None = None,
           schedule: bool = False, batch: int = 8, es: int | None = None,
           split: float = 0.25) -> tuple[nn.MLP, nn.History]:
    model = nn.MLP(2, [5, 1], seed=3)
    o = _optimizer(opt, model)
    sched = optim.StepLR(o, 2, 0.5) if schedule else None
    loss = _StopAt(-1) if loss is None else loss  # every run: the same (custom) loss
    h = nn.fit(model, X2, Y2, epochs=epochs, batch_size=batch, optimizer=o, loss=loss,
               scheduler=sched, seed=11, validation_split=split, early_stopping=es,
               checkpoint=tmp / "ck.json", resume=resume, progress=False)
    return model, h


def _same_run(a: nn.History, b: nn.History) -> bool:
    da, db = a.as_dict(), b.as_dict()
    for k in ("seconds", "checkpoint_epoch", "interrupted"):
        da.pop(k)
        db.pop(k)
    return da == db


@few
@given(opt=st.sampled_from(["sgd", "adam", "adamw", "rmsprop"]),
       stop_call=st.integers(1, 5 * 4), schedule=st.booleans(), batch=st.sampled_from([5, 8, 27]))
def test_interrupted_then_resumed_equals_uninterrupted_bit_for_bit(
        tmp_path_factory: pytest.TempPathFactory, opt: str, stop_call: int, schedule: bool,
        batch: int) -> None:
    tmp = tmp_path_factory.mktemp("resume")
    full_model, full = _train(tmp, opt, 5, schedule=schedule, batch=batch, es=50)
    # the same run, Ctrl-C at an arbitrary step (the loss is called once per step)
    (tmp / "ck.json").unlink()
    stopper = _StopAt(stop_call)
    cut_model, cut = _train(tmp, opt, 5, loss=stopper, schedule=schedule, batch=batch, es=50)
    if not cut.interrupted:  # stop_call beyond the run: nothing to resume
        assert cut_model.state_dict() == full_model.state_dict()
        return
    assert cut.checkpoint_epoch == (cut.epochs_run or None)
    if cut.checkpoint_epoch is None:  # interrupted in epoch 1: start again from scratch
        resumed_model, resumed = _train(tmp, opt, 5, schedule=schedule, batch=batch, es=50)
    else:
        meta = nn.load_meta(tmp / "ck.json")
        assert meta["epoch"] == cut.epochs_run
        resumed_model, resumed = _train(tmp, opt, 5, resume=tmp / "ck.json",
                                        schedule=schedule, batch=batch, es=50)
    assert resumed_model.state_dict() == full_model.state_dict()  # exact float equality
    assert _same_run(resumed, full)
    assert resumed.epochs_run == 5 and not resumed.interrupted


def test_interrupted_twice_and_resumed_twice_still_matches(tmp_path: Path) -> None:
    full_model, full = _train(tmp_path, "adam", 6)
    (tmp_path / "ck.json").unlink()
    # 4 steps and 1 validation an epoch: the 8th loss call is in epoch 2
    _, h = _train(tmp_path, "adam", 6, loss=_StopAt(8))
    assert h.interrupted and h.epochs_run == 1 and len(h.loss) == 1
    assert nn.load_meta(tmp_path / "ck.json")["epoch"] == 1
    # resumed, and interrupted again in the resumed run (its 12th call: epoch 4)
    m, h = _train(tmp_path, "adam", 6, loss=_StopAt(12), resume=tmp_path / "ck.json")
    assert h.interrupted and h.checkpoint_epoch == h.epochs_run == 3 and len(h.loss) == 3
    m, h = _train(tmp_path, "adam", 6, resume=tmp_path / "ck.json")
    assert m.state_dict() == full_model.state_dict()
    assert _same_run(h, full)


def test_early_stopping_state_survives_a_resume(tmp_path: Path) -> None:
    # patience 2 with a min_delta that makes improvement rare: the stop epoch and the
    # restored best weights depend on the saved best/waited state
    def run(epochs: int, resume: Path | None = None) -> tuple[nn.MLP, nn.History]:
        m = nn.MLP(2, [5, 1], seed=3)
        h = nn.fit(m, X2, Y2, epochs=epochs, batch_size=9, lr=0.05, seed=4, early_stopping=2,
                   min_delta=0.02, validation_split=0.25, checkpoint=tmp_path / "ck.json",
                   resume=resume, progress=False)
        return m, h

    full_m, full = run(30)
    assert full.stopped_early and full.epochs_run < 30
    stop_epoch = full.epochs_run
    (tmp_path / "ck.json").unlink()
    run(stop_epoch - 1)  # the same run, cut one epoch before its early stop
    m, h = run(30, resume=tmp_path / "ck.json")
    assert h.stopped_early and h.epochs_run == stop_epoch and h.best_epoch == full.best_epoch
    assert m.state_dict() == full_m.state_dict()


def test_multiclass_compiled_run_resumes_bit_for_bit(tmp_path: Path) -> None:
    def run(epochs: int, resume: Path | None = None) -> nn.MLP:
        m = nn.MLP(2, [4, 3], seed=5)
        nn.fit(m, X3, Y3, epochs=epochs, batch_size=7, optimizer="rmsprop", seed=6,
               compile=True, checkpoint=tmp_path / "ck.json", resume=resume, progress=False)
        return m

    full = run(4).state_dict()
    run(2)
    assert run(4, resume=tmp_path / "ck.json").state_dict() == full


def test_resume_at_or_past_the_end_trains_nothing_more(tmp_path: Path) -> None:
    m, h = _train(tmp_path, "adam", 3)
    before = m.state_dict()
    m2, h2 = _train(tmp_path, "adam", 3, resume=tmp_path / "ck.json")
    assert m2.state_dict() == before and h2.epochs_run == 3 and h2.loss == h.loss


def test_a_checkpoint_is_also_a_saved_model(tmp_path: Path) -> None:
    m, _ = _train(tmp_path, "sgd", 2)
    loaded = nn.load(tmp_path / "ck.json")
    assert loaded.state_dict() == m.state_dict()
    meta = nn.load_meta(tmp_path / "ck.json")
    assert meta["epoch"] == 2 and set(meta["resume"]) >= {"optimizer", "rng", "data"}
    assert meta["resume"]["optimizer"]["type"] == "SGD"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"X": [*X2[:-1], [9.0, 9.0]]}, "trained on other data"),
        ({"model": "wide"}, "build the same model"),
        ({"batch": 6}, "used batch size 8"),
        ({"optimizer": "rmsprop"}, "resume with the optimizer the run was started with"),
    ],
)
def test_resume_refuses_another_run(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    _train(tmp_path, "adam", 2)
    model = nn.MLP(2, [7, 1], seed=3) if change.get("model") else nn.MLP(2, [5, 1], seed=3)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        nn.fit(model, change.get("X", X2), Y2, epochs=4, batch_size=change.get("batch", 8),
               optimizer=_optimizer(change.get("optimizer", "adam"), model), loss=_StopAt(-1),
               seed=11, validation_split=0.25, resume=tmp_path / "ck.json", progress=False)
    assert model.state_dict() == before  # nothing loaded


def test_resume_from_a_plain_saved_model_or_a_damaged_file_is_refused(tmp_path: Path) -> None:
    model = nn.MLP(2, [5, 1], seed=3)
    model.save(tmp_path / "m.json")
    with pytest.raises(nn.ModelFileError, match="not a checkpoint written by fit"):
        nn.fit(model, X2, Y2, epochs=2, resume=tmp_path / "m.json", progress=False)
    _train(tmp_path, "adam", 1)
    doc = json.loads((tmp_path / "ck.json").read_text())
    doc["meta"]["resume"]["rng"] = [3, [1, 2], None]  # damaged, re-signed
    from nn.serialize import _checksum

    doc["checksum"] = _checksum(doc["architecture"], doc["weights"], doc["meta"])
    (tmp_path / "ck.json").write_text(json.dumps(doc))
    fresh = nn.MLP(2, [5, 1], seed=3)
    before = fresh.state_dict()
    with pytest.raises(nn.ModelFileError, match="resume state is damaged"):
        nn.fit(fresh, X2, Y2, epochs=3, batch_size=8, loss=_StopAt(-1), seed=11,
               validation_split=0.25, resume=tmp_path / "ck.json", progress=False)
    assert fresh.state_dict() == before


def test_optimizer_state_round_trips_and_is_checked() -> None:
    m = nn.MLP(2, [3, 1], seed=0)
    a = optim.Adam(m.parameters(), lr=0.1)
    for p in m.parameters():
        p.grad = 0.5
    a.step()
    state = json.loads(json.dumps(a.state_dict()))
    b = optim.Adam(m.parameters(), lr=0.9)
    b.load_state_dict(state)
    assert b.state_dict() == a.state_dict()
    with pytest.raises(ValueError, match="not SGD"):
        optim.SGD(m.parameters()).load_state_dict(state)
    bad = dict(state, buffers={"m": [0.0], "v": [0.0]})
    with pytest.raises(ValueError, match="one number per parameter"):
        b.load_state_dict(bad)
    nan = dict(state, buffers={"m": [float("nan")] * 13, "v": [0.0] * 13})
    with pytest.raises(ValueError, match="finite"):
        b.load_state_dict(nan)
    assert b.state_dict() == a.state_dict()  # a refused state changes nothing
