"""Anomaly mode: the first NaN/inf, forward or backward, named with its creation site."""

from __future__ import annotations

import inspect
import math
import threading

import pytest
from hypothesis import given

import autograd
from autograd import AnomalyError, Value, detect_anomaly
from autograd.testing import Expression, expressions

HERE = __file__


def _line_of(marker: str) -> int:
    """The line number in this file of the line containing ``marker``."""
    lines = inspect.getsource(inspect.getmodule(_line_of)).splitlines()  # type: ignore[arg-type]
    return next(i + 1 for i, line in enumerate(lines) if marker in line and "_line_of" not in line)


def test_forward_nan_raises_naming_op_inputs_label_and_line() -> None:
    x = Value(-2.0, label="x")
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        y = x * 0.5
        y.label = "half"
        y.log()  # FORWARD-NAN
    err = info.value
    assert (err.phase, err.op, err.operands) == ("forward", "log", (-1.0,))
    assert math.isnan(err.value)
    assert err.filename == HERE and err.lineno == _line_of("# FORWARD-NAN")
    msg = str(err)
    assert "forward of node (log, input half=-1.0)" in msg
    assert f"{HERE}:{err.lineno}" in msg
    assert "produced nan" in msg and "Fix:" in msg


def test_forward_inf_names_the_op_and_labelled_inputs() -> None:
    a = Value(1000.0, label="a")
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"node \(exp, input a=1000.0\)"):
        a.exp()
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"\(div, inputs 1.0, 0.0\)"):
        Value(1.0) / Value(0.0)


def test_backward_inf_names_the_node_and_its_creation_line() -> None:
    with detect_anomaly():
        x = Value(0.0, label="x")
        r = x.sqrt()  # BACKWARD-SITE
        r.label = "root"
        loss = r * 3 + x
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    err = info.value
    assert (err.phase, err.op, err.label, err.operands) == ("backward", "sqrt", "root", (0.0,))
    assert err.lineno == _line_of("# BACKWARD-SITE") and err.filename == HERE
    assert "local derivative inf times incoming gradient 3.0" in str(err)
    assert "node 'root' (sqrt, input x=0.0)" in str(err)


def test_backward_nan_from_zero_times_inf_is_caught_at_the_first_node() -> None:
    with detect_anomaly():
        x = Value(0.0)
        y = x.sqrt() * 0.0  # 0 * inf = nan in sqrt's backward
        with pytest.raises(AnomalyError, match=r"backward of node \(sqrt.*produced nan"):
            y.backward()


def test_nodes_created_outside_the_block_have_no_site() -> None:
    x = Value(0.0)
    r = x.sqrt()
    with detect_anomaly(), pytest.raises(AnomalyError, match="created outside detect_anomaly"):
        r.backward()


def test_non_finite_seed_is_an_anomaly() -> None:
    with detect_anomaly(), pytest.raises(AnomalyError, match="seeded with nan"):
        (Value(1.0) * 2).backward(math.nan)


def _nothing_is_checked() -> None:
    """Outside anomaly mode a nan forward and an inf backward are plain IEEE results."""
    assert not autograd.is_anomaly_enabled()
    y = Value(-1.0).log()
    assert math.isnan(y.data)
    x = Value(0.0)
    (x.sqrt() * 3.0).backward()  # sqrt's local derivative at 0 is inf
    assert x.grad == math.inf


def test_outside_the_block_nothing_is_checked() -> None:
    with detect_anomaly():
        pass
    _nothing_is_checked()
    with pytest.raises(AnomalyError), detect_anomaly():
        Value(-1.0).log()
    _nothing_is_checked()  # restored after an error too
    x = Value(0.0)
    with pytest.raises(AnomalyError), detect_anomaly():
        (x.sqrt() * 3.0).backward()
    _nothing_is_checked()  # and after an error in backward


def test_blocks_nest() -> None:
    with detect_anomaly():
        with detect_anomaly():
            assert autograd.is_anomaly_enabled()
        assert autograd.is_anomaly_enabled()
        with pytest.raises(AnomalyError):
            Value(-1.0).sqrt()  # the outer block still checks
    _nothing_is_checked()


def test_other_threads_are_not_affected() -> None:
    results: list[float] = []
    started = threading.Event()
    finish = threading.Event()

    def other() -> None:
        started.wait()
        results.append(Value(-1.0).log().data)  # no anomaly mode in this thread
        finish.set()

    t = threading.Thread(target=other)
    t.start()
    with detect_anomaly():
        started.set()
        finish.wait(timeout=60)
    t.join()
    assert len(results) == 1 and math.isnan(results[0])


def test_no_grad_inside_anomaly_mode_still_checks_forward() -> None:
    with detect_anomaly(), autograd.no_grad(), pytest.raises(AnomalyError, match="log"):
        Value(0.0).log()


def test_scopes_and_sites_coexist() -> None:
    with detect_anomaly(), autograd.scope("layer"):
        y = Value(2.0) * 3
    assert y.scope == "layer"


@given(expressions([op for op in autograd.iter_ops() if op.builtin], max_steps=6))
def test_checked_backward_gives_the_same_gradients_as_backward(expr: Expression) -> None:
    xs = [Value(v) for v in expr.inputs]
    out = expr(*xs)
    out.backward()
    plain = [x.grad for x in xs]
    ys = [Value(v) for v in expr.inputs]
    with detect_anomaly():
        out2 = expr(*ys)
        out2.backward()
        out2.backward()  # leaves accumulate, interior nodes are overwritten
    # a leaf adds each contribution to .grad as it arrives, so where contributions
    # cancel (-1 + exp(x) / exp(x)), the second pass may round differently by an ulp
    assert [y.grad for y in ys] == pytest.approx([2 * g for g in plain], rel=1e-12, abs=1e-12)
    assert out2.grad == 1.0


def test_checked_backward_on_a_leaf_accumulates() -> None:
    x = Value(1.0)
    with detect_anomaly():
        x.backward()
        x.backward(2.0)
    assert x.grad == 3.0


def test_gradcheck_probes_are_not_anomalies() -> None:
    # finite differences step below 0 where sqrt is nan: expected, not an anomaly
    with detect_anomaly():
        result = autograd.gradcheck(lambda x: x.sqrt(), [0.0])
        assert result.passed
        assert autograd.gradgradcheck(lambda x: (x * x).sqrt(), [1e-3]).passed
        with pytest.raises(AnomalyError):  # still on afterwards
            Value(-1.0).sqrt()


_OPERATORS = {("+", 2): "__add__", ("-", 2): "__sub__", ("*", 2): "__mul__",
              ("/", 2): "__truediv__", ("**", 2): "__pow__", ("-", 1): "__neg__"}

NON_FINITE_SPECIALS = [
    (op, sp) for op in autograd.iter_ops() if op.builtin
    for sp in op.specials if not math.isfinite(sp.result)
]


def _call_as_users_do(op: autograd.Op, operands: tuple[float, ...]) -> Value:
    """The op through its public spelling: operator, method, or function."""
    first, rest = Value(operands[0]), operands[1:]
    if op.api == "operator":
        return getattr(first, _OPERATORS[(op.symbol, op.arity)])(*rest)
    if op.api == "method":
        return getattr(first, op.name)(*rest)
    return autograd.apply(op, first, *rest)


@pytest.mark.parametrize(("op", "special"), NON_FINITE_SPECIALS,
                         ids=lambda v: getattr(v, "name", ""))
def test_every_non_finite_special_of_the_table_is_caught_in_forward(
    op: autograd.Op, special: autograd.Special
) -> None:
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        _call_as_users_do(op, special.at)
    assert info.value.op == op.name and info.value.phase == "forward"
    assert info.value.filename == HERE
    assert f"({op.name}, input" in str(info.value)


def test_make_node_with_a_scope_keeps_the_creation_site() -> None:
    x = Value(1.0)
    with detect_anomaly():
        node = autograd.make_node(1.0, autograd.get_op("mul"), [x], [math.inf],
                                  operands=(x, math.inf), scope="layer 1/neuron 1")
        assert node.scope == "layer 1/neuron 1"
        with pytest.raises(AnomalyError) as info:
            node.backward()
    assert info.value.filename == __file__


def test_is_anomaly_enabled_follows_the_block_and_the_thread() -> None:
    from autograd.anomaly import suspend_anomaly

    seen: list[bool] = []
    assert not autograd.is_anomaly_enabled()
    with detect_anomaly():
        assert autograd.is_anomaly_enabled()
        with suspend_anomaly():  # gradcheck's probes
            assert not autograd.is_anomaly_enabled()
        assert autograd.is_anomaly_enabled()
        t = threading.Thread(target=lambda: seen.append(autograd.is_anomaly_enabled()))
        t.start()
        t.join()
    assert seen == [False] and not autograd.is_anomaly_enabled()
