"""Hypothesis strategies for our own tests: operands inside an op's domain, and
random expression DAGs with shared subexpressions.

Users get their own, richer strategies from :mod:`autograd.testing`; these are
small and exist so the engine's tests need nothing beyond the op table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
