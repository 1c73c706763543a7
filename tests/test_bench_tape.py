"""W-tape (benchmarks/tape.py): the generated graph, the index-tape peer and chainrule agree.

The generator is deterministic and covers every op kind; the tape, the dynamic
engine and the compiled path compute the same values and gradients (and the
check fails loudly when one does not); a quick run reports every figure, and
the suite and the speed page carry the row. No timing is asserted.
"""

from __future__ import annotations

import math

import pytest

from autograd import Value
from benchmarks import speed_page, suite, tape

MACHINE = {"processor": "p", "cpus": 2, "platform": "l", "implementation": "CPython",
           "python": "3", "date": "d"}


@pytest.fixture(scope="module")
def quick() -> dict:
    return tape.run(quick=True, n_ops=120, compile_sizes=(60, 120))


def test_the_graph_is_deterministic_and_covers_every_op():
    g = tape.make_graph(300, seed=3)
    assert g == tape.make_graph(300, seed=3)
    assert g.ops != tape.make_graph(300, seed=4).ops
    assert set(g.counts()) == set(tape.NAMES)
    assert len(g.inputs) == tape.N_INPUTS and g.slots > 300 + tape.N_INPUTS
    values = tape.Tape(g).values(g.inputs)
    assert all(math.isfinite(v) for v in values)
    # every log reads a positive value; the root is the closing sum of unconsumed results
    assert all(values[a] > 0 for code, _, a, _ in g.ops if code == tape.LOG)
    last = g.ops[-1]
    assert last[0] == tape.SUM and last[1] == g.root


def test_the_engines_agree_on_values_and_gradients():
    g = tape.make_graph(400, seed=1)
    chk = tape.check(g)
    assert chk["max_rel_err"] <= tape.TOLERANCE
    assert chk["compiled_bit_identical_to_dynamic"] is True
    loss, grads = tape.Tape(g).loss_grads(g.inputs)
    dloss, dgrads = tape.Dynamic(g).loss_grads(g.inputs)
    assert dloss == pytest.approx(loss, rel=1e-12)
    assert dgrads == pytest.approx(grads, rel=1e-9, abs=1e-12)
    assert any(abs(x) > 1e-3 for x in grads)  # the inputs matter to the loss


def test_the_tape_matches_a_finite_difference():
    g = tape.make_graph(150, seed=2)
    t = tape.Tape(g)
    _, grads = t.loss_grads(g.inputs)
    i = max(range(len(grads)), key=lambda j: abs(grads[j]))
    h = 1e-6
    up, down = list(g.inputs), list(g.inputs)
    up[i] += h
    down[i] -= h
    fd = (t.loss_grads(up)[0] - t.loss_grads(down)[0]) / (2 * h)
    assert fd == pytest.approx(grads[i], rel=1e-5)


def test_a_disagreement_fails_loudly(monkeypatch):
    g = tape.make_graph(100)
    real = tape.tape_backward

    def off_by_a_bit(ops, v, g_):
        real(ops, v, g_)
        g_[:] = [x * (1.0 + 1e-6) for x in g_]

    monkeypatch.setattr(tape, "tape_backward", off_by_a_bit)
    with pytest.raises(RuntimeError, match=r"disagree beyond 1e-09.*grads_chainrule dynamic"):
        tape.check(g)


def test_make_graph_refuses_an_empty_graph():
    with pytest.raises(ValueError, match="n_ops"):
        tape.make_graph(0)


def test_replay_builds_one_node_per_op_and_softmax_as_the_engine_does():
    g = tape.make_graph(50)
    slots = tape.replay(g.ops, [Value(x) for x in g.inputs])
    assert len(slots) == g.slots
    assert slots[-1].op == "sum"


def test_a_quick_run_reports_every_figure(quick):
    res = quick
    assert res["check"]["max_rel_err"] <= tape.TOLERANCE
    for mode in ("default", "off"):
        for name in (tape.TAPE, tape.DYNAMIC, tape.COMPILED):
            e = res["engines"][mode][name]
            assert e["us_best"] > 0 and e["us_median"] >= e["us_best"]
            r = e["x_tape"]
            assert r["min"] <= r["median"] <= r["max"]
    rows = {(r["op"], r["k"]) for r in res["micro"]}
    assert rows == {(op, k) for op in tape.MICRO_OPS for k in (2, 4, 8)}
    for r in res["micro"]:
        assert r["x_adds_f"]["best"] > 0 and r["x_composite_fb"]["best"] > 0
        assert r["bytes_per_result"] > 0
        assert r["nodes_per_result"] >= 1
    assert res["memory"]["bytes_per_node"] > 0 and res["memory"]["nodes"] > 120
    assert res["create_graph"]["create_graph_over_backward"]["best"] > 0
    assert [r["ops"] for r in res["compile"]] == [60, 120]
    assert all(r["trace_nodes"] > r["ops"] / 2 for r in res["compile"])
    text = tape.report(res)
    for needle in ("Dynamic / tape", "Compiled / tape", "Bytes per node", "create_graph",
                   "Compile time", "logsumexp", tape.TAPE):
        assert needle in text


def test_the_suite_and_the_speed_page_carry_the_row(quick, tmp_path):
    res = {"machine": MACHINE, "tape": quick}
    assert "W-tape" in suite.report(res)
    path = tmp_path / "speed.md"
    path.write_text(f"intro\n{speed_page.START}\nSTALE\n{speed_page.END}\nrest\n",
                    encoding="utf-8")
    speed_page.update(res, str(path))
    text = path.read_text(encoding="utf-8")
    assert "STALE" not in text and "W-tape" in text and "Dynamic / tape" in text
