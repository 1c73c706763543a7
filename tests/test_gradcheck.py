"""gradcheck and gradgradcheck: values, error estimates, kinks, culprits, reports, errors, steps."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import GradcheckError, Value, func, gradcheck, gradgradcheck
from autograd.gradcheck import UNCERTAIN
from autograd.testing import assert_grads_match, expressions, operands
from tests.helpers import removed_on_exit

BUILTIN = [op for op in autograd.iter_ops() if op.builtin]
KINKS = [(op, k) for op in BUILTIN for k in op.kinks]

finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)

# tests repeated for every op of the table: at most 100 examples each, even in CI
per_op = settings(max_examples=min(settings().max_examples, 100))


@contextmanager
def registered(name: str, derivative: object, forward: object = None) -> Iterator[object]:
    """A custom op that exists only inside the block (so other tests never see it)."""
    fwd = forward or (lambda x: x / (1.0 + math.exp(-x)))
    op = autograd.custom_op(name, forward=fwd, derivative=derivative)  # type: ignore[arg-type]
    with removed_on_exit(name):
        yield op


def swish_derivative(x: Value) -> Value:
    s = x.sigmoid()
    return s * (1 + x * (1 - s))


# ---------------------------------------------------------------------------
# Smooth functions: numbers and error estimates


@given(finite)
def test_numeric_column_is_within_its_error_estimate_of_the_true_derivative(x: float) -> None:
    result = gradcheck(lambda t: t.sin() * t, [x])
    (entry,) = result.entries
    true = math.cos(x) * x + math.sin(x)
    assert entry.shape == "smooth"
    assert abs(entry.numeric - true) <= entry.error + 1e-12
    assert entry.error < 1e-7
    assert entry.analytic == pytest.approx(true, rel=1e-12, abs=1e-12)
    assert entry.verdict == "ok" and result.passed and bool(result)


@given(finite, st.floats(0.2, 3.0))
def test_error_estimate_covers_the_error_even_with_a_coarse_fixed_step(x: float, y: float) -> None:
    # near y = 0.2 the step 0.05 is too coarse for log to decide: the entry is
    # "uncertain" (allowed here), and its error estimate still covers the error
    result = gradcheck(lambda a, b: (a * b).tanh() + b.log(), [x, y], eps=0.05,
                       allow_uncertain=True)
    da = (1 - math.tanh(x * y) ** 2) * y
    db = (1 - math.tanh(x * y) ** 2) * x + 1 / y
    for entry, true in zip(result.entries, (da, db)):
        assert abs(entry.numeric - true) <= entry.error + 1e-9


def test_error_estimate_covers_the_error_where_richardsons_difference_cancels() -> None:
    # at b = 1.25 with eps = 0.05 the two Richardson combinations (h, 2h and 2h, 4h)
    # differ by 6.3e-9 while the estimate is off by 4.3e-8: the h**4 and h**6 terms
    # balance; the estimate also looks one step coarser, where they do not
    x, y = -1.732421875, 1.25
    result = gradcheck(lambda a, b: (a * b).tanh() + b.log(), [x, y], eps=0.05,
                       allow_uncertain=True)
    entry = result.entries[1]
    true = (1 - math.tanh(x * y) ** 2) * x + 1 / y
    assert abs(entry.numeric - true) > 4e-8  # the example: a coarse step's real error
    assert abs(entry.numeric - true) <= entry.error
    assert entry.passed and entry.shape == "smooth"


def test_richardson_beats_a_plain_central_difference_at_the_same_step() -> None:
    x, h = 1.3, 0.05
    plain = (math.exp(x + h) - math.exp(x - h)) / (2 * h)
    (entry,) = gradcheck(lambda t: t.exp(), [x], eps=h).entries
    assert abs(entry.numeric - math.exp(x)) < abs(plain - math.exp(x)) / 100


def test_inputs_keep_their_values_and_names() -> None:
    w = Value(0.5, label="weight")
    result = gradcheck(lambda a, bias: a * bias, [w, 2.0])
    assert [e.name for e in result.entries] == ["weight", "bias"]
    assert [e.point for e in result.entries] == [0.5, 2.0]
    assert w.grad == 0.0  # the user's Value is not touched
    assert result.value == 1.0


def test_unused_input_has_zero_gradient_on_both_sides() -> None:
    result = gradcheck(lambda a, b: a * 3, [1.0, 2.0])
    assert result.entries[1].analytic == 0.0
    assert abs(result.entries[1].numeric) <= result.entries[1].error + 1e-12


# ---------------------------------------------------------------------------
# Every op of the table: over its domain, at its kinks, in random DAGs


def _registered_by_packages() -> list[autograd.Op]:
    import nn  # noqa: F401  (registers its fused ops)

    return [op for op in autograd.iter_ops() if not op.builtin]


def _apply(op: autograd.Op, consts: tuple[float, ...]):  # type: ignore[no-untyped-def]
    return lambda *xs: autograd.apply(op, *xs, *consts)


@pytest.mark.parametrize("op", BUILTIN, ids=lambda o: o.name)
@per_op
@given(data=st.data())
def test_every_op_passes_over_its_domain(op: autograd.Op, data: st.DataObject) -> None:
    ops = data.draw(operands(op))
    n = len(ops) - op.params
    result = gradcheck(_apply(op, ops[n:]), list(ops[:n]))
    assert result.passed, str(result)
    for e in result.entries:
        if e.shape == "smooth":  # "within FD error" where a tie is within a step
            assert e.verdict in ("ok", "ok (within FD error)")
            assert abs(e.analytic - e.numeric) <= 1e-5 + 1e-3 * abs(e.numeric) + e.error


@pytest.mark.parametrize(
    ("op", "kink"),
    KINKS + [(op, k) for op in _registered_by_packages() for k in op.kinks],
    ids=lambda v: getattr(v, "name", ""),
)
def test_every_op_passes_at_each_of_its_kinks(op: autograd.Op, kink: autograd.Kink) -> None:
    n = len(kink.at) - op.params
    result = gradcheck(_apply(op, kink.at[n:]), list(kink.at[:n]))
    assert result.passed, str(result)
    assert [e.analytic for e in result.entries] == list(kink.partials)
    for e in result.entries:
        if e.shape in ("kink", "jump", "boundary"):
            assert any(f"at node 1 ({op.name}, " in note for note in e.notes), str(result)


@pytest.mark.parametrize("op", BUILTIN, ids=lambda o: o.name)
@per_op
@given(data=st.data())
def test_every_op_in_random_dags_aimed_at_kinks(op: autograd.Op, data: st.DataObject) -> None:
    expr = data.draw(expressions([op, "add", "mul"], max_steps=4, at_kinks=True))
    assert_grads_match(expr)


@pytest.mark.parametrize("op", BUILTIN, ids=lambda o: o.name)
@per_op
@given(data=st.data())
def test_every_op_second_derivatives_in_random_dags(op: autograd.Op, data: st.DataObject) -> None:
    expr = data.draw(expressions([op, "mul", "tanh"], max_steps=3))
    assert_grads_match(expr, second_order=True)


@pytest.mark.parametrize("op", _registered_by_packages(), ids=lambda o: o.name)
@per_op
@given(data=st.data())
def test_ops_registered_by_other_packages_pass_in_random_dags(
    op: autograd.Op, data: st.DataObject
) -> None:
    expr = data.draw(expressions([op, "add"], max_steps=3, at_kinks=data.draw(st.booleans())))
    assert_grads_match(expr)


# ---------------------------------------------------------------------------
# Kinks: named, and never a false failure


def test_relu_at_zero_is_a_kink_named_in_the_report() -> None:
    result = gradcheck(lambda x: x.relu(), [0.0])
    (entry,) = result.entries
    assert entry.verdict == "ok (kink)"
    assert (entry.left, entry.right) == pytest.approx((0.0, 1.0))
    assert "kink at node 1 (relu, input 0.0)" in str(result)
    assert "autodiff 0 lies between them" in str(result)
    (kink,) = result.kinks
    assert (kink.index, kink.op, kink.kind) == (1, "relu", "kink")


@pytest.mark.parametrize(
    ("f", "point", "op"),
    [
        (lambda x: abs(x) * 2, [0.0], "abs"),
        (lambda x: x.clamp(-1, 1), [-1.0], "clamp"),
        (lambda x: x.clamp(0, 6) + x, [6.0], "clamp"),
        (lambda x, y: autograd.maximum(x, y) * 3, [1.5, 1.5], "maximum"),
        (lambda x, y: autograd.minimum(x, y), [-2.0, -2.0], "minimum"),
        (lambda x: x.leaky_relu(0.2), [0.0], "leaky_relu"),
    ],
)
def test_no_false_failure_at_kinks(f, point, op) -> None:  # type: ignore[no-untyped-def]
    result = gradcheck(f, point)
    assert result.passed
    assert any(e.verdict == "ok (kink)" for e in result.entries)
    assert f"kink at node 1 ({op}, " in str(result)


def test_kink_deep_in_the_graph_is_numbered_in_creation_order() -> None:
    def f(x: Value) -> Value:
        a = x * 2
        b = a - 2
        b.label = "shifted"
        return b.relu() + a

    result = gradcheck(f, [1.0])
    assert result.passed
    assert "kink at node 3 (relu, input 0.0)" in str(result)
    assert result.kinks[0].index == 3


def test_smooth_composite_through_kinks_passes_by_kink_convention() -> None:
    # relu(x) - relu(-x) = x is smooth, but autodiff gives 0 at 0, as in PyTorch
    result = gradcheck(lambda x: x.relu() - (-x).relu(), [0.0])
    (entry,) = result.entries
    assert entry.analytic == 0.0 and entry.numeric == pytest.approx(1.0)
    assert entry.verdict == "ok (kink convention)" and result.passed
    assert result.culprit is None


def test_domain_edges_are_checked_from_the_defined_side() -> None:
    for f in (lambda x: x.sqrt(), lambda x: x.log()):
        (entry,) = gradcheck(f, [0.0]).entries
        assert entry.shape == "boundary" and entry.verdict == "ok (one-sided)"
        assert entry.analytic == math.inf


def test_a_jump_is_skipped_not_failed() -> None:
    result = gradcheck(lambda x, y: x**y, [0.0, 0.0])
    assert result.entries[1].verdict == "skipped (jump)"
    assert result.passed


def test_a_wrong_value_at_a_kink_fails() -> None:
    bad = autograd.Op(
        "bad_relu", "bad_relu", 1, lambda x: max(x, 0.0), lambda out, x: (2.0,),
        lambda o, out, wrt: 2.0, "max(x, 0)", "2", ((-3.0, 3.0),), builtin=False,
    )
    autograd.register_op(bad)
    with removed_on_exit("bad_relu"):
        result = gradcheck(lambda x: autograd.apply("bad_relu", x), [0.0],
                           raise_exception=False)
    assert not result.passed
    assert result.culprit is not None and result.culprit.op == "bad_relu"


# ---------------------------------------------------------------------------
# Failures: the table, the culprit


def test_wrong_custom_derivative_is_caught_and_named_as_the_culprit() -> None:
    with registered("swish_wrong", lambda x: x.sigmoid()):

        def loss(w: Value, b: Value) -> Value:
            h = (w * 2 + b).tanh()
            z = h.swish_wrong()
            z.label = "z"
            return z * z + w

        with pytest.raises(GradcheckError) as info:
            gradcheck(loss, [0.5, -0.2])
    result = info.value.result
    assert not result.passed and len(result.failures) == 2
    culprit = result.culprit
    assert culprit is not None
    assert (culprit.op, culprit.label) == ("swish_wrong", "z")
    assert (culprit.index, culprit.kind) == (4, "local")
    h = math.tanh(0.5 * 2 - 0.2)
    assert culprit.operands == pytest.approx((h,))
    assert culprit.autodiff == pytest.approx(1 / (1 + math.exp(-h)))
    assert culprit.numeric == pytest.approx(swish_derivative(Value(h)).data, rel=1e-8)
    text = str(info.value)
    assert "culprit: node 4 'z' (swish_wrong, input 0.664037)" in text
    assert "autodiff = the engine's backward pass (analytic)" in text
    assert "finite diff = central differences" in text
    assert "FAIL" in text


def test_correct_custom_op_passes_both_checks() -> None:
    with registered("swish_ok", swish_derivative) as swish:
        assert gradcheck(swish, [0.3]).passed  # type: ignore[arg-type]
        assert gradgradcheck(lambda x: x.swish_ok() * x, [-1.2]).passed


def test_first_wrong_node_is_named_when_two_are_wrong() -> None:
    with registered("wrong_a", lambda x: x * 0 + 5.0), registered("wrong_b", lambda x: x * 0):
        result = gradcheck(lambda x: x.wrong_b().wrong_a(), [0.7], raise_exception=False)
    assert result.culprit is not None and result.culprit.op == "wrong_b"
    assert result.culprit.index == 1


def test_cut_graph_fails_without_a_culprit_and_says_why() -> None:
    result = gradcheck(lambda x: x * Value(x.data), [1.5], raise_exception=False)
    assert not result.passed and result.culprit is None
    assert "reads .data" in str(result)


def test_raise_exception_false_returns_a_falsy_result() -> None:
    with registered("swish_wrong2", lambda x: x.sigmoid()) as op:
        result = gradcheck(op, [1.0], raise_exception=False)  # type: ignore[arg-type]
    assert not result
    assert result.entries[0].verdict == "FAIL"


def test_gradgradcheck_names_a_derivative_that_create_graph_cannot_see() -> None:
    # the derivative is right in value but built from .data, so it is a constant
    # to create_graph: first derivatives pass, second derivatives fail
    with registered(
        "swish_flat", lambda x: Value(swish_derivative(x).data), forward=None
    ) as op:
        assert gradcheck(op, [0.4]).passed  # type: ignore[arg-type]
        with pytest.raises(GradcheckError) as info:
            gradgradcheck(op, [0.4])  # type: ignore[arg-type]
    culprit = info.value.result.culprit
    assert culprit is not None
    assert (culprit.op, culprit.kind) == ("swish_flat", "d local_value")
    assert "gradgradcheck" in str(info.value)


@given(finite, st.floats(0.2, 3.0))
def test_gradgradcheck_matches_the_hessian(x: float, y: float) -> None:
    def f(a: Value, b: Value) -> Value:
        return a * a * b.log() + (a * b).sin()

    result = gradgradcheck(f, [x, y])
    hess = func.hessian(lambda a, b: f(a, b), argnums=(0, 1))(x, y)
    assert [e.analytic for e in result.entries] == pytest.approx(
        [hess[0][0], hess[0][1], hess[1][0], hess[1][1]], rel=1e-12, abs=1e-12
    )
    assert [e.name for e in result.entries] == ["d2/da2", "d2/da db", "d2/db da", "d2/db2"]


# ---------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("f", "inputs", "kwargs", "error", "match"),
    [
        (3, [1.0], {}, TypeError, "gradcheck: f must be callable"),
        (lambda x: 2.0, [1.0], {}, TypeError, "gradcheck: f must return a Value, got float"),
        (lambda x: x, [], {}, ValueError, "inputs is empty"),
        (lambda x: x, ["a"], {}, TypeError, r"inputs\[0\] must be a Value or a real number"),
        (lambda x: x, "ab", {}, TypeError, "inputs must be a Value, a number or a sequence"),
        (lambda x: x, [math.nan], {}, ValueError, "check at a finite point"),
        (lambda x: x, [1.0], {"eps": 0.0}, ValueError, "eps must be a positive finite step"),
        (lambda x: x, [1.0], {"atol": -1.0}, ValueError, "atol must be a finite number >= 0"),
    ],
)
def test_bad_arguments_raise_clear_errors(f, inputs, kwargs, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        gradcheck(f, inputs, **kwargs)


def test_a_nan_point_is_refused_naming_the_first_nan_node() -> None:
    with pytest.raises(ValueError, match=r"f is nan at the point \(first nan at node 2 "
                                         r"\(log, input -2.0\)\)"):
        gradcheck(lambda x, y: (x * y).log() + x, [1.0, -2.0])
    with pytest.raises(ValueError, match="gradgradcheck: f is nan"):
        gradgradcheck(lambda x: x.sqrt(), [-1.0])


def test_gradgradcheck_errors_name_gradgradcheck() -> None:
    with pytest.raises(TypeError, match="gradgradcheck: f must return a Value"):
        gradgradcheck(lambda x: 1.0, [1.0])  # type: ignore[arg-type, return-value]


def test_functions_that_differentiate_inside_are_checked() -> None:
    def slope(x: Value) -> Value:  # d/dx x^3, itself differentiated by gradcheck
        return autograd.grad(x**3 + x.sin(), [x], create_graph=True)[0]

    (entry,) = gradcheck(slope, [1.5]).entries
    assert entry.analytic == pytest.approx(6 * 1.5 - math.sin(1.5), rel=1e-12)
    assert entry.verdict == "ok"


def test_a_single_number_is_a_point() -> None:
    assert gradcheck(lambda x: x.exp(), 0.5).entries[0].point == 0.5


@given(st.floats(1e3, 1e7))
def test_no_false_failure_when_the_default_step_is_too_coarse(x: float) -> None:
    # the step grows with |x| (6 at 1e6) but sin varies on a scale of 1: the
    # check retries with finer steps before it fails
    (entry,) = gradcheck(lambda t: t.sin() * 2, [x]).entries
    assert entry.passed
    assert abs(entry.numeric - 2 * math.cos(x)) <= entry.error + 1e-9


def test_a_wrong_derivative_still_fails_at_large_inputs() -> None:
    with registered("bad_sin", lambda t: t.cos() * 1.1, forward=math.sin):
        result = gradcheck(lambda t: t.bad_sin(), [1e6], raise_exception=False)
    assert not result.passed
    assert result.culprit is not None and result.culprit.op == "bad_sin"
    assert result.entries[0].numeric == pytest.approx(math.cos(1e6), abs=1e-3)


def test_gradgradcheck_names_a_value_rule_that_disagrees_with_the_float_rule() -> None:
    entry = autograd.Op(
        "cube_bad_value", "cube", 1, lambda x: x**3, lambda out, x: (3 * x * x,),
        lambda o, out, wrt: 2 * o[0] * o[0], "x^3", "3x^2", ((-3.0, 3.0),), builtin=False,
    )
    autograd.register_op(entry)
    with removed_on_exit("cube_bad_value"):
        f = lambda x: autograd.apply("cube_bad_value", x) * 2  # noqa: E731
        assert gradcheck(f, [0.7]).passed  # backward uses the float rule: right
        result = gradgradcheck(f, [0.7], raise_exception=False)
    assert not result.passed
    culprit = result.culprit
    assert culprit is not None
    assert (culprit.op, culprit.kind, culprit.index) == ("cube_bad_value", "local_value", 1)
    assert culprit.autodiff == pytest.approx(2 * 0.49)
    assert culprit.numeric == pytest.approx(3 * 0.49)
    assert "its Value rule (`local_value`, used by create_graph)" in str(result)


def test_kink_notes_name_the_operand_each_input_reaches() -> None:
    result = gradcheck(lambda x, y: autograd.maximum(x, y) * 3, [1.0, 1.0])
    x_notes, y_notes = (e.notes for e in result.entries)
    assert any("kink at node 1 (maximum, inputs 1.0, 1.0)" in n and "operand 0" in n
               for n in x_notes)
    assert any("kink at node 1 (maximum, inputs 1.0, 1.0)" in n and "operand 1" in n
               for n in y_notes)
    assert {(k.index, k.operand) for k in result.kinks} == {(1, 0), (1, 1)}


def test_checking_leaves_the_callers_gradients_alone() -> None:
    w = Value(0.7, label="w")
    w.grad = 5.0  # a training loop's accumulated gradient
    w2 = w * w  # an interior node made outside f
    w2.grad = -1.0

    def f(x: Value) -> Value:
        return (x * w2 + w).tanh()

    result = gradcheck(f, [0.3])
    assert result.passed
    assert (w.grad, w2.grad) == (5.0, -1.0)
    assert result.entries[0].analytic == pytest.approx(
        (1 - math.tanh(0.3 * 0.49 + 0.7) ** 2) * 0.49, rel=1e-12
    )


def test_autodiff_column_is_value_backward_even_in_anomaly_mode() -> None:
    with autograd.detect_anomaly():  # sqrt'(0) = inf is reported by gradcheck, not raised
        (entry,) = gradcheck(lambda x: x.sqrt(), [0.0]).entries
    assert entry.analytic == math.inf


# ---------------------------------------------------------------------------
# The step cannot fool the check: tiny or huge fixed steps never pass a wrong derivative
# (``eps=1e-300`` vanishes at the point and is refused; steps a little above the float
# spacing make the rounding estimate explode, huge ones the truncation estimate: the verdict
# is ``uncertain`` and the check fails unless ``allow_uncertain=True``)


few = settings(max_examples=min(settings().max_examples, 100))


@contextmanager
def square_with_derivative(factor: float) -> Iterator[object]:
    """``x*x`` whose derivative rule says ``factor * x`` (right only for factor 2)."""
    name = f"sq_{str(factor).replace('.', '_').replace('-', 'm')}"
    op = autograd.custom_op(name, forward=lambda x: x * x, derivative=lambda x: factor * x)
    with removed_on_exit(name):
        yield op


@pytest.mark.parametrize("eps", [1e-300, 1e-200, 5e-324, 1e-17])
def test_a_step_below_the_float_spacing_is_refused(eps: float) -> None:
    with pytest.raises(ValueError, match=r"below the spacing of floats at inputs\[0\] = 0.7"):
        gradcheck(lambda x: x * x, [0.7], eps=eps)
    with pytest.raises(ValueError, match="below the spacing of floats"):
        gradgradcheck(lambda x: x * x * x, [0.7], eps=eps)


def test_a_step_beyond_the_float_range_is_refused() -> None:
    with pytest.raises(ValueError, match="beyond the float range"):
        gradcheck(lambda x: x * x, [1.0], eps=1e308)


@few
@given(exponent=st.floats(-15.7, -13.0), factor=st.sampled_from([3.0, 2.5, 1.0, 0.0, -2.0]),
       x=st.floats(0.3, 3.0))
def test_a_wrong_derivative_never_passes_with_a_tiny_step(exponent: float, factor: float,
                                                         x: float) -> None:
    eps = 10.0 ** exponent
    with square_with_derivative(factor) as op:
        try:
            result = gradcheck(lambda t: op(t), [x], eps=eps,  # type: ignore[operator]
                               raise_exception=False)
        except ValueError as e:  # refused: below the float spacing at x
            assert "below the spacing of floats" in str(e)
            return
    (entry,) = result.entries
    assert not result.passed
    assert entry.verdict in ("FAIL", UNCERTAIN)


@few
@given(eps=st.floats(1e3, 1e150), factor=st.sampled_from([3.0, 0.0, -2.0]))
def test_a_wrong_derivative_never_passes_with_a_huge_step(eps: float, factor: float) -> None:
    with square_with_derivative(factor) as op:
        result = gradcheck(lambda t: op(t).tanh(), [0.4], eps=eps,  # type: ignore[operator]
                           raise_exception=False)
    assert not result.passed


def test_an_uncertain_entry_says_so_and_fails_unless_allowed() -> None:
    result = gradcheck(lambda x: x * x, [0.7], eps=1e-16, raise_exception=False)
    (entry,) = result.entries
    assert entry.verdict == UNCERTAIN and not entry.passed and not result.passed
    assert "too small (rounding) or too large (truncation)" in str(result)
    with pytest.raises(autograd.GradcheckError, match="uncertain"):
        gradcheck(lambda x: x * x, [0.7], eps=1e-16)
    allowed = gradcheck(lambda x: x * x, [0.7], eps=1e-16, allow_uncertain=True)
    assert allowed.passed and allowed.entries[0].verdict == UNCERTAIN


def test_sensible_steps_still_pass_right_and_fail_wrong_derivatives() -> None:
    for eps in (None, 1e-8, 1e-5, 1e-3):
        with square_with_derivative(2.0) as ok:
            assert gradcheck(lambda t: ok(t), [0.7], eps=eps).passed  # type: ignore[operator]
        with square_with_derivative(2.2) as bad:
            r = gradcheck(lambda t: bad(t), [0.7], eps=eps, raise_exception=False)  # type: ignore[operator]
        assert not r.passed and r.entries[0].verdict == "FAIL"
    assert math.isfinite(gradcheck(lambda x: x.exp(), [1.0]).entries[0].error)
