"""ArrayStep (``compile(batch=True).array_step(params)``): parameters in, gradient out.

It runs the same NumPy programs as the Value call, so its loss, gradient and outputs equal
what the Value call returns and accumulates into ``.grad`` exactly; the Values are read
only by a trace and used by the per-sample fallback, which leaves their ``.grad`` as it was.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd.batched import ArrayStep, compile_batched
from tests.strategies import programs, run_program

np = pytest.importorskip("numpy")


def _value_call(step, params, X, Y):
    for p in params:
        p.grad = 0.0
    res = step(X, Y)
    loss, outs = (res, ()) if not isinstance(res, tuple) else (res[0], res[1:])
    return loss, [p.grad for p in params], outs


@settings(max_examples=60)
@given(programs(extra=1), st.data())
def test_array_step_equals_the_value_call(prog, data):
    n_in, n_par, steps = prog
    params = [Value(data.draw(st.floats(-2, 2))) for _ in range(n_par)]
    n = data.draw(st.integers(1, 5))
    X = [[data.draw(st.sampled_from([-1.0, 0.0, 1.0]) | st.floats(-2, 2)) for _ in range(n_in)]
         for _ in range(n)]
    Y = [data.draw(st.floats(-2, 2)) for _ in range(n)]

    def fn(x, y):
        return run_program(steps, [*x, y, *params])

    step = compile_batched(fn)
    try:
        want_loss, want_grad, _ = _value_call(step, params, X, Y)
    except autograd.TraceError:
        return
    for p in params:
        p.grad = 7.0  # the array call neither reads nor writes .grad
    arr = step.array_step(params)
    theta = np.array([p.data for p in params])
    loss, grad, outs = arr(theta, X, Y)
    assert outs == ()
    same = (loss == want_loss) or (loss != loss and want_loss != want_loss)
    assert same, (loss, want_loss)
    assert [a == b or (a != a and b != b) for a, b in zip(grad.tolist(), want_grad)] == \
        [True] * n_par
    assert [p.grad for p in params] == [7.0] * n_par


def test_outputs_guards_and_the_per_sample_fallback():
    w, b = Value(0.3), Value(-0.1)

    def fn(x, y):
        s = w * x[0] + b
        if s > 0.5:
            return s * s, s
        if s > 0:
            return s * 2.0, s
        return -s, s

    X = [[v] for v in (-1.0, 1.0, 2.0, 3.0, 4.0, 0.5)]
    Y = [0.0] * 6
    for max_traces in (1, 8):
        ref = compile_batched(fn, max_traces=max_traces)
        want_loss, want_grad, want_outs = _value_call(ref, [w, b], X, Y)
        step = compile_batched(fn, max_traces=max_traces)
        w.grad, b.grad = 1.5, -2.5
        loss, grad, outs = step.array_step([w, b])(np.array([w.data, b.data]), X, Y)
        assert (w.grad, b.grad) == (1.5, -2.5)  # restored after the fallback samples
        assert loss == want_loss and grad.tolist() == want_grad
        assert [o.tolist() for o in outs] == [o.tolist() for o in want_outs]
        assert step.fallback_samples == (5 if max_traces == 1 else 0)  # all but s <= 0


def test_the_trace_reads_theta_and_params_may_be_in_any_order():
    from nn import MLP

    model = MLP(3, [4, 2], seed=1)
    ps = model.parameters()

    def fn(x, t):
        out = model(x)
        d = [o - ti for o, ti in zip(out, t)]
        return autograd.dot(d, d) + 1e-3 * autograd.dot(ps, ps), *out

    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    theta = rng.normal(size=len(ps))
    order = list(reversed(ps))
    arr = compile_batched(fn).array_step(order)
    loss, grad, outs = arr(theta[::-1].copy(), X, T)
    assert [p.data for p in order] == theta[::-1].tolist()  # written for the trace
    for p, v in zip(ps, theta.tolist()):
        p.data = v
    want_loss, want_grad, want_outs = _value_call(compile_batched(fn), ps, X, T)
    assert loss == want_loss
    assert grad[::-1].tolist() == want_grad
    assert all((a == b).all() for a, b in zip(outs, want_outs))
    # later calls use theta only: the Values keep what they hold
    for p in ps:
        p.data = 0.0
    loss2, grad2, _ = arr(theta[::-1].copy(), X, T)
    assert (loss2, grad2.tolist()) == (loss, grad.tolist())
    assert [p.data for p in ps] == [0.0] * len(ps)


def test_array_step_refuses_what_an_array_cannot_stand_for():
    w, c = Value(0.5), Value(2.0)
    step = compile_batched(lambda x, y: (w * x[0] - y) * c)
    with pytest.raises(ValueError, match=r"reads 1 Value\(s\) not in params .*pass every Value "
                                         r"it captures"):
        step.array_step([w])(np.array([0.5]), [[1.0]], [0.0])
    w2 = w * 2.0  # a node made before the trace (it has parents)
    step = compile_batched(lambda x, y: w2 * x[0])
    with pytest.raises(ValueError, match="a Value computed outside it"):
        step.array_step([w])(np.array([0.5]), [[1.0]], [0.0])
    arr = compile_batched(lambda x, y: w * x[0]).array_step([w])
    with pytest.raises(TypeError, match=r"theta must hold one number per parameter \(1\), "
                                        r"got list of shape \(2,\)"):
        arr([1.0, 2.0], [[1.0]], [0.0])
    with pytest.raises(ValueError, match="params holds a Value twice"):
        step.array_step([w, w])
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value, got float"):
        step.array_step([w, 1.0])
    with pytest.raises(ValueError, match="params is empty"):
        step.array_step([])
    assert isinstance(arr, ArrayStep) and arr.params == [w]


def test_threads_calling_one_array_step_get_their_own_gradients():
    # the running gradient of a call was kept on the step: concurrent calls mixed them up
    import threading

    rng = random.Random(7)
    ws = [Value(rng.uniform(-1, 1)) for _ in range(6)]

    def per_sample(x, y):
        h = [(ws[0] * x[0] + ws[1] * x[1] + ws[2]).relu(), (ws[3] * x[0] + ws[4] * x[1]).tanh()]
        z = h[0] * ws[5] + h[1]
        if z > 0:  # a branch: with max_traces=1 the other one runs sample by sample
            z = z * z
        return (z - y) * (z - y)

    arr = autograd.compile(per_sample, batch=True, max_traces=1).array_step(ws)
    jobs = []
    for _ in range(16):
        theta = [rng.uniform(-1, 1) for _ in ws]
        X = [[rng.choice((-1.0, 0.0, 0.5, rng.uniform(-2, 2))) for _ in range(2)]
             for _ in range(rng.randint(1, 40))]
        Y = [rng.uniform(-1, 1) for _ in X]
        jobs.append((theta, X, Y))
    want = [arr(theta, X, Y)[:2] for theta, X, Y in jobs]
    got: dict[int, list] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for _ in range(15):
                for j in range(t % 4, len(jobs), 4):
                    theta, X, Y = jobs[j]
                    got.setdefault(j, []).append(arr(theta, X, Y)[:2])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[0]
    for j, results in got.items():
        for loss, grad in results:
            assert loss == want[j][0]
            assert np.array_equal(grad, want[j][1])


def _wide_step():
    """A layer of 64 fused neurons: batches of a few hundred samples run in work arrays."""
    from nn import MLP

    model = MLP(3, [64, 1], activation="relu", output_activation=None, seed=2)
    ps = model.parameters()

    def per_sample(x, y):
        s = model(x)  # one output: a Value, the layer's only column
        return (1.0 - y * s).relu() + 1e-3 * autograd.dot(ps, ps), s

    return compile_batched(per_sample).array_step(ps), ps


def _job(rng, n, k):
    theta = rng.normal(scale=0.4, size=k)
    X = rng.normal(size=(n, 3))
    return theta, X, np.sign(rng.normal(size=n))


def test_what_a_call_returns_is_its_own_when_work_arrays_are_reused():
    # the program keeps its batch-sized arrays between calls: a returned output that is
    # a layer's column (a view of one) would change under the caller on the next call
    arr, ps = _wide_step()
    rng = np.random.default_rng(0)
    first = _job(rng, 400, len(ps))
    loss, grad, (out,) = arr(*first)
    kept = (loss, grad.copy(), out.copy())
    for _ in range(3):
        arr(*_job(rng, 400, len(ps)))
    assert loss == kept[0]
    assert np.array_equal(grad, kept[1]) and np.array_equal(out, kept[2])
    again = arr(*first)
    assert again[0] == loss and np.array_equal(again[1], grad)
    assert np.array_equal(again[2][0], out)


def test_threads_calling_one_program_on_large_batches_get_their_own_work_arrays():
    from concurrent.futures import ThreadPoolExecutor

    arr, ps = _wide_step()
    rng = np.random.default_rng(1)
    jobs = [_job(rng, n, len(ps)) for n in (300, 300, 500, 300, 500, 300)]
    want = [arr(*job) for job in jobs]
    order = [j for _ in range(12) for j in range(len(jobs))]
    with ThreadPoolExecutor(max_workers=6) as pool:  # calls overlap: sets in use at once
        got = list(zip(order, pool.map(lambda j: arr(*jobs[j]), order)))
    for j, (loss, grad, outs) in got:
        assert loss == want[j][0]
        assert np.array_equal(grad, want[j][1])
        assert np.array_equal(outs[0], want[j][2][0])


def test_work_arrays_are_reused_per_batch_size_within_their_memory_budget():
    from autograd.batched_emit import WorkArrays

    wa = WorkArrays(np, [16, 4], min_bytes=1024, max_bytes=3 * 100 * 20 * 8)
    assert wa.take(4) == [None, None]  # a small batch: the program allocates
    first = wa.take(100)
    assert [a.shape for a in first] == [(100, 16), (100, 4)]
    assert wa.give(100, first, "result") == "result"
    again = wa.take(100)
    assert again is first  # the next call on 100 samples writes into the same arrays
    other = wa.take(100)  # taken while the first is in use (another thread): its own
    assert other is not first and not np.shares_memory(other[0], first[0])
    wa.give(100, first, None)
    wa.give(100, other, None)
    wa.give(120, wa.take(120), None)  # over the budget: the oldest size goes first
    assert wa.kept_bytes() <= wa.max_bytes
    assert wa.take(120) is not None and 100 not in wa.free
    big = wa.take(1000)
    wa.give(1000, big, None)  # larger than the whole budget: not kept
    assert wa.take(1000) is not big and wa.kept_bytes() <= wa.max_bytes


def test_an_output_that_is_an_input_column_stays_the_callers_when_the_batch_array_is_reused():
    # several arguments are joined into one array, kept between calls for large batches
    ws = [Value(0.1 * (k + 1)) for k in range(30)]

    def per_sample(x, y):
        return (autograd.dot(ws, x) - y) ** 2, x[0]

    arr = compile_batched(per_sample).array_step(ws)
    rng = np.random.default_rng(3)
    theta = np.array([w.data for w in ws])
    X1, Y1 = rng.normal(size=(400, 30)), rng.normal(size=400)
    loss, grad, (col,) = arr(theta, X1, Y1)
    kept = col.copy()
    for _ in range(2):
        arr(theta, rng.normal(size=(400, 30)), rng.normal(size=400))
    assert np.array_equal(col, kept) and np.array_equal(col, X1[:, 0])
    again = arr(theta, X1, Y1)
    assert again[0] == loss and np.array_equal(again[1], grad)
