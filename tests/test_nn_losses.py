"""nn losses: reductions, batches, scalars and the errors they raise."""

from __future__ import annotations

import math

import pytest

import autograd
import nn
from autograd import Value


def test_reduction_sum_is_n_times_mean():
    p = [Value(0.5), Value(-1.0), Value(2.0)]
    t = [0.0, 1.0, 1.5]
    for fn in (nn.mse_loss, nn.l1_loss):
        mean, total = fn(p, t), fn(p, t, reduction="sum")
        assert math.isclose(total.data, 3 * mean.data)
        assert total.label == "loss"
        g_mean = autograd.grad(mean, p)
        g_sum = autograd.grad(total, p)
        assert all(math.isclose(b.data, 3 * a.data) for a, b in zip(g_mean, g_sum))


def test_scalars_are_accepted():
    x = Value(3.0)
    loss = nn.mse_loss(x, 1.0)
    loss.backward()
    assert loss.data == 4.0 and x.grad == 4.0
    assert nn.hinge_loss(Value(0.25), 1).data == 0.75


def test_cross_entropy_batch_is_the_mean_of_samples():
    logits = [[Value(1.0), Value(2.0), Value(0.5)], [Value(-1.0), Value(0.0), Value(3.0)]]
    targets = [0, 2]
    batch = nn.cross_entropy(logits, targets)
    each = [nn.cross_entropy(z, t).data for z, t in zip(logits, targets)]
    assert math.isclose(batch.data, sum(each) / 2)
    assert math.isclose(nn.cross_entropy(logits, targets, reduction="sum").data, sum(each))
    expected = math.log(sum(math.exp(v) for v in (1.0, 2.0, 0.5))) - 1.0
    assert math.isclose(each[0], expected)


def test_l2_penalty():
    ps = [Value(1.0), Value(-2.0)]
    pen = nn.l2_penalty(ps, 0.5)
    pen.backward()
    assert pen.data == 2.5 and [p.grad for p in ps] == [1.0, -2.0]


def test_loss_errors_name_the_function_operand_and_fix():
    p = [Value(1.0), Value(2.0)]
    with pytest.raises(ValueError, match="mse_loss: input has 2 elements but target has 3"):
        nn.mse_loss(p, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="l1_loss: input is empty"):
        nn.l1_loss([], [])
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        nn.mse_loss(p, [1.0, 2.0], reduction="none")
    with pytest.raises(TypeError, match=r"mse_loss: target\[1\] must be a Value or a real"):
        nn.mse_loss(p, [1.0, "2"])
    with pytest.raises(ValueError, match=r"hinge_loss: target\[0\] = 0.*2 \* y - 1"):
        nn.hinge_loss(p, [0, 1])
    with pytest.raises(ValueError, match=r"target\[1\] = 2 is not in \[0, 1\]"):
        nn.binary_cross_entropy_with_logits(p, [1, 2])
    with pytest.raises(ValueError, match="target 3 is out of range for 2 classes"):
        nn.cross_entropy(p, 3)
    with pytest.raises(TypeError, match="target must be a class index"):
        nn.cross_entropy(p, True)
    with pytest.raises(ValueError, match="2 samples of logits but 1 targets"):
        nn.cross_entropy([p, p], [0])
    with pytest.raises(TypeError, match="needs a list of class indices"):
        nn.cross_entropy([p, p], 0)
    with pytest.raises(ValueError, match="l2_penalty: params is empty"):
        nn.l2_penalty([])
    with pytest.raises(TypeError, match="alpha must be a real number"):
        nn.l2_penalty(p, "big")  # type: ignore[arg-type]
