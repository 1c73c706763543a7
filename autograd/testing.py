"""Property-test gradients with Hypothesis: strategies and ``assert_grads_match``.

This module owns the tools shipped for users' own tests (Hypothesis is the
optional extra ``testing``: ``pip install "chainrule[testing]"``):

* :func:`assert_grads_match` runs :func:`autograd.gradcheck` (and optionally
  :func:`autograd.gradgradcheck`) and fails with the expression and the table;
* :func:`points` and :func:`operands` draw floats inside an op's domain, or,
  with ``at_kinks=True``, integers and half-integers (which hit ``relu(0)``,
  ``abs(0)``, ``clamp`` bounds and ``maximum`` ties; random floats never do)
  and the op's declared kink points;
* :func:`expressions` draws random expression DAGs over the op table, with
  shared subexpressions and domain-aware leaves (``log`` above 0, division
  away from 0): every operand of every node lies in its op's ``domain``.

Property-test your own function in five lines::

    from hypothesis import given, strategies as st
    from autograd.testing import assert_grads_match

    @given(st.floats(-3, 3), st.floats(0.1, 3))
    def test_my_function(x, y):
        assert_grads_match(lambda a, b: (a * b).tanh() + b.log(), [x, y])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Union

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'autograd.testing needs Hypothesis, an optional extra: pip install "chainrule[testing]"'
    ) from exc

from autograd.engine import Value, apply
from autograd.gradcheck import GradcheckResult, gradcheck, gradgradcheck
from autograd.ops import Op, get_op, iter_ops

__all__ = [
    "Expression",
    "Step",
    "assert_grads_match",
    "expressions",
    "operands",
    "points",
]

Arg = Union[int, float]  # an int refers to an earlier node, a float is a constant


def points(lo: float, hi: float, *, at_kinks: bool = False) -> st.SearchStrategy[float]:
    """Floats in ``[lo, hi]``.

    Args:
        lo: lower bound.
        hi: upper bound (``lo == hi`` gives that one value).
        at_kinks: draw integers and half-integers in the interval (and its
            ends) instead: the values where kinks and ties live.

    Returns:
        A strategy of floats.

    Raises:
        ValueError: if ``lo > hi`` or a bound is not finite.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"points: need finite bounds with lo <= hi, got [{lo}, {hi}]")
    if lo == hi:
        return st.just(float(lo))
    if at_kinks:
        halves = range(math.ceil(2 * lo), math.floor(2 * hi) + 1)
        grid = sorted({float(lo), float(hi), *(k / 2.0 for k in halves)})
        return st.sampled_from(grid)
    return st.floats(float(lo), float(hi), allow_nan=False, allow_infinity=False)


def _slots(op: Op, n: int) -> list[tuple[float, float]]:
    """The domain interval of each operand slot, for ``n`` operands."""
    if op.arity < 0:
        return [op.domain[0]] * (n - op.params) + list(op.domain[1 : 1 + op.params])
    return list(op.domain)


def _count(op: Op) -> st.SearchStrategy[int]:
    if op.arity >= 0:
        return st.just(op.arity)
    if op.name == "dot":
        return st.integers(1, 3).map(lambda m: 2 * m)
    return st.integers(1, 4).map(lambda m: m + op.params)


def _finite_kinks(op: Op) -> list[tuple[float, ...]]:
    return [k.at for k in op.kinks if all(math.isfinite(p) for p in k.partials)]


@st.composite
def _operands(draw: Any, op: Op, at_kinks: bool) -> tuple[float, ...]:
    kinks = _finite_kinks(op) if at_kinks else []
    if kinks and draw(st.booleans()):
        return tuple(float(v) for v in draw(st.sampled_from(kinks)))
    n = draw(_count(op))
    return tuple(draw(points(lo, hi, at_kinks=at_kinks)) for lo, hi in _slots(op, n))


def operands(op: Op | str, *, at_kinks: bool = False) -> st.SearchStrategy[tuple[float, ...]]:
    """Operand tuples for ``op`` (parameters included) inside its table ``domain``.

    Args:
        op: an op of the table, or its name.
        at_kinks: draw integers and half-integers, and half of the time one of
            the op's declared kinks (those with finite derivatives).

    Returns:
        A strategy of tuples of floats, one per operand (n-ary ops: 1 to 4
        operands; ``dot``: an even number).

    Raises:
        UnknownOpError: if no op has that name.
    """
    entry = get_op(op) if isinstance(op, str) else op
    return _operands(entry, at_kinks)


@dataclass(frozen=True)
class Step:
    """One node of an :class:`Expression`: ``op`` applied to ``args``.

    ``op`` is ``""`` for an input leaf (then ``args`` is ``(input index,)``).
    Otherwise each arg is an ``int`` (an earlier node) or a ``float`` (a
    constant or parameter).
    """

    op: str
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class Expression:
    """A random expression DAG: call it with Values, one per input.

    Attributes:
        steps: the nodes in creation order (inputs are steps with ``op ""``).
        inputs: the point drawn for the inputs.

    ``str(expr)`` is the program, one node per line, with the point.
    """

    steps: tuple[Step, ...]
    inputs: tuple[float, ...]

    def __call__(self, *xs: Value) -> Value:
        """Build the graph on the given input Values; return the output node.

        Raises:
            TypeError: if the number of inputs is wrong.
        """
        if len(xs) != len(self.inputs):
            raise TypeError(
                f"Expression: takes {len(self.inputs)} input(s), got {len(xs)}"
            )
        nodes: list[Any] = []
        for s in self.steps:
            if not s.op:
                nodes.append(xs[int(s.args[0])])
            else:
                ops = [nodes[a] if isinstance(a, int) else a for a in s.args]
                nodes.append(apply(s.op, *ops))
        out = nodes[-1]
        return out if isinstance(out, Value) else Value(out)

    def _name(self, k: int) -> str:
        s = self.steps[k]
        return f"x{s.args[0]}" if not s.op else f"t{k}"

    def __str__(self) -> str:
        point = ", ".join(f"x{i} = {v!r}" for i, v in enumerate(self.inputs))
        lines = [point]
        for k, s in enumerate(self.steps):
            if not s.op:
                continue
            args = ", ".join(self._name(a) if isinstance(a, int) else repr(a) for a in s.args)
            name = "out" if k == len(self.steps) - 1 else f"t{k}"
            lines.append(f"{name} = {s.op}({args})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        body = "; ".join(str(self).splitlines())
        return f"Expression({body})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints falsifying examples with this: show the program
        printer.text(repr(self))


@st.composite
def _expressions(
    draw: Any, ops: tuple[Op, ...], max_steps: int, max_inputs: int, at_kinks: bool
) -> Expression:
    steps: list[Step] = []
    values: list[float] = []
    inputs: list[float] = []

    def new_input(v: float) -> int:
        steps.append(Step("", (len(inputs),)))
        inputs.append(v)
        values.append(v)
        return len(steps) - 1

    n_steps = draw(st.integers(1, max_steps))
    for _ in range(n_steps):
        op = draw(st.sampled_from(ops))
        kinked = _finite_kinks(op) if at_kinks else []
        aim = bool(kinked) and draw(st.booleans())
        if aim:
            wanted: tuple[float, ...] = tuple(float(v) for v in draw(st.sampled_from(kinked)))
        else:
            n = draw(_count(op))
            wanted = tuple(draw(points(lo, hi, at_kinks=at_kinks)) for lo, hi in _slots(op, n))
        slots = _slots(op, len(wanted))
        n_real = len(wanted) - op.params
        args: list[Arg] = []
        has_value = False
        for slot, v in enumerate(wanted):
            if slot >= n_real:
                args.append(v)  # a parameter: always a constant
                continue
            lo, hi = slots[slot]
            if aim:
                lo = hi = v
            fits = [i for i, x in enumerate(values) if lo <= x <= hi]
            last = slot == n_real - 1 and not has_value
            choices = ["new"] if len(inputs) < max_inputs else []
            if fits:
                choices.append("reuse")
            if not last:
                choices.append("const")
            if not choices:
                choices = ["const"] if not last else []
            if not choices:  # no input left and nothing fits: the op is skipped below
                args.append(v)
                continue
            how = draw(st.sampled_from(choices))
            if how == "new":
                args.append(new_input(v))
                has_value = True
            elif how == "reuse":
                args.append(draw(st.sampled_from(fits[::-1])))
                has_value = True
            else:
                args.append(v)
        if not has_value:
            continue  # every operand ended up constant: skip this op
        floats = [values[a] if isinstance(a, int) else a for a in args]
        try:
            out = float(op.forward(*floats))
            partials = op.local(out, *floats)
        except (ArithmeticError, IndexError, TypeError, ValueError):
            continue  # an n-ary op that wants another operand count (a fused op)
        if not math.isfinite(out) or len(partials) != n_real:
            continue
        steps.append(Step(op.name, tuple(args)))
        values.append(out)
    if not inputs:
        new_input(draw(points(-3.0, 3.0, at_kinks=at_kinks)))
    used = {a for s in steps if s.op for a in s.args if isinstance(a, int)}
    sinks = [k for k, s in enumerate(steps) if s.op and k not in used]
    if not sinks:
        sinks = [len(steps) - 1]
    if len(sinks) > 1:
        steps.append(Step("sum", tuple(sinks)))
    return Expression(tuple(steps), tuple(inputs))


def expressions(
    ops: Sequence[Op | str] | None = None,
    *,
    max_steps: int = 6,
    max_inputs: int = 3,
    at_kinks: bool = False,
) -> st.SearchStrategy[Expression]:
    """Random expression DAGs over the op table.

    Every operand of every node lies in its op's ``domain`` (the leaves are
    drawn there, and a node is reused as an operand only when its value is
    inside the next op's domain), so finite differences are meaningful; nodes
    are reused (shared subexpressions), and nodes nobody consumes are summed
    into the output.

    Args:
        ops: the ops to draw from (Ops or names); default every op of the
            table, the ones you registered included.
        max_steps: the most ops drawn (the output sum comes on top).
        max_inputs: the most input leaves.
        at_kinks: draw leaves from integers and half-integers, and aim half of
            the ops at one of their declared kinks.

    Returns:
        A strategy of :class:`Expression`; check one with
        ``assert_grads_match(expr)``.

    Raises:
        ValueError: if ``ops`` is empty or a bound is not positive.
        UnknownOpError: if a name is not in the table.
    """
    chosen = tuple(iter_ops()) if ops is None else tuple(
        get_op(o) if isinstance(o, str) else o for o in ops
    )
    if not chosen:
        raise ValueError("expressions: ops is empty; pass at least one op (or None for all)")
    if max_steps < 1 or max_inputs < 1:
        raise ValueError(
            f"expressions: max_steps and max_inputs must be >= 1, got {max_steps}, {max_inputs}"
        )
    return _expressions(chosen, max_steps, max_inputs, at_kinks)


def _describe(f: Any) -> str:
    if isinstance(f, Expression):
        return str(f)
    return getattr(f, "__qualname__", None) or repr(f)


def assert_grads_match(
    f: Callable[..., Value],
    inputs: Sequence[float | Value] | float | None = None,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    eps: float | None = None,
    second_order: bool = False,
) -> GradcheckResult:
    """Assert that autodiff's gradients of ``f`` match finite differences.

    Args:
        f: a function of Values returning a Value, or an :class:`Expression`.
        inputs: the point; may be omitted for an :class:`Expression` (its
            drawn ``inputs``).
        atol: absolute tolerance (see :func:`autograd.gradcheck`).
        rtol: relative tolerance.
        eps: a fixed finite-difference step, or None to scale it per input.
        second_order: also check second derivatives (``gradgradcheck``).

    Returns:
        The first-order :class:`~autograd.gradcheck.GradcheckResult`.

    Raises:
        AssertionError: naming the expression and showing the table, when a
            derivative does not match.
        TypeError: if ``inputs`` is missing for a plain function.
    """
    if inputs is None:
        if not isinstance(f, Expression):
            raise TypeError(
                "assert_grads_match: pass inputs=[...] (the point to check at); only an "
                "Expression knows its own"
            )
        inputs = [Value(v, label=f"x{i}") for i, v in enumerate(f.inputs)]  # as printed
    result = gradcheck(f, inputs, atol=atol, rtol=rtol, eps=eps, raise_exception=False)
    if not result.passed:
        raise AssertionError(
            f"gradients of autodiff and finite differences differ for\n{_describe(f)}\n\n{result}"
        )
    if second_order:
        second = gradgradcheck(f, inputs, atol=atol, rtol=rtol, eps=eps, raise_exception=False)
        if not second.passed:
            raise AssertionError(
                f"second derivatives differ for\n{_describe(f)}\n\n{second}"
            )
    return result

