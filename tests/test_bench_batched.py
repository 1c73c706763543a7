"""Smoke tests of benchmarks.batched (that its engines compute the float floor's loss and
gradients is tested with the others, in test_bench_workloads.py): the batch-size rows compare
our step with hand-written NumPy on the same numbers, and the reports print every row. No
timing is asserted."""

from __future__ import annotations

import json

import pytest

from benchmarks import batched, speed_page, suite
from benchmarks import workloads as W

pytest.importorskip("numpy")


def _small(spec: W.Spec, n: int) -> W.Spec:
    return W.Spec(spec.name + "-small", spec.nin, spec.sizes, spec.loss, spec.X[:n], spec.Y[:n])


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
        return {"ms_gc_default": ms, "ms_gc_off": ms, "max_rel_diff_vs_floor": 1e-16}

    res = {"machine": suite.machine(), "W-mlp": {"engines": {
        "float floor": entry(5.0), "micrograd": entry(500.0), "numpy batched": entry(0.1),
        "chainrule nn batched": entry(0.2)}}}
    text = speed_page.section(res)
    assert "x numpy batched (default GC)" in text
    assert ("| W-mlp | chainrule nn batched | 0.200 | 0.200 | 0.040x | 0.040x | 2.00x | 2500x "
            "| 1e-16 |") in text


def test_breakeven_report_states_the_threshold_and_ratios():
    rows = [{"case": "moons", "steps_per_epoch": 16, "dynamic_ms": 6.0, "compiled_ms": 1.5,
             "compile_s": 0.3, "breakeven": 0.3e3 / 4.5}]
    from nn.training import AUTO_STEPS_PER_TRACE

    text = batched.breakeven_report(rows)
    assert f">= {AUTO_STEPS_PER_TRACE} steps per trace" in text
    assert "| moons | 16 | 6.00 | 1.50 | 0.25 | 0.300 | 50 | 67 |" in text


def test_batch_sizes_compare_our_step_with_hand_written_numpy():
    """The rows of issue 22: our batched step beside the floor and NumPy, same numbers."""
    res = batched.run_batch_sizes((16, 128), n_rounds=1, target=0.002)
    assert list(res["sizes"]) == ["16", "128"]
    for entry in res["sizes"].values():
        eng = entry["engines"]
        assert list(eng) == list(batched.BATCH_ENGINES)
        for e in eng.values():
            assert e["max_rel_diff_vs_numpy"] < 1e-12  # the same loss and gradients
            assert e["us_best"] > 0 and e["x_numpy"]["min"] <= e["x_numpy"]["max"]
        assert eng["numpy batched"]["x_numpy"]["best"] == 1.0
    assert len(res["load_before"]) == 3
    text = batched.batch_report(res)
    assert text.count("| chainrule nn batched |") == 2 and "| 128 | numpy batched |" in text
    assert "load average" in text and "interleaved rounds" in text
    for page in (suite.report({"machine": suite.machine(), "batched": res}),
                 speed_page.section({"machine": suite.machine(), "batched": res})):
        assert "W-mlp's training step by batch size" in page


def test_batch_report_states_the_goals():
    def stats(best: float) -> dict[str, float]:
        return {"best": best, "min": best * 0.9, "median": best, "max": best * 1.1}

    def sizes(x_floor: float, x_numpy: float) -> dict[str, object]:
        return {"engines": {"chainrule nn batched": {
            "us_best": 150.0, "x_floor": stats(x_floor), "x_numpy": stats(x_numpy),
            "max_rel_diff_vs_numpy": 2e-16}}}

    res = {"load_before": [1.5, 1.0, 1.0], "load_after": [2.0, 1.0, 1.0], "rounds": 7,
           "sizes": {"64": sizes(0.04, 3.1), "1024": sizes(0.006, 1.9)}}
    text = batched.batch_report(res)
    assert ("| 64 | chainrule nn batched | 150 | 0.040x [0.036–0.044] | 3.10x [2.79–3.41] "
            "| 2e-16 | ≤ 0.1x float floor: met |") in text
    assert "| 1,024 | chainrule nn batched | 150 | 0.006x [0.005–0.007] | 1.90x" in text
    assert "≤ 1.5x numpy batched: not met" in text
    assert "load average 1.5 before, 2.0 after" in text


def test_merge_keeps_the_other_workloads(tmp_path):
    path = tmp_path / "latest.json"
    old = {"machine": {"date": "d0"}, "chain": {"x": 1}, "batched": {"old": True}}
    path.write_text(json.dumps(old))
    out = suite.merge(str(path), {"machine": {"date": "d1"}, "batched": {"new": True}})
    assert out["chain"] == {"x": 1} and out["batched"] == {"new": True}
    assert out["machine"] == {"date": "d1"}
    assert out["merged"] == {"chain": "d0", "batched": "d1"}
    out["machine"] = suite.machine()
    del out["chain"], out["batched"]
    assert "Workloads by run: chain (d0); batched (d1)." in speed_page.section(out)
    with pytest.raises(SystemExit, match="cannot read"):
        suite.merge(str(tmp_path / "missing.json"), out)


def test_statement_profile_times_every_emitted_statement():
    res = batched.statement_profile(16, calls=2)
    stmts = res["statements"]
    assert len(stmts) > 30 and all(r["us"] >= 0.0 for r in stmts)
    assert any("@" in r["statement"] for r in stmts)
    kinds = res["kinds"]
    assert sum(k["statements"] for k in kinds.values()) == len(stmts)
    labels = {label for label, _ in batched.STATEMENT_KINDS} | {"slices, views, allocations"}
    assert set(kinds) <= labels and {"matrix products", "error bounds"} <= set(kinds)
    assert all(res["us"][k] > 0 for k in ("step", "array step call", "program"))
    text = batched.statement_report(res, top=3)
    assert "W-mlp's batched step at batch 16:" in text and "| matrix products | 8 |" in text
    assert text.count("| `") == 3
