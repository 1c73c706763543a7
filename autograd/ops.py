"""The op table: every differentiable operation declared once.

Each :class:`Op` entry holds, side by side, an operation's

* ``forward``: the float function (never raising, see :mod:`autograd.numerics`);
* ``local``: its local derivative on floats, evaluated once at forward time and
  stored in the node (the fast path of ``backward``);
* ``local_value``: the same derivative written with ``Value`` operations, used by
  ``autograd.grad(..., create_graph=True)`` so that gradients can be
  differentiated again;
* ``domain``: where the op is smooth, per operand (the tests sample from it);
* ``kinks``: the derivative chosen where the op is not differentiable, which
  matches PyTorch; and ``specials``: IEEE-754 edge cases of the forward value.

``Value`` methods, the tests, the README's op table and the graph renderer all
read this table instead of repeating it. An op's *operands* are its inputs in
call order; an operand may be a constant float (``x * 2`` has operands
``(x, 2.0)`` but only one parent). ``params`` counts trailing operands that are
always constants (``leaky_relu``'s slope, ``clamp``'s bounds).

This module imports nothing of the engine: ``local_value`` rules receive Values
and use only their operators and methods.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Union, cast

from autograd import numerics as N

if TYPE_CHECKING:
    from autograd.engine import Value

    Operand = Union["Value", float]
else:
    Operand = Any

INF = math.inf
NAN = math.nan
LocalFloat = Callable[..., "tuple[float, ...]"]
LocalValue = Callable[["tuple[Operand, ...]", "Value", int], Operand]

__all__ = [
    "OPS",
    "Codegen",
    "Kink",
    "Op",
    "Special",
    "UnknownOpError",
    "affine_codegen",
    "get_op",
    "iter_ops",
    "register_op",
]


@dataclass(frozen=True)
class Kink:
    """A point where the op is not differentiable, and the derivative we use.

    Attributes:
        at: the operand values (parameters included) at the kink.
        partials: the derivative returned for each non-parameter operand.
        note: why this value (PyTorch's convention, in words).
    """

    at: tuple[float, ...]
    partials: tuple[float, ...]
    note: str


@dataclass(frozen=True)
class Special:
    """An IEEE-754 edge case: the forward value at ``at`` is ``result``."""

    at: tuple[float, ...]
    result: float


Template = Union[str, Callable[[int], str]]
Templates = Union[tuple[str, ...], Callable[[int], "tuple[str, ...]"]]


@dataclass(frozen=True)
class Codegen:
    """Python source templates of an op, for the compiled path (:mod:`autograd.compile`).

    The compiler emits straight-line code from these instead of calling
    ``forward`` and ``local`` once per node. They restate the entry's own
    ``forward``/``local`` in source form, next to them in this module, and a
    test checks that both give bit-identical floats on the op's domain, kinks
    and IEEE cases. An op without templates is compiled to calls of its
    ``forward`` and ``local`` functions.

    Templates are ``str.format`` strings: ``{0}``, ``{1}``... are the operands
    (parameters included) as simple names or parenthesized literals, ``{out}``
    is the op's output, ``{t0}``, ``{t1}``... are this node's temporaries and
    ``{u0}``, ``{u1}``... its values computed after the output.

    Attributes:
        forward: the output expression; or, for n-ary ops, a function of the
            operand count returning that template.
        local: one expression per non-parameter operand (d out / d operand);
            or a function of the operand count returning them.
        temps: expressions computed once per node before ``forward`` (they
            may use the operands and earlier temporaries), available to
            ``forward`` and ``local``; or a function of the operand count.
        after: expressions computed once after the output (they may use
            ``{out}``), available to ``local`` as ``{u0}``, ``{u1}``...: a
            factor shared by many partials, such as a neuron's ``act'(z)``.
        names: the global names the templates call (``{"_tanh": math.tanh}``).
    """

    forward: Template
    local: Templates
    temps: Templates = ()
    names: Mapping[str, Any] = field(default_factory=dict)
    after: Templates = ()

    def forward_template(self, n: int) -> str:
        """Return the forward template for ``n`` operands."""
        return self.forward if isinstance(self.forward, str) else self.forward(n)

    def local_templates(self, n: int) -> tuple[str, ...]:
        """Return the local-derivative templates for ``n`` operands."""
        return self.local if isinstance(self.local, tuple) else self.local(n)

    def temp_templates(self, n: int) -> tuple[str, ...]:
        """Return the temporaries' templates for ``n`` operands."""
        return self.temps if isinstance(self.temps, tuple) else self.temps(n)

    def after_templates(self, n: int) -> tuple[str, ...]:
        """Return the templates of the values computed after the output."""
        return self.after if isinstance(self.after, tuple) else self.after(n)


@dataclass(frozen=True)
class Op:
    """One differentiable operation.

    Attributes:
        name: the op's name, as stored in ``Value.op`` ("add", "tanh", ...).
        symbol: how graphs and docs print it ("+", "tanh").
        arity: the number of operands, or ``-1`` for an n-ary op.
        forward: float function of the operands; never raises for a domain
            problem (returns ``inf``/``nan`` as IEEE-754 does).
        local: ``local(out, *operands) -> partials``: d out / d operand for every
            operand (parameters excluded), as floats.
        local_value: ``local_value(operands, out, wrt) -> partial``: the same
            derivative for operand ``wrt`` built from Value operations, so that
            it can be differentiated again. May return a float where the
            derivative is piecewise constant.
        formula: the forward formula, for docs ("tanh(x)").
        derivative: the local derivative, for docs ("1 - tanh(x)^2").
        domain: per operand, an interval ``(lo, hi)`` where the op is smooth
            and finite differences are reliable (one interval for n-ary ops).
        kinks: non-differentiable points and the derivative used there.
        specials: IEEE-754 edge cases of the forward value.
        params: how many trailing operands are always constants.
        api: how users reach it ("method", "operator", "function").
        doc: one line saying what the op computes.
        call: how to call it, for docs; derived from ``api`` when empty.
        builtin: False for ops registered by users (kept out of the README).
        codegen: optional source templates for the compiled path (see
            :class:`Codegen`); ``None`` compiles to calls of ``forward``/``local``.
    """

    name: str
    symbol: str
    arity: int
    forward: Callable[..., float]
    local: LocalFloat
    local_value: LocalValue
    formula: str
    derivative: str
    domain: tuple[tuple[float, float], ...]
    kinks: tuple[Kink, ...] = ()
    specials: tuple[Special, ...] = ()
    params: int = 0
    api: str = "method"
    doc: str = ""
    call: str = ""
    builtin: bool = field(default=True, compare=False)
    codegen: Codegen | None = field(default=None, compare=False)


class UnknownOpError(LookupError):
    """Raised when a node names an op that has no entry in the table."""


# ---------------------------------------------------------------------------
# Helpers that work on floats and Values alike (used by local_value rules,
# where an operand may be a folded constant).


def _div(a: Operand, b: Operand) -> Operand:
    if isinstance(a, float) and isinstance(b, float):
        return N.div(a, b)
    return a / b


def _log(x: Operand) -> Operand:
    return N.log(x) if isinstance(x, float) else x.log()


def _data(x: Operand) -> float:
    return x if isinstance(x, float) else x.data


def _value(x: Operand) -> Value:
    """The operand of a unary op, which is always a Value (never a constant)."""
    return cast("Value", x)


# ---------------------------------------------------------------------------
# Float rules. Each returns the partial for every non-parameter operand.


def _add_local(out: float, a: float, b: float) -> tuple[float, float]:
    return (1.0, 1.0)


def _sub_local(out: float, a: float, b: float) -> tuple[float, float]:
    return (1.0, -1.0)


def _mul_local(out: float, a: float, b: float) -> tuple[float, float]:
    return (b, a)


def _div_local(out: float, a: float, b: float) -> tuple[float, float]:
    return (N.div(1.0, b), -N.div(a, b * b))


def _pow_local(out: float, x: float, y: float) -> tuple[float, float]:
    dx = 0.0 if y == 0.0 else y * N.pow(x, y - 1.0)
    dy = 0.0 if (x == 0.0 and y >= 0.0) else out * N.log(x)
    return (dx, dy)


def _neg_local(out: float, x: float) -> tuple[float]:
    return (-1.0,)


def _exp_local(out: float, x: float) -> tuple[float]:
    return (out,)


def _log_local(out: float, x: float) -> tuple[float]:
    return (N.div(1.0, x),)


def _sqrt_local(out: float, x: float) -> tuple[float]:
    return (N.div(0.5, out),)


def _tanh_local(out: float, x: float) -> tuple[float]:
    return (1.0 - out * out,)


def _sigmoid_local(out: float, x: float) -> tuple[float]:
    return (out * (1.0 - out),)


def _relu(x: float) -> float:
    return 0.0 if x <= 0.0 else x  # nan stays nan, as in PyTorch


def _relu_local(out: float, x: float) -> tuple[float]:
    return (1.0 if out > 0.0 else 0.0,)


def _leaky_relu(x: float, slope: float) -> float:
    return x if x > 0.0 else x * slope


def _leaky_relu_local(out: float, x: float, slope: float) -> tuple[float]:
    return (1.0 if x > 0.0 else slope,)


def _gelu_local(out: float, x: float) -> tuple[float]:
    return (N.gelu_grad(x),)


def _softplus_local(out: float, x: float) -> tuple[float]:
    return (N.sigmoid(x),)


def _sin_local(out: float, x: float) -> tuple[float]:
    return (N.cos(x),)


def _cos_local(out: float, x: float) -> tuple[float]:
    return (-N.sin(x),)


def _erf_local(out: float, x: float) -> tuple[float]:
    return (_TWO_OVER_SQRT_PI * N.exp(-x * x),)


def _sign(x: float) -> float:
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return x if x != x else 0.0


def _abs_local(out: float, x: float) -> tuple[float]:
    return (_sign(x),)


def _clamp(x: float, lo: float, hi: float) -> float:
    if x != x:
        return x
    r = lo if x < lo else x
    return hi if r > hi else r


def _clamp_local(out: float, x: float, lo: float, hi: float) -> tuple[float]:
    return (1.0 if lo <= x <= hi else 0.0,)


def _maximum(a: float, b: float) -> float:
    if a != a or b != b:
        return NAN
    return a if a >= b else b


def _minimum(a: float, b: float) -> float:
    if a != a or b != b:
        return NAN
    return a if a <= b else b


def _maximum_local(out: float, a: float, b: float) -> tuple[float, float]:
    if a == b:
        return (0.5, 0.5)
    return (0.0 if a < b else 1.0, 0.0 if a > b else 1.0)


def _minimum_local(out: float, a: float, b: float) -> tuple[float, float]:
    if a == b:
        return (0.5, 0.5)
    return (0.0 if a > b else 1.0, 0.0 if a < b else 1.0)


def _sum(*xs: float) -> float:
    return N.fsum(xs) if xs else 0.0


def _sum_local(out: float, *xs: float) -> tuple[float, ...]:
    return (1.0,) * len(xs)


def _mean(*xs: float) -> float:
    return N.fsum(xs) / len(xs)


def _mean_local(out: float, *xs: float) -> tuple[float, ...]:
    return (1.0 / len(xs),) * len(xs)


def _dot(*xy: float) -> float:
    n = len(xy) // 2
    return N.fsum(list(map(operator.mul, xy[:n], xy[n:])))


def _dot_local(out: float, *xy: float) -> tuple[float, ...]:
    n = len(xy) // 2
    return xy[n:] + xy[:n]


def _logsumexp(*xs: float) -> float:
    return N.logsumexp(list(xs))


def _logsumexp_local(out: float, *xs: float) -> tuple[float, ...]:
    if out == INF or out == -INF:
        # all mass on the largest entries, shared equally between ties
        m = max(xs)
        tops = [1.0 if x == m else 0.0 for x in xs]
        k = sum(tops)
        return tuple(t / k for t in tops)
    return tuple(N.exp(x - out) for x in xs)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# ---------------------------------------------------------------------------
# Value rules: the same derivatives as differentiable graphs.


def _const_rule(local: LocalFloat) -> LocalValue:
    """A Value rule for piecewise-constant derivatives: reuse the float rule."""

    def rule(operands: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
        return local(out.data, *(_data(o) for o in operands))[wrt]

    rule.__name__ = f"{local.__name__}_value"
    return rule


def _add_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return 1.0


def _sub_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return 1.0 if wrt == 0 else -1.0


def _neg_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return -1.0


def _sum_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return 1.0


def _mean_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return 1.0 / len(o)


def _mul_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return o[1 - wrt]


def _div_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    a, b = o
    if wrt == 0:
        return _div(1.0, b)
    return -_div(a, b * b)


def _pow_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    x, y = o
    if wrt == 0:
        if _data(y) == 0.0 and _data(x) == 0.0:
            return 0.0  # PyTorch's mask against 0 * inf; elsewhere the formula is exact
        return y * x ** (y - 1.0)
    if _data(x) == 0.0 and _data(y) >= 0.0:
        return 0.0
    return out * _log(x)


def _exp_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return out


def _log_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return 1.0 / o[0]


def _sqrt_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return 0.5 / out


def _tanh_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return 1.0 - out * out


def _sigmoid_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return out * (1.0 - out)


def _gelu_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    x = _value(o[0])
    cdf = 0.5 * (1.0 + (x * _SQRT1_2).erf())
    return cdf + x * _INV_SQRT_2PI * (-0.5 * x * x).exp()


def _softplus_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return _value(o[0]).sigmoid()


def _sin_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return _value(o[0]).cos()


def _cos_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    return -_value(o[0]).sin()


def _erf_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    x = _value(o[0])
    return _TWO_OVER_SQRT_PI * (-(x * x)).exp()


def _dot_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    n = len(o) // 2
    return o[wrt + n] if wrt < n else o[wrt - n]


def _logsumexp_value(o: tuple[Operand, ...], out: Value, wrt: int) -> Operand:
    if out.data in (INF, -INF):
        return _logsumexp_local(out.data, *(_data(x) for x in o))[wrt]
    return (o[wrt] - out).exp()  # a Value: out is one


# ---------------------------------------------------------------------------
# The table.

_R = (-3.0, 3.0)
_POS = (0.05, 5.0)

_TABLE: tuple[Op, ...] = (
    Op("add", "+", 2, operator.add, _add_local, _add_value,
       "a + b", "1, 1", (_R, _R), api="operator", doc="Addition."),
    Op("sub", "-", 2, operator.sub, _sub_local, _sub_value,
       "a - b", "1, -1", (_R, _R), api="operator", doc="Subtraction."),
    Op("mul", "*", 2, operator.mul, _mul_local, _mul_value,
       "a * b", "b, a", (_R, _R), api="operator", doc="Multiplication."),
    Op("div", "/", 2, N.div, _div_local, _div_value,
       "a / b", "1/b, -a/b^2", (_R, (0.2, 3.0)), api="operator",
       specials=(Special((1.0, 0.0), INF), Special((-1.0, 0.0), -INF),
                 Special((0.0, 0.0), NAN)),
       doc="True division, IEEE-754 at zero."),
    Op("pow", "**", 2, N.pow, _pow_local, _pow_value,
       "a ** b", "b*a^(b-1), a^b*ln(a)", (_POS, _R), api="operator",
       kinks=(Kink((0.0, 2.0), (0.0, 0.0),
                   "at a = 0 with b >= 0 the exponent gets 0 (PyTorch's mask)"),
              Kink((0.0, 0.0), (0.0, 0.0),
                   "b = 0: d/da is 0 everywhere, as in PyTorch")),
       specials=(Special((0.0, -1.0), INF), Special((-8.0, 1.0 / 3.0), NAN),
                 Special((10.0, 400.0), INF), Special((-0.0, -1.0), -INF)),
       doc="Power; real results only (a negative base with a fractional "
           "exponent gives nan)."),
    Op("neg", "-", 1, operator.neg, _neg_local, _neg_value,
       "-x", "-1", (_R,), api="operator", doc="Negation."),
    Op("exp", "exp", 1, N.exp, _exp_local, _exp_value,
       "e^x", "e^x", (_R,), specials=(Special((1000.0,), INF),),
       doc="Exponential; inf on overflow."),
    Op("log", "log", 1, N.log, _log_local, _log_value,
       "ln x", "1/x", (_POS,),
       kinks=(Kink((0.0,), (INF,), "log'(0) = 1/0 = inf"),),
       specials=(Special((0.0,), -INF), Special((-1.0,), NAN)),
       doc="Natural logarithm; -inf at 0, nan below."),
    Op("sqrt", "sqrt", 1, N.sqrt, _sqrt_local, _sqrt_value,
       "sqrt(x)", "1 / (2 sqrt(x))", (_POS,),
       kinks=(Kink((0.0,), (INF,), "sqrt'(0) = inf, as in PyTorch"),),
       specials=(Special((-1.0,), NAN),),
       doc="Square root; nan below 0."),
    Op("tanh", "tanh", 1, math.tanh, _tanh_local, _tanh_value,
       "tanh(x)", "1 - tanh(x)^2", (_R,),
       specials=(Special((1000.0,), 1.0), Special((-1000.0,), -1.0)),
       doc="Hyperbolic tangent."),
    Op("sigmoid", "sigmoid", 1, N.sigmoid, _sigmoid_local, _sigmoid_value,
       "1 / (1 + e^-x)", "s(x) (1 - s(x))", (_R,),
       specials=(Special((1000.0,), 1.0), Special((-1000.0,), 0.0)),
       doc="Logistic sigmoid, stable for any x."),
    Op("relu", "relu", 1, _relu, _relu_local, _const_rule(_relu_local),
       "max(x, 0)", "1 if x > 0 else 0", (_R,),
       kinks=(Kink((0.0,), (0.0,), "relu'(0) = 0, as in PyTorch"),),
       doc="Rectified linear unit."),
    Op("leaky_relu", "leaky_relu", 2, _leaky_relu, _leaky_relu_local,
       _const_rule(_leaky_relu_local),
       "x if x > 0 else slope * x", "1 if x > 0 else slope", (_R, (0.01, 0.01)),
       kinks=(Kink((0.0, 0.01), (0.01,),
                   "leaky_relu'(0) = negative_slope, as in PyTorch"),),
       params=1, call="`x.leaky_relu(negative_slope=0.01)`",
       doc="Leaky ReLU with a negative slope (default 0.01)."),
    Op("gelu", "gelu", 1, N.gelu, _gelu_local, _gelu_value,
       "x Phi(x)", "Phi(x) + x phi(x)", (_R,),
       doc="Gaussian error linear unit, exact erf form (PyTorch's default)."),
    Op("softplus", "softplus", 1, N.softplus, _softplus_local, _softplus_value,
       "ln(1 + e^x)", "sigmoid(x)", (_R,),
       specials=(Special((1000.0,), 1000.0), Special((-1000.0,), 0.0)),
       doc="Softplus, exact and without overflow."),
    Op("sin", "sin", 1, N.sin, _sin_local, _sin_value,
       "sin(x)", "cos(x)", (_R,), specials=(Special((INF,), NAN),),
       doc="Sine."),
    Op("cos", "cos", 1, N.cos, _cos_local, _cos_value,
       "cos(x)", "-sin(x)", (_R,), specials=(Special((INF,), NAN),),
       doc="Cosine."),
    Op("erf", "erf", 1, math.erf, _erf_local, _erf_value,
       "erf(x)", "2/sqrt(pi) e^(-x^2)", (_R,), doc="Gauss error function."),
    Op("abs", "abs", 1, abs, _abs_local, _const_rule(_abs_local),
       "|x|", "sign(x)", (_R,), call="`abs(x)`, `x.abs()`",
       kinks=(Kink((0.0,), (0.0,), "abs'(0) = sign(0) = 0, as in PyTorch"),),
       doc="Absolute value."),
    Op("clamp", "clamp", 3, _clamp, _clamp_local, _const_rule(_clamp_local),
       "min(max(x, lo), hi)", "1 if lo <= x <= hi else 0",
       (_R, (-1.0, -1.0), (1.0, 1.0)),
       kinks=(Kink((-1.0, -1.0, 1.0), (1.0,), "at the lower bound: 1, as in PyTorch"),
              Kink((1.0, -1.0, 1.0), (1.0,), "at the upper bound: 1, as in PyTorch")),
       params=2, call="`x.clamp(min, max)`",
       doc="Clamp into [lo, hi]; a missing bound is infinite."),
    Op("maximum", "max", 2, _maximum, _maximum_local, _const_rule(_maximum_local),
       "max(a, b)", "1 to the larger, 0.5 each at a tie", (_R, _R),
       kinks=(Kink((1.0, 1.0), (0.5, 0.5), "a tie splits the gradient, as in PyTorch"),),
       api="function", call="`autograd.maximum(a, b)`",
       doc="Elementwise maximum of two operands; nan propagates."),
    Op("minimum", "min", 2, _minimum, _minimum_local, _const_rule(_minimum_local),
       "min(a, b)", "1 to the smaller, 0.5 each at a tie", (_R, _R),
       kinks=(Kink((1.0, 1.0), (0.5, 0.5), "a tie splits the gradient, as in PyTorch"),),
       api="function", call="`autograd.minimum(a, b)`",
       doc="Elementwise minimum of two operands; nan propagates."),
    Op("sum", "sum", -1, _sum, _sum_local, _sum_value,
       "x1 + ... + xn", "1 each", (_R,), api="function",
       doc="Sum of n values as one node."),
    Op("mean", "mean", -1, _mean, _mean_local, _mean_value,
       "(x1 + ... + xn) / n", "1/n each", (_R,), api="function",
       doc="Mean of n values as one node."),
    Op("dot", "dot", -1, _dot, _dot_local, _dot_value,
       "x1 y1 + ... + xn yn", "d/dxi = yi, d/dyi = xi", (_R,), api="function",
       call="`autograd.dot(xs, ys)`",
       doc="Dot product of two equal-length sequences as one node."),
    Op("logsumexp", "logsumexp", -1, _logsumexp, _logsumexp_local, _logsumexp_value,
       "ln(e^x1 + ... + e^xn)", "softmax(x)i", (_R,), api="function",
       specials=(Special((1000.0, 1000.0), 1000.0 + math.log(2.0)),),
       doc="Stable log-sum-exp as one node."),
)

# ---------------------------------------------------------------------------
# Source templates for the compiled path (autograd.compile): the rules above in
# source form, attached to their entries below. tests/test_compile.py checks
# that each template gives the same floats as the entry's functions.


def _args(n: int, start: int = 0) -> str:
    return ", ".join(f"{{{i}}}" for i in range(start, start + n))


def _sum_code(n: int) -> str:
    return f"_fsum(({_args(n)},))" if n else "0.0"


def _mean_code(n: int) -> str:
    return f"_fsum(({_args(n)},)) / {n}"


def _dot_code(n: int) -> str:
    h = n // 2
    return "_fsum((" + ", ".join(f"{{{i}}} * {{{i + h}}}" for i in range(h)) + ",))"


def _dot_local_code(n: int) -> tuple[str, ...]:
    h = n // 2
    return tuple(f"{{{i + h}}}" for i in range(h)) + tuple(f"{{{i}}}" for i in range(h))


def affine_codegen(
    act: Op | None, params: int = 0, *, total: Callable[..., float] = N.fsum
) -> Codegen:
    """Templates for a fused ``act(x . w + b)`` node, composed from ``act``'s own.

    For n-ary ops whose operands are ``x1..xn, w1..wn, b`` followed by
    ``params`` constants of the activation (a fused neuron), with forward
    ``act.forward(total(x_i * w_i) + b, *params)`` and partials
    ``act'(z) * w_i``, ``act'(z) * x_i``, ``act'(z)``. The activation's
    templates are reused, so no derivative is restated; ``act=None`` is the
    identity.

    Args:
        act: the activation's table entry, or None for the identity.
        params: how many trailing constant operands the activation takes.
        total: the function summing the products, as the op's ``forward``
            does (``math.fsum`` or the builtin ``sum``), so that compiled
            values match it bit for bit.

    Returns:
        The templates, for the op's ``codegen`` field.

    Raises:
        ValueError: if ``act`` has no templates of its own.
    """
    if act is not None and act.codegen is None:
        raise ValueError(
            f"affine_codegen: activation {act.name!r} has no Codegen templates; "
            "give its table entry a codegen first"
        )
    acg = act.codegen if act is not None else None
    total_name = f"_total_{getattr(total, '__name__', 'fn')}"

    def split(n: int) -> tuple[int, list[str]]:
        k = (n - params - 1) // 2
        return k, [f"{{{2 * k + 1 + i}}}" for i in range(params)]

    def temps(n: int) -> tuple[str, ...]:
        k, _ = split(n)
        prods = ", ".join(f"{{{i}}} * {{{i + k}}}" for i in range(k))
        return (f"{total_name}(({prods},)) + {{{2 * k}}}",)

    def forward(n: int) -> str:
        _, ps = split(n)
        if acg is None:
            return "{t0}"
        return acg.forward_template(1 + params).format("{t0}", *ps)

    def after(n: int) -> tuple[str, ...]:
        _, ps = split(n)
        if acg is None:
            return ()
        return (acg.local_templates(1 + params)[0].format("{t0}", *ps, out="{out}"),)

    def local(n: int) -> tuple[str, ...]:
        k, _ = split(n)
        if acg is None:
            return (*(f"{{{i + k}}}" for i in range(k)), *(f"{{{i}}}" for i in range(k)), "1.0")
        return (*(f"{{u0}} * {{{i + k}}}" for i in range(k)),
                *(f"{{u0}} * {{{i}}}" for i in range(k)), "{u0}")

    names = {total_name: total, **(acg.names if acg is not None else {})}
    return Codegen(forward, local, temps=temps, names=names, after=after)


_CODEGEN: dict[str, Codegen] = {
    "add": Codegen("{0} + {1}", ("1.0", "1.0")),
    "sub": Codegen("{0} - {1}", ("1.0", "-1.0")),
    "mul": Codegen("{0} * {1}", ("{1}", "{0}")),
    "div": Codegen("_div({0}, {1})", ("_div(1.0, {1})", "-_div({0}, {1} * {1})"),
                   names={"_div": N.div}),
    "pow": Codegen("_pow({0}, {1})",
                   ("(0.0 if {1} == 0.0 else {1} * _pow({0}, {1} - 1.0))",
                    "(0.0 if ({0} == 0.0 and {1} >= 0.0) else {out} * _log({0}))"),
                   names={"_pow": N.pow, "_log": N.log}),
    "neg": Codegen("-{0}", ("-1.0",)),
    "exp": Codegen("_exp({0})", ("{out}",), names={"_exp": N.exp}),
    "log": Codegen("_log({0})", ("_div(1.0, {0})",), names={"_log": N.log, "_div": N.div}),
    "sqrt": Codegen("_sqrt({0})", ("_div(0.5, {out})",),
                    names={"_sqrt": N.sqrt, "_div": N.div}),
    "tanh": Codegen("_tanh({0})", ("1.0 - {out} * {out}",), names={"_tanh": math.tanh}),
    "sigmoid": Codegen("_sigmoid({0})", ("{out} * (1.0 - {out})",),
                       names={"_sigmoid": N.sigmoid}),
    "relu": Codegen("(0.0 if {0} <= 0.0 else {0})", ("(1.0 if {out} > 0.0 else 0.0)",)),
    "leaky_relu": Codegen("({0} if {0} > 0.0 else {0} * {1})", ("(1.0 if {0} > 0.0 else {1})",)),
    "sum": Codegen(_sum_code, lambda n: ("1.0",) * n, names={"_fsum": N.fsum}),
    "mean": Codegen(_mean_code, lambda n: (repr(1.0 / n),) * n, names={"_fsum": N.fsum}),
    "dot": Codegen(_dot_code, _dot_local_code, names={"_fsum": N.fsum}),
}

_TABLE = tuple(
    replace(op, codegen=_CODEGEN[op.name]) if op.name in _CODEGEN else op for op in _TABLE
)

_REGISTRY: dict[str, Op] = {}


def register_op(op: Op) -> Op:
    """Add an op to the table.

    Args:
        op: the entry; its ``name`` must be new.

    Returns:
        The same op, for chaining.

    Raises:
        ValueError: if an op of that name is already in the table.
        TypeError: if ``op`` is not an :class:`Op`.
    """
    if not isinstance(op, Op):
        raise TypeError(f"register_op: expected an Op entry, got {type(op).__name__}")
    if op.name in _REGISTRY:
        raise ValueError(
            f"register_op: an op named {op.name!r} is already in the table; "
            "choose another name"
        )
    _REGISTRY[op.name] = op
    return op


for _op in _TABLE:
    register_op(_op)

#: Read-only view of the table, by name.
OPS: Mapping[str, Op] = _REGISTRY


def get_op(name: str) -> Op:
    """Return the table entry for ``name``.

    Raises:
        UnknownOpError: naming the op, when it has no entry (and so no
            derivative rule).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownOpError(
            f"op {name!r} has no entry in the op table, so it has no derivative "
            f"rule; known ops: {', '.join(sorted(_REGISTRY))}. Add one with "
            "autograd.ops.register_op(Op(...))"
        ) from None


def iter_ops() -> Iterator[Op]:
    """Iterate over every op in the table, in declaration order."""
    return iter(_REGISTRY.values())


def _fmt(x: float) -> str:
    if x != x:
        return "nan"
    if x in (INF, -INF):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


def op_table_markdown() -> str:
    """Return the op table as a Markdown table (the README embeds this text).

    Regenerate the README's copy with ``python -m autograd.ops``; a test fails
    when the two drift apart.
    """
    lines = [
        "| op | how to call | forward | local derivative | smooth on (tested) | at kinks "
        "| IEEE edge cases |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for op in iter_ops():
        if not op.builtin:
            continue
        call = op.call or {
            "operator": f"`{op.formula}`",
            "method": f"`x.{op.name}()`",
            "function": f"`autograd.{op.name}(values)`",
        }[op.api]
        smooth = op.domain[: len(op.domain) - op.params]
        dom = ", ".join(f"[{_fmt(lo)}, {_fmt(hi)}]" for lo, hi in smooth)
        kinks = "; ".join(
            f"at {', '.join(_fmt(a) for a in k.at)}: {', '.join(_fmt(p) for p in k.partials)}"
            for k in op.kinks
        )
        specials = "; ".join(
            f"({', '.join(_fmt(a) for a in s.at)}) -> {_fmt(s.result)}" for s in op.specials
        )
        cells = [f"`{op.name}`", call, op.formula, op.derivative, dom,
                 kinks or "-", specials or "-"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
