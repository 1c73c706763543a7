"""backward's shortcuts on the user step: a node whose partials are all zero is skipped.

A relu neuron that is off has only zero partials, so it would add zeros to its
parents' gradients; backward skips it when its gradient is finite. These
tests pin down that nothing else changes: gradients equal those of the
elementwise (unfused) graph, a non-finite gradient still flows (0 * inf is
nan), and the one documented difference (a hand-set ``-0.0`` leaf gradient
keeps its sign).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value

nn = pytest.importorskip("nn")

_NEURON_RELU = autograd.get_op("neuron_relu")


def _dead_node(x: Value, w: Value, b: Value) -> Value:
    """A fused relu neuron that is off: out 0, every partial 0."""
    return autograd.make_node(0.0, _NEURON_RELU, [x, w, b], [0.0, 0.0, 0.0])


def test_skipped_node_gives_what_adding_its_zeros_gives() -> None:
    x, w, b = Value(2.0), Value(-3.0), Value(0.5)
    dead = _dead_node(x, w, b)
    live = x * w
    y = dead * 4.0 + live
    y.backward()
    assert (x.grad, w.grad, b.grad) == (-3.0, 2.0, 0.0)
    assert dead.grad == 4.0
    assert math.copysign(1.0, b.grad) == 1.0  # +0.0, as before


def test_interior_parent_reached_only_through_a_dead_node_gets_zero() -> None:
    a = Value(1.5)
    h = a * 2.0  # interior, consumed only by the dead node
    h.grad = 123.0  # left over from an earlier pass
    dead = _dead_node(h, Value(1.0), Value(0.0))
    (dead + 1.0).backward()
    assert h.grad == 0.0 and math.copysign(1.0, h.grad) == 1.0
    assert a.grad == 0.0


@pytest.mark.parametrize("seed", [math.inf, -math.inf, math.nan])
def test_a_non_finite_gradient_still_flows_through_zero_partials(seed: float) -> None:
    x, w, b = Value(2.0), Value(-3.0), Value(0.5)
    dead = _dead_node(x, w, b)
    dead.backward(seed)
    assert all(math.isnan(v.grad) for v in (x, w, b))  # 0 * inf is nan, as without the skip


def test_a_hand_set_negative_zero_leaf_gradient_keeps_its_sign() -> None:
    x, w, b = Value(2.0), Value(-3.0), Value(0.5)
    b.grad = -0.0
    _dead_node(x, w, b).backward()
    assert b.grad == 0.0 and math.copysign(1.0, b.grad) == -1.0  # the documented exception


@given(st.lists(st.floats(-3, 3), min_size=2, max_size=2),
       st.integers(0, 2**16))
def test_fused_relu_model_gradients_equal_the_elementwise_graphs(
        x: list[float], seed: int) -> None:
    fused = nn.MLP(2, [6, 5, 1], seed=seed)
    plain = nn.MLP(2, [6, 5, 1], seed=seed, fused=False)
    plain.load_state_dict(fused.state_dict())
    for m in (fused, plain):
        xs = [Value(v) for v in x]
        out = m(xs)
        assert isinstance(out, Value)
        (out * out).backward()
    for p, q in zip(fused.parameters(), plain.parameters()):
        assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-12)
