"""Smoke tests: the W-chain benchmark computes the same values and gradients everywhere."""

from __future__ import annotations

import math

import pytest

from benchmarks import chain


def test_floor_matches_chainrule():
    x, y = chain.chainrule_forward(200)
    ts = chain.floor_forward(200)
    assert y.data == pytest.approx(ts[-1], rel=1e-12)
    assert chain.chainrule_backward((x, y)) == pytest.approx(chain.floor_backward(ts), rel=1e-12)


@pytest.mark.skipif(not chain.have_micrograd(), reason="micrograd (dev extra) not installed")
def test_micrograd_matches_floor():
    state = chain.micrograd_forward(200)
    ts = chain.floor_forward(200)
    assert state[1].data == pytest.approx(ts[-1], rel=1e-12)
    assert chain.micrograd_backward(state) == pytest.approx(chain.floor_backward(ts), rel=1e-12)


def test_quick_run_reports_every_figure():
    res = chain.run(n=50, repeat=1, quick=True)
    for per in res["engines"].values():
        for mode in ("gc_default", "gc_off"):
            assert math.isfinite(per[mode]["forward_ns"])
            assert per[mode]["backward_ns"] > 0
    assert res["engines"]["chainrule"]["bytes_per_node"] > 0
    assert res["create_graph"]["create_graph_over_backward"] > 0
    text = chain.report(res)
    assert "float floor" in text and "Scaling" in text
