"""Smoke tests of the benchmark workloads: every engine (the batched ones too) computes the
float floor's loss and gradients on the same weights, and a step changes the weights the same
way. No timing."""

from __future__ import annotations

import pytest

from benchmarks import batched, suite
from benchmarks import workloads as W


def _small_wide() -> W.Spec:
    spec = W.w_wide()
    return W.Spec("W-wide-small", spec.nin, spec.sizes, spec.loss, spec.X[:4], spec.Y[:4])


def _small_mlp() -> W.Spec:
    spec = W.w_mlp()
    return W.Spec("W-mlp-small", spec.nin, spec.sizes, spec.loss, spec.X[:16], spec.Y[:16])


SPECS = [_small_mlp, _small_wide]
ENGINES = dict([*W.engines(), *batched.engines()])  # the batched ones need NumPy


@pytest.mark.parametrize("make_spec", SPECS, ids=["mlp", "wide"])
@pytest.mark.parametrize("name", list(ENGINES))
def test_engine_matches_the_floor(make_spec, name):
    spec = make_spec()
    flat = spec.init_weights(3)
    engine = ENGINES[name](spec, flat)
    floor = W.Floor(spec, flat)
    assert suite.check_engine(engine, floor, spec.X, spec.Y) < 1e-12
    # one SGD step from the same weights gives the same next loss
    engine.step(spec.X, spec.Y)
    floor.step(spec.X, spec.Y)
    loss, _ = engine.loss_grads(spec.X, spec.Y)
    floss, _ = floor.loss_grads(spec.X, spec.Y)
    assert loss == pytest.approx(floss, rel=1e-12)


def test_floor_gradients_match_finite_differences():
    spec = _small_mlp()
    flat = spec.init_weights(5)
    _, grads = W.Floor(spec, flat).loss_grads(spec.X, spec.Y)
    h = 1e-6
    for i in (0, 7, 40, len(flat) - 1):
        up = list(flat)
        dn = list(flat)
        up[i] += h
        dn[i] -= h
        lu, _ = W.Floor(spec, up).loss_grads(spec.X, spec.Y)
        ld, _ = W.Floor(spec, dn).loss_grads(spec.X, spec.Y)
        assert grads[i] == pytest.approx((lu - ld) / (2 * h), rel=1e-5, abs=1e-8)


def test_digits_batches_cover_the_data():
    spec = W.digits()
    assert len(spec.X) == 1797 and len(spec.X[0]) == 64
    bs = W.batches(spec, 32)
    assert sum(len(x) for x, _ in bs) == 1797
    assert all(0.0 <= v <= 1.0 for v in spec.X[5])


def test_numpy_peer_matches_the_floor_at_batch_1024():
    spec = W.w_mlp(1024)
    flat = spec.init_weights(0)
    peer = W.NumpyBatched(spec, flat)
    assert suite.check_engine(peer, W.Floor(spec, flat), spec.X, spec.Y) < 1e-12
    assert len(spec.X) == 1024 and spec.name == "W-mlp-1024" and W.w_mlp().name == "W-mlp"


def test_ratio_cells():
    assert W.ratio_cells(0.5, 5.0, 0.25, 50.0) == ["0.100x", "2.00x", "100x"]
    assert W.ratio_cells(0.5, 5.0, None, None) == ["0.100x", "-", "-"]


def test_quick_suite_report_has_every_section(tmp_path):
    res = suite.run(quick=True, only=["W-mlp"])
    text = suite.report(res)
    assert "W-mlp" in text and "float floor" in text
    for e in res["W-mlp"]["engines"].values():
        assert e["max_rel_diff_vs_floor"] < 1e-12
