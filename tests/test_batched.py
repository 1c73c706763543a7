"""Tests for autograd.batched: per-sample code over a batch equals the dynamic engine.

The central property: for random per-sample programs over the op table (kinks
hit exactly: inputs and constants at 0, ties, clamp bounds), parameters
captured, ``compile_batched(fn)(X, Y)`` returns ``mean`` (or ``sum``) of the
per-sample losses and accumulates into every parameter's ``.grad`` what
``autograd.mean([fn(x, y) ...]).backward()`` does, within 1e-12 relative to
the magnitude of the summed per-sample terms (the batch is summed in another
order). Plus: nn models (fused neurons grouped into matrix products), guards
splitting the batch or falling back to the per-sample path, errors, and
training to the same accuracy as the dynamic engine.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import OPS, Value
from autograd.batched import BatchedCompiled, compile_batched, require_numpy
from tests.helpers import moons
from tests.strategies import programs, run_program, values

np = pytest.importorskip("numpy")

REL = 1e-12


def per_sample_reference(fn, params, X, Y, reduction="mean"):
    """Dynamic engine: the reduced loss, the accumulated grads, and |terms| per parameter."""
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    losses = [fn(x, y) for x, y in zip(X, Y)]
    total = autograd.mean(losses) if reduction == "mean" else autograd.sum(losses)
    total.backward()
    want = [p.grad for p in params]
    scale = [0.0] * len(params)
    for loss in losses:  # each sample's contribution, for the tolerance
        for p in params:
            p.grad = 0.0
        loss.backward()
        for k, p in enumerate(params):
            scale[k] += abs(p.grad) / (len(X) if reduction == "mean" else 1)
    lscale = sum(abs(v.data) for v in losses) / (len(X) if reduction == "mean" else 1)
    for p, g in zip(params, saved):
        p.grad = g
    return total.data, want, scale, lscale


def close(a: float, b: float, scale: float) -> bool:
    if a == b or (a != a and b != b):
        return True
    if math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= REL * max(scale, abs(b)) + 1e-300


def check_batched(fn, params, X, Y, reduction="mean", **kw):
    step = compile_batched(fn, reduction=reduction, **kw)
    want_loss, want, scale, lscale = per_sample_reference(fn, params, X, Y, reduction)
    for p in params:
        p.grad = 0.0
    loss = step(X, Y)
    got = [p.grad for p in params]
    assert close(loss, want_loss, lscale), (loss, want_loss)
    for k, (a, b) in enumerate(zip(got, want)):
        # a gradient that cancels to rounding noise (x / x: 1/x - x/x**2) differs by the order
        # its samples are summed in: allow a few ulps of the parameter's own size there
        noise = 4 * math.ulp(1.0) * max(1.0, abs(params[k].data))
        assert close(a, b, scale[k]) or abs(a - b) <= noise, (k, a, b, scale[k],
                                                               step.source(X, Y))
    return step


# ---------------------------------------------------------------------------
# Random per-sample programs over the table, kinks included.

@given(programs(extra=1), st.data(), st.sampled_from(["mean", "sum"]))
def test_batched_matches_dynamic_on_random_programs(prog, data, reduction):
    n_in, n_par, steps = prog
    params = [Value(data.draw(values)) for _ in range(n_par)]
    B = data.draw(st.integers(1, 6))
    X = [[data.draw(values) for _ in range(n_in)] for _ in range(B)]
    Y = [data.draw(values) for _ in range(B)]

    def fn(xs, y):
        return run_program(steps, [*xs, y, *params])

    try:
        per_sample_reference(fn, params, X, Y, reduction)
    except ValueError as exc:  # math.fsum in sum/mean/dot raises on inf - inf
        if "fsum" in str(exc):
            return
        raise
    check_batched(fn, params, X, Y, reduction)


# ---------------------------------------------------------------------------
# nn models: fused neurons as matrix products.


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "gelu",
                                        "linear"])
def test_mlp_matches_dynamic(activation):
    from nn import MLP
    from nn.losses import l2_penalty

    model = MLP(2, [8, 8, 1], activation=activation, output_activation=None, seed=3)
    ps = model.parameters()
    X, Y = moons(24, 1)

    def fn(x, y):
        return (1.0 - y * model(x)).relu() + l2_penalty(ps, 1e-3)

    step = check_batched(fn, ps, X, Y)
    st = step.stats(X, Y)
    assert st.groups == 3 and st.grouped == 17  # every neuron in a matrix product
    assert st.programs == 1 and st.calls == 0 and st.vector_ops == {"sum_squares": 1}


def test_ops_mlp_dot_nodes_are_matrix_products():
    rng = random.Random(5)
    W1 = [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(4)]
    b1 = [Value(0.1 * k) for k in range(4)]
    w2 = [Value(rng.uniform(-1, 1)) for _ in range(4)]
    ps = [p for row in W1 for p in row] + b1 + w2

    def fn(x, y):
        h = [(autograd.dot(w, x) + b).tanh() for w, b in zip(W1, b1)]
        s = autograd.dot(w2, h)
        return (s - y) * (s - y)

    X = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(10)]
    Y = [rng.uniform(-1, 1) for _ in range(10)]
    step = check_batched(fn, ps, X, Y, reduction="sum")
    assert step.stats(X, Y).groups == 2


def test_fused_losses_run_per_sample_and_match():
    from nn import MLP
    from nn.losses import cross_entropy, mse_loss

    model = MLP(4, [6, 3], activation="tanh", seed=0)
    ps = model.parameters()
    rng = random.Random(2)
    X = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(9)]
    T = [[1.0 if j == k % 3 else 0.0 for j in range(3)] for k in range(9)]

    def mse(x, t):
        return mse_loss(model(x), t)

    def ce(x, t):
        z = model(x)
        return autograd.logsumexp(z) - autograd.dot(t, z)

    check_batched(mse, ps, X, T)
    check_batched(ce, ps, X, T)
    with pytest.raises(TypeError):  # a class index is structure, not data: say so
        cross_entropy(model(X[0]), [0.5])


def test_tuple_outputs_and_losses():
    w = Value(0.5)

    def fn(x, y):
        s = w * x
        return (s - y) * (s - y), s

    step = compile_batched(fn)
    loss, s = step([1.0, 2.0, 3.0], [0.0, 1.0, 1.0])
    assert isinstance(s, np.ndarray) and s.tolist() == [0.5, 1.0, 1.5]
    assert loss == pytest.approx((0.25 + 0.0 + 0.25) / 3, rel=1e-15)
    assert w.grad == pytest.approx((2 * 0.5 * 1 + 0 + 2 * 0.5 * 3) / 3, rel=1e-15)
    assert step.losses([1.0], [0.0]).tolist() == [0.25]
    before = w.grad
    assert step.forward([1.0], [0.0])[0] == 0.25
    assert w.grad == before  # forward leaves .grad alone


def test_captured_interior_node_and_shared_loss():
    w = Value(1.5)
    w2 = w * 2.0  # made before the trace: its gradient continues into w
    c = Value(0.25)

    def fn(x, y):
        return (w2 * x[0] - y).abs() + c * c  # c * c is shared by every sample

    check_batched(fn, [w, c], [[1.0], [0.0], [-2.0]], [3.0, 0.0, 1.0])


# ---------------------------------------------------------------------------
# Guards.


def test_guards_split_the_batch_by_branch():
    w = Value(0.7)

    def fn(x, y):
        s = w * x[0]
        if s > 0:
            return (s - y) * (s - y)
        return s.abs() * 3.0

    X = [[v] for v in (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0)]
    Y = [0.0, 1.0, 2.0, 0.5, 1.0, 0.0]
    step = check_batched(fn, [w], X, Y)
    assert step.traces == 2 and step.fallback_samples == 0
    st = step.stats(X, Y)
    assert st.programs == 2 and st.guards == 2  # one program per branch, one guard each


def test_guards_beyond_max_traces_use_the_per_sample_path():
    w = Value(0.3)

    def fn(x, y):
        s = w * x[0]
        if s > 0.5:
            return s * s
        if s > 0:
            return s * 2.0
        return -s

    X = [[v] for v in (-1.0, 1.0, 2.0, 3.0, 4.0)]
    Y = [0.0] * 5
    step = check_batched(fn, [w], X, Y, max_traces=1)
    assert step.fallback_samples == 4  # the traced branch (x = -1) ran batched, the rest one by one


def test_float_inside_is_refused():
    w = Value(1.0)
    step = compile_batched(lambda x, y: w * float(x[0] * w))
    with pytest.raises(autograd.TraceError, match="float"):
        step([[1.0]], [0.0])


# ---------------------------------------------------------------------------
# Errors and the optional dependency.


def test_bad_batches_are_refused():
    w = Value(1.0)
    step = compile_batched(lambda x, y: w * x)
    with pytest.raises(ValueError, match="same number"):
        step([1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match="one item per sample"):
        step(1.0, 2.0)
    with pytest.raises(TypeError, match="batch of numbers"):
        step([[1.0], [1.0, 2.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="no samples"):
        step([], [])
    with pytest.raises(ValueError, match="reduction"):
        compile_batched(lambda x: x, reduction="max")
    with pytest.raises(TypeError, match="expected a function"):
        BatchedCompiled(3)  # type: ignore[arg-type]


def test_without_numpy_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(ImportError, match=r"chainrule\[fast\]"):
        require_numpy()


def test_autograd_imports_no_numpy():
    code = ("import sys, autograd, autograd.batched; "
            "sys.exit('numpy' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ---------------------------------------------------------------------------
# Training: same accuracy as the dynamic engine.


def train(model, X, Y, per, steps, batched, lr=0.1, batch=16):
    from nn.optim import SGD

    ps = model.parameters()
    opt = SGD(ps, lr=lr)
    step = compile_batched(per) if batched else None
    for s in range(steps):
        i = (s * batch) % len(X)
        xb, yb = X[i:i + batch], Y[i:i + batch]
        opt.zero_grad()
        if step is not None:
            step(xb, yb)
        else:
            autograd.mean([per(x, y) for x, y in zip(xb, yb)]).backward()
        opt.step()
    return ps


def test_moons_trains_to_the_same_accuracy():
    from nn import MLP
    from nn.losses import l2_penalty

    X, Y = moons(64, 4)
    acc = []
    params = []
    for batched in (False, True):
        model = MLP(2, [16, 16, 1], activation="relu", output_activation=None, seed=1)
        ps = model.parameters()

        def per(x, y, model=model, ps=ps):
            return (1.0 - y * model(x)).relu() + l2_penalty(ps, 1e-4)

        train(model, X, Y, per, 60, batched)
        preds = [model(x).data for x in X]
        acc.append(sum((p > 0) == (y > 0) for p, y in zip(preds, Y)) / len(X))
        params.append([p.data for p in ps])
    assert acc[0] == acc[1] and acc[0] > 0.8
    assert max(abs(a - b) for a, b in zip(*params)) < 1e-9


def test_digits_trains_to_the_same_accuracy():
    from nn import MLP
    from nn.data import load_digits

    X, labels = load_digits()
    X = [[v / 16.0 for v in x] for x in X[:160]]
    labels = labels[:160]
    T = [[1.0 if j == k else 0.0 for j in range(10)] for k in labels]
    acc = []
    for batched in (False, True):
        model = MLP(64, [16, 10], activation="relu", seed=0)

        def per(x, t, model=model):
            z = model(x)
            return autograd.logsumexp(z) - autograd.dot(t, z)

        train(model, X, T, per, 30, batched, lr=0.5, batch=32)
        guess = [max(range(10), key=[o.data for o in model(x)].__getitem__) for x in X]
        acc.append(sum(g == k for g, k in zip(guess, labels)) / len(X))
    assert acc[0] == acc[1] and acc[0] > 0.5


# ---------------------------------------------------------------------------
# Every op of the table, rendered from its formula, at its kinks and IEEE cases.


def op_points(op):
    pts = [k.at for k in op.kinks] + [s.at for s in op.specials]
    rng = random.Random(op.name)
    npar = op.params
    for _ in range(4):
        if op.arity == -1:
            m = 4
            pts.append(tuple(rng.uniform(*op.domain[0]) for _ in range(m)))
        else:
            pts.append(tuple(rng.uniform(*d) for d in op.domain))
    if npar:  # parameters are constants of a trace: keep those of the first point
        pts = [p[: len(p) - npar] + pts[0][len(p) - npar:] for p in pts]
    return pts


@pytest.mark.parametrize("name", [n for n, op in OPS.items() if op.builtin])
def test_each_op_renders_from_its_formula_and_matches_at_kinks(name):
    from autograd.formula_numpy import FormulaRendered, render

    op = OPS[name]
    for pt in op_points(op):
        n = len(pt)
        assert isinstance(render(op, n), FormulaRendered), name
        core = n - op.params
        shift = [Value(0.0) for _ in range(core)]

        def fn(x, y, shift=shift, pt=pt, core=core):
            ops = [s + xi for s, xi in zip(shift, x)] + list(pt[core:])
            return autograd.apply(op, *ops) * y

        X, Y = [list(pt[:core])], [1.0]
        step = check_batched(fn, shift, X, Y, reduction="sum")
        assert step.stats(X, Y).calls == 0  # no per-sample fallback: NumPy code throughout


def test_shared_penalties_over_many_parameters_run_as_vectors():
    rng = random.Random(0)
    ps = [Value(rng.uniform(-1, 1)) for _ in range(12)]

    def fn(x, y):
        s = autograd.dot(ps[:6], [x[0], x[1], x[0], x[1], x[0], 1.0]) + ps[6]
        return (1.0 - y * s).relu() + 1e-2 * autograd.dot(ps, ps) + autograd.mean(ps) * 0.5

    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(8)]
    Y = [rng.choice([-1.0, 1.0]) for _ in range(8)]
    step = check_batched(fn, ps, X, Y)
    assert step.stats(X, Y).vector_ops == {"dot": 1, "mean": 1}  # one NumPy call each


def test_a_program_failing_its_self_check_runs_sample_by_sample(monkeypatch):
    from autograd import batched

    w = Value(0.4)

    def fn(x, y):
        s = (w * x[0]).tanh()
        return (s - y) * (s - y), s

    monkeypatch.setattr(batched.BatchedCompiled, "_self_check", lambda self, prog: False)
    X, Y = [[1.0], [2.0], [-1.0]], [0.5, 0.0, 1.0]
    step = compile_batched(fn)
    loss, s = step(X, Y)
    assert step.fallback_samples == 3 and step.stats(X, Y).programs == 0
    assert s.tolist() == [math.tanh(0.4 * x[0]) for x in X]
    ref = autograd.mean([fn(x, y)[0] for x, y in zip(X, Y)])
    w_grad = w.grad
    w.grad = 0.0
    ref.backward()
    assert loss == pytest.approx(ref.data, rel=1e-15)
    assert w_grad == pytest.approx(w.grad, rel=1e-14)


def test_loss_that_is_a_parameter_or_shared():
    w = Value(2.0)
    step = compile_batched(lambda x, y: w)
    assert step([[1.0], [2.0]], [0.0, 0.0]) == 2.0
    assert w.grad == pytest.approx(1.0)  # mean over the batch of d w / d w
    step2 = compile_batched(lambda x, y: w * w, reduction="sum")
    w.grad = 0.0
    assert step2([[1.0], [2.0], [3.0]], [0.0] * 3) == 12.0
    assert w.grad == pytest.approx(12.0)


def test_numpy_arrays_and_nested_samples():
    w = [Value(0.5), Value(-0.25)]

    def fn(x, y):  # x is a 2 x 2 matrix per sample
        rows = [autograd.dot(w, r) for r in x]
        return (rows[0] - y) * (rows[0] - y) + rows[1].abs()

    rng = random.Random(1)
    X = [[[rng.uniform(-1, 1) for _ in range(2)] for _ in range(2)] for _ in range(5)]
    Y = [rng.uniform(-1, 1) for _ in range(5)]
    check_batched(fn, w, X, Y)
    step = compile_batched(fn)
    for p in w:
        p.grad = 0.0
    a = step(np.array(X), np.array(Y))
    ga = [p.grad for p in w]
    for p in w:
        p.grad = 0.0
    b = step(X, Y)
    assert a == b and ga == [p.grad for p in w]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_pre_activation_cancelling_to_zero_takes_the_dynamic_side_of_the_kink(sign):
    from nn import Neuron

    # 0.3 * 0.7 - 0.7 * 0.3 is 0.0 summed left to right, +-1.3e-17 in a matrix product
    # with FMA: relu'(0) = 0 must hold for those samples as in the dynamic engine
    n = Neuron(2, activation="relu", seed=0)
    n.w[0].data, n.w[1].data, n.b.data = 0.7, 0.3, 0.0
    X = [[0.3 * sign, -0.7 * sign], [1.0, 1.0], [-0.3 * sign, 0.7 * sign]]

    def fn(x, y):
        return n(x) * y

    check_batched(fn, n.parameters(), X, [1.0, 1.0, 1.0], reduction="sum")
    for p in n.parameters():
        p.grad = 0.0
    compile_batched(fn, reduction="sum")(X, [1.0, 1.0, 1.0])
    assert [p.grad for p in n.parameters()] == [1.0, 1.0, 1.0]  # only the [1, 1] sample


def test_dot_products_cancelling_to_zero_keep_the_kink_of_the_dynamic_engine():
    w = [Value(0.7), Value(0.3)]

    def fn(x, y):
        return autograd.dot(w, x).relu() + autograd.dot(w, x).abs() * y

    X = [[0.3, -0.7], [-0.3, 0.7], [0.5, 0.5]]
    check_batched(fn, w, X, [1.0, -1.0, 1.0], reduction="sum")


def test_micrograd_style_per_sample_code_matches_dynamic():
    from nn.micrograd import MLP as MicroMLP

    random.seed(4)
    model = MicroMLP(2, [4, 4, 1])
    ps = model.parameters()
    X, Y = moons(12, 2)

    def fn(x, y):  # the lecture's loss, for one sample: elementwise nodes throughout
        return (1 + -y * model(x)).relu() + 1e-4 * sum(p * p for p in ps)

    check_batched(fn, ps, X, Y)


def test_autograd_compile_batch_true_is_the_batched_path():
    w = Value(0.5)

    def fn(x, y):
        return (w * x[0] - y) * (w * x[0] - y)

    step = autograd.compile(fn, batch=True, reduction="sum")
    assert isinstance(step, autograd.BatchedCompiled) and step.reduction == "sum"
    assert step([[1.0], [2.0]], [0.0, 0.0]) == pytest.approx(0.25 + 1.0)

    @autograd.compile(batch=True)
    def deco(x, y):
        return (w * x[0]).abs()

    assert isinstance(deco, autograd.BatchedCompiled)
    with pytest.raises(ValueError, match="batch=True"):
        autograd.compile(fn, reduction="sum")


def test_write_into_stores_a_float_ufunc_or_helper_call_in_a_work_array_with_its_own_bits():
    from autograd.formula_numpy import namespace, write_into

    ns = dict(namespace())
    Z = np.array([[-0.0, 0.0, -1.5, 2.0], [np.nan, np.inf, -np.inf, 1e-300]])
    ns.update(Z=Z, c=Z > 0.0)
    reserved: list[str] = []

    def into() -> str:
        reserved.append("W")
        return "W"

    for src in ["_relu0(Z)", "_fmask(Z > 0.0)", "_nx_tanh(Z)", "_nx_abs(Z)", "_nx_div(1.0, Z)"]:
        got = write_into(src, into)
        assert got is not None and got.endswith("out=W)")
        ns["W"] = np.full_like(Z, 7.0)
        with np.errstate(all="ignore"):
            want, res = eval(src, ns), eval(got, ns)
        assert res is ns["W"] and res.tobytes() == np.asarray(want, dtype=float).tobytes()
    n = len(reserved)
    for src in ["_not(c)", "_where(c, 1.0, 0.0)", "1.0 - Z * Z", "_nx_sigmoid(Z)", "Z"]:
        assert write_into(src, into) is None  # not a float ufunc or a helper taking out
    assert len(reserved) == n  # nothing reserved for them


@pytest.mark.parametrize("n", [1, 511, 512, 1500])
def test_the_arguments_are_joined_as_concatenate_joins_them(n):
    from autograd.batched import _join

    rng = np.random.default_rng(n)
    for widths in ([2, 1], [1, 1, 1], [3, 5], [8, 1], [1]):
        mats = [rng.normal(size=(n, w)) for w in widths]
        mats[0][0, 0], mats[-1][-1, -1] = -0.0, np.nan
        got, want = _join(np, mats, n), np.concatenate(mats, axis=1)
        assert got.shape == want.shape and got.tobytes() == want.tobytes()


@pytest.mark.parametrize("rows", [2, 3, 7])
def test_batched_logsumexp_matches_dynamic_with_as_many_rows_as_operands(rows):
    # logsumexp's forward is the table's m = max_of(xs) then a shifted sum: with as many
    # rows as the group has elements, m must not broadcast against the group's columns
    w = [Value(0.5), Value(-1.5), Value(2.0)]
    rng = random.Random(rows)
    X = [[rng.uniform(-3, 3) for _ in range(3)] for _ in range(rows)]
    Y = [rng.uniform(-1, 1) for _ in range(rows)]

    def fn(x, y):
        return autograd.logsumexp([xi * wi for xi, wi in zip(x, w)]) * y

    check_batched(fn, w, X, Y, reduction="sum")


@pytest.mark.parametrize("edge", [[math.inf, 1.0, 2.0], [-math.inf, -math.inf, -math.inf],
                                  [1.0, math.nan, 0.0], [math.nan, 1.0, 2.0],
                                  [700.0, 700.0, -700.0]])
def test_batched_logsumexp_at_infinities_and_nans_is_the_dynamic_value(edge):
    def fn(x, y):
        return autograd.logsumexp(list(x)) + y

    X = [edge, [1.0, 2.0, 3.0], [-0.5, 0.25, 0.0]]
    Y = [0.0, 0.0, 0.0]
    got = compile_batched(fn, reduction="sum")(X, Y)
    want = math.fsum(autograd.logsumexp([Value(v) for v in x]).data for x in X)
    assert got == want or (got != got and want != want), (got, want)
