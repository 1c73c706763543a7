"""autograd.compile(..., batch=True) takes the dynamic engine's side everywhere (issue 20, class 3).

Each test here failed before its fix:

* every op rendered to NumPy keeps the op table's IEEE-754 rules (no NumPy
  shortcut such as ``x ** 0.5`` computed as ``sqrt``): values and gradients
  bit for bit, signed zeros and nan included, on a grid of special values;
* ``autograd.sum``/``mean``/``dot`` over a sample's values are exactly
  rounded (``fsum``), so ties at ``maximum``/``minimum`` fall as in the
  dynamic engine;
* a matrix product keeps the sign of a zero (``1/(w0*x0 + w1*x1)`` at
  ``x = (-0, -0)`` is ``-inf``);
* a kink two layers deep: a pre-activation within rounding of a kink is
  recomputed exactly, so every relu takes the dynamic engine's side;
* the per-shape program cache is bounded, as plain ``compile``'s.
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

import autograd
from autograd import OPS, Value

np = pytest.importorskip("numpy")

SPECIALS = (-math.inf, -1e308, -2.0, -1.0, -0.5, -0.0, 0.0, 5e-324, 0.5, 1.0, 2.0, 3.0,
            1e308, math.inf, math.nan)


def same(a: float, b: float) -> bool:
    """Equal with the same sign (zeros included), both nan, or both finite and nonzero
    within 4 units in the last place (NumPy's exp, log, tanh... are not libm's)."""
    if a != a or b != b:
        return a != a and b != b
    if a == b:
        return math.copysign(1.0, a) == math.copysign(1.0, b)
    if a == 0.0 or b == 0.0 or math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= 4.0 * math.ulp(max(abs(a), abs(b)))


def batch_and_dynamic(fn, params, rows):
    """Per-sample losses and gradients, from the batched step (one row at a time) and
    from the dynamic engine. The trace (and its self-check) is on an ordinary first row,
    so that the specials run through the batched program, not the per-sample fallback."""
    rows = [[0.75] * len(rows[0]), *rows]
    step = autograd.compile(fn, batch=True, reduction="sum")
    got_l = step.losses(rows).tolist()
    want_l = [fn(r).data for r in rows]
    got_g, want_g = [], []
    for r in rows:
        for p in params:
            p.grad = 0.0
        step([r])
        got_g.append([p.grad for p in params])
        for p in params:
            p.grad = 0.0
        fn(r).backward()
        want_g.append([p.grad for p in params])
    return got_l, want_l, got_g, want_g


def mismatches(rows, got_l, want_l, got_g, want_g):
    bad = []
    rows = [[0.75] * len(rows[0]), *rows]
    for r, a, b, ga, gb in zip(rows, got_l, want_l, got_g, want_g):
        if not same(a, b) or not all(same(x, y) for x, y in zip(ga, gb)):
            bad.append((r, a, b, ga, gb))
    return bad


FIXED = [op for op in OPS.values() if op.builtin and op.arity > 0]


@pytest.mark.parametrize("op", FIXED, ids=lambda op: op.name)
def test_every_op_rendered_to_numpy_keeps_the_ieee_rules(op):
    n = op.arity - op.params
    consts = [lo for lo, _ in op.domain[n:]]
    ws = [Value(1.0) for _ in range(n)]

    def fn(x):
        return autograd.apply(op, *(w * xi for w, xi in zip(ws, x)), *consts)

    rows = [list(t) for t in itertools.product(SPECIALS, repeat=n)]
    bad = mismatches(rows, *batch_and_dynamic(fn, ws, rows))
    assert not bad, f"{op.name}: {len(bad)} of {len(rows)} differ, e.g. {bad[:3]}"


@pytest.mark.parametrize("e", SPECIALS)
def test_a_power_with_a_constant_exponent_keeps_the_ieee_rules(e):
    # NumPy computes x ** 0.5 as sqrt(x): -0.0 and nan at -inf, where pow gives 0.0 and inf
    w = Value(1.0)

    def fn(x):
        return (w * x[0]) ** e

    rows = [[v] for v in SPECIALS]
    bad = mismatches(rows, *batch_and_dynamic(fn, [w], rows))
    assert not bad, f"x ** {e}: {len(bad)} of {len(rows)} differ, e.g. {bad[:3]}"


@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp"])
def test_group_ops_are_exact_on_specials(name):
    ws = [Value(1.0) for _ in range(3)]
    f = getattr(autograd, name)

    def fn(x):
        return f([w * xi for w, xi in zip(ws, x)])

    rows = [list(t) for t in random.Random(0).choices(
        list(itertools.product(SPECIALS, repeat=3)), k=400)]
    bad = mismatches(rows, *batch_and_dynamic(fn, ws, rows))
    assert not bad, f"{name}: {len(bad)} of {len(rows)} differ, e.g. {bad[:3]}"


def test_dot_is_exact_on_specials():
    ws = [Value(1.0) for _ in range(2)]

    def fn(x):
        return autograd.dot([ws[0] * x[0], ws[1] * x[1]], [x[2], x[3]])

    rows = [list(t) for t in random.Random(1).choices(
        list(itertools.product(SPECIALS, repeat=4)), k=400)]
    bad = mismatches(rows, *batch_and_dynamic(fn, ws, rows))
    assert not bad, f"dot: {len(bad)} of {len(rows)} differ, e.g. {bad[:3]}"


def test_sum_is_exactly_rounded_so_ties_at_maximum_fall_as_in_the_dynamic_engine():
    a, b, c = Value(0.1), Value(0.2), Value(0.7)
    rng = random.Random(0)
    rows = []
    for _ in range(200):
        x = [rng.choice([-1.5, -0.5, 0.5, 1.5, 2.5]) for _ in range(3)]
        rows.append([*x, math.fsum([a.data * x[0], b.data * x[1], c.data * x[2]])])

    def fn(x):
        return autograd.maximum(autograd.sum([a * x[0], b * x[1], c * x[2]]), x[3])

    bad = mismatches(rows, *batch_and_dynamic(fn, [a, b, c], rows))
    assert not bad, f"{len(bad)} of {len(rows)} differ, e.g. {bad[:3]}"


def test_a_matrix_product_keeps_the_sign_of_zero():
    w0, w1 = Value(1.0), Value(1.0)

    def fn(x):
        return 1 / (w0 * x[0] + w1 * x[1])

    rows = [[-0.0, -0.0], [1.0, 2.0], [0.0, -0.0], [-0.0, 0.0]]
    got_l, want_l, got_g, want_g = batch_and_dynamic(fn, [w0, w1], rows)
    assert got_l[1] == -math.inf
    assert not mismatches(rows, got_l, want_l, got_g, want_g)


def _two_layers(rng: random.Random):
    W1 = [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(2)]
    b1 = [Value(rng.uniform(-1, 1)) for _ in range(2)]
    U = [Value(rng.uniform(-1, 1)) for _ in range(2)]
    return W1, b1, U


def test_a_kink_two_layers_deep_takes_the_dynamic_engines_side():
    # the second layer's bias cancels one sample's pre-activation as the dynamic engine
    # computes it: a first layer that rounds differently moves it across the relu's kink
    rng = random.Random(1)
    flips = 0
    for _ in range(60):
        W1, b1, U = _two_layers(rng)
        X = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(20)]

        def hidden(x, W1=W1, b1=b1):
            return [sum((w * xi for w, xi in zip(ws, x)), b).relu() for ws, b in zip(W1, b1)]

        k = rng.randrange(20)
        h = [v.data for v in hidden(X[k])]
        c = Value(-(U[0].data * h[0] + U[1].data * h[1]))

        def fn(x, U=U, c=c, hidden=hidden):
            h = hidden(x)
            return (U[0] * h[0] + U[1] * h[1] + c).relu()

        params = [p for ws in W1 for p in ws] + b1 + U + [c]
        step = autograd.compile(fn, batch=True, reduction="sum")
        for p in params:
            p.grad = 0.0
        step(X)
        got = [p.grad for p in params]
        for p in params:
            p.grad = 0.0
        autograd.sum([fn(x) for x in X]).backward()
        want = [p.grad for p in params]
        flips += any(abs(a - b) > 1e-12 * (1.0 + abs(b)) for a, b in zip(got, want))
    assert flips == 0, f"{flips} of 60 models took the other side of a kink"


def test_the_per_shape_program_cache_is_bounded():
    w = Value(0.5)

    def fn(x):
        return autograd.sum([w * v for v in x])

    step = autograd.compile(fn, batch=True, max_traces=4)
    shapes = [[[1.0] * k] * 3 for k in range(1, 40)]
    for X in shapes:
        step(X)
    kept = sum(len(step.programs(X)) for X in shapes)
    assert 1 <= kept <= 4
    assert step.stats(shapes[-1]).programs == 1  # the newest shape is kept


def test_a_batch_whose_losses_overflow_or_are_nan_gives_them_without_a_warning():
    """The batch's total is IEEE arithmetic, as the engine's: no RuntimeWarning escapes."""
    import warnings

    w = Value(1.0)
    step = autograd.compile(lambda row: row[0] * w, batch=True, reduction="sum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert step([[0.5], [0.25]]) == 0.75
        assert step([[1e308], [1e308]]) == math.inf  # the sum overflows
        assert math.isnan(step([[math.inf], [-math.inf]]))  # inf - inf


def test_the_batched_fsum_is_exactly_rounded_at_ties_and_next_to_powers_of_two():
    # a row's compensated sum is kept when the exact sum lies inside its rounding
    # interval (whose lower half is narrower below a power of two), the compensation's
    # own error included; rows at a tie, or a carried error away from one, must still
    # give math.fsum's value, bit for bit
    from autograd.formula_numpy import g_fsum, namespace

    namespace()  # NumPy, as a batched step loads it
    rng = np.random.default_rng(22)
    n, k = 3000, 17
    x = rng.uniform(1.0, 2.0, size=(n, 1))
    x[: n // 4] = 2.0 ** rng.integers(-3, 4, size=(n // 4, 1))  # powers of two
    half = rng.choice([0.5, -0.5, 0.25, -0.25, 0.5 + 2.0**-20, 0.5 - 2.0**-20], size=(n, 1))
    tiny = rng.choice([0.0, 2.0**-80, -(2.0**-80)], size=(n, k - 2)) * x
    rows = np.concatenate([x, half * np.spacing(x), tiny], axis=1)
    for m in (rows, rows[:, rng.permutation(k)], rng.normal(size=(n, 7)) ** 2):
        want = np.array([math.fsum(r) for r in m.tolist()])
        assert g_fsum(m).tobytes() == want.tobytes()
