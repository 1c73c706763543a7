"""A differential fuzzer: ``compile(..., batch=True)`` against the dynamic engine.

Random per-sample programs (elementwise ops, kinks, ties, group ops,
micrograd-style neurons that become matrix products, two layers of them,
powers, and Python branches on Values that split the batch) run on random
batches of 1 to 1,000 samples drawn to hit kinks and ties (integers and
half-integers, repeated values) and IEEE specials (signed zeros, inf, nan).
Every per-sample loss and every parameter's gradient must agree with the
dynamic engine: the same special (nan, the same infinity, a zero's sign where
the loss is a zero), finite values within 1e-9 of the magnitude of the terms
summed (the batch sums in another order), never another side of a kink. The one
exception is a gradient whose finite per-sample terms overflow when their
magnitudes are summed: there the order of the sum decides between inf, -inf and
nan (docs/batched.md), so no kind is required of it.

``FUZZ_COUNTS`` collects programs, batched calls and mismatches for reports
(``python -m pytest tests/test_batched_fuzz.py -s`` prints them).
"""

from __future__ import annotations

import math
import os
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value

np = pytest.importorskip("numpy")

FUZZ_COUNTS = {"programs": 0, "batched calls": 0, "samples": 0, "mismatches": 0}

KINKY = (-1.5, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 1.5, 2.0)
SPECIAL = (math.inf, -math.inf, math.nan, -0.0, 1e308, -1e308, 5e-324)
BATCHES = (1, 2, 3, 7, 16, 64, 250, 1000)


def _param_value(rng: random.Random) -> float:
    return rng.choice(KINKY) if rng.random() < 0.5 else round(rng.uniform(-1.5, 1.5), 3)


class Program:
    """A random per-sample loss over ``d`` inputs and captured parameters (from a seed)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.seed = seed
        self.d = rng.randint(1, 4)
        self.params = [Value(_param_value(rng)) for _ in range(rng.randint(2, 6))]
        self.steps: list[tuple[Any, ...]] = []
        size = self.d + len(self.params)
        for _ in range(rng.randint(2, 9)):
            kind = rng.choice(("bin", "bin", "un", "un", "cmp", "group", "chain", "chain",
                               "pow", "guard"))
            pick = [rng.randrange(size) for _ in range(4)]
            if kind == "bin":
                self.steps.append(("bin", rng.choice("+-*/"), *pick[:2]))
            elif kind == "un":
                self.steps.append(("un", rng.choice(("relu", "abs", "tanh", "sigmoid",
                                                     "leaky_relu", "clamp", "exp")), pick[0]))
            elif kind == "cmp":
                self.steps.append(("cmp", rng.choice(("maximum", "minimum")), *pick[:2]))
            elif kind == "group":
                self.steps.append(("group", rng.choice(("sum", "mean", "dot", "logsumexp")),
                                   *pick))
            elif kind == "chain":  # neurons of one layer over the same inputs
                k = rng.randint(2, 3)
                ins = pick[:rng.randint(2, 4)]
                ws = [[Value(_param_value(rng)) for _ in ins] for _ in range(k)]
                bs = [Value(_param_value(rng)) for _ in range(k)]
                self.params += [w for row in ws for w in row] + bs
                self.steps.append(("chain", ins, ws, bs, rng.random() < 0.7))
                size += k - 1
            elif kind == "pow":
                self.steps.append(("pow", rng.choice((0.5, 2.0, 3.0, -1.0, 1.5)), pick[0]))
            else:
                self.steps.append(("guard", *pick[:3]))
            size += 1

    def __call__(self, x: Any) -> Value:
        pool: list[Any] = [*x[:self.d], *self.params[:len(self.params)]]
        for step in self.steps:
            kind = step[0]
            if kind == "bin":
                a, b = pool[step[2]], pool[step[3]]
                op = step[1]
                v = a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else (
                    a / b if isinstance(b, Value) or b != 0 else a * 1.0)
                pool.append(v if isinstance(v, Value) else Value(v) * self.params[0])
            elif kind == "un":
                a = pool[step[2]]
                a = a if isinstance(a, Value) else self.params[1] * a
                name = step[1]
                pool.append(a.clamp(-1.0, 1.0) if name == "clamp" else getattr(a, name)())
            elif kind == "cmp":
                pool.append(getattr(autograd, step[1])(pool[step[2]], pool[step[3]]))
            elif kind == "group":
                vals = [pool[i] for i in step[2:]]
                if step[1] == "dot":
                    pool.append(autograd.dot(vals[:2], vals[2:]))
                else:
                    pool.append(getattr(autograd, step[1])(vals))
            elif kind == "chain":
                _, ins, ws, bs, act = step
                xs = [pool[i] for i in ins]
                outs = [sum((w * xi for w, xi in zip(row, xs)), b) for row, b in zip(ws, bs)]
                pool += [o.relu() if act else o for o in outs]
            elif kind == "pow":
                a = pool[step[2]]
                a = a if isinstance(a, Value) else self.params[0] * a
                pool.append(a ** step[1])
            else:
                a, b, c = (pool[i] for i in step[1:4])
                a = a if isinstance(a, Value) else self.params[0] * a
                pool.append(a * c if a > b else a - c)  # a Python branch on a Value
        tail = [v for v in pool[-2:] if isinstance(v, Value)]
        return autograd.sum([*tail, self.params[-1] * 0.5])

    def batch(self, rng: random.Random, n: int, specials: bool) -> list[list[float]]:
        rows = []
        for _ in range(n):
            r = rng.random()
            if r < 0.4:
                row = [rng.choice(KINKY) for _ in range(self.d)]
            elif specials and r < 0.5:
                row = [rng.choice(SPECIAL + KINKY) for _ in range(self.d)]
            else:
                row = [round(rng.gauss(0.0, 1.0), rng.choice((1, 3, 17))) for _ in range(self.d)]
            if self.d > 1 and rng.random() < 0.2:
                row[1] = row[0]  # a tie
            rows.append(row)
        return rows


def _kind(v: float) -> Any:
    if v != v:
        return "nan"
    if math.isinf(v):
        return v
    return "finite"


def _agree(a: float, b: float, scale: float, order_decides: bool = False) -> bool:
    if _kind(a) != _kind(b):
        return order_decides  # the finite terms overflow: see the module's docstring
    if a != a or a == b:
        return a != a or a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b) or scale > 0
    return abs(a - b) <= 1e-9 * (1.0 + scale + abs(a) + abs(b))


def _reference(prog: Program, X: list[list[float]]) -> tuple[list[float], list[float],
                                                             list[float], list[bool]]:
    """The dynamic engine: per-sample losses, the summed gradients (in sample order), the
    sum of the per-sample gradients' magnitudes (the tolerance's scale) and, per gradient,
    whether its finite terms' magnitudes overflow when summed (the order decides)."""
    params = prog.params
    losses, grads, scale = [], [0.0] * len(params), [0.0] * len(params)
    finite = [0.0] * len(params)  # the finite terms' magnitudes (inf: the order decides)
    for x in X:
        loss = prog([Value(v) for v in x])  # the batch's trace sees Values too
        losses.append(loss.data)
        gs = autograd.grad(loss, params, allow_unused=True)
        for k, g in enumerate(gs):
            grads[k] += g.data
            scale[k] += abs(g.data) if g.data == g.data else 0.0
            finite[k] += abs(g.data) if math.isfinite(g.data) else 0.0
    return losses, grads, scale, [f == math.inf for f in finite]


def _check(prog: Program, X: list[list[float]]) -> list[str]:
    step = autograd.compile(prog, batch=True, reduction="sum")
    want_l, total, scale, order_decides = _reference(prog, X)
    got_l = step.losses(X).tolist()
    bad = [f"sample {i} {x}: loss {a!r} against {b!r}" for i, (x, a, b) in
           enumerate(zip(X, got_l, want_l)) if not _agree(a, b, 0.0)]
    for p in prog.params:
        p.grad = 0.0
    step(X)
    got_g = [p.grad for p in prog.params]
    for p in prog.params:
        p.grad = 0.0
    bad += [f"grad {k}: {a!r} against {b!r}" for k, (a, b) in enumerate(zip(got_g, total))
            if not _agree(a, b, scale[k], order_decides[k])]
    FUZZ_COUNTS["batched calls"] += 2
    FUZZ_COUNTS["samples"] += len(X)
    FUZZ_COUNTS["mismatches"] += bool(bad)
    return bad


EXAMPLES = int(os.environ.get("CHAINRULE_FUZZ_EXAMPLES", "0"))  # 0: the profile's count


@(settings(max_examples=EXAMPLES) if EXAMPLES else lambda f: f)
@given(st.integers(0, 2**32 - 1), st.sampled_from(BATCHES), st.booleans())
def test_batched_equals_the_dynamic_engine_on_random_programs(seed, n, specials):
    prog = Program(seed)
    FUZZ_COUNTS["programs"] += 1
    rng = random.Random(seed ^ 0x5EED)
    X = prog.batch(rng, n, specials)
    bad = _check(prog, X)
    assert not bad, f"program seed {seed}, batch {n}: " + "; ".join(bad[:4])


@pytest.mark.parametrize("seed", [129623314, 2993451709])
def test_a_gradient_whose_finite_terms_overflow_may_be_another_special(seed):
    # these programs' input columns hold -1e308, 1e308 and inf: summed in sample order a
    # gradient is inf (-1e308 + 1e308 first), in NumPy's pairwise order nan (the two
    # overflow to -inf and inf first); only such gradients are excused, and only their kind
    prog = Program(seed)
    X = prog.batch(random.Random(seed ^ 0x5EED), 250, True)
    assert not _check(prog, X)
    *_, order_decides = _reference(prog, X)
    assert any(order_decides) and not all(order_decides)
    assert not _agree(math.nan, math.inf, 1.0)  # otherwise a special must match
    assert not _agree(math.inf, -math.inf, math.inf)


def teardown_module() -> None:
    print("\nbatched fuzzer:", ", ".join(f"{k} {v:,}" for k, v in FUZZ_COUNTS.items()))
