"""Gradients as return values: ``grad(output, inputs, create_graph=...)``.

Unlike ``Value.backward``, :func:`grad` touches no ``.grad`` field: it walks
the same reverse topological order (:func:`autograd.backward_order`) and keeps
the running gradients in a dictionary. With ``create_graph=True`` every
gradient is built from Value operations out of each op's one formula (see
:mod:`autograd._create_graph`), so the result can be differentiated again
(Hessians, third derivatives, gradient penalties).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autograd.engine import Value, backward_order

__all__ = ["grad"]


def grad(
    output: Value,
    inputs: Value | Sequence[Value],
    *,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> list[Value]:
    """Return d output / d input for each input, leaving every ``.grad`` alone.

    Args:
        output: the Value to differentiate.
        inputs: a Value or a sequence of Values (leaves or interior nodes).
        create_graph: if True, the results are Values whose graphs depend on
            ``inputs`` and can be differentiated again; otherwise they are
            fresh leaves.
        allow_unused: if False, an input that ``output`` does not depend on is
            an error; if True its gradient is 0.

    Returns:
        A list of Values, one per input, in the order given.

    Raises:
        TypeError: if ``output`` or an input is not a Value.
        ValueError: if an input is unused and ``allow_unused`` is False.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    xs = [inputs] if isinstance(inputs, Value) else list(inputs)
    for i, x in enumerate(xs):
        if not isinstance(x, Value):
            raise TypeError(
                f"grad: inputs[{i}] must be a Value, got {type(x).__name__}; "
                "differentiate with respect to the Value you computed with"
            )
    grads: dict[Value, Any] = {output: 1.0}
    if create_graph:
        from autograd._create_graph import create_graph as build  # loaded on first use

        build(output, grads, {x for x in xs if x._p is not None})  # interior inputs
    else:
        get = grads.get
        for node in backward_order(output):
            g = grads[node]
            p = node._p  # (the parents and partials slots read as backward reads them)
            if type(p) is tuple:
                for q, d in zip(p, node._local):
                    prev = get(q)
                    grads[q] = g * d if prev is None else prev + g * d
            else:
                prev = get(p)
                grads[p] = g * node._local if prev is None else prev + g * node._local
    out: list[Value] = []
    for i, x in enumerate(xs):
        if x not in grads:
            if not allow_unused:
                name = f" ({x.label!r})" if x.label else ""
                raise ValueError(
                    f"grad: inputs[{i}]{name} is not used to compute the output; "
                    "pass allow_unused=True to get a zero gradient for it"
                )
            out.append(Value(0.0))
            continue
        g = grads[x]
        out.append(g if isinstance(g, Value) and create_graph else Value(float(g)))
    return out
