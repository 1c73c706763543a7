"""JAX-style transforms over Python functions of floats.

``f`` is written with Value operations (methods, operators and the functions of
:mod:`autograd`) and called with plain floats; the transforms wrap every int or
float argument in a leaf Value (other arguments pass through unchanged), run
``f`` and differentiate with :func:`autograd.grad` with respect to the
arguments named by ``argnums``.

* :func:`grad` and :func:`value_and_grad`: first derivatives.
* :func:`jacobian`: d outputs / d inputs for a function returning a Value or a
  sequence of Values.
* :func:`hessian` and :func:`hvp`: second derivatives through
  ``create_graph=True``.

Every transform returns floats (lists of floats for vectors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

from autograd.engine import Value, _to_float
from autograd.functional import grad as _grad

__all__ = ["grad", "hessian", "hvp", "jacobian", "value_and_grad"]

Argnums = Union[int, Sequence[int]]


def _prepare(
    fname: str, args: tuple[Any, ...], argnums: Argnums
) -> tuple[list[Any], list[int], bool]:
    single = isinstance(argnums, int)
    nums = [argnums] if isinstance(argnums, int) else list(argnums)
    if not nums:
        raise ValueError(f"func.{fname}: argnums is empty; name at least one argument")
    for n in nums:
        if not isinstance(n, int) or not -len(args) <= n < len(args):
            raise ValueError(
                f"func.{fname}: argnums {n!r} is out of range for {len(args)} "
                "positional argument(s)"
            )
    nums = [n % len(args) for n in nums]
    vals: list[Any] = []
    for i, a in enumerate(args):
        if i in nums:
            vals.append(Value(_to_float(a, f"func.{fname}: argument {i}")))
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            vals.append(Value(float(a)))  # so that f can call Value methods on it
        else:
            vals.append(a)
    return vals, nums, single


def _scalar_output(fname: str, out: Any) -> Value:
    if isinstance(out, Value):
        return out
    raise TypeError(
        f"func.{fname}: the function must return a Value, got {type(out).__name__}; "
        "build the result from the Value arguments it receives"
    )


def value_and_grad(
    f: Callable[..., Value], argnums: Argnums = 0
) -> Callable[..., tuple[float, Any]]:
    """Return a function computing ``(f(*args), d f / d args[argnums])``.

    Args:
        f: a function of floats written with Value operations, returning a Value.
        argnums: an index or a sequence of indices of the arguments to
            differentiate with respect to.

    Returns:
        A function that takes the same arguments as ``f`` and returns the value
        as a float and the gradient as a float (or a tuple of floats when
        ``argnums`` is a sequence).

    Raises:
        TypeError: (when called) if ``f`` does not return a Value.
        ValueError: (when called) if ``argnums`` is out of range.
    """

    def wrapped(*args: Any) -> tuple[float, Any]:
        vals, nums, single = _prepare("value_and_grad", args, argnums)
        out = _scalar_output("value_and_grad", f(*vals))
        gs = _grad(out, [vals[n] for n in nums], allow_unused=True)
        floats = tuple(g.data for g in gs)
        return out.data, floats[0] if single else floats

    return wrapped


def grad(f: Callable[..., Value], argnums: Argnums = 0) -> Callable[..., Any]:
    """Return a function computing ``d f / d args[argnums]`` as float(s).

    See :func:`value_and_grad` for the arguments.

    Example:
        >>> grad(lambda x: x * x)(3.0)
        6.0
    """
    vg = value_and_grad(f, argnums)

    def wrapped(*args: Any) -> Any:
        return vg(*args)[1]

    return wrapped


def jacobian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., list[list[float]]]:
    """Return a function computing the Jacobian of ``f``.

    Args:
        f: returns a Value or a sequence of Values.
        argnums: the arguments to differentiate with respect to.

    Returns:
        A function returning ``J`` with ``J[i][j] = d out_i / d args[argnums[j]]``
        (a list of rows; one row for a scalar output).

    Raises:
        TypeError: (when called) if ``f`` returns something other than Values.
    """

    def wrapped(*args: Any) -> list[list[float]]:
        vals, nums, _ = _prepare("jacobian", args, argnums)
        out = f(*vals)
        outs = [out] if isinstance(out, Value) else list(out)
        rows = []
        for o in outs:
            o = _scalar_output("jacobian", o)
            rows.append([g.data for g in _grad(o, [vals[n] for n in nums], allow_unused=True)])
        return rows

    return wrapped


def hessian(f: Callable[..., Value], argnums: Argnums = 0) -> Callable[..., list[list[float]]]:
    """Return a function computing the Hessian of a scalar ``f``.

    Returns:
        A function returning ``H`` with ``H[i][j] = d2 f / d a_i d a_j`` over
        the arguments named by ``argnums`` (a 1x1 matrix for a single one).

    Raises:
        TypeError: (when called) if ``f`` does not return a Value.
    """

    def wrapped(*args: Any) -> list[list[float]]:
        vals, nums, _ = _prepare("hessian", args, argnums)
        xs = [vals[n] for n in nums]
        out = _scalar_output("hessian", f(*vals))
        firsts = _grad(out, xs, create_graph=True, allow_unused=True)
        return [[g.data for g in _grad(g1, xs, allow_unused=True)] for g1 in firsts]

    return wrapped


def hvp(
    f: Callable[..., Value], primals: Sequence[float], tangents: Sequence[float]
) -> tuple[float, list[float]]:
    """Hessian-vector product of a scalar ``f`` at ``primals`` along ``tangents``.

    Computed as the gradient of ``grad(f) . v`` (one extra backward pass, no
    full Hessian), as ``torch.func.hvp`` does.

    Args:
        f: a scalar function of ``len(primals)`` float arguments.
        primals: the point.
        tangents: the vector ``v``, same length as ``primals``.

    Returns:
        ``(f(primals), H v)``.

    Raises:
        ValueError: if ``primals`` and ``tangents`` differ in length.
    """
    if len(primals) != len(tangents):
        raise ValueError(
            f"func.hvp: {len(primals)} primals but {len(tangents)} tangents; "
            "pass one tangent per primal"
        )
    xs = [Value(_to_float(p, f"func.hvp: primal {i}")) for i, p in enumerate(primals)]
    vs = [_to_float(t, f"func.hvp: tangent {i}") for i, t in enumerate(tangents)]
    out = _scalar_output("hvp", f(*xs))
    firsts = _grad(out, xs, create_graph=True, allow_unused=True)
    gv: Any = 0.0
    for g, v in zip(firsts, vs):
        gv = gv + g * v
    if not isinstance(gv, Value):
        return out.data, [0.0] * len(xs)
    return out.data, [g.data for g in _grad(gv, xs, allow_unused=True)]
