"""Smoke test: the W-sweep benchmark runs both backends, checks them equal and reports a ratio."""

from __future__ import annotations

from benchmarks import sweep


def test_quick_run_reports_the_ratio() -> None:
    res = sweep.run(runs=4, epochs=1, rounds=1)
    assert res["runs"] == 4 and res["workers"] >= 1
    assert res["serial_s"] > 0 and res["processes_s"] > 0
    assert res["speedup"] == res["serial_s"] / res["processes_s"]
    text = sweep.report(res)
    assert "4-run seed sweep" in text and "processes (" in text and "speed-up" in text
