"""Finite differences for the engine's tests (a small, fixed-step reference;
the user-facing checker with Richardson extrapolation is autograd.gradcheck),
ops that exist only inside a test, and the two-moons data of the batched tests."""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from autograd.custom import remove_op


@contextmanager
def removed_on_exit(name: str) -> Iterator[None]:
    """Remove the user op ``name`` when the block ends, however it ends, so that no other test
    sees it. Register it just before the block (``autograd.register_op(op)`` or
    ``autograd.custom_op(name, ...)``): an op that failed to register is not removed."""
    try:
        yield
    finally:
        remove_op(name)


def _along(f: Callable[[list[float]], float], xs: Sequence[float],
           i: int) -> Callable[[float], float]:
    """``d -> f(xs with xs[i] + d)``: f along coordinate i."""
    def at(d: float) -> float:
        ys = list(xs)
        ys[i] += d
        return f(ys)

    return at


def central_diff(f: Callable[[list[float]], float], xs: Sequence[float], i: int) -> float:
    """d f / d xs[i] by a fourth-order central difference."""
    h = 1e-4 * max(1.0, abs(xs[i]))
    at = _along(f, xs, i)
    return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)


def close(a: float, b: float, tol: float = 1e-5) -> bool:
    """Relative-or-absolute closeness that treats equal infinities and nans as equal."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def one_sided_disagree(f: Callable[[list[float]], float], xs: Sequence[float], i: int) -> bool:
    """True when the left and right slopes of f at xs along i differ (a kink nearby)."""
    h = 1e-3 * max(1.0, abs(xs[i]))
    at = _along(f, xs, i)
    left = (at(0.0) - at(-h)) / h
    right = (at(h) - at(0.0)) / h
    return abs(left - right) > 1e-2 * max(1.0, abs(left), abs(right))


def moons(n: int, seed: int, labels: tuple[float, float] = (-1.0, 1.0),
          ) -> tuple[list[list[float]], list[float]]:
    """``n`` noisy two-moons points (alternating moons) and their labels (lower, upper)."""
    rng = random.Random(seed)
    X, Y = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2:
            X.append([math.cos(t) + rng.gauss(0, 0.1), math.sin(t) + rng.gauss(0, 0.1)])
            Y.append(labels[0])
        else:
            X.append([1 - math.cos(t) + rng.gauss(0, 0.1), 0.5 - math.sin(t) + rng.gauss(0, 0.1)])
            Y.append(labels[1])
    return X, Y


def eval_codegen(cg: Any, pt: Sequence[float]) -> tuple[float, list[float]]:
    """Evaluate a Codegen's templates at operand floats; return (out, partials)."""
    n = len(pt)
    argn = [f"x{i}" for i in range(n)]
    env = dict(cg.names)
    env.update(dict(zip(argn, pt)))
    temps: dict[str, str] = {}
    for k, t in enumerate(cg.temp_templates(n)):
        env[f"t_{k}"] = eval(t.format(*argn, **temps), env)
        temps[f"t{k}"] = f"t_{k}"
    out = eval(cg.forward_template(n).format(*argn, **temps), env)
    env["out_"] = out
    for k, t in enumerate(cg.after_templates(n)):
        env[f"u_{k}"] = eval(t.format(*argn, out="out_", **temps), env)
        temps[f"u{k}"] = f"u_{k}"
    partials = [eval(t.format(*argn, out="out_", **temps), env) for t in cg.local_templates(n)]
    return out, partials


def bits(x: float) -> str:
    """A float's IEEE-754 bytes as hex, for bit-for-bit comparisons ("nan" for any nan:
    a nan's sign and payload are not stable across paths; CPython 3.11 itself gives
    ``p + q`` of two nans of opposite signs one operand's nan in its generic float
    addition and the other's once the line is specialised)."""
    return "nan" if x != x else struct.pack("<d", x).hex()
