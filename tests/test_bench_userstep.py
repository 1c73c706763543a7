"""W-user (benchmarks/userstep.py): the step users write computes the same numbers everywhere.

The dynamic user step against the float floor, micrograd running the same code
against it, the compiled user step against the dynamic one bit for bit (also
over training steps on changing minibatches), and the suite/speed-page plumbing.
No timing is asserted.
"""

from __future__ import annotations

import pytest

from benchmarks import speed_page, suite, userstep
from benchmarks import workloads as W


def _spec(n: int = 12) -> W.Spec:
    spec = W.w_mlp()
    return W.Spec(f"W-user-{n}", spec.nin, spec.sizes, spec.loss, spec.X[:n], spec.Y[:n])


def _minibatches(size: int) -> list[tuple[list[list[float]], list[float]]]:
    spec = W.w_mlp()
    return [(spec.X[i : i + size], spec.Y[i : i + size]) for i in range(0, len(spec.X), size)]


def test_dynamic_user_step_matches_the_floor():
    spec = _spec()
    flat = spec.init_weights(4)
    dyn = userstep.UserDynamic(spec, flat)
    floor = W.Floor(spec, flat)
    assert userstep.max_rel_diff(dyn.loss_grads(spec.X, spec.Y),
                                 floor.loss_grads(spec.X, spec.Y)) < 1e-12
    for _ in range(3):  # the SGD loop moves the weights as the floor's does
        got, want = dyn.step(spec.X, spec.Y), floor.step(spec.X, spec.Y)
        assert got == pytest.approx(want, rel=1e-12)
    assert [p.data for p in dyn.model.parameters()] == pytest.approx(floor.params(), rel=1e-12)


def test_the_user_step_builds_one_node_per_neuron_and_per_user_op():
    n = 5
    spec = _spec(n)
    dyn = userstep.UserDynamic(spec, spec.init_weights(0))
    inputs = userstep.make_inputs(userstep.autograd.Value, spec.X)
    total = userstep.user_loss(dyn.model, inputs, spec.Y)
    nodes = userstep.autograd.backward_order(total)
    # per sample: 33 fused neurons, then -y*s, 1+..., relu; the builtin sum adds one node per
    # loss, then * (1/n); the penalty: 337 products and 337 additions, * 1e-4; the final +
    assert len(nodes) == n * (33 + 3) + n + 1 + 337 * 2 + 1 + 1
    ops = {v.op for v in nodes}
    assert {"neuron_relu", "neuron_linear", "mul", "add", "relu"} <= ops


def test_compiled_user_step_is_bit_identical_to_the_dynamic_one():
    spec = _spec()
    flat = spec.init_weights(1)
    dyn = userstep.UserDynamic(spec, flat)
    comp = userstep.UserCompiled(spec, flat)
    assert comp.loss_grads(spec.X, spec.Y) == dyn.loss_grads(spec.X, spec.Y)
    assert comp.loss.traces == 1


def test_compiled_user_step_trains_like_the_dynamic_one_on_changing_batches():
    # the batch is an argument: every minibatch reaches the compiled code
    flat = W.w_mlp().init_weights(2)
    spec = _spec()
    dyn = userstep.UserDynamic(spec, flat)
    comp = userstep.UserCompiled(spec, flat)
    losses = []
    for X, Y in _minibatches(16) * 2:
        want = dyn.step(X, Y)
        got = comp.step(X, Y)
        assert got == want
        losses.append(got)
        assert [p.data for p in comp.model.parameters()] == [
            p.data for p in dyn.model.parameters()]
    assert len(set(losses)) == len(losses)  # the batches differ, so do the losses
    assert comp.loss.traces == 1  # same structure: traced once


def test_micrograd_runs_the_same_code_to_the_same_numbers():
    pytest.importorskip("micrograd", reason="micrograd (the dev extra) is not installed")
    spec = _spec(8)
    flat = spec.init_weights(3)
    mg = userstep.UserMicrograd(spec, flat)
    dyn = userstep.UserDynamic(spec, flat)
    assert userstep.max_rel_diff(mg.loss_grads(spec.X, spec.Y),
                                 dyn.loss_grads(spec.X, spec.Y)) < 1e-12
    assert mg.step(spec.X, spec.Y) == pytest.approx(dyn.step(spec.X, spec.Y), rel=1e-12)
    assert [p.data for p in mg.model.parameters()] == pytest.approx(
        [p.data for p in dyn.model.parameters()], rel=1e-12)


def test_run_checks_every_row_and_the_report_leads_the_suite():
    res = userstep.run(repeat=1, warmup=0, slow_repeat=1, passes=1, spec=_spec(8))
    names = list(res["engines"])
    assert names[0] == userstep.DYNAMIC and names[-1] == userstep.FLOOR
    assert userstep.COMPILED in names
    for e in res["engines"].values():
        assert e["max_rel_diff_vs_floor"] < 1e-12
        assert e["ms_gc_default"] > 0 and e["ms_gc_off"] > 0
    comp = res["engines"][userstep.COMPILED]
    assert comp["bit_identical_to_dynamic"] is True
    assert comp["trace_nodes"] > 8 * 33 and comp["compile_ms"] > 0
    text = suite.report({"machine": {"processor": "p", "cpus": 2, "platform": "l",
                                     "implementation": "CPython", "python": "3", "date": "d"},
                         "user": res})
    assert "W-user" in text.split("\n\n")[1]  # the first table after the preamble
    assert "bit-identical" in text and "compiled once in" in text
    assert "the float floor dynamic and" in text


def test_speed_page_leads_with_the_user_step(tmp_path):
    res = {"machine": {"processor": "p", "cpus": 2, "platform": "l", "implementation": "CPython",
                       "python": "3", "date": "d"},
           "user": userstep.run(repeat=1, warmup=0, slow_repeat=1, passes=1,
                                         spec=_spec(4))}
    path = tmp_path / "speed.md"
    path.write_text(f"intro\n{speed_page.START}\nSTALE-TEXT\n{speed_page.END}\nrest\n",
                    encoding="utf-8")
    speed_page.update(res, str(path))
    text = path.read_text(encoding="utf-8")
    assert "STALE-TEXT" not in text and text.endswith("rest\n")
    assert text.index("W-user (4 samples") < text.index("The compiled path")
    assert userstep.DYNAMIC in text and userstep.COMPILED in text


def test_breakdown_names_every_part():
    b = userstep.breakdown(repeat=1, spec=_spec(4))
    assert set(b["parts_ms"]) >= {"forward: scope tags", "forward: per-sample re-preparation",
                                  "backward: collect + sort", "backward: chain-rule loop"}
    assert b["graph_nodes"] == 4 * 36 + 4 + 1 + 337 * 2 + 2
    assert b["sum_of_parts_ms"] > 0 and "collector" in userstep.breakdown_report(b)
