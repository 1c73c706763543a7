"""``autograd.softmax``: k outputs over one shared logsumexp node (k + 1 nodes),
equal bit for bit to the elementwise graph ``exp(x_i - logsumexp(x))`` in values,
gradients and second derivatives, and to finite differences."""

from __future__ import annotations

import math
import random

import pytest

import autograd
from autograd import Value
from tests.helpers import bits


def _elementwise(xs: list[Value]) -> list[Value]:
    lse = autograd.logsumexp(xs)
    return [(x - lse).exp() for x in xs]


def _weighted(ps: list[Value], ws: list[float]) -> Value:
    return autograd.sum([p * w for p, w in zip(ps, ws)])


@pytest.mark.parametrize("seed", range(20))
def test_values_and_gradients_equal_the_elementwise_graph_exactly(seed: int) -> None:
    rng = random.Random(seed)
    k = rng.randint(1, 9)
    data = [rng.uniform(-5.0, 5.0) for _ in range(k)]
    ws = [rng.uniform(-2.0, 2.0) for _ in range(k)]
    xs, ys = [Value(d) for d in data], [Value(d) for d in data]
    ps, qs = autograd.softmax(xs), _elementwise(ys)
    assert [p.data for p in ps] == [q.data for q in qs]
    _weighted(ps, ws).backward()
    _weighted(qs, ws).backward()
    assert [x.grad for x in xs] == [y.grad for y in ys]


def test_k_outputs_are_k_plus_one_nodes_sharing_one_logsumexp() -> None:
    xs = [Value(float(i)) for i in range(5)]
    ps = autograd.softmax(xs)
    lse = ps[0].parents[1]
    assert lse.op == "logsumexp" and lse.parents == tuple(xs)
    for x, p in zip(xs, ps):
        assert p.op == "softmax_out" and p.parents == (x, lse)


def test_gradients_match_finite_differences_and_the_closed_form() -> None:
    data, ws = [0.3, -1.2, 2.0, 0.7], [1.5, -0.5, 0.25, 2.0]
    xs = [Value(d) for d in data]
    ps = autograd.softmax(xs)
    _weighted(ps, ws).backward()
    y = [p.data for p in ps]
    gy = math.fsum(w * v for w, v in zip(ws, y))
    h = 1e-6
    for j, x in enumerate(xs):
        assert x.grad == pytest.approx(y[j] * (ws[j] - gy), rel=1e-12)

        def f(d: float, j: int = j) -> float:
            z = list(data)
            z[j] += d
            e = [math.exp(v - max(z)) for v in z]
            return math.fsum(w * v / math.fsum(e) for w, v in zip(ws, e))

        assert x.grad == pytest.approx((f(h) - f(-h)) / (2 * h), rel=1e-6, abs=1e-9)


def test_second_derivatives_equal_the_elementwise_graph() -> None:
    data = [0.5, -0.25, 1.0]
    xs, ys = [Value(d) for d in data], [Value(d) for d in data]
    ps, qs = autograd.softmax(xs), _elementwise(ys)
    gp = autograd.grad(ps[0] * ps[1], xs, create_graph=True)
    gq = autograd.grad(qs[0] * qs[1], ys, create_graph=True)
    assert [g.data for g in gp] == [g.data for g in gq]
    hp = autograd.grad(autograd.sum(gp), xs)
    hq = autograd.grad(autograd.sum(gq), ys)
    assert [h.data for h in hp] == pytest.approx([h.data for h in hq], rel=1e-12)


def test_numbers_and_infinities() -> None:
    x = Value(1.0)
    ps = autograd.softmax([x, 1.0])
    assert [p.data for p in ps] == pytest.approx([0.5, 0.5])
    ps[0].backward()
    assert x.grad == pytest.approx(0.25)
    big = autograd.softmax([Value(1000.0), Value(1000.0)])
    assert [p.data for p in big] == pytest.approx([0.5, 0.5], rel=1e-12)
    assert [p.data for p in autograd.softmax([2.0, 2.0])] == pytest.approx([0.5, 0.5], rel=1e-12)


def test_empty_and_tuple_inputs() -> None:
    with pytest.raises(ValueError, match="softmax: got an empty sequence"):
        autograd.softmax([])
    xs = (Value(0.5), Value(-0.5))
    assert [p.data for p in autograd.softmax(xs)] == [p.data for p in autograd.softmax(list(xs))]
    d = autograd.dot((xs[0], 2.0), [xs[1], xs[0]])
    assert d.data == 0.5 * -0.5 + 2.0 * 0.5


_EDGES = [0.0, -0.0, 1.0, -2.5, 5e-324, 1e308, -1e308, 709.8, -745.2, math.inf, -math.inf,
          math.nan]


def _edge_lists() -> list[list[float]]:
    rng = random.Random(1)
    return ([[a, b] for a in _EDGES for b in _EDGES]
            + [[rng.choice(_EDGES) for _ in range(n)] for n in (3, 4, 5, 6) for _ in range(200)])


def test_small_groups_give_the_op_tables_floats_at_edge_values() -> None:
    """softmax of 2 to 6 Values (its logsumexp from the unrolled lines up to 5) against the
    table's float rules of logsumexp and softmax_out, and against the elementwise graph."""
    lse_op, smo = autograd.OPS["logsumexp"], autograd.OPS["softmax_out"]
    for xs in _edge_lists():
        ps = autograd.softmax([Value(x) for x in xs])
        (_, lse) = ps[0].parents
        want = lse_op.forward(*xs)
        assert lse.op == "logsumexp" and bits(lse.data) == bits(want)
        for p, x in zip(ps, xs):
            out = smo.forward(x, want)
            assert bits(p.data) == bits(out)
            assert [bits(d) for d in p.partials] == [bits(w) for w in smo.local(out, x, want)]
        qs = _elementwise([Value(x) for x in xs])
        assert [bits(p.data) for p in ps] == [bits(q.data) for q in qs]
