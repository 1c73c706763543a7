"""The op table: every differentiable operation declared once, as one formula.

Each built-in op is one :func:`define_op` call below: its name and symbol,
its operands' names, and a :class:`~autograd.formula.Formula`: the forward
and one local derivative per operand, each written once as an expression of
the formula language (:mod:`autograd.formula`), kinks and IEEE-754 behaviour
included (``where(x > 0.0, 1.0, 0.0)``: relu'(0) = 0, as PyTorch). Next to
it: where the op is smooth (``domain``, which the tests sample), its declared
kinks (``Kink``: test points with the derivative the formula must give there)
and IEEE edge cases of the forward (``Special``).

Everything else is derived from that formula, never restated:

* ``Op.forward`` and ``Op.local``: the float rules (``local(out, *operands)``
  gives the partials, evaluated once at forward time and stored in the node);
* ``Op.local_value``: the Value rule of ``autograd.grad(create_graph=True)``;
* ``Op.codegen``: the source templates :mod:`autograd.compile` emits and
  :mod:`autograd.codegen` turns into the engine's fast paths;
* ``Op.formula``/``Op.derivative`` and :func:`op_table_markdown`: the
  README's op table; ``Op.symbol`` labels graph nodes.

An entry may also declare ``fused_backward`` (tanh, sigmoid, logsumexp,
softmax_out): the derivatives of ``grad * partial``, from which
``create_graph`` makes one ``<op>_backward`` node per gradient instead of a
small graph (PyTorch's ``tanh_backward``); that op is itself defined from a
formula, so it can be differentiated again.

For the built-in ops these forms are committed, generated, in
:mod:`autograd._derived` (``python -m autograd.codegen`` rewrites it; a test
fails when it drifts), so importing the table parses nothing; an op defined
at run time (:func:`define_op`, ``autograd.custom_op(..., forward="...")``)
is rendered on the spot by :func:`autograd.formula_render.derive`, the same
code.

How a renderer for another namespace (NumPy arrays for
``autograd.compile(..., batch=True)``, say) gets an op's formula:

* ``op.rule`` is the :class:`~autograd.formula.Formula` (``None`` for ops
  built from callables, such as ``custom_op`` with functions): ``op.rule.operands``
  (names; a leading ``*`` marks a variadic group), ``op.rule.forward`` and
  ``op.rule.partials`` (source strings; partials may use ``out``, and for
  groups the index ``i`` and group length ``n``), ``op.rule.params``;
* ``autograd.formula_render.parse(src, op.rule)`` returns the checked ``ast``
  expression; the names it may contain are the operands, ``out``, ``i``,
  ``n``, the constants of ``autograd.formula.CONSTANTS`` (``INF``, ``NAN``,
  ``SQRT1_2``, ``INV_SQRT_2PI``, ``TWO_OVER_SQRT_PI``) and calls of
  ``autograd.formula.HELPERS``: ``where(c, a, b)`` (a select: render it
  branchless, e.g. ``numpy.where``; its condition may hold comparisons and
  ``and``/``or``/``not``), ``div``, ``pow``, ``exp``, ``log``, ``sqrt``,
  ``tanh``, ``sigmoid``, ``softplus``, ``sin``, ``cos``, ``erf``, ``abs``,
  ``min``, ``max`` (two floats, Python's tie rule), and on whole groups
  ``fsum``, ``sumprod``, ``sumprod_builtin``, ``logsumexp``, ``tie_share(xs, i)``
  (``fsum(term of i)`` in a forward: a per-element sum; ``op.rule.temps``:
  named temporaries, ``op.rule.singles``: single operands after the groups). Every helper is
  total (IEEE results, never an exception), so both branches of a ``where``
  may be evaluated. ``HELPERS[name].doc`` says what each means. ``a / b``
  reaches a renderer as ``div(a, b)`` unless ``b`` is ``n`` or a nonzero
  number. ``tests/test_formula.py`` has a minimal NumPy renderer of every
  fixed-arity formula, checked against the float rules.

An op's *operands* are its inputs in call order; an operand may be a
constant float (``x * 2`` has operands ``(x, 2.0)`` but one parent).
``params`` counts trailing operands that are always constants
(``leaky_relu``'s slope, ``clamp``'s bounds). Ops built from callables
(:class:`Op` directly, as ``nn`` and :func:`autograd.custom_op` with
functions do) are still accepted by :func:`register_op`.

This module imports nothing of the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from autograd import _derived
from autograd.formula import CONSTANTS, HELPERS, Formula, float_name

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
    "Formula",
    "Kink",
    "Op",
    "Special",
    "UnknownOpError",
    "define_op",
    "get_op",
    "iter_ops",
    "op_table_markdown",
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


class Codegen:
    """Python source templates of an op, for the compiled path (:mod:`autograd.compile`).

    The compiler emits straight-line code from these instead of calling
    ``forward`` and ``local`` once per node. For an op defined by a formula
    they are rendered from it (:func:`autograd.formula_render.templates`); an op
    without templates is compiled to calls of its ``forward`` and ``local``
    functions.

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

    __slots__ = ("after", "forward", "local", "names", "temps")

    def __init__(self, forward: Template, local: Templates, temps: Templates = (),
                 names: Mapping[str, Any] | None = None, after: Templates = ()) -> None:
        # a plain class, not a dataclass: creating one costs import time
        self.forward = forward
        self.local = local
        self.temps = temps
        self.names: Mapping[str, Any] = {} if names is None else names
        self.after = after

    def __repr__(self) -> str:
        return (f"Codegen(forward={self.forward!r}, local={self.local!r}, temps={self.temps!r}, "
                f"names={self.names!r}, after={self.after!r})")

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


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a dict key in hot loops
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
        rule: the :class:`~autograd.formula.Formula` every other form was
            derived from (``None`` for an op built from callables).
        fused_backward: how ``create_graph`` builds ``grad * partial`` as one
            node (PyTorch's ``tanh_backward``), for the operand slots listed:
            ``(slot, ((name, formula), ...))`` pairs, ``slot`` an operand (or
            group) name, each formula the derivative of ``grad * partial``
            with respect to one value the partial reads (``out``, an
            operand; a group's name stands for its element ``i``), over
            ``grad``, those operands, ``out`` and ``this`` (``grad * partial``
            itself). Empty: the partials are built from Value operations.
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
    rule: Formula | None = field(default=None, compare=False)
    fused_backward: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = field(
        default=(), compare=False)

    def edge_label(self, slot: int, names: Sequence[str]) -> str:
        """The local derivative for operand ``slot`` as text in the operands' names.

        Rendered from the op's formula (:func:`autograd.formula_render.edge_label`):
        ``mul.edge_label(1, ["w", "x"])`` is ``"w"``. Returns "" for an op without
        a formula, or without a short text for that operand.
        """
        if self.rule is None:
            return ""
        from autograd.formula_render import edge_label

        return edge_label(self.rule, slot, names)


class UnknownOpError(LookupError):
    """Raised when a node names an op that has no entry in the table."""


# ---------------------------------------------------------------------------
# One entry per op: define_op derives every form from the formula.


def _lazy_templates(rule: Formula) -> tuple[Callable[[int], str], Callable[[int], tuple[str, ...]],
                                            Callable[[int], tuple[str, ...]],
                                            Callable[[int], tuple[str, ...]]]:
    """Templates of a variadic op (forward, local, after, temps), rendered on first use."""
    cache: list[Any] = []

    def get() -> Any:
        if not cache:
            from autograd.formula_render import templates

            cache.append(templates(rule))
        return cache[0]

    def forward(n: int) -> str:
        return str(get()[0](n))

    def local(n: int) -> tuple[str, ...]:
        return tuple(get()[1](n))

    def after(n: int) -> tuple[str, ...]:
        return tuple(get()[2](n))

    def temps(n: int) -> tuple[str, ...]:
        return tuple(get()[3](n))

    return forward, local, after, temps


def define_op(
    name: str,
    symbol: str,
    operands: Sequence[str],
    forward: str,
    partials: Sequence[str],
    *,
    domain: Sequence[tuple[float, float]],
    params: int = 0,
    kinks: Sequence[Kink] = (),
    specials: Sequence[Special] = (),
    api: str = "method",
    doc: str = "",
    call: str = "",
    builtin: bool = True,
    fused_backward: Mapping[str, Any] | None = None,
    temps: Sequence[tuple[str, str]] = (),
) -> Op:
    """Build a table entry from one formula: its forward and partials, written once.

    Args:
        name: the op's name (``Value.op``).
        symbol: how graphs print it.
        operands: the operands' names in call order (``("x",)``, ``("a", "b")``,
            ``("x", "slope")``), or groups of a variadic op (``("*xs",)``).
        forward: the forward expression (see :mod:`autograd.formula`).
        partials: d out / d operand for each non-parameter operand (each
            group), as expressions that may use ``out``.
        domain: per operand, an interval where the op is smooth.
        params: how many trailing operands are constant parameters.
        kinks: points where the op is not differentiable, with the partials
            the formula gives there (tests check it).
        specials: IEEE-754 edge cases of the forward value.
        api: "method", "operator" or "function".
        doc: one line saying what the op computes.
        call: how to call it, for docs.
        builtin: False for ops registered by users.
        fused_backward: the derivative of ``grad * partial`` with respect to
            each value the partial reads, so that ``create_graph`` builds the
            gradient as one node (see :attr:`Op.fused_backward`): for a
            one-operand op ``{"out": "-2.0 * grad * out"}`` (tanh); else per
            operand slot, ``{"lse": {"out": "-grad"}}`` (softmax_out). A group's
            name stands for its element ``i``; a partial ``where(c, a, b)`` whose
            ``a`` reads the whole group is fused where ``c`` is false (logsumexp
            away from infinity).
        temps: named temporaries of a variadic op, ``(("z", "sumprod(xs, ws) + b"),)``:
            each computed once per node, before the forward, from the operands and
            earlier temporaries; the forward and partials read them by name.

    Returns:
        The :class:`Op`, not yet registered (pass it to :func:`register_op`).

    Raises:
        autograd.formula.FormulaError: if the formula is outside the language.
        ValueError: if ``fused_backward`` has the one-operand form for an op of
            several operands.
    """
    rule = Formula(tuple(operands), forward, tuple(partials), params, tuple(temps))
    pre = _derived.RULES.get(name) if builtin else None
    if pre is not None and pre[0] == rule.sources:  # committed, generated from this formula
        _, fwd, loc, val, ft, lt, used, ftext, dtext = pre
        names = {float_name(h): HELPERS[h].float_fn if h in HELPERS else CONSTANTS[h]
                 for h in used}
    else:  # defined at run time, or the generated module is stale: render now
        from autograd.formula_render import derive

        d = derive(name, rule)
        fwd, loc, val, ft, lt = d.forward, d.local, d.value, d.forward_template, d.local_templates
        names, ftext, dtext = d.names, d.formula_text, d.derivative_text
    after: Any = ()
    tt: Any = ()
    if rule.variadic:
        ft, lt, after, tt = _lazy_templates(rule)
    return Op(
        name, symbol, -1 if rule.variadic else len(rule.operands), fwd, loc, val,
        ftext, dtext, tuple(domain), kinks=tuple(kinks), specials=tuple(specials),
        params=params, api=api, doc=doc, call=call, builtin=builtin,
        codegen=Codegen(ft, lt, temps=tt, names=names, after=after), rule=rule,
        fused_backward=_fused_slots(rule, fused_backward or {}),
    )


def _fused_slots(rule: Formula, declared: Mapping[str, Any]
                 ) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """``fused_backward`` as ``(slot, ((value, formula), ...))`` pairs (see :class:`Op`)."""
    if not declared:
        return ()
    if all(isinstance(v, str) for v in declared.values()):  # one operand: the flat form
        if len(rule.partials) != 1:
            raise ValueError(
                f"fused_backward of an op of {len(rule.partials)} operands: give the "
                "derivatives per operand, {operand: {value: formula}} "
                "(softmax_out's is {'lse': {'out': '-grad'}})"
            )
        return ((rule.names[0], tuple(declared.items())),)
    return tuple((slot, tuple(d.items())) for slot, d in declared.items())


# ---------------------------------------------------------------------------
# The table. Each entry's formula is the only place its derivative is written.

_R = (-3.0, 3.0)
_POS = (0.05, 5.0)
_op = define_op

_TABLE: tuple[Op, ...] = (
    _op("add", "+", ("a", "b"), "a + b", ("1.0", "1.0"),
        domain=(_R, _R), api="operator", doc="Addition."),
    _op("sub", "-", ("a", "b"), "a - b", ("1.0", "-1.0"),
        domain=(_R, _R), api="operator", doc="Subtraction."),
    _op("mul", "*", ("a", "b"), "a * b", ("b", "a"),
        domain=(_R, _R), api="operator", doc="Multiplication."),
    # create_graph accumulates a gradient and a product in one node: prev + g * d
    _op("addcmul", "addcmul", ("a", "b", "c"), "a + b * c", ("1.0", "c", "b"),
        domain=(_R, _R, _R), api="function", call="`autograd.addcmul(a, b, c)`",
        doc="a + b * c as one node (PyTorch's addcmul); create_graph's accumulation."),
    _op("div", "/", ("a", "b"), "div(a, b)", ("div(1.0, b)", "-div(a, b * b)"),
        domain=(_R, (0.2, 3.0)), api="operator",
        specials=(Special((1.0, 0.0), INF), Special((-1.0, 0.0), -INF),
                  Special((0.0, 0.0), NAN)),
        doc="True division, IEEE-754 at zero."),
    _op("pow", "**", ("a", "b"), "pow(a, b)",
        # PyTorch's masks against 0 * inf and 0 * nan; elsewhere the formulas
        # are exact (so that create_graph keeps d/db of the first at b = 0).
        ("where(b == 0.0 and (a == 0.0 or a != a), 0.0, b * pow(a, b - 1.0))",
         "where(a == 0.0 and b >= 0.0, 0.0, out * log(a))"),
        domain=(_POS, _R), api="operator",
        kinks=(Kink((0.0, 2.0), (0.0, 0.0),
                    "at a = 0 with b >= 0 the exponent gets 0 (PyTorch's mask)"),
               Kink((0.0, 0.0), (0.0, 0.0),
                    "b = 0: d/da is 0 (its sign aside), as in PyTorch")),
        specials=(Special((0.0, -1.0), INF), Special((-8.0, 1.0 / 3.0), NAN),
                  Special((10.0, 400.0), INF), Special((-0.0, -1.0), -INF)),
        doc="Power; real results only (a negative base with a fractional "
            "exponent gives nan)."),
    _op("neg", "-", ("x",), "-x", ("-1.0",),
        domain=(_R,), api="operator", doc="Negation."),
    _op("exp", "exp", ("x",), "exp(x)", ("out",),
        domain=(_R,), specials=(Special((1000.0,), INF),),
        doc="Exponential; inf on overflow."),
    _op("log", "log", ("x",), "log(x)", ("div(1.0, x)",),
        domain=(_POS,), kinks=(Kink((0.0,), (INF,), "log'(0) = 1/0 = inf"),),
        specials=(Special((0.0,), -INF), Special((-1.0,), NAN)),
        doc="Natural logarithm; -inf at 0, nan below."),
    _op("sqrt", "sqrt", ("x",), "sqrt(x)", ("div(0.5, out)",),
        domain=(_POS,), kinks=(Kink((0.0,), (INF,), "sqrt'(0) = inf, as in PyTorch"),),
        specials=(Special((-1.0,), NAN),),
        doc="Square root; nan below 0."),
    _op("tanh", "tanh", ("x",), "tanh(x)", ("1.0 - out * out",),
        domain=(_R,), specials=(Special((1000.0,), 1.0), Special((-1000.0,), -1.0)),
        fused_backward={"out": "-2.0 * grad * out"},  # d(grad * (1 - out^2)) / d out
        doc="Hyperbolic tangent."),
    _op("sigmoid", "sigmoid", ("x",), "sigmoid(x)", ("out * (1.0 - out)",),
        domain=(_R,), specials=(Special((1000.0,), 1.0), Special((-1000.0,), 0.0)),
        fused_backward={"out": "grad * (1.0 - out) - grad * out"},
        doc="Logistic sigmoid, stable for any x."),
    _op("relu", "relu", ("x",), "where(x <= 0.0, 0.0, x)",  # nan stays nan, as in PyTorch
        ("where(out > 0.0, 1.0, 0.0)",),
        domain=(_R,), kinks=(Kink((0.0,), (0.0,), "relu'(0) = 0, as in PyTorch"),),
        doc="Rectified linear unit."),
    _op("leaky_relu", "leaky_relu", ("x", "slope"), "where(x > 0.0, x, x * slope)",
        ("where(x > 0.0, 1.0, slope)",),
        domain=(_R, (0.01, 0.01)), params=1,
        kinks=(Kink((0.0, 0.01), (0.01,), "leaky_relu'(0) = negative_slope, as in PyTorch"),),
        call="`x.leaky_relu(negative_slope=0.01)`",
        doc="Leaky ReLU with a negative slope (default 0.01)."),
    _op("gelu", "gelu", ("x",), "0.5 * x * (1.0 + erf(x * SQRT1_2))",
        ("0.5 * (1.0 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * exp(-0.5 * x * x)",),
        domain=(_R,),
        doc="Gaussian error linear unit, exact erf form (PyTorch's default)."),
    _op("softplus", "softplus", ("x",), "softplus(x)", ("sigmoid(x)",),
        domain=(_R,), specials=(Special((1000.0,), 1000.0), Special((-1000.0,), 0.0)),
        doc="Softplus, exact and without overflow."),
    _op("sin", "sin", ("x",), "sin(x)", ("cos(x)",),
        domain=(_R,), specials=(Special((INF,), NAN),), doc="Sine."),
    _op("cos", "cos", ("x",), "cos(x)", ("-sin(x)",),
        domain=(_R,), specials=(Special((INF,), NAN),), doc="Cosine."),
    _op("erf", "erf", ("x",), "erf(x)", ("TWO_OVER_SQRT_PI * exp(-x * x)",),
        domain=(_R,), doc="Gauss error function."),
    _op("abs", "abs", ("x",), "abs(x)",
        ("where(x > 0.0, 1.0, where(x < 0.0, -1.0, where(x != x, NAN, 0.0)))",),  # sign(x)
        domain=(_R,), call="`abs(x)`, `x.abs()`",
        kinks=(Kink((0.0,), (0.0,), "abs'(0) = sign(0) = 0, as in PyTorch"),),
        doc="Absolute value."),
    _op("clamp", "clamp", ("x", "lo", "hi"), "where(x != x, x, min(max(x, lo), hi))",
        ("where(lo <= x and x <= hi, 1.0, 0.0)",),
        domain=(_R, (-1.0, -1.0), (1.0, 1.0)), params=2,
        kinks=(Kink((-1.0, -1.0, 1.0), (1.0,), "at the lower bound: 1, as in PyTorch"),
               Kink((1.0, -1.0, 1.0), (1.0,), "at the upper bound: 1, as in PyTorch")),
        call="`x.clamp(min, max)`",
        doc="Clamp into [lo, hi]; a missing bound is infinite."),
    _op("maximum", "max", ("a", "b"), "where(a != a or b != b, NAN, where(a >= b, a, b))",
        ("where(a == b, 0.5, where(a < b, 0.0, 1.0))",
         "where(a == b, 0.5, where(a > b, 0.0, 1.0))"),
        domain=(_R, _R),
        kinks=(Kink((1.0, 1.0), (0.5, 0.5), "a tie splits the gradient, as in PyTorch"),),
        api="function", call="`autograd.maximum(a, b)`",
        doc="Elementwise maximum of two operands; nan propagates."),
    _op("minimum", "min", ("a", "b"), "where(a != a or b != b, NAN, where(a <= b, a, b))",
        ("where(a == b, 0.5, where(a > b, 0.0, 1.0))",
         "where(a == b, 0.5, where(a < b, 0.0, 1.0))"),
        domain=(_R, _R),
        kinks=(Kink((1.0, 1.0), (0.5, 0.5), "a tie splits the gradient, as in PyTorch"),),
        api="function", call="`autograd.minimum(a, b)`",
        doc="Elementwise minimum of two operands; nan propagates."),
    _op("sum", "sum", ("*xs",), "fsum(xs)", ("1.0",),
        domain=(_R,), api="function", doc="Sum of n values as one node."),
    _op("mean", "mean", ("*xs",), "fsum(xs) / n", ("1.0 / n",),
        domain=(_R,), api="function", doc="Mean of n values as one node."),
    _op("dot", "dot", ("*xs", "*ys"), "sumprod(xs, ys)", ("ys[i]", "xs[i]"),
        domain=(_R,), api="function", call="`autograd.dot(xs, ys)`",
        doc="Dot product of two equal-length sequences as one node."),
    # shifted by the largest entry m: each exp(xs[i] - m) is in [0, 1], their sum at
    # least 1; where m is not finite (m - m is nan), the helper says what the sum is
    _op("logsumexp", "logsumexp", ("*xs",),
        "where(m - m == 0.0, m + log(fsum(exp(xs[i] - m))), logsumexp(xs))",
        # at +-inf all the mass is on the largest entries, shared between ties
        ("where(out == INF or out == -INF, tie_share(xs, i), exp(xs[i] - out))",),
        domain=(_R,), api="function",
        # d(grad * exp(x - out)) / d x and / d out (away from +-inf): +-this
        fused_backward={"xs": {"xs": "this", "out": "-this"}},
        specials=(Special((1000.0, 1000.0), 1000.0 + math.log(2.0)),),
        temps=(("m", "max_of(xs)"),),
        doc="Stable log-sum-exp as one node."),
    # one output of softmax: every output of a group shares one logsumexp node,
    # so the backward is the closed form dx_j = y_j * (g_j - sum_i g_i * y_i)
    _op("softmax_out", "softmax", ("x", "lse"), "exp(x - lse)", ("out", "-out"),
        domain=(_R, _R), api="function",
        fused_backward={"lse": {"out": "-grad"}},  # d(grad * -out) / d out
        call="`autograd.softmax(values)` (one node per output)",
        doc="Output i of softmax, exp(x_i - logsumexp(x)): k outputs share one "
            "logsumexp node, k + 1 nodes in all."),
)
del _op


_REGISTRY: dict[str, Op] = {}
# Called as ``watcher(name, op)`` after an op is registered and ``watcher(name,
# None)`` after one is removed: autograd.engine keeps Value's methods in step.
_watchers: list[Callable[[str, Op | None], None]] = []


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
    for watch in _watchers:
        watch(op.name, op)
    return op


def _unregister(name: str) -> None:
    """Remove the op named ``name`` from the table (``autograd.custom.remove_op``)."""
    del _REGISTRY[name]
    for watch in _watchers:
        watch(name, None)


def _watch(watcher: Callable[[str, Op | None], None]) -> None:
    """Call ``watcher`` on every later registration and removal, and now for each op."""
    _watchers.append(watcher)
    for name, op in list(_REGISTRY.items()):
        watcher(name, op)


for _entry in _TABLE:
    register_op(_entry)

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


def op_table_markdown(ops: Iterable[Op] | None = None) -> str:
    """Return the op table as a Markdown table (the README embeds this text).

    Args:
        ops: the entries to list; by default every built-in op of the table.

    The forward and derivative columns are the entries' formulas as readable
    text (:func:`autograd.formula_render.docs`). Regenerate the README's copy with
    ``python -m autograd.codegen``; a test fails when the two drift apart.
    """
    lines = [
        "| op | how to call | forward | local derivative | smooth on (tested) | at kinks "
        "| IEEE edge cases |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for op in ops if ops is not None else (o for o in iter_ops() if o.builtin):
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
        cells = [f"`{op.name}`", call, f"`{op.formula}`", f"`{op.derivative}`", dom,
                 kinks or "-", specials or "-"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
