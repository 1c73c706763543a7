"""compile on the step users write (micrograd's demo loop against our API).

A Value made inside the traced function from data it closes over becomes a
constant of the compiled code: the trace warns once per source line, naming
it. Passing the batch as an argument is the pattern that works: each call may
bring a new batch, and training gives the dynamic engine's numbers bit for bit.
"""

from __future__ import annotations

import random
import warnings

import pytest

import autograd
from autograd import CompileWarning, Value

nn = pytest.importorskip("nn")


def _batches(seed: int, n_batches: int, size: int) -> list[tuple[list[list[float]], list[float]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n_batches):
        xs = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(size)]
        ys = [1.0 if x0 * x1 > 0 else -1.0 for x0, x1 in xs]
        out.append((xs, ys))
    return out


def _user_loss(model: object, xs: list[list[Value]], ys: list[Value]) -> Value:
    """micrograd's demo loss, as users write it: builtin sum, hinge, L2 over parameters."""
    scores = [model(x) for x in xs]  # type: ignore[operator]
    losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())  # type: ignore[attr-defined]
    return data_loss + reg_loss


def _train(compiled: bool) -> tuple[list[float], list[float]]:
    model = nn.MLP(2, [8, 8, 1], seed=0)
    params = model.parameters()

    def step_loss(xs: list[list[Value]], ys: list[Value]) -> Value:
        return _user_loss(model, xs, ys)

    step = autograd.compile(step_loss) if compiled else None
    losses = []
    for k, (xb, yb) in enumerate(_batches(1, 6, 10)):
        model.zero_grad()
        if step is not None:
            loss = step(xb, yb)  # the batch is an argument: a new one each call
        else:
            total = step_loss([[Value(v) for v in row] for row in xb], [Value(v) for v in yb])
            total.backward()
            loss = total.data
        losses.append(loss)
        lr = 1.0 - 0.9 * k / 6
        for p in params:
            p.data -= lr * p.grad
    return losses, [p.data for p in params]


def test_micrograd_style_step_compiled_trains_as_the_dynamic_one() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # the right pattern warns nothing
        compiled = _train(True)
    dynamic = _train(False)
    assert compiled == dynamic  # losses and every parameter, bit for bit
    assert len(set(compiled[0])) == len(compiled[0])  # each batch gave its own loss


def test_a_value_made_from_closed_over_data_warns_once_naming_the_line() -> None:
    w = Value(0.5)
    batch = [1.0, 2.0]

    def loss() -> Value:
        xs = [Value(x) for x in batch]  # the line the warning names
        return autograd.sum([w * x for x in xs])

    line = loss.__code__.co_firstlineno + 1
    step = autograd.compile(loss)
    with pytest.warns(CompileWarning) as rec:
        assert step() == 1.5
    assert len(rec) == 1  # two Values, one line: one warning
    msg = str(rec[0].message)
    assert f"{__file__}:{line}" in msg and "loss()" in msg
    assert "pass it as an argument" in msg
    assert (rec[0].filename, rec[0].lineno) == (__file__, line)
    batch[:] = [10.0, 20.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        assert step() == 1.5  # the constant: what the warning said; no second warning
        autograd.compile(loss)()  # another trace of the same line: still once


def test_a_made_value_the_outputs_do_not_read_is_not_reported() -> None:
    w = Value(2.0)

    def loss(x: Value) -> Value:
        Value(3.0)  # made, but not part of the loss
        return w * x

    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        assert autograd.compile(loss)(1.5) == 3.0
