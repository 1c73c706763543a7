"""Hypothesis strategies for our own tests: operands inside an op's domain,
random expression DAGs with shared subexpressions, and random programs over the
whole op table (kinks included) for the compiled and batched paths.

Users get their own, richer strategies from :mod:`autograd.testing`; these are
small and exist so the engine's tests need nothing beyond the op table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

import autograd
from autograd import Op, Value


def in_interval(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats in ``[lo, hi]`` (a single value when ``lo == hi``)."""
    if lo == hi:
        return st.just(lo)
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def operands_for(op: Op, n: int = 3) -> st.SearchStrategy[tuple[float, ...]]:
    """Operand floats for ``op`` drawn from its table ``domain``.

    n-ary ops get ``n`` operands (``2 * n`` for ``dot``) from their one interval.
    """
    if op.arity < 0:
        lo, hi = op.domain[0]
        count = 2 * n if op.name == "dot" else n
        return st.tuples(*[in_interval(lo, hi) for _ in range(count)])
    return st.tuples(*[in_interval(lo, hi) for lo, hi in op.domain])


# Unary ops that are safe on any finite input of moderate size, for random DAGs.
SAFE_UNARY = ("tanh", "sigmoid", "sin", "cos", "softplus", "gelu", "erf")
SAFE_BINARY = ("add", "sub", "mul")


@dataclass
class Dag:
    """A random expression DAG over ``n_inputs`` leaves.

    ``build(leaves)`` replays the recorded steps on fresh leaves and returns
    the output; ``describe()`` prints the program, for failure messages.
    """

    n_inputs: int
    steps: list[tuple[str, tuple[int, ...]]]

    def build(self, leaves: list[Value]) -> Value:
        nodes: list[Value] = list(leaves)
        for name, args in self.steps:
            nodes.append(autograd.apply(name, *(nodes[i] for i in args)))
        return nodes[-1]

    def build_floats(self, xs: list[float]) -> float:
        with autograd.no_grad():
            return self.build([Value(x) for x in xs]).data

    def describe(self) -> str:
        lines = [f"v{i} = input" for i in range(self.n_inputs)]
        for k, (name, args) in enumerate(self.steps):
            lines.append(f"v{self.n_inputs + k} = {name}({', '.join(f'v{i}' for i in args)})")
        return "\n".join(lines)


@st.composite
def dags(draw: Callable[..., object], max_inputs: int = 3, max_steps: int = 12) -> Dag:
    """Random DAGs whose steps reuse earlier nodes (shared subexpressions)."""
    n_inputs = draw(st.integers(1, max_inputs))
    steps: list[tuple[str, tuple[int, ...]]] = []
    n_steps = draw(st.integers(1, max_steps))
    for k in range(n_steps):
        avail = n_inputs + k
        pick = st.integers(0, avail - 1)
        kind = draw(st.sampled_from(("unary", "binary", "binary", "sum")))
        if kind == "unary":
            steps.append((draw(st.sampled_from(SAFE_UNARY)), (draw(pick),)))
        elif kind == "binary":
            steps.append((draw(st.sampled_from(SAFE_BINARY)), (draw(pick), draw(pick))))
        else:
            m = draw(st.integers(1, 4))
            steps.append(("sum", tuple(draw(pick) for _ in range(m))))
    return Dag(n_inputs, steps)  # type: ignore[arg-type]


inputs = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------------------
# Random programs over the whole table, kinks included (compile and batched).

UNARY = [n for n, op in autograd.OPS.items() if op.builtin and op.arity == 1]
BINARY = [n for n, op in autograd.OPS.items()
          if op.builtin and op.arity == 2 and op.params == 0]
NARY = [n for n, op in autograd.OPS.items() if op.builtin and op.arity == -1]
TERNARY = [n for n, op in autograd.OPS.items()
           if op.builtin and op.arity == 3 and op.params == 0]  # addcmul
KINKY = [-1.0, 0.0, 1.0, 0.5, 2.0]
values = st.sampled_from(KINKY) | st.floats(-2.5, 2.5)

Step = tuple[str, list[tuple[str, Any]]]


@st.composite
def programs(draw: st.DrawFn, extra: int = 0) -> tuple[int, int, list[Step]]:
    """``(n_in, n_par, steps)``: a program over ``n_in`` inputs, ``extra`` more leaves
    (the batched path's target) and ``n_par`` parameters; each step applies an op
    to earlier nodes (``("n", k)``) and constants (``("c", x)``)."""
    n_in = draw(st.integers(1, 3))
    n_par = draw(st.integers(1, 3))
    steps: list[Step] = []
    for k in range(draw(st.integers(1, 10))):
        avail = n_in + extra + n_par + k
        ref = st.integers(0, avail - 1)
        const = st.sampled_from(KINKY) | st.floats(-3, 3)
        kind = draw(st.sampled_from(["unary", "binary", "binary", "nary", "param", "ternary"]))
        if kind == "unary":
            steps.append((draw(st.sampled_from(UNARY)), [("n", draw(ref))]))
        elif kind == "binary":
            name = draw(st.sampled_from(BINARY))
            a: tuple[str, Any] = ("n", draw(ref))
            b: tuple[str, Any] = ("n", draw(ref))
            side = draw(st.integers(0, 2))
            if side == 1:
                a = ("c", draw(const))
            elif side == 2:
                b = ("c", draw(const))
            steps.append((name, [a, b]))
        elif kind == "nary":
            name = draw(st.sampled_from(NARY))
            m = draw(st.integers(1, 4))
            ops = [("n", draw(ref)) if draw(st.booleans()) or i == 0 else ("c", draw(const))
                   for i in range(m)]
            if name == "dot":
                ops = ops + [("n", draw(ref)) for _ in range(m)]
            steps.append((name, ops))
        elif kind == "ternary":
            args = [("n", draw(ref)) if draw(st.booleans()) or i == 0 else ("c", draw(const))
                    for i in range(3)]
            steps.append((draw(st.sampled_from(TERNARY)), draw(st.permutations(args))))
        elif draw(st.booleans()):
            slope = draw(st.sampled_from([0.01, 0.2]))
            steps.append(("leaky_relu", [("n", draw(ref)), ("c", slope)]))
        else:
            lo = draw(st.sampled_from([-1.0, 0.0, -0.5]))
            steps.append(("clamp", [("n", draw(ref)), ("c", lo), ("c", lo + 1.0)]))
    return n_in, n_par, steps


def run_program(steps: list[Step], leaves: list[Any]) -> Value:
    """Build a program's graph on ``leaves`` (inputs, extras, parameters, in order)."""
    nodes = list(leaves)
    for name, ops in steps:
        nodes.append(autograd.apply(name, *(nodes[i] if t == "n" else i for t, i in ops)))
    out = nodes[-1]
    if not isinstance(out, Value) or not out.parents:
        out = out + 0.0  # the loss must be a node (a leaf output is tested separately)
    return out
