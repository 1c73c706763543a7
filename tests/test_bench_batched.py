"""Smoke tests of benchmarks.batched: the batched engines compute the float floor's loss and
gradients on the same weights, a step moves the weights the same way, and the report prints
every row. No timing is asserted."""

from __future__ import annotations

import pytest

from benchmarks import batched, speed_page, suite
from benchmarks import workloads as W

pytest.importorskip("numpy")


def _small(spec: W.Spec, n: int) -> W.Spec:
    return W.Spec(spec.name + "-small", spec.nin, spec.sizes, spec.loss, spec.X[:n], spec.Y[:n])


@pytest.mark.parametrize("make_spec", [lambda: _small(W.w_mlp(), 16),
                                       lambda: _small(W.w_wide(), 4)], ids=["mlp", "wide"])
@pytest.mark.parametrize("name", [n for n, _ in batched.engines()])
def test_batched_engine_matches_the_floor(make_spec, name):
    spec = make_spec()
    flat = spec.init_weights(3)
    engine = dict(batched.engines())[name](spec, flat)
    floor = W.Floor(spec, flat)
    assert suite.check_engine(engine, floor, spec.X, spec.Y) < 1e-12
    engine.step(spec.X, spec.Y)
    floor.step(spec.X, spec.Y)
    loss, _ = engine.loss_grads(spec.X, spec.Y)
    floss, _ = floor.loss_grads(spec.X, spec.Y)
    assert loss == pytest.approx(floss, rel=1e-12)


def test_report_has_every_row_and_ratio():
    names = ["float floor", "numpy batched", "micrograd", "chainrule nn batched"]
    steps = {n: {"ms": ms, "max_rel_diff_vs_floor": 1e-16} for n, ms in zip(names, [2.0, 0.05,
                                                                                  60.0, 0.1])}
    steps["chainrule nn batched"]["call_ms"] = 0.08
    res = {"machine": suite.machine(), "W-mlp": steps,
           "digits": {"batches": 57, "samples": 1797, "chainrule nn": {"s": 4.0, "cpu_s": 3.0},
                      "chainrule nn batched": {"s": 0.2, "cpu_s": 0.1}}}
    text = batched.report(res)
    assert "| chainrule nn batched | 0.100 | 0.050x | 2.00x | 600x | 0.080 | 1e-16 |" in text
    assert "| chainrule nn batched | 0.200 | 0.100 | 20.0x | 30.0x |" in text


def test_lecture_step_is_timed_and_reported():
    res = batched.run_lecture_step(1)
    assert res["trace_nodes"] > 1000 and res["batched"] > 0
    text = batched.report({"machine": suite.machine(), "lecture": res})
    assert "| batched |" in text and "| dynamic |" in text


def test_array_engine_steps_as_the_value_engine():
    """The array path (ArrayStep + SGD.step_array) and the Value path take the same steps."""
    spec = _small(W.w_mlp(), 16)
    flat = spec.init_weights(5)
    eng = dict(batched.engines())
    arrays, values = eng["chainrule nn batched"](spec, flat), eng["chainrule nn batched (Values)"](
        spec, flat)
    for _ in range(3):
        assert arrays.step(spec.X, spec.Y) == values.step(spec.X, spec.Y)
    assert arrays.theta.tolist() == [p.data for p in values.params]


def test_fit_digits_epoch_is_timed_and_reported():
    res = batched.run_fit_digits(1, samples=64)
    runs = res["runs"]
    assert list(runs) == ["compile=False", "compile=True", "compile='auto'"]
    assert [r["path"] for r in runs.values()] == ["dynamic", "batched", "dynamic"]
    assert runs["compile='auto'"]["loss"] == runs["compile=False"]["loss"]  # bit for bit
    assert abs(runs["compile=True"]["loss"] - runs["compile=False"]["loss"]) <= 1e-12
    text = batched.fit_report(res)
    assert "| compile=True | batched |" in text and "compile=False / this (first)" in text
    assert "digits with nn.fit" in suite.report({"machine": suite.machine(), "fit": res})
    section = speed_page.section({"machine": suite.machine(), "fit": res})
    assert "digits with nn.fit" in section and "| compile=True | batched |" in section


def test_speed_page_rows_give_the_ratio_to_hand_written_numpy():
    def entry(ms: float) -> dict[str, float]:
        return {"ms_gc_default": ms, "ms_gc_off": ms}

    res = {"machine": suite.machine(), "W-mlp": {"engines": {
        "float floor": entry(5.0), "micrograd": entry(500.0), "numpy batched": entry(0.1),
        "chainrule nn batched": entry(0.2)}}}
    text = speed_page.section(res)
    assert "x numpy batched (default GC)" in text
    assert "| W-mlp | chainrule nn batched | 0.20 | 0.20 | 0.04x | 2.00x | 2500.00x |" in text


def test_breakeven_report_states_the_threshold_and_ratios():
    rows = [{"case": "moons", "steps_per_epoch": 16, "dynamic_ms": 6.0, "compiled_ms": 1.5,
             "compile_s": 0.3, "breakeven": 0.3e3 / 4.5}]
    from nn.training import AUTO_STEPS_PER_TRACE

    text = batched.breakeven_report(rows)
    assert f">= {AUTO_STEPS_PER_TRACE} steps per trace" in text
    assert "| moons | 16 | 6.00 | 1.50 | 0.25 | 0.300 | 50 | 67 |" in text
