"""Custom ops: one table entry, a function and a Value method, create_graph, errors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value, func
from autograd.custom import CustomOp, remove_op
from autograd.ops import op_table_markdown

xs = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


def _swish(x: float) -> float:
    return x / (1.0 + math.exp(-x))


def _swish_derivative(x: Value) -> Value:
    s = x.sigmoid()
    return s * (1 + x * (1 - s))


@contextmanager
def op(name: str, forward: Any = _swish, derivative: Any = _swish_derivative,
       **kw: Any) -> Iterator[CustomOp]:
    made = autograd.custom_op(name, forward=forward, derivative=derivative, **kw)
    try:
        yield made
    finally:
        remove_op(name)


def _true_swish_grad(x: float) -> float:
    s = 1 / (1 + math.exp(-x))
    return s * (1 + x * (1 - s))


@given(xs)
def test_function_and_method_give_the_same_node(x: float) -> None:
    with op("swish_a") as swish:
        a, b = Value(x), Value(x)
        y1, y2 = swish(a), b.swish_a()
        assert y1.data == y2.data == pytest.approx(_swish(x), rel=1e-15, abs=0)
        assert y1.op == y2.op == "swish_a"
        y1.backward()
        y2.backward()
        assert a.grad == b.grad == pytest.approx(_true_swish_grad(x), rel=1e-12, abs=1e-15)


def test_one_entry_in_the_table_and_not_in_the_readme() -> None:
    with op("swish_b") as swish:
        entry = autograd.get_op("swish_b")
        assert entry is swish.op
        assert entry.builtin is False
        assert entry.arity == 1 and entry.api == "method"
        assert sum(1 for o in autograd.iter_ops() if o.name == "swish_b") == 1
        assert "swish_b" not in op_table_markdown()
    assert "swish_b" not in autograd.OPS


@given(xs)
def test_create_graph_differentiates_the_value_derivative(x: float) -> None:
    with op("swish_c"):
        second = func.hessian(lambda t: t.swish_c())(x)[0][0]
        h = 1e-4
        fd = (_true_swish_grad(x + h) - _true_swish_grad(x - h)) / (2 * h)
        assert second == pytest.approx(fd, rel=1e-6, abs=1e-7)
        assert autograd.gradgradcheck(lambda t: t.swish_c(), [x]).passed


def test_two_operand_op_with_constants_folded() -> None:
    with op("hypot2", forward=lambda a, b: math.hypot(a, b),
            derivative=lambda a, b: (a / (a * a + b * b).sqrt(), b / (a * a + b * b).sqrt()),
            method=False) as hypot:
        x = Value(3.0)
        y = hypot(x, 4.0)
        assert y.data == 5.0 and y.parents == (x,)
        y.backward()
        assert x.grad == pytest.approx(0.6)
        assert autograd.gradcheck(lambda a, b: hypot(a, b), [3.0, 4.0]).passed
        assert autograd.gradgradcheck(lambda a, b: hypot(a, b) * a, [1.0, -2.0]).passed
        with pytest.raises(AttributeError, match="no attribute 'hypot2'"):
            x.hypot2  # method=False: a function only


def test_nary_op_from_varargs_forward() -> None:
    with op("sumsq", forward=lambda *v: sum(t * t for t in v),
            derivative=lambda *v: [2 * t for t in v]) as sumsq:
        assert sumsq.op.arity == -1
        assert autograd.gradcheck(lambda a, b, c: sumsq(a, b, c), [1.0, -2.0, 0.5]).passed


def test_forward_domain_errors_become_nan() -> None:
    with op("mylog", forward=math.log, derivative=lambda x: 1 / x, arity=1) as mylog:
        assert math.isnan(mylog(Value(-1.0)).data)
        assert mylog(Value(math.e)).data == pytest.approx(1.0)


def test_unreadable_signature_asks_for_the_arity() -> None:
    with pytest.raises(TypeError, match="pass arity="):
        autograd.custom_op("mylog2", forward=math.log, derivative=lambda x: 1 / x)


def test_wrong_derivative_is_named_by_gradcheck() -> None:
    with (
        op("swish_bad", derivative=lambda x: x.sigmoid()),
        pytest.raises(autograd.GradcheckError, match=r"culprit: node 2 \(swish_bad"),
    ):
        autograd.gradcheck(lambda x: (x * 3).swish_bad(), [0.2])


def test_op_and_register_op_is_the_low_level_path() -> None:
    entry = autograd.Op(
        "cube", "cube", 1, lambda x: x**3, lambda out, x: (3 * x * x,),
        lambda o, out, wrt: 3 * o[0] * o[0], "x^3", "3x^2", ((-3.0, 3.0),), builtin=False,
    )
    autograd.register_op(entry)
    try:
        x = Value(2.0)
        y = x.cube()
        assert y.data == 8.0
        assert autograd.gradgradcheck(lambda t: t.cube(), [0.7]).passed
    finally:
        remove_op("cube")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "not an identifier"}, ValueError, "must be a Python identifier"),
        ({"name": "tanh"}, ValueError, "already in the table"),
        ({"name": "data"}, ValueError, "Value already has an attribute 'data'"),
        ({"name": "okname", "forward": 3}, TypeError, "must be callables"),
        ({"name": "okname", "arity": 0}, ValueError, "arity must be a positive number"),
        ({"name": "okname", "domain": [(1.0, 0.0)]}, ValueError, "domain needs one"),
    ],
)
def test_bad_definitions_are_rejected(kwargs: dict[str, Any], error: type, match: str) -> None:
    args = {"forward": _swish, "derivative": _swish_derivative, **kwargs}
    with pytest.raises(error, match=match):
        autograd.custom_op(**args)
    assert "okname" not in autograd.OPS


def test_derivative_with_the_wrong_number_of_partials_names_the_op() -> None:
    with (
        op("twoargs", forward=lambda a, b: a * b, derivative=lambda a, b: a) as f,
        pytest.raises(TypeError, match="'twoargs': derivative returned 1 partial"),
    ):
        f(Value(1.0), Value(2.0))


def test_derivative_returning_garbage_names_the_op() -> None:
    with (
        op("garbage", derivative=lambda x: "one") as f,
        pytest.raises(TypeError, match="'garbage': derivative must return a Value"),
    ):
        f(Value(1.0))


def test_forward_returning_a_value_is_rejected() -> None:
    with (
        op("valfwd", forward=lambda x: Value(x)) as f,
        pytest.raises(TypeError, match="'valfwd': forward returned a Value"),
    ):
        f(Value(1.0))


def test_remove_op_refuses_builtins_and_unknown_names() -> None:
    with pytest.raises(ValueError, match="built-in op"):
        remove_op("relu")
    with pytest.raises(autograd.UnknownOpError, match="no_such_op"):
        remove_op("no_such_op")


def test_unknown_attribute_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="no attribute 'no_such_method'") as err:
        Value(1.0).no_such_method
    assert err.value.name == "no_such_method"  # what Python's "Did you mean" reads


def test_method_op_is_a_method_while_registered_and_gone_after() -> None:
    x = Value(0.5)
    with op("swish_m", method=True):
        assert x.swish_m().data == pytest.approx(_swish(0.5))
        assert "swish_m" in dir(x) and Value.swish_m.__doc__
    with pytest.raises(AttributeError, match="no attribute 'swish_m'"):
        x.swish_m
    with op("swish_m", forward=lambda t: 2.0 * t, derivative=lambda t: 2.0 + 0.0 * t,
            method=True):  # registered again: the new op
        assert x.swish_m().data == 1.0


def test_register_op_with_method_api_adds_a_method_but_never_replaces_one() -> None:
    from autograd.ops import Op, register_op

    base = autograd.OPS["exp"]
    for name in ("exp_again", "detach"):  # a new name, and one Value has
        entry = Op(name=name, symbol=name, arity=1, forward=base.forward, local=base.local,
                   local_value=base.local_value, formula="e^x", derivative="e^x",
                   domain=base.domain, api="method", builtin=False)
        register_op(entry)
        try:
            if name == "exp_again":
                assert Value(1.0).exp_again().data == math.e
            else:
                assert Value(1.0).detach().op == ""  # still Value.detach
        finally:
            remove_op(name)
    assert not hasattr(Value, "exp_again") and callable(Value.detach)


def test_value_has_no_getattr_hook() -> None:
    # CPython 3.11 specialises no attribute read on instances of a class with
    # __getattr__: every node._p and node.grad in the engine's loops got ~20 ns
    # slower (W-chain backward 285 -> 180 ns a node without it). Method ops are
    # installed on registration instead (test above).
    assert "__getattr__" not in vars(Value)


def test_anomaly_mode_blames_the_custom_op_in_backward() -> None:
    with (
        op("mysqrt", forward=math.sqrt, derivative=lambda x: 0.5 / x.sqrt(), arity=1),
        autograd.detect_anomaly(),
    ):
        x = Value(0.0)
        y = x.mysqrt()  # the partial is inf: not a forward anomaly
        assert y.data == 0.0 and y.partials == (math.inf,)
        with pytest.raises(autograd.AnomalyError, match=r"backward of node \(mysqrt"):
            y.backward()


@pytest.mark.parametrize("operand", ["_div", "_exp", "_where", "_x", "lambda"])
def test_an_operand_named_like_an_internal_helper_is_refused_by_name(operand: str) -> None:
    # "_div" shadowed the rendered code's IEEE division: 'float' object is not callable
    with pytest.raises(autograd.formula.FormulaError) as info:
        autograd.custom_op("shadow", f"{operand} / 2.0 + exp({operand})",
                           f"0.5 + exp({operand})" if operand != "lambda" else "1.0",
                           operands=(operand,))
    msg = str(info.value)
    assert "shadow" in msg and repr(operand) in msg and "rename it" in msg
    assert "shadow" not in autograd.OPS


@pytest.mark.parametrize(("forward", "helper", "count"), [
    ("exp()", "exp", 0), ("pow(x, x, x)", "pow", 3), ("tanh(x, x)", "tanh", 2),
    ("max(x)", "max", 1), ("fsum(xs, xs)", "fsum", 2),
])
def test_a_helper_called_with_the_wrong_count_is_refused(forward: str, helper: str,
                                                         count: int) -> None:
    # exp() and pow(x, x, x) passed the checker and failed at the first call
    with pytest.raises(autograd.formula.FormulaError) as info:
        autograd.custom_op("arity_op", forward, "1.0",
                           operands=("*xs",) if "xs" in forward else ("x",))
    msg = str(info.value)
    assert "arity_op" in msg and f"{helper} takes" in msg and f"got {count}" in msg
    assert "arity_op" not in autograd.OPS


@pytest.mark.parametrize(("forward", "derivative"), [
    ("{x}", "1.0"), ("x * 2.0", "{x}"), ("x + {x: 1}", "1.0"), ("f'{x}'", "1.0")])
def test_braces_are_refused_with_the_fix(forward: str, derivative: str) -> None:
    with pytest.raises(autograd.formula.FormulaError) as info:
        autograd.custom_op("braces_op", forward, derivative)
    msg = str(info.value)
    assert "braces_op" in msg and "braces are not part of the formula language" in msg
    assert "e.g. x" in msg
