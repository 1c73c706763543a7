"""Custom ops: add your own operation, with its forward and derivative, to the op table.

This module owns the friendly public way to extend the engine:
:func:`custom_op` builds one :class:`~autograd.ops.Op` entry, registers it
(with ``builtin=False``, so the README's table stays the built-in ops), and
returns a :class:`CustomOp` you call like a function. With ``method=True``
(the default) it is also a Value method: ``x.swish()``.

Two ways to write it:

* **As a formula** (strings, like the built-in ops): ``forward`` and
  ``derivative`` are expressions of the formula language
  (:mod:`autograd.formula`) over the operand names. The entry is made by
  :func:`autograd.ops.define_op`, the mechanism of every built-in op: the
  float rule, the Value rule of ``create_graph``, the compiled code
  (``autograd.compile`` emits it inline) and the docs all come from the one
  formula, kinks included (``where(x > 0.0, 1.0, 0.0)``).
* **As functions**: a float ``forward`` and a ``derivative`` written with
  Value operations. The one definition serves both paths of the engine:
  ``backward`` evaluates it on floats once per forward (the node's stored
  partials), and ``autograd.grad(..., create_graph=True)`` builds it as a
  graph. ``autograd.compile`` calls these functions.

Example::

    import autograd
    from autograd import Value

    swish = autograd.custom_op(
        "swish",
        forward="x * sigmoid(x)",
        derivative="sigmoid(x) * (1.0 + x * (1.0 - sigmoid(x)))",
    )
    y = swish(Value(1.0))       # or Value(1.0).swish()
    autograd.gradcheck(swish, [0.3])

For full control (kinks and IEEE edge cases the tests check, a symbol, the
call text) use :func:`autograd.ops.define_op` and
:func:`~autograd.ops.register_op`.
"""

from __future__ import annotations

import inspect
import keyword
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Union

from autograd import ops as _ops
from autograd.anomaly import suspend_anomaly
from autograd.engine import Value, apply, no_grad
from autograd.ops import Kink, Op, define_op, get_op, register_op

__all__ = ["CustomOp", "custom_op", "remove_op"]

Partial = Union[Value, float, int]


class CustomOp:
    """A registered user op; call it with Values or numbers: ``swish(x)``.

    Attributes:
        op: the :class:`~autograd.ops.Op` entry in the table.
        name: the op's name.
    """

    def __init__(self, op: Op) -> None:
        self.op = op
        self.name = op.name
        self.__name__ = op.name
        self.__doc__ = op.doc or f"The custom op {op.name!r}."

    def __call__(self, *operands: Any) -> Value:
        """Apply the op; at least one operand should be a Value for a graph node.

        Raises:
            TypeError: if the number of operands is wrong or one is not a
                number or Value.
        """
        return apply(self.op, *operands)

    def __repr__(self) -> str:
        return f"CustomOp({self.name!r}, arity={self.op.arity})"


def _arity(name: str, forward: Callable[..., Any]) -> int:
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        raise TypeError(
            f"custom_op({name!r}): cannot read the signature of forward; pass arity=..."
        ) from None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return -1
    required = [p for p in params
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                and p.default is p.empty]
    return len(required)


def _as_partials(name: str, result: Any, n: int) -> tuple[Partial, ...]:
    if isinstance(result, (Value, int, float)) and not isinstance(result, bool):
        parts: tuple[Any, ...] = (result,)
    elif isinstance(result, Sequence) and not isinstance(result, (str, bytes)):
        parts = tuple(result)
    else:
        raise TypeError(
            f"custom op {name!r}: derivative must return a Value or number (one "
            f"operand) or a sequence of them (one per operand), got {type(result).__name__}"
        )
    if len(parts) != n:
        raise TypeError(
            f"custom op {name!r}: derivative returned {len(parts)} partial(s) for {n} "
            "operand(s); return one d out / d operand per operand, in order"
        )
    for p in parts:
        if not isinstance(p, (Value, int, float)) or isinstance(p, bool):
            raise TypeError(
                f"custom op {name!r}: a partial is {type(p).__name__}; partials must be "
                "Values (built from the operands) or numbers"
            )
    return parts


def _safe_forward(name: str, forward: Callable[..., Any]) -> Callable[..., float]:
    def run(*xs: float) -> float:
        try:
            out = forward(*xs)
        except (ArithmeticError, ValueError):
            return math.nan  # the table's forwards never raise for a domain problem
        if isinstance(out, Value):
            raise TypeError(
                f"custom op {name!r}: forward returned a Value; forward works on floats "
                "(use math), the derivative on Values"
            )
        return float(out)

    run.__name__ = f"{name}_forward"
    return run


def custom_op(
    name: str,
    forward: Callable[..., float] | str,
    derivative: Callable[..., Any] | str | Sequence[str],
    *,
    operands: Sequence[str] | None = None,
    arity: int | None = None,
    method: bool = True,
    symbol: str = "",
    formula: str = "",
    derivative_text: str = "",
    domain: Sequence[tuple[float, float]] | None = None,
    kinks: Sequence[Kink] = (),
    doc: str = "",
) -> CustomOp:
    """Register a new op from its forward and derivative; return it as a callable.

    Args:
        name: a new op name, a Python identifier (it names the Value method).
        forward: a formula string over the operand names (``"x * sigmoid(x)"``,
            see :mod:`autograd.formula`); or ``forward(*xs: float) -> float``,
            the op on floats (a ``ValueError`` or ``ArithmeticError`` it
            raises becomes ``nan``).
        derivative: with a formula ``forward``: the partial's formula (may use
            ``out``), or one per operand. With a function ``forward``:
            ``derivative(*xs: Value) -> partial(s)``: d out / d x for each
            operand, written with Value operations (methods, operators,
            ``autograd`` functions) so that ``create_graph`` can differentiate
            it again; one Value (or number) for a one-operand op, else a
            sequence of them, one per operand. Constants are passed as leaf
            Values.
        operands: with a formula: the operands' names in call order (default
            ``("x",)``; ``("*xs",)`` for any number of operands).
        arity: with functions: the number of operands; read from
            ``forward``'s signature by default (``*args`` means any number).
        method: also make it a Value method (``x.name(...)``).
        symbol: how graphs print it (default: the name).
        formula: the forward formula, for docs and graphs.
        derivative_text: the derivative formula, for docs.
        domain: per operand, an interval where the op is smooth (default
            ``(-3, 3)`` each); :mod:`autograd.testing` samples from it.
        kinks: non-differentiable points and the derivative used there.
        doc: one line saying what the op computes.

    Returns:
        A :class:`CustomOp`: ``op(x)`` applies it.

    Raises:
        ValueError: if the name is not an identifier, is taken by another op,
            or (with ``method=True``) by an attribute of Value; or the arity
            or domain is invalid; or a formula is outside the language
            (:class:`autograd.formula.FormulaError`, naming the construct).
        TypeError: if ``forward`` or ``derivative`` is neither callable nor
            a formula string.
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"custom_op: the name must be a Python identifier, got {name!r}")
    if isinstance(forward, str):
        return _formula_op(name, forward, derivative, operands, method, symbol, formula,
                           derivative_text, domain, kinks, doc)
    if not callable(forward) or not callable(derivative):
        raise TypeError(
            f"custom_op({name!r}): forward and derivative must be callables, got "
            f"{type(forward).__name__} and {type(derivative).__name__}"
        )
    return _function_op(name, forward, derivative, arity, method, symbol, formula,
                        derivative_text, domain, kinks, doc)


def _function_op(
    name: str, forward: Callable[..., float], derivative: Callable[..., Any],
    arity: int | None, method: bool, symbol: str, formula: str, derivative_text: str,
    domain: Sequence[tuple[float, float]] | None, kinks: Sequence[Kink], doc: str,
) -> CustomOp:
    """:func:`custom_op` from a float ``forward`` and a Value ``derivative``."""
    _check_name(name, method)
    n = _arity(name, forward) if arity is None else arity
    if not isinstance(n, int) or n == 0 or n < -1:
        raise ValueError(
            f"custom_op({name!r}): arity must be a positive number of operands or -1 "
            f"(any number), got {n!r}"
        )
    dom = _domain(name, domain, n)

    def local(out: float, *xs: float) -> tuple[float, ...]:
        # an infinite partial is the backward pass's business (anomaly mode
        # reports it there, naming this op), not a forward anomaly of the
        # derivative's inner ops
        with no_grad(), suspend_anomaly():
            parts = _as_partials(name, derivative(*(Value(x) for x in xs)), len(xs))
        return tuple(float(p.data if isinstance(p, Value) else p) for p in parts)

    def local_value(operands: tuple[Any, ...], out: Value, wrt: int) -> Any:
        vals = [o if isinstance(o, Value) else Value(o) for o in operands]
        part = _as_partials(name, derivative(*vals), len(vals))[wrt]
        return part if isinstance(part, Value) else float(part)

    local.__name__ = f"{name}_local"
    local_value.__name__ = f"{name}_local_value"
    op = Op(
        name=name,
        symbol=symbol or name,
        arity=n,
        forward=_safe_forward(name, forward),
        local=local,
        local_value=local_value,
        formula=formula or f"{name}(x)",
        derivative=derivative_text or f"d{name}/dx",
        domain=dom,
        kinks=tuple(kinks),
        api="method" if method else "function",
        doc=doc,
        builtin=False,
    )
    register_op(op)
    return CustomOp(op)


def _domain(name: str, domain: Sequence[tuple[float, float]] | None, n: int,
            ) -> tuple[tuple[float, float], ...]:
    """The operands' smooth intervals (default ``(-3, 3)`` each), checked."""
    if domain is None:
        return ((-3.0, 3.0),) * max(n, 1)
    dom = tuple((float(lo), float(hi)) for lo, hi in domain)
    if len(dom) != max(n, 1) or any(not lo <= hi for lo, hi in dom):
        raise ValueError(
            f"custom_op({name!r}): domain needs one (lo, hi) interval with lo <= hi "
            f"per operand ({max(n, 1)}), got {domain!r}"
        )
    return dom


def _check_name(name: str, method: bool) -> None:
    if name in _ops.OPS:
        raise ValueError(
            f"custom_op({name!r}): an op named {name!r} is already in the table; choose "
            "another name (or autograd.custom.remove_op it first)"
        )
    if method and hasattr(Value, name):
        raise ValueError(
            f"custom_op({name!r}): Value already has an attribute {name!r}; choose another "
            "name or pass method=False"
        )


def _formula_op(
    name: str,
    forward: str,
    derivative: Any,
    operands: Sequence[str] | None,
    method: bool,
    symbol: str,
    formula: str,
    derivative_text: str,
    domain: Sequence[tuple[float, float]] | None,
    kinks: Sequence[Kink],
    doc: str,
) -> CustomOp:
    """custom_op with formula strings: one define_op entry, as the built-in ops."""
    if isinstance(derivative, str):
        partials: tuple[str, ...] = (derivative,)
    elif (isinstance(derivative, Sequence) and derivative
          and all(isinstance(d, str) for d in derivative)):
        partials = tuple(derivative)
    else:
        raise TypeError(
            f"custom_op({name!r}): with a formula forward, derivative must be a formula "
            f"string or one per operand, got {type(derivative).__name__}"
        )
    names = ("x",) if operands is None else tuple(operands)
    if not names or not all(isinstance(o, str) for o in names):
        raise ValueError(f"custom_op({name!r}): operands must be names, got {operands!r}")
    _check_name(name, method)
    count = 1 if names[0].startswith("*") else len(names)
    op = define_op(name, symbol or name, names, forward, partials,
                   domain=_domain(name, domain, count),
                   kinks=kinks, api="method" if method else "function", doc=doc,
                   builtin=False)
    if formula or derivative_text:
        op = replace(op, formula=formula or op.formula,
                     derivative=derivative_text or op.derivative)
    register_op(op)
    return CustomOp(op)


def remove_op(name: str) -> None:
    """Remove an op registered by a user (for notebooks and tests).

    Raises:
        UnknownOpError: if no op has that name.
        ValueError: if the op is built in.
    """
    op = get_op(name)
    if op.builtin:
        raise ValueError(f"remove_op: {name!r} is a built-in op and cannot be removed")
    _ops._unregister(name)
