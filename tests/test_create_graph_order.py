"""create_graph adds each gradient contribution as it arrives, and higher derivatives
depend on that order.

``grad(create_graph=True)`` sums a node's contributions with one binary ``+`` each,
made when the contribution is. Summing them later instead (one n-ary node per
gradient once it is complete, ``((c0 + c1) + c2) + ...``) keeps every first-order
value, bit for bit, but the accumulation nodes are then made at other points of the
walk; the next backward visits nodes newest first, so it adds a shared node's
contributions in another order, and a second or third derivative can move by an ulp
(it did on about one random graph in ten). The bits below are the ones today's
order gives.
"""

from __future__ import annotations

import autograd
from autograd import Value
from tests.helpers import bits


def test_second_and_third_derivatives_keep_the_arrival_order_bits() -> None:
    x, y = Value(-0.07658001897724498), Value(0.8727068549985537)
    lse = autograd.logsumexp([x, x, y])
    f = autograd.sum([lse, x * lse])
    gx, gy = autograd.grad(f, [x, y], create_graph=True)
    s = autograd.sum([gx, gy])
    hx, hy = autograd.grad(s, [x, y], create_graph=True)
    assert [bits(v.data) for v in (gx, gy, hx, hy)] == [
        "ec244237f194fd3f", "4083c76d19a8e03f", "11c4503a23fbf63f", "dd775e8bb909e23f"]
    s.backward()  # the same second derivatives, by a plain backward of the gradient graph
    assert [bits(x.grad), bits(y.grad)] == ["11c4503a23fbf63f", "dd775e8bb909e23f"]
    x.grad = y.grad = 0.0
    autograd.sum([hx, hy]).backward()  # third derivatives
    assert [bits(x.grad), bits(y.grad)] == ["000000000000a03c", "000000000000a03c"]
