"""nn.optim against values computed from PyTorch's documented update formulas; the
hyper-parameters it refuses."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd import Value
from nn import optim

grads_st = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=1, max_size=6)
start_st = st.floats(-2.0, 2.0, allow_nan=False)


def _run(opt_factory, p0: float, grads: list[float]) -> list[float]:
    """Apply the optimizer with the given gradient sequence; return p after each step."""
    p = Value(p0)
    opt = opt_factory([p])
    out = []
    for g in grads:
        opt.zero_grad()
        p.grad = g
        opt.step()
        out.append(p.data)
    return out


def _close_all(a: list[float], b: list[float]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12), (a, b)


@given(start_st, grads_st, st.sampled_from([0.0, 0.9]), st.sampled_from([0.0, 0.1]),
       st.sampled_from([0.0, 0.01]), st.booleans())
def test_sgd_matches_torch_formula(p0, grads, momentum, dampening, wd, nesterov):
    if nesterov and (momentum == 0.0 or dampening != 0.0):
        with pytest.raises(ValueError, match="nesterov"):
            optim.SGD([Value(0.0)], lr=0.1, momentum=momentum, dampening=dampening,
                      nesterov=True)
        return
    lr = 0.05
    expected = []
    p, b = p0, None
    for t, g in enumerate(grads):
        g = g + wd * p
        if momentum:
            b = g if t == 0 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
        expected.append(p)
    got = _run(lambda ps: optim.SGD(ps, lr=lr, momentum=momentum, dampening=dampening,
                                    weight_decay=wd, nesterov=nesterov), p0, grads)
    _close_all(got, expected)


@given(start_st, grads_st, st.sampled_from([0.0, 0.1]), st.booleans())
def test_adam_and_adamw_match_torch_formula(p0, grads, wd, decoupled):
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-6
    p, m, v = p0, 0.0, 0.0
    expected = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (math.sqrt(v_hat) + eps)
        expected.append(p)
    cls = optim.AdamW if decoupled else optim.Adam
    got = _run(lambda ps: cls(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), p0, grads)
    for x, y in zip(got, expected):
        # torch divides by sqrt(v)/sqrt(1 - b2^t) + eps, the same up to rounding
        assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


def test_adamw_default_weight_decay_is_torchs():
    assert optim.AdamW([Value(1.0)]).weight_decay == 0.01
    assert optim.Adam([Value(1.0)]).weight_decay == 0.0


@given(start_st, grads_st, st.sampled_from([0.0, 0.5]), st.booleans(),
       st.sampled_from([0.0, 0.1]))
def test_rmsprop_matches_torch_formula(p0, grads, momentum, centered, wd):
    lr, alpha, eps = 0.01, 0.9, 1e-8
    p, v, ga, buf = p0, 0.0, 0.0, 0.0
    expected = []
    for g in grads:
        g = g + wd * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = math.sqrt(v - ga * ga) + eps
        else:
            avg = math.sqrt(v) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        expected.append(p)
    got = _run(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps, weight_decay=wd,
                                        momentum=momentum, centered=centered), p0, grads)
    for x, y in zip(got, expected):
        assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)


def _lrs(make_scheduler, steps: int) -> list[float]:
    """The learning rate after each of ``steps`` scheduler steps, from SGD with lr 0.5."""
    o = optim.SGD([Value(0.0)], lr=0.5)
    s = make_scheduler(o)
    seen = []
    for _ in range(steps):
        s.step()
        seen.append(o.lr)
        assert s.get_last_lr() == [o.lr]
    return seen


def test_schedulers_follow_their_formulas():
    lrs = _lrs(lambda o: optim.StepLR(o, step_size=3, gamma=0.5), 7)
    assert lrs == [0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125]
    lrs = _lrs(lambda o: optim.ExponentialLR(o, gamma=0.9), 4)
    assert all(math.isclose(lr, 0.5 * 0.9 ** k) for k, lr in enumerate(lrs, 1))
    seen = _lrs(lambda o: optim.CosineAnnealingLR(o, T_max=10, eta_min=0.1), 10)
    assert math.isclose(seen[4], 0.1 + 0.4 * (1 + math.cos(math.pi * 5 / 10)) / 2)
    assert math.isclose(seen[-1], 0.1)


def test_linear_lr_is_micrographs_decay():
    o = optim.SGD([Value(0.0)], lr=1.0)
    s = optim.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=100)
    for k in range(100):
        assert math.isclose(o.lr, 1.0 - 0.9 * k / 100, abs_tol=1e-12)
        s.step()
    s.step()
    assert math.isclose(o.lr, 0.1)
    o2 = optim.SGD([Value(0.0)], lr=0.3)
    optim.LinearLR(o2, start_factor=0.5, end_factor=1.0, total_iters=4)
    assert math.isclose(o2.lr, 0.15)  # like PyTorch: the start factor applies at once


def test_clip_grad_norm():
    ps = [Value(0.0) for _ in range(3)]
    for p, g in zip(ps, (3.0, 4.0, 0.0)):
        p.grad = g
    total = optim.clip_grad_norm_(ps, 1.0)
    assert math.isclose(total, 5.0)
    assert math.isclose(math.hypot(*(p.grad for p in ps)), 1.0, rel_tol=1e-5)
    assert math.isclose(ps[0].grad / ps[1].grad, 0.75)
    for p, g in zip(ps, (0.1, -0.2, 0.0)):
        p.grad = g
    assert math.isclose(optim.clip_grad_norm_(ps, 10.0), math.hypot(0.1, 0.2))
    assert ps[1].grad == -0.2  # below the limit: untouched
    assert optim.clip_grad_norm_(ps, 0.1, norm_type=math.inf) == 0.2
    assert math.isclose(ps[1].grad, -0.1, rel_tol=1e-5)


def test_zero_grad_and_model_parameters():
    m = nn.MLP(2, [3, 1], seed=0)
    o = optim.Adam(m.parameters(), lr=0.1)
    m([1.0, 1.0]).backward()
    o.zero_grad()
    assert all(p.grad == 0.0 for p in m.parameters())
    assert repr(o) == "Adam(lr=0.1, 13 parameters)"


def test_bad_arguments():
    with pytest.raises(ValueError, match="params is empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value"):
        optim.SGD([Value(1.0), 2.0], lr=0.1)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="iterable of Values"):
        optim.Adam(Value(1.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lr must be in"):
        optim.SGD([Value(1.0)], lr=-1.0)
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        optim.Adam([Value(1.0)], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match=r"expected an nn\.optim optimizer"):
        optim.StepLR("opt", 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="T_max"):
        optim.CosineAnnealingLR(optim.SGD([Value(1.0)], lr=0.1), T_max=0)
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_grad_norm_([Value(1.0)], -1.0)


# ---------------------------------------------------------------------------
# optimizers


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda ps: optim.Adam(ps, eps=0.0), r"eps must be in \(0"),
        (lambda ps: optim.AdamW(ps, eps=-1e-8), r"eps must be in \(0"),
        (lambda ps: optim.RMSprop(ps, eps=0.0), r"eps must be in \(0"),
        (lambda ps: optim.Adam(ps, lr=math.inf), "lr must be a finite number"),
        (lambda ps: optim.SGD(ps, lr=math.nan), "lr must be in"),
        (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), r"betas\[1\] must be in"),
        (lambda ps: optim.Adam(ps, betas=(math.nan, 0.9)), r"betas\[0\] must be in"),
        (lambda ps: optim.SGD(ps, momentum=math.inf), "momentum must be a finite"),
        (lambda ps: optim.SGD(ps, lr=10**400), "lr must be a finite number"),
    ],
)
def test_optimizer_hyperparameters_are_validated_at_construction(build: Any,
                                                                 message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(nn.MLP(2, [4, 1], seed=0).parameters())


def test_lr_assignment_is_checked_and_adam_never_divides_by_zero() -> None:
    m = nn.MLP(2, [4, 1], seed=0)
    opt = optim.Adam(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="Adam: lr"):
        opt.lr = -0.5
    X, Y = nn.data.make_moons(24, noise=0.1, seed=0)
    with pytest.raises(ValueError, match="fit: lr"):
        nn.fit(m, X, Y, epochs=1, optimizer=opt, lr=-1.0, progress=False)
    assert opt.lr == 0.1
    # zero gradients with the smallest eps: a finite step of 0, not ZeroDivisionError
    tiny = optim.Adam(m.parameters(), lr=0.1, eps=5e-324)
    m.zero_grad()
    before = m.state_dict()
    tiny.step()
    assert m.state_dict() == before
