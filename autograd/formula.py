"""The formula language: how every op of the table writes its forward and derivative once.

An op of the table (:mod:`autograd.ops`) declares its forward and its partials
once, as a :class:`Formula`: Python expressions over the operands' names and
``out`` (the forward's result), calling only the helpers of :data:`HELPERS`
and the constants of :data:`CONSTANTS`. This module defines the language
(what each name means on floats and on Values) and holds the small runtime
the rendered Value rules call (``_v_tanh``...). Turning a formula into code
is :mod:`autograd.formula_render`'s job: float rules, Value rules for
``create_graph``, compile templates, README text (``parse``, ``check``,
``derive``... are also reachable here, as ``autograd.formula.parse``, loaded
on first use).

The language (checked by ``formula_render.parse``; anything else is refused
with a :class:`FormulaError` naming the op and the construct):

* numbers; operand names; ``out`` (in partials); the constants ``INF``,
  ``NAN``, ``SQRT1_2``, ``INV_SQRT_2PI``, ``TWO_OVER_SQRT_PI``;
* ``+ - * /`` and unary ``-`` (``a / b`` is read as ``div(a, b)``, IEEE
  division, unless ``b`` is ``n`` or a nonzero number); comparisons (chains
  allowed), ``and``, ``or``, ``not``: only inside the condition of ``where``;
* calls of the helpers in :data:`HELPERS`; ``where(c, a, b)`` is a select
  (a where ``c`` holds, else b). Every helper is total: IEEE-754 results,
  never an exception, so a renderer may evaluate both branches of a
  ``where`` (NumPy's ``where``) or only one (Python's ``a if c else b``).

Variadic ops name one or more operand *groups* (``*xs`` or ``*xs, *ys``:
groups of equal length ``n``). Their forward may use a whole group
(``fsum(xs)``); each group has one partial expression, of the element index
``i`` (``ys[i]``; ``1.0 / n``). A subscript takes an index expression of
``i`` and ``n`` only (``xs[i]``). In the forward, ``fsum(term)`` whose term
reads ``i`` is a *per-element sum*: the exactly rounded sum over ``i = 0..n-1``
of the term (``fsum((ps[i] - ts[i]) * (ps[i] - ts[i])) / n`` is a mean squared
error); partials are per element already, so they may not hold one.

Groups may be followed by single operands, the trailing ``params`` of them
constant parameters (a neuron: ``*xs, *ws, b`` and leaky_relu's ``slope``):
each single has one partial, of no ``i``. A variadic formula may name
*temporaries* (``Formula.temps``, ``(("z", "sumprod_builtin(xs, ws) + b"),)``):
each computed once per node from the operands and earlier temporaries, read
by name in the forward and partials; a temporary may not read ``i``. Every
renderer binds it once (a local of the float and Value rules, a ``{t0}``
template of the compiled path). In partials, a factor that does not read
``i`` multiplying one that does (``(1.0 - out * out) * ws[i]``) is computed
once per node.

An op written in terms of another (a loss of ``abs``, ``relu``...) inlines
that op's formula instead of restating its derivative:
``formula_render.inline(get_op("abs").rule, {"x": "ps[i] - ts[i]"})`` gives
its forward and partial with the operand replaced (and ``out`` by the forward
so replaced), as text to write the composing formula with.

This module imports nothing of the engine (the group helpers of Value rules
import engine functions when called).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from autograd import numerics as N

__all__ = ["CONSTANTS", "HELPERS", "VALUE_HELPERS", "Formula", "FormulaError", "Helper",
           "float_name"]


class FormulaError(ValueError):
    """Raised for a formula outside the language (the message names the op and the fix)."""


class Formula:
    """An op's forward and local derivative, each written once.

    Immutable and hashable; equal when every field is.

    Attributes:
        operands: the operands' names in call order; trailing ``params`` of
            them are always constants (a slope, bounds). Variadic ops give
            groups instead: ``("*xs",)`` or ``("*xs", "*ys")``.
        forward: the forward expression.
        partials: one expression per non-parameter operand (per group for a
            variadic op): d out / d operand. May use ``out``.
        params: how many trailing operands are constant parameters.
    """

    __slots__ = ("forward", "operands", "params", "partials", "temps")

    operands: tuple[str, ...]
    forward: str
    partials: tuple[str, ...]
    params: int
    temps: tuple[tuple[str, str], ...]

    def __init__(self, operands: tuple[str, ...], forward: str, partials: tuple[str, ...],
                 params: int = 0, temps: tuple[tuple[str, str], ...] = ()) -> None:
        # a plain class, not a dataclass: creating one costs import time
        object.__setattr__(self, "operands", tuple(operands))
        object.__setattr__(self, "forward", forward)
        object.__setattr__(self, "partials", tuple(partials))
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "temps", tuple((str(k), str(v)) for k, v in temps))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Formula is immutable: cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Formula) and self.sources == other.sources

    def __hash__(self) -> int:
        return hash(self.sources)

    def __repr__(self) -> str:
        temps = f", temps={self.temps!r}" if self.temps else ""
        return (f"Formula(operands={self.operands!r}, forward={self.forward!r}, "
                f"partials={self.partials!r}, params={self.params!r}{temps})")

    @property
    def variadic(self) -> bool:
        """Whether the operands start with groups (``*xs``)."""
        return bool(self.operands) and self.operands[0].startswith("*")

    @property
    def names(self) -> tuple[str, ...]:
        """The operands' (or groups') names without ``*``."""
        return tuple(o.lstrip("*") for o in self.operands)

    @property
    def groups(self) -> tuple[str, ...]:
        """The groups' names (``xs`` of ``*xs``), in order."""
        return tuple(o[1:] for o in self.operands if o.startswith("*"))

    @property
    def singles(self) -> tuple[str, ...]:
        """The single operands' names (after the groups, for a variadic op)."""
        return tuple(o for o in self.operands if not o.startswith("*"))

    @property
    def sources(self) -> tuple[Any, ...]:
        """Everything a rendering depends on (compared to detect stale generated code)."""
        base = (self.operands, self.forward, self.partials, self.params)
        return (*base, self.temps) if self.temps else base


class Helper:
    """A helper name of the formula language and its meaning in each namespace.

    Attributes:
        float_fn: the float function (never raises; IEEE-754 results).
        value: how a Value rule computes it: the name of a Value method
            (``"tanh"``: ``x.tanh()``), an operator (``"/"``, ``"**"``), or
            ``""`` for a helper evaluated on the operands' data or composed
            of engine functions (see the ``_v_`` functions).
        group: whether its first argument is a whole operand group.
        doc: its meaning, for docs and renderers.
        arity: how many arguments it takes (the checker refuses other counts).
        numpy: the name of its NumPy form in
            :func:`autograd.formula_numpy.namespace` (elementwise on arrays, a
            group as a matrix with one column per element, IEEE-754 as the
            float function); by default ``_nx_<name>``, ``_gx_<name>`` for a group.
    """

    __slots__ = ("arity", "doc", "float_fn", "group", "numpy", "value")

    def __init__(self, float_fn: Callable[..., Any], value: str, group: bool = False,
                 doc: str = "", arity: int = 1, numpy: str = "") -> None:
        self.float_fn = float_fn
        self.value = value
        self.group = group
        self.doc = doc
        self.arity = arity
        self.numpy = numpy

    def __repr__(self) -> str:
        return f"Helper({getattr(self.float_fn, '__name__', self.float_fn)!r}, doc={self.doc!r})"


def _sumprod_builtin(xs: Any, ys: Any) -> float:
    return sum(map(operator.mul, xs, ys))  # the builtin sum: left to right from 0


#: The helper names a formula may call, and what each means.
HELPERS: Mapping[str, Helper] = {
    "where": Helper(lambda c, a, b: a if c else b, "",
                    doc="where(c, a, b): a where c holds, else b (a select; both total)", arity=3,
                    numpy="_where"),
    "div": Helper(N.div, "/", doc="IEEE-754 division: 1/0 = inf, 0/0 = nan", arity=2),
    "pow": Helper(N.pow, "**", doc="real power: pow(-8, 1/3) = nan, pow(0, -1) = inf", arity=2),
    "exp": Helper(N.exp, "exp", doc="e^x, inf on overflow"),
    "log": Helper(N.log, "log", doc="ln x: -inf at 0, nan below"),
    "sqrt": Helper(N.sqrt, "sqrt", doc="square root, nan below 0"),
    "tanh": Helper(math.tanh, "tanh", doc="hyperbolic tangent"),
    "sigmoid": Helper(N.sigmoid, "sigmoid", doc="1 / (1 + e^-x), stable"),
    "softplus": Helper(N.softplus, "softplus", doc="ln(1 + e^x), stable"),
    "sin": Helper(N.sin, "sin", doc="sine, nan at +-inf"),
    "cos": Helper(N.cos, "cos", doc="cosine, nan at +-inf"),
    "erf": Helper(math.erf, "erf", doc="Gauss error function"),
    "abs": Helper(abs, "abs", doc="absolute value"),
    "min": Helper(min, "", doc="min(a, b) of two floats: b if b < a else a (Python's)", arity=2),
    "max": Helper(max, "", doc="max(a, b) of two floats: b if b > a else a (Python's)", arity=2),
    "fsum": Helper(N.fsum, "", group=True, doc="exactly rounded sum of a group"),
    "sumprod": Helper(N.sumprod, "", group=True,
                      doc="sumprod(xs, ys): exactly rounded sum of xs[i] * ys[i]", arity=2),
    "sumprod_builtin": Helper(
        _sumprod_builtin, "", group=True, arity=2,
        doc="sumprod_builtin(xs, ys): Python's sum of xs[i] * ys[i], added left to right "
            "from 0 (a neuron's w . x: faster than sumprod, rounded as the builtin sum)"),
    "max_of": Helper(max, "", group=True,
                     doc="max_of(xs): the largest of a group (Python's max: a nan is "
                         "passed over unless it comes first)"),
    "logsumexp": Helper(N.logsumexp, "", group=True,
                        doc="ln(sum(e^x)) of a group, shifted by its maximum"),
    "tie_share": Helper(N.tie_share, "", group=True,
                        doc="tie_share(xs, i): 1/k if xs[i] is one of the k maxima, else 0",
                        arity=2),
}
for _name, _helper in HELPERS.items():  # the NumPy form's name follows from the helper's kind
    _helper.numpy = _helper.numpy or f"_{'gx' if _helper.group else 'nx'}_{_name}"
del _name, _helper

#: The constant names a formula may use.
CONSTANTS: Mapping[str, float] = {
    "INF": math.inf,
    "NAN": math.nan,
    "SQRT1_2": math.sqrt(0.5),
    "INV_SQRT_2PI": 1.0 / math.sqrt(2.0 * math.pi),
    "TWO_OVER_SQRT_PI": 2.0 / math.sqrt(math.pi),
}

# ---------------------------------------------------------------------------
# The Value-rule helpers: the same names on a Value (a graph op) or on a
# constant float operand (the float function). Rendered Value rules call them.


def _d(x: Any) -> float:
    """The data of an operand (a Value or a constant float): conditions read it."""
    return x if isinstance(x, float) else x.data


def _v_div(a: Any, b: Any) -> Any:
    if isinstance(a, float) and isinstance(b, float):
        return N.div(a, b)
    return a / b


def _v_pow(a: Any, b: Any) -> Any:
    if isinstance(a, float) and isinstance(b, float):
        return N.pow(a, b)
    return a ** b


def _v_exp(x: Any) -> Any:
    return N.exp(x) if isinstance(x, float) else x.exp()


def _v_log(x: Any) -> Any:
    return N.log(x) if isinstance(x, float) else x.log()


def _v_sqrt(x: Any) -> Any:
    return N.sqrt(x) if isinstance(x, float) else x.sqrt()


def _v_tanh(x: Any) -> Any:
    return math.tanh(x) if isinstance(x, float) else x.tanh()


def _v_sigmoid(x: Any) -> Any:
    return N.sigmoid(x) if isinstance(x, float) else x.sigmoid()


def _v_softplus(x: Any) -> Any:
    return N.softplus(x) if isinstance(x, float) else x.softplus()


def _v_sin(x: Any) -> Any:
    return N.sin(x) if isinstance(x, float) else x.sin()


def _v_cos(x: Any) -> Any:
    return N.cos(x) if isinstance(x, float) else x.cos()


def _v_erf(x: Any) -> Any:
    return math.erf(x) if isinstance(x, float) else x.erf()


def _v_abs(x: Any) -> Any:
    return abs(x)


def _v_min(a: Any, b: Any) -> Any:  # a select by data, as where
    return b if _d(b) < _d(a) else a


def _v_max(a: Any, b: Any) -> Any:
    return b if _d(b) > _d(a) else a


def _v_fsum(xs: Any) -> Any:
    from autograd.engine import sum as value_sum  # the engine imports this module

    return value_sum(xs)


def _v_sumprod(xs: Any, ys: Any) -> Any:
    from autograd.engine import dot

    return dot(xs, ys)


def _v_sumprod_builtin(xs: Any, ys: Any) -> Any:
    from autograd.engine import dot

    return dot(xs, ys)  # as a graph: dot's exactly rounded data (a neuron's create_graph)


def _v_max_of(xs: Any) -> Any:
    return max(xs, key=_d)  # the operand itself (a Value or a float), as _v_max


def _v_logsumexp(xs: Any) -> Any:
    from autograd.engine import logsumexp

    return logsumexp(xs)


def _v_tie_share(xs: Any, i: int) -> float:
    return N.tie_share([_d(x) for x in xs], i)  # piecewise constant: a float


def _v_where(c: Any, a: Any, b: Any) -> Any:  # pragma: no cover - rendered as ``a if c else b``
    return a if c else b


#: What Value rules call for each helper (see :func:`value_source`).
VALUE_HELPERS: Mapping[str, Callable[..., Any]] = {
    name: globals()[f"_v_{name}"] for name in HELPERS
}




def float_name(helper: str) -> str:
    """The global name under which rendered float code calls a helper or constant."""
    return f"_{helper}"



def __getattr__(name: str) -> Any:
    # The renderers live in autograd.formula_render (not needed at import).
    if name in _RENDER_NAMES:
        from autograd import formula_render

        return getattr(formula_render, name)
    raise AttributeError(f"module 'autograd.formula' has no attribute {name!r}")


_RENDER_NAMES = frozenset({
    "Derived", "check", "derive", "direct_forward", "doc_text", "docs", "edge_label",
    "float_globals", "float_source", "helpers_used", "inline", "parse", "per_element_sums",
    "templates", "value_globals", "value_source",
})
