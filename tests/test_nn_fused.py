"""Fused nodes (nn.fused) against the elementwise graphs they replace: values, gradients,
create_graph, and the op-table entries themselves."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
import nn
from autograd import Value
from nn.fused import ACTIVATIONS, NEURON_OPS
from tests.helpers import bits as _bits
from tests.helpers import eval_codegen

finite = st.floats(-3.0, 3.0, allow_nan=False)
SMOOTH = ("tanh", "sigmoid", "gelu", "linear")


def _close(a: float, b: float, tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _pair(activation: str, nin: int, seed: int) -> tuple[nn.Neuron, nn.Neuron]:
    fused = nn.Neuron(nin, activation, seed=seed)
    plain = nn.Neuron(nin, activation, seed=seed, fused=False)
    return fused, plain


@given(st.sampled_from(ACTIVATIONS), st.integers(1, 6), st.integers(0, 10**6),
       st.lists(finite, min_size=6, max_size=6), st.booleans())
def test_fused_neuron_matches_unfused_values_and_gradients(act, nin, seed, xs, as_values):
    fused, plain = _pair(act, nin, seed)
    xf = [Value(v) for v in xs[:nin]] if as_values else xs[:nin]
    xp = [Value(v) for v in xs[:nin]] if as_values else xs[:nin]
    yf, yp = fused(xf), plain(xp)
    assert yf.op == f"neuron_{act}"
    assert _close(yf.data, yp.data)
    yf.backward()
    yp.backward()
    for pf, pp in zip(fused.parameters(), plain.parameters()):
        assert _close(pf.grad, pp.grad)
    if as_values:
        for a, b in zip(xf, xp):
            assert _close(a.grad, b.grad)


@given(st.sampled_from(ACTIVATIONS), st.integers(0, 10**6),
       st.lists(finite, min_size=3, max_size=3))
def test_mlp_fused_equals_unfused(act, seed, xs):
    mf = nn.MLP(3, [4, 3, 2], activation=act, output_activation="tanh", seed=seed)
    mp = nn.MLP(3, [4, 3, 2], activation=act, output_activation="tanh", seed=seed, fused=False)
    of, op = mf(xs), mp(xs)
    assert isinstance(of, list) and isinstance(op, list)
    for a, b in zip(of, op):
        assert _close(a.data, b.data)
    autograd.sum(of).backward()
    autograd.sum(op).backward()
    for (name, pf), (name2, pp) in zip(mf.named_parameters(), mp.named_parameters()):
        assert name == name2
        assert _close(pf.grad, pp.grad), name


def test_mixed_value_and_number_inputs_match_unfused():
    fused, plain = _pair("tanh", 3, 5)
    a1, a2 = Value(0.3), Value(0.3)
    yf = fused([a1, 2, -1.5])
    yp = plain([a2, 2, -1.5])
    assert len(yf.parents) == 1 + 4  # one input Value, three weights, one bias
    yf.backward()
    yp.backward()
    assert _close(a1.grad, a2.grad)
    assert _close(yf.data, yp.data)


@given(st.sampled_from(SMOOTH), st.integers(0, 10**6), st.lists(finite, min_size=2, max_size=2))
def test_create_graph_through_fused_neuron_matches_unfused(act, seed, xs):
    fused, plain = _pair(act, 2, seed)
    xf = [Value(v) for v in xs]
    xp = [Value(v) for v in xs]
    gf = autograd.grad(fused(xf), xf, create_graph=True)
    gp = autograd.grad(plain(xp), xp, create_graph=True)
    for a, b in zip(gf, gp):
        assert _close(a.data, b.data)
    # second derivatives d/dx_j (d y / d x_0), and through the weights
    hf = autograd.grad(gf[0], xf + fused.w, allow_unused=True)
    hp = autograd.grad(gp[0], xp + plain.w, allow_unused=True)
    for a, b in zip(hf, hp):
        assert _close(a.data, b.data, 1e-7)


def test_create_graph_through_fused_mlp_gives_hessian_of_unfused():
    mf = nn.MLP(2, [3, 1], activation="tanh", seed=3)
    mp = nn.MLP(2, [3, 1], activation="tanh", seed=3, fused=False)
    xf = [Value(0.4), Value(-0.7)]
    xp = [Value(0.4), Value(-0.7)]
    gf = autograd.grad(mf(xf), xf, create_graph=True)
    gp = autograd.grad(mp(xp), xp, create_graph=True)
    for i in range(2):
        hf = autograd.grad(gf[i], xf)
        hp = autograd.grad(gp[i], xp)
        for a, b in zip(hf, hp):
            assert _close(a.data, b.data, 1e-7)


def test_leaky_relu_slope_is_a_parameter_operand():
    n = nn.Neuron(2, "leaky_relu", negative_slope=0.2, seed=0)
    p = nn.Neuron(2, "leaky_relu", negative_slope=0.2, seed=0, fused=False)
    for w in (*n.w, *p.w):
        w.data = -1.0
    x = [Value(1.0), Value(1.0)]
    y = n(x)
    assert y.operands[-1] == 0.2
    assert _close(y.data, p([1.0, 1.0]).data)
    (g,) = autograd.grad(y, [x[0]])
    assert _close(g.data, -0.2)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_neuron_op_entries_are_registered_and_consistent(act):
    op = autograd.get_op(f"neuron_{act}")
    assert op is NEURON_OPS[act]
    assert not op.builtin and op.arity == -1 and op.domain
    xs = [0.3, -1.2]
    ws = [0.5, 0.25]
    extra = [0.01] if act == "leaky_relu" else []
    operands = [*xs, *ws, 0.1, *extra]
    out = op.forward(*operands)
    z = 0.3 * 0.5 - 1.2 * 0.25 + 0.1
    if act != "linear":
        assert _close(out, autograd.get_op(act).forward(z, *extra))
    else:
        assert _close(out, z)
    local = op.local(out, *operands)
    vals = [Value(v) for v in operands[:5]] + extra
    node = autograd.apply(op, *vals)
    for i in range(5):
        assert _close(float(op.local_value(tuple(vals), node, i)), local[i])
    # the float rule agrees with a central difference (smooth point)
    h = 1e-6
    for i in range(5):
        up = list(operands)
        dn = list(operands)
        up[i] += h
        dn[i] -= h
        fd = (op.forward(*up) - op.forward(*dn)) / (2 * h)
        assert math.isclose(fd, local[i], rel_tol=1e-5, abs_tol=1e-6)


def test_relu_neuron_kink_follows_the_relu_entry():
    op = NEURON_OPS["relu"]
    (kink,) = op.kinks
    out = op.forward(*kink.at)
    assert out == 0.0
    assert op.local(out, *kink.at) == kink.partials
    assert autograd.get_op("relu").local(0.0, 0.0) == (0.0,)


def test_fused_nodes_carry_scopes_and_parameters_carry_labels():
    m = nn.MLP(2, [3, 2, 1], seed=0)
    y = m([1.0, 2.0])
    assert y.scope == "layer 3/neuron 1"
    hidden = y.parents[0]
    assert hidden.scope == "layer 2/neuron 1"
    p = m.layers[0].neurons[2].w[1]
    assert p.label == "layers.0.neurons.2.w.1"
    assert p.scope == "layer 1/neuron 3"
    assert m.layers[1].neurons[0].b.label == "layers.1.neurons.0.b"


def test_unfused_nodes_carry_scopes():
    m = nn.MLP(2, [2, 1], seed=0, fused=False)
    y = m([1.0, 2.0])
    seen = [y, *autograd.backward_order(y)]
    scopes = {v.scope for v in seen}
    assert scopes == {"layer 1/neuron 1", "layer 1/neuron 2", "layer 2/neuron 1"}
    ops = {v.op for v in seen}
    assert {"mul", "add", "relu"} <= ops


def test_no_grad_model_call_records_nothing():
    m = nn.MLP(2, [3, 1], seed=0)
    with autograd.no_grad():
        y = m([1.0, 2.0])
    assert y.parents == ()
    assert math.isclose(y.data, m([1.0, 2.0]).data)


# ---------------------------------------------------------------------------
# fused losses against their elementwise definitions

pairs = st.lists(st.tuples(finite, finite), min_size=1, max_size=5)


def _grads(loss: Value, xs: list[Value]) -> list[float]:
    return [g.data for g in autograd.grad(loss, xs, allow_unused=True)]


@given(pairs)
def test_mse_and_l1_match_elementwise(ps):
    p = [Value(a) for a, _ in ps]
    t = [Value(b) for _, b in ps]
    n = len(ps)
    for fused_fn, ref in (
        (nn.mse_loss, lambda: autograd.sum((a - b) ** 2 for a, b in zip(p, t)) / n),
        (nn.l1_loss, lambda: autograd.sum(abs(a - b) for a, b in zip(p, t)) / n),
    ):
        lf, lr = fused_fn(p, t), ref()
        assert lf.label == "loss"
        assert _close(lf.data, lr.data)
        for a, b in zip(_grads(lf, p + t), _grads(lr, p + t)):
            assert _close(a, b)


@given(st.lists(st.tuples(finite, st.sampled_from([0.0, 1.0, 0.3])), min_size=1, max_size=5))
def test_bce_with_logits_matches_elementwise(ps):
    z = [Value(a) for a, _ in ps]
    y = [b for _, b in ps]
    n = len(ps)
    lf = nn.binary_cross_entropy_with_logits(z, y)
    lr = autograd.sum(-(b * a.sigmoid().log() + (1 - b) * (1 - a.sigmoid()).log())
                      for a, b in zip(z, y)) / n
    assert _close(lf.data, lr.data, 1e-8)
    for a, b in zip(_grads(lf, z), _grads(lr, z)):
        assert _close(a, b, 1e-8)


def test_bce_with_logits_is_stable_for_large_logits():
    z = Value(800.0)
    loss = nn.binary_cross_entropy_with_logits([z], [0.0])
    loss.backward()
    assert _close(loss.data, 800.0)
    assert _close(z.grad, 1.0)


@given(st.lists(st.tuples(finite, st.sampled_from([-1, 1])), min_size=1, max_size=6))
def test_hinge_matches_micrograd_max_margin(ps):
    s = [Value(a) for a, _ in ps]
    y = [b for _, b in ps]
    lf = nn.hinge_loss(s, y)
    lr = autograd.sum((1 + -yi * si).relu() for si, yi in zip(s, y)) * (1.0 / len(s))
    assert _close(lf.data, lr.data)
    for a, b in zip(_grads(lf, s), _grads(lr, s)):
        assert _close(a, b)


@given(st.lists(finite, min_size=2, max_size=6), st.data())
def test_cross_entropy_matches_log_softmax(zs, data):
    target = data.draw(st.integers(0, len(zs) - 1))
    z = [Value(v) for v in zs]
    lf = nn.cross_entropy(z, target)
    lr = autograd.logsumexp(z) - z[target]
    assert _close(lf.data, lr.data)
    for a, b in zip(_grads(lf, z), _grads(lr, z)):
        assert _close(a, b)


def test_cross_entropy_is_stable_for_large_logits():
    z = [Value(1000.0), Value(-1000.0), Value(0.0)]
    loss = nn.cross_entropy(z, 1)
    loss.backward()
    assert _close(loss.data, 2000.0)
    assert _close(z[0].grad, 1.0) and _close(z[1].grad, -1.0)


@given(st.lists(finite, min_size=2, max_size=4), st.lists(finite, min_size=2, max_size=4))
def test_create_graph_through_fused_losses(zs, ts):
    n = min(len(zs), len(ts))
    z = [Value(v) for v in zs[:n]]
    t = [Value(v) for v in ts[:n]]
    cases = [
        (nn.mse_loss(z, t), autograd.sum((a - b) ** 2 for a, b in zip(z, t)) / n),
        (nn.cross_entropy(z, 0), autograd.logsumexp(z) - z[0]),
        (nn.binary_cross_entropy_with_logits(z, [0.5] * n),
         autograd.sum(a.softplus() - 0.5 * a for a in z) / n),
        (nn.l2_penalty(z, 0.5), 0.5 * autograd.sum(a * a for a in z)),
        (nn.l1_loss(z, t), autograd.sum(abs(a - b) for a, b in zip(z, t)) / n),
        (nn.hinge_loss(z, [1] * n), autograd.sum((1.0 - a).relu() for a in z) / n),
    ]
    for fused_loss, ref in cases:
        gf = autograd.grad(fused_loss, z, create_graph=True)
        gr = autograd.grad(ref, z, create_graph=True)
        for a, b in zip(gf, gr):
            assert _close(a.data, b.data, 1e-8)
        hf = _grads(gf[0], z + t)
        hr = _grads(gr[0], z + t)
        for a, b in zip(hf, hr):
            assert _close(a, b, 1e-7)


@given(st.sampled_from(ACTIVATIONS), st.integers(0, 10**6),
       st.lists(st.lists(finite, min_size=2, max_size=2), min_size=1, max_size=5))
def test_forward_batch_equals_per_sample_calls(act, seed, rows):
    mb = nn.MLP(2, [4, 2], activation=act, seed=seed)
    ms = nn.MLP(2, [4, 2], activation=act, seed=seed)
    batch = mb.forward_batch(rows)
    single = [ms(r) for r in rows]
    for ob, os_ in zip(batch, single):
        assert [v.data for v in ob] == [v.data for v in os_]
        assert [v.scope for v in ob] == [v.scope for v in os_] == ["layer 2/neuron 1",
                                                                   "layer 2/neuron 2"]
        assert [v.parents[0].scope for v in ob] == ["layer 1/neuron 1"] * 2
    autograd.sum([v for o in batch for v in o]).backward()
    autograd.sum([v for o in single for v in o]).backward()
    for pb, ps in zip(mb.parameters(), ms.parameters()):
        assert _close(pb.grad, ps.grad)


def test_forward_batch_without_scopes_builds_the_same_graph():
    m = nn.MLP(2, [3, 1], seed=0)
    rows = [[0.1, 0.2], [0.3, -0.4], [1.0, 2.0]]
    tagged = m.forward_batch(rows)
    plain = m.forward_batch(rows, scopes=False)
    for a, b in zip(tagged, plain):
        assert a.data == b.data and a.op == b.op and len(a.parents) == len(b.parents)
        assert a.scope == "layer 2/neuron 1" and b.scope == ""


@given(st.floats(0.0, 0.5), st.integers(0, 10**6), st.lists(finite, min_size=3, max_size=3))
def test_leaky_relu_any_slope_matches_unfused(slope, seed, xs):
    fused = nn.Neuron(3, "leaky_relu", negative_slope=slope, seed=seed)
    plain = nn.Neuron(3, "leaky_relu", negative_slope=slope, seed=seed, fused=False)
    xf = [Value(v) for v in xs]
    xp = [Value(v) for v in xs]
    yf, yp = fused(xf), plain(xp)
    assert _close(yf.data, yp.data)
    gf = autograd.grad(yf, xf + fused.parameters(), create_graph=True)
    gp = autograd.grad(yp, xp + plain.parameters(), create_graph=True)
    for a, b in zip(gf, gp):
        assert _close(a.data, b.data)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_compiled_neurons_are_bit_identical_to_the_engine(act):
    m = nn.MLP(2, [5, 4, 1], activation=act, seed=3)
    ps = m.parameters()

    def loss_fn(xs, ts):
        return nn.hinge_loss(m.forward_batch(xs), ts) + nn.l2_penalty(ps, 1e-3)

    step = autograd.compile(loss_fn)
    batches = [([[0.5, -1.0], [2.0, 0.25], [-1.5, 1.5]], [1, -1, 1]),
               ([[-0.3, 0.8], [1.1, -2.0], [0.0, 0.4]], [-1, 1, 1])]
    for xs, ts in batches * 2:  # different data through one trace (other relu branches)
        for p in ps:
            p.grad = 0.0
        compiled = step(xs, ts)
        got = [p.grad for p in ps]
        for p in ps:
            p.grad = 0.0
        loss = loss_fn(xs, ts)
        loss.backward()
        assert compiled == loss.data
        assert got == [p.grad for p in ps]
        for p in ps:
            p.data -= 0.3 * p.grad


def test_large_batches_are_tagged_like_single_calls():
    m = nn.MLP(2, [3, 2], seed=1)
    rows = [[i / 7, 1 - i / 5] for i in range(15)]  # large enough for scope blocks
    batch = m.forward_batch(rows)
    for row, outs in zip(rows, batch):
        single = m(row)
        assert [o.scope for o in outs] == [o.scope for o in single]
        assert [o.data for o in outs] == [o.data for o in single]
        assert [p.scope for p in outs[0].parents[:3]] == ["layer 1/neuron 1",
                                                         "layer 1/neuron 2",
                                                         "layer 1/neuron 3"]


@pytest.mark.parametrize("bad", [-math.inf, math.nan])
@pytest.mark.parametrize("path", ["call", "forward_batch", "compiled"])
def test_dead_relu_neuron_with_a_non_finite_input_gives_ieee_partials(bad, path):
    # relu'(z) = 0 but 0 * inf = nan: the fused node gives what the elementwise graph (and
    # PyTorch) give, not zeros; finite inputs still get exact zeros
    import autograd

    def run(fused):
        model = nn.MLP(2, [1], output_activation="relu", seed=1, fused=fused)
        n = model.layers[0].neurons[0]
        n.w[0].data, n.w[1].data, n.b.data = 1.0, 0.5, 0.0
        xs = [Value(bad), Value(2.0)]
        if path == "compiled" and fused:
            autograd.compile(lambda x: model(x))(xs)
        else:
            out = model.forward_batch([xs])[0] if path == "forward_batch" else model(xs)
            out = out[0] if isinstance(out, list) else out
            out.backward()
        return [p.grad for p in n.parameters()] + [x.grad for x in xs]

    fused, plain = run(True), run(False)
    assert [repr(g) for g in fused] == [repr(g) for g in plain]
    assert math.isnan(fused[0]) and fused[1:] == [0.0, 0.0, 0.0, 0.0]


# ---------------------------------------------------------------------------
# Each fused loss is one formula: its rendered forms agree with each other.

LOSSES = ("mse_loss", "l1_loss", "bce_with_logits", "hinge_loss", "cross_entropy")
EDGE = (0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -3.0, 1e300, math.inf, -math.inf, math.nan)


def _loss_points(n: int) -> list[tuple[float, ...]]:
    rng = random.Random(n)
    pts = [tuple(rng.choice(EDGE) if rng.random() < 0.3 else rng.uniform(-3, 3)
                 for _ in range(2 * n)) for _ in range(40)]
    pts.append((1.0,) * (2 * n))  # every kink at once (p = t; margin exactly 1)
    return pts


def _templates(op: autograd.Op, xs: tuple[float, ...]) -> tuple[float, list[float]]:
    """An op's compile templates evaluated at ``xs``: (out, the non-parameter partials)."""
    out, partials = eval_codegen(op.codegen, xs)
    return out, partials[:len(xs) - op.params]


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("n", [1, 3])
def test_fused_loss_forms_agree_bit_for_bit(name: str, n: int) -> None:
    op = autograd.get_op(name)
    assert op.rule is not None and op.rule.operands[0].startswith("*")
    for xs in _loss_points(n):
        out = op.forward(*xs)
        local = op.local(out, *xs)
        assert len(local) == 2 * n
        value = [op.local_value(tuple(Value(x) for x in xs), Value(out), w)
                 for w in range(2 * n)]
        t_out, t_local = _templates(op, xs)
        assert _bits(t_out) == _bits(out), (name, xs)
        for k in range(2 * n):
            v = value[k].data if isinstance(value[k], Value) else value[k]
            assert _bits(v) == _bits(local[k]) or (v == 0.0 == local[k]), (name, xs, k)
            assert _bits(t_local[k]) == _bits(local[k]), (name, xs, k)


@pytest.mark.parametrize("name", LOSSES)
def test_fused_loss_numpy_form_agrees_with_the_float_rule(name: str) -> None:
    np = pytest.importorskip("numpy")
    from autograd import formula_numpy as FN

    op = autograd.get_op(name)
    n = 3
    rows = [xs for xs in _loss_points(n) if all(abs(x) < 1e6 for x in xs)]
    r = FN.render(op, 2 * n)
    assert isinstance(r, FN.FormulaRendered)
    glob = dict(FN.namespace())
    glob["_B"] = len(rows)
    cols = np.array(rows).T
    for k in range(2 * n):
        glob[f"a{k}"] = cols[k]
    lines: list[str] = []
    locs = r.emit("0", [f"a{k}" for k in range(2 * n)], "out", True, lines.append, glob)
    exec("\n".join(line.strip() for line in lines), glob)
    exact = name in ("mse_loss", "l1_loss", "hinge_loss")  # no libm function inside
    for s, xs in enumerate(rows):
        out = op.forward(*xs)
        want = op.local(out, *xs)
        got = [np.broadcast_to(eval(src, glob), (len(rows),))[s] for src in locs]
        pairs = [(glob["out"][s], out), *zip(got, want)]
        for a, b in pairs:
            assert (_bits(float(a)) == _bits(b)) if exact else _close(float(a), b, 1e-12)


def test_loss_partials_are_the_inlined_ops_own_rules() -> None:
    # l1's derivative is abs's partial, hinge's gate relu's, bce's sigmoid softplus's
    abs_, relu, softplus = (autograd.get_op(k) for k in ("abs", "relu", "softplus"))
    l1, hinge, bce = (autograd.get_op(k) for k in ("l1_loss", "hinge_loss", "bce_with_logits"))
    for xs in _loss_points(3):
        ps, ts = xs[:3], xs[3:]
        d = [abs_.local(abs(p - t), p - t)[0] / 3 for p, t in zip(ps, ts)]
        assert list(map(_bits, l1.local(l1.forward(*xs), *xs))) == \
            list(map(_bits, d + [-x for x in d]))
        g = [relu.local(relu.forward(1.0 - p * t), 1.0 - p * t)[0] / 3 for p, t in zip(ps, ts)]
        want = [-a * t for a, t in zip(g, ts)] + [-a * p for a, p in zip(g, ps)]
        assert list(map(_bits, hinge.local(hinge.forward(*xs), *xs))) == list(map(_bits, want))
        s = [(softplus.local(softplus.forward(p), p)[0] - t) / 3 for p, t in zip(ps, ts)]
        assert list(map(_bits, bce.local(bce.forward(*xs), *xs)[:3])) == list(map(_bits, s))


# ---------------------------------------------------------------------------
# Each neuron op is one formula composed from its activation's: its forms agree.


def _neuron_points(act: str, n: int) -> list[tuple[float, ...]]:
    rng = random.Random(7 * n + len(act))
    extra = (0.01,) if act == "leaky_relu" else ()
    pts = [(*(rng.choice(EDGE) if rng.random() < 0.2 else rng.uniform(-3, 3)
              for _ in range(2 * n + 1)), *extra) for _ in range(40)]
    pts.append((*[0.0] * (2 * n + 1), *extra))  # z = 0: relu's and leaky_relu's kink
    return pts


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("n", [1, 3])
def test_neuron_forms_agree_with_the_activations_own_rules(act: str, n: int) -> None:
    op = NEURON_OPS[act]
    act_op = nn.fused.activation_op(act)
    assert op.rule is not None and op.rule.temps == (("z", nn.fused.NEURON_Z),)
    for xs in _neuron_points(act, n):
        core = xs[:2 * n + 1]
        extra = xs[2 * n + 1:]
        z = sum(x * w for x, w in zip(core[:n], core[n:2 * n])) + core[2 * n]
        want_out = act_op.forward(z, *extra) if act_op else z
        a = act_op.local(want_out, z, *extra)[0] if act_op else 1.0
        want = [a * w for w in core[n:2 * n]] + [a * x for x in core[:n]] + [a]
        out = op.forward(*xs)
        assert _bits(out) == _bits(want_out), (act, xs)
        assert list(map(_bits, op.local(out, *xs))) == list(map(_bits, want)), (act, xs)
        t_out, t_local = _templates(op, xs)
        assert _bits(t_out) == _bits(out)
        assert list(map(_bits, t_local)) == list(map(_bits, want)), (act, xs)
        vals = (*[Value(x) for x in core], *extra)
        for w in range(2 * n + 1):
            v = op.local_value(vals, Value(out), w)
            v = v.data if isinstance(v, Value) else v
            if all(abs(x) < 1e6 for x in core):  # z as a graph: dot's exactly rounded data
                assert _close(v, want[w], 1e-12) or (v != v and want[w] != want[w]), (act, xs)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_neuron_numpy_form_agrees_with_the_float_rule(act: str) -> None:
    np = pytest.importorskip("numpy")
    from autograd import formula_numpy as FN

    op = NEURON_OPS[act]
    n = 3
    rows = [xs for xs in _neuron_points(act, n) if all(abs(x) < 1e6 for x in xs)]
    r = FN.render(op, len(rows[0]))
    assert r is not None
    glob = dict(FN.namespace())
    glob["_B"] = len(rows)
    cols = np.array(rows).T
    for k in range(len(rows[0])):
        glob[f"a{k}"] = cols[k]
    lines: list[str] = []
    locs = r.emit("0", [f"a{k}" for k in range(len(rows[0]))], "out", True, lines.append, glob)
    exec("\n".join(line.strip() for line in lines), glob)
    assert len(locs) == 2 * n + 1
    for s, xs in enumerate(rows):
        out = op.forward(*xs)
        want = op.local(out, *xs)
        got = [np.broadcast_to(eval(src, glob), (len(rows),))[s] for src in locs]
        for a, b in [(glob["out"][s], out), *zip(got, want)]:
            assert _close(float(a), b, 1e-12) or (a != a and b != b), (act, xs)


@pytest.mark.parametrize("act", SMOOTH)
def test_neuron_create_graph_matches_the_elementwise_graph(act: str) -> None:
    xs = [Value(0.3), Value(-1.2)]
    fused = nn.Neuron(2, act, seed=4)
    plain = nn.Neuron(2, act, seed=4, fused=False)
    gf = autograd.grad(fused(xs), xs, create_graph=True)
    gp = autograd.grad(plain(xs), xs, create_graph=True)
    for a, b in zip(gf, gp):
        assert _close(a.data, b.data, 1e-12)
    hf = _grads(gf[0], xs + fused.parameters())
    hp = _grads(gp[0], xs + plain.parameters())
    for a, b in zip(hf, hp):
        assert _close(a, b, 1e-9)


def test_a_neuron_formula_of_the_wrong_shape_is_refused_naming_the_op() -> None:
    with pytest.raises(autograd.formula.FormulaError,
                       match=r"bad_neuron: the temporary z = .* may not read i"):
        autograd.ops.define_op("bad_neuron", "b", ("*xs", "*ws", "b"), "z",
                               ("ws[i]", "xs[i]", "1.0"), temps=(("z", "xs[i] + b"),),
                               domain=((0, 1),), builtin=False)
    with pytest.raises(autograd.formula.FormulaError,
                       match=r"bad_order: groups \(\*xs\) come first"):
        autograd.ops.define_op("bad_order", "b", ("*xs", "b", "*ws"), "b", ("1.0",) * 3,
                               domain=((0, 1),), builtin=False)
    with pytest.raises(autograd.formula.FormulaError, match=r"bad_names: unknown name 'y'"):
        autograd.ops.define_op("bad_names", "b", ("*xs", "b"), "y", ("1.0", "1.0"),
                               temps=(("z", "fsum(xs)"),), domain=((0, 1),), builtin=False)
