"""nn against micrograd 0.1.0 itself: global-random seeding and ``init="micrograd"``.

micrograd (the dev extra) is run in-process on the same data; our MLP with
``init="micrograd"`` and ``seed=None`` must draw the same weights from Python's
global generator and give micrograd's demo losses step for step.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import nn
from autograd import Value

micrograd_engine = pytest.importorskip("micrograd.engine")
micrograd_nn = pytest.importorskip("micrograd.nn")


def _demo_run(value: Callable[[float], Any], model: Any, X: Sequence[Sequence[float]],
              y: Sequence[int], steps: int) -> list[tuple[float, float]]:
    """micrograd's demo training loop (max-margin loss + 1e-4 L2, SGD 1.0 -> 0.1).

    Written against whichever Value class and model it is given; returns
    (total loss, accuracy) per step.
    """
    out = []
    for k in range(steps):
        inputs = [[value(a) for a in row] for row in X]
        scores = [model(x) for x in inputs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        total = data_loss + reg_loss
        acc = sum((yi > 0) == (si.data > 0) for yi, si in zip(y, scores)) / len(y)
        model.zero_grad()
        total.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= lr * p.grad
        out.append((total.data, acc))
    return out


def _micrographs_demo(X: Sequence[Sequence[float]], y: Sequence[int],
                      steps: int) -> list[tuple[float, float]]:
    """micrograd's own demo: its MLP(2, [16, 16, 1]) drawn after ``random.seed(1337)``,
    trained ``steps`` steps by :func:`_demo_run`; then ``random.seed(1337)`` again, so
    that the next model drawn gets micrograd's weights."""
    random.seed(1337)
    theirs = _demo_run(micrograd_engine.Value, micrograd_nn.MLP(2, [16, 16, 1]), X, y, steps)
    random.seed(1337)
    return theirs


@pytest.fixture(scope="module")
def moons() -> tuple[list[list[float]], list[int]]:
    X, y = nn.data.make_moons(16, noise=0.1, seed=3)
    return X, [2 * t - 1 for t in y]


def test_seed_none_draws_from_the_global_generator() -> None:
    random.seed(1337)
    a = [p.data for p in nn.MLP(2, [4, 1], init="micrograd").parameters()]
    random.seed(1337)
    b = [p.data for p in nn.MLP(2, [4, 1], init="micrograd").parameters()]
    c = [p.data for p in nn.MLP(2, [4, 1], init="micrograd").parameters()]
    assert a == b
    assert c != b  # the global generator moved on
    random.seed(1337)
    expected = [random.uniform(-1, 1) for _ in range(2)]
    assert a[:2] == expected  # the first neuron's weights are the first two draws
    # He init (the default) is reproducible through random.seed too
    random.seed(7)
    he1 = [p.data for p in nn.MLP(2, [3, 1]).parameters()]
    random.seed(7)
    assert he1 == [p.data for p in nn.MLP(2, [3, 1]).parameters()]
    # an int seed stays independent of the global generator
    random.seed(1)
    s1 = [p.data for p in nn.MLP(2, [3, 1], seed=5).parameters()]
    random.seed(2)
    assert s1 == [p.data for p in nn.MLP(2, [3, 1], seed=5).parameters()]


def test_global_seed_gives_micrographs_weights() -> None:
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = nn.MLP(2, [16, 16, 1], init="micrograd")
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    random.seed(1337)
    n_theirs = micrograd_nn.Neuron(2)
    random.seed(1337)
    n_ours = nn.Neuron(2, init="micrograd")
    assert [p.data for p in n_ours.parameters()] == [p.data for p in n_theirs.parameters()]


@pytest.mark.parametrize("fused", [False, True])
def test_init_micrograd_reproduces_the_demo_losses_step_for_step(
    moons: tuple[list[list[float]], list[int]], fused: bool
) -> None:
    X, y = moons
    theirs = _micrographs_demo(X, y, 5)  # then random.seed(1337) again
    model = nn.MLP(2, [16, 16, 1], init="micrograd", fused=fused)
    ours = _demo_run(Value, model, X, y, 5)
    assert len(ours) == len(theirs) == 5
    for k, ((lo, ao), (lt, at)) in enumerate(zip(ours, theirs)):
        assert ao == at, f"step {k}: accuracy {ao} != micrograd's {at}"
        assert lo == pytest.approx(lt, rel=1e-12, abs=1e-14), f"step {k}: loss {lo} != {lt}"
    # the losses move: the comparison is not between two constant runs
    assert theirs[0][0] != theirs[-1][0]


def test_fit_with_init_micrograd_matches_the_hand_written_loop(
    moons: tuple[list[list[float]], list[int]],
) -> None:
    X, y = moons
    theirs = _micrographs_demo(X, y, 5)  # then random.seed(1337) again
    model = nn.MLP(2, [16, 16, 1], init="micrograd")
    opt = nn.optim.SGD(model.parameters(), lr=1.0)
    sched = nn.optim.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=5)
    hist = nn.fit(model, X, y, epochs=5, optimizer=opt, loss="hinge", l2=1e-4,
                  scheduler=sched, shuffle=False, progress=False)
    # fit logs the full objective per epoch; micrograd's lr at step k is 1 - 0.9 k / 5
    for k, (lo, (lt, _)) in enumerate(zip(hist.loss, theirs)):
        assert lo == pytest.approx(lt, rel=1e-9), f"epoch {k + 1}: {lo} != micrograd's {lt}"


def test_nn_micrograd_has_micrographs_defaults_and_numbers(
    moons: tuple[list[list[float]], list[int]],
) -> None:
    from nn import micrograd as mg

    X, y = moons
    theirs = _micrographs_demo(X, y, 3)  # then random.seed(1337) again
    model = mg.MLP(2, [16, 16, 1])
    assert not model.layers[0].neurons[0].fused  # micrograd's elementwise graph
    assert model.layers[-1].activation == "linear" and model.layers[0].activation == "relu"
    ours = _demo_run(Value, model, X, y, 3)
    # the same forward operations; gradients summed in another (equally valid) order,
    # as micrograd's own order follows its set of parents: equal to the last bits
    for (lo, ao), (lt, at) in zip(ours, theirs):
        assert ao == at and lo == pytest.approx(lt, rel=1e-12)

    random.seed(1337)
    n_theirs = micrograd_nn.Neuron(2)
    xs_t = [micrograd_engine.Value(1.0), micrograd_engine.Value(-2.0)]
    out_t = n_theirs(xs_t)
    out_t.backward()
    random.seed(1337)
    n_ours = mg.Neuron(2)
    xs_o = [Value(1.0), Value(-2.0)]
    out_o = n_ours(xs_o)
    out_o.backward()
    assert out_o.data == out_t.data
    assert [x.grad for x in xs_o] == [x.grad for x in xs_t]
    assert [p.grad for p in n_ours.parameters()] == [p.grad for p in n_theirs.parameters()]
    assert out_o.op == "relu" and len(out_o.parents) == 1  # relu(b + w1*x1 + w2*x2)
    lin = mg.Layer(2, 3, nonlin=False, seed=0)
    assert all(n.activation == "linear" for n in lin.neurons)
    assert mg.MLP(2, [3, 1], fused=True).layers[0].neurons[0].fused  # keywords still work
