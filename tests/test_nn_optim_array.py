"""nn.optim's array forms (``step_array``, ``clip_grad_norm_array``) against the per-Value ones.

Both apply one formula (``nn.optim._*_update``); elementwise float64 arithmetic rounds as
Python floats do, so the parameters, the buffers and the state_dict agree exactly.
"""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value
from nn import optim

np = pytest.importorskip("numpy")

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.02}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99)}),
    ("AdamW", {"lr": 0.01}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("RMSprop", {"centered": True, "alpha": 0.9}),
]


def _pair(name, kw, start):
    a = [Value(v) for v in start]
    b = [Value(v) for v in start]
    return getattr(optim, name)(a, **kw), getattr(optim, name)(b, **kw)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                   enumerate(CONFIGS)])
@settings(max_examples=15)
@given(seed=st.integers(0, 2**16), steps=st.integers(1, 5))
def test_step_array_equals_step(name, kw, seed, steps):
    rng = random.Random(seed)
    start = [rng.uniform(-2, 2) for _ in range(9)]
    per_value, arrays = _pair(name, kw, start)
    data = np.array(start)
    for _ in range(steps):
        grads = [rng.gauss(0, 1) for _ in start]
        for p, g in zip(per_value.params, grads):
            p.grad = g
        per_value.step()
        arrays.step_array(data, np.array(grads))
    assert data.tolist() == [p.data for p in per_value.params]
    # the Values of the array optimizer were not touched
    assert [p.data for p in arrays.params] == start
    sa, sv = arrays.state_dict(), per_value.state_dict()
    assert sa == sv
    json.dumps(sa)  # buffers came back as plain floats
    assert all(type(x) is float for buf in sa["buffers"].values() if buf for x in buf)


@pytest.mark.parametrize("name,kw", CONFIGS[2:4] + CONFIGS[5:7] + CONFIGS[9:10])
def test_mixing_step_array_and_step_continues_the_same_run(name, kw):
    rng = random.Random(7)
    start = [rng.uniform(-1, 1) for _ in range(6)]
    ref, mixed = _pair(name, kw, start)
    data = np.array(start)
    for k in range(6):
        grads = [rng.gauss(0, 1) for _ in start]
        for p, g in zip(ref.params, grads):
            p.grad = g
        ref.step()
        if k % 2:  # per Value: the Values first take the array's numbers
            for p, v, g in zip(mixed.params, data.tolist(), grads):
                p.data, p.grad = v, g
            mixed.step()
            data = np.array([p.data for p in mixed.params])
        else:
            mixed.step_array(data, np.array(grads))
    assert data.tolist() == [p.data for p in ref.params]
    assert mixed.steps == ref.steps == 6


def test_step_array_refuses_bad_arrays():
    opt = optim.SGD([Value(1.0), Value(2.0)], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD.step_array: data must be a float64 NumPy "
                                        r"array of shape \(2,\).*got list"):
        opt.step_array([1.0, 2.0], np.zeros(2))
    with pytest.raises(TypeError, match=r"grad must be .*got ndarray \(3,\)"):
        opt.step_array(np.zeros(2), np.zeros(3))
    ro = np.zeros(2)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="data is read-only"):
        opt.step_array(ro, np.zeros(2))
    assert opt.steps == 0


def test_step_array_without_numpy_says_what_to_install(monkeypatch):
    import sys

    opt = optim.Adam([Value(1.0)])
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(ImportError, match=r"Adam.step_array: .*pip install 'chainrule\[fast\]'"):
        opt.step_array(None, None)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_array_equals_per_value(norm_type, max_norm):
    rng = random.Random(3)
    grads = [rng.gauss(0, 1) for _ in range(20)]
    ps = [Value(0.0) for _ in grads]
    for p, g in zip(ps, grads):
        p.grad = g
    arr = np.array(grads)
    assert optim.clip_grad_norm_array(arr, max_norm, norm_type) == \
        optim.clip_grad_norm_(ps, max_norm, norm_type)
    assert arr.tolist() == [p.grad for p in ps]
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_grad_norm_array(arr, -1.0)
