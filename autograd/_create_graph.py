"""``autograd.grad(..., create_graph=True)``: gradients built as differentiable Values.

Walks the reverse topological order of :func:`autograd.backward_order` and, for
each node, adds ``grad * partial`` to each operand's gradient, where the
partial comes from the op's one formula:

* a partial that reads no Value in this node (``b`` in ``x * 2.0``, the ``1``
  of an addition, relu's ``where(out > 0.0, 1.0, 0.0)``) is the float the node
  stored at forward time: no Value rule is called, no node is built for it;
* an entry that declares ``fused_backward`` (tanh, sigmoid) gets
  ``grad * partial`` as one node of its ``<op>_backward`` op, made from the
  entry (PyTorch's ``tanh_backward``);
* otherwise the op's Value rule (``Op.local_value``) builds the partial.

Loaded by :func:`autograd.grad` on its first ``create_graph=True`` call, so
``import autograd`` does not pay for it.
"""

from __future__ import annotations

import re
from typing import Any

from autograd import engine as _engine
from autograd.engine import Value, _count, _new, backward_order
from autograd.ops import OPS, Op, define_op, register_op

__all__ = ["create_graph"]

_uses_cache: dict[int, tuple[Op, Any, Any]] = {}


def _plan(op: Op) -> tuple[Op, Any, Any]:
    """How ``create_graph`` treats nodes of ``op`` (cached per op).

    Returns ``(op, uses, fused)``. ``uses``: for each operand slot, the
    operand indices its partial reads as values (``-1`` is ``out``); ``None``
    for a slot (or for the whole op, if it has no formula) means: evaluate
    the op's Value rule. Names read only in a ``where`` condition do not
    count: a condition reads data, so a partial whose value-names are all
    constants in a node is a float, the one the node stored at forward time.
    ``fused``: ``(backward op, value slots)`` when the entry declares
    ``fused_backward``, else None.
    """
    rule = op.rule
    uses: Any = None
    fused: Any = None
    if rule is not None:
        from autograd.formula_render import value_names

        index = {name: k for k, name in enumerate(rule.names)}
        index["out"] = -1
        slots = [value_names(src, rule) for src in rule.partials]
        if rule.variadic:
            uses = _AllFree() if not any(slots) else None
        else:
            uses = tuple(tuple(sorted(index[n] for n in names)) for names in slots)
        if op.fused_backward and len(rule.partials) == 1 and not rule.variadic:
            names = sorted(slots[0], key=lambda n: index[n] % len(index))  # operand, then out
            at = -1 if names == ["out"] else 0 if names == [rule.names[0]] else 2
            fused = (_fused_op(op, names), at)
    plan = (op, uses, fused)
    _uses_cache[id(op)] = plan
    return plan


def _fused_op(op: Op, names: list[str]) -> Op:
    """The one-node ``grad * partial`` op of ``op`` (``tanh_backward``), from its entry."""
    name = f"{op.name}_backward"
    have = OPS.get(name)
    if have is not None:
        return have
    rule = op.rule
    assert rule is not None
    declared = dict(op.fused_backward)
    missing = [n for n in names if n not in declared]
    if missing:
        raise ValueError(
            f"{op.name}: fused_backward must give the derivative of grad * partial for "
            f"{', '.join(missing)}, the values its partial reads"
        )

    def result(src: str) -> str:  # out is a reserved name: call it result
        return re.sub(r"\bout\b", "result", src)

    partial = result(rule.partials[0])
    operands = ("grad", *("result" if n == "out" else n for n in names))
    entry = define_op(
        name, f"{op.symbol}_backward", operands, f"grad * ({partial})",
        (partial, *(result(declared[n]) for n in names)),
        domain=((-1.0, 1.0),) * len(operands), api="function", builtin=False,
        doc=f"grad * d {op.name} / dx as one node (create_graph's fused backward).",
    )
    return register_op(entry)


class _AllFree(tuple):
    """Every slot of a variadic op is constant (``sum``, ``mean``): any index gives ()."""

    def __getitem__(self, i: Any) -> Any:
        return ()


def create_graph(output: Value, grads: dict[Value, Any]) -> None:
    """The gradients of ``output`` as Values (``grads`` starts with the seed), in place."""
    cache = _uses_cache
    for node in backward_order(output):
        g = grads[node]
        op: Any = node._entry  # interior nodes always carry their op
        plan = cache.get(id(op))
        if plan is None or plan[0] is not op:
            plan = _plan(op)
        p = node._p
        fused = plan[2]
        if fused is not None and type(g) is Value:  # grad * partial as one node
            fop, at = fused  # a one-operand op whose partial reads out, x or both
            if at == -1:
                vals: tuple[Value, ...] = (g, node)
                parts = fop.local(0.0, g._data, node._data)  # its own out is not a name
            elif at == 0:
                vals = (g, p)
                parts = fop.local(0.0, g._data, p._data)
            else:
                vals = (g, p, node)
                parts = fop.local(0.0, g._data, p._data, node._data)
            contrib: Any = _new(Value)  # the body of engine._node, inlined: grad * partial
            contrib._data = g._data * parts[0]
            contrib.grad = 0.0
            contrib._entry = fop
            contrib._p = vals
            contrib._local = parts
            contrib._ctx = None
            contrib._id = _count()
            if _engine._special:
                _engine._record_special(contrib)
            prev = grads.get(p)
            grads[p] = contrib if prev is None else prev + contrib
            continue
        uses = plan[1]
        ctx = node._ctx
        if uses is not None and type(p) is not tuple and (ctx is None or type(ctx) is float):
            # one parent, operand 0, maybe a constant operand 1 (``x * 2.0``): the
            # commonest node; its partial is the stored float if it reads no Value
            for j in uses[0]:
                if j != 1 or ctx is None:
                    break
            else:
                d0 = node._local
                if d0 == 1.0:
                    contrib = g
                elif type(g) is float and g == 1.0:
                    contrib = d0
                else:
                    contrib = g * d0
                prev = grads.get(p)
                grads[p] = contrib if prev is None else prev + contrib
                continue
        if ctx is None:
            operands: tuple[Any, ...] = p if type(p) is tuple else (p,)
        elif type(ctx) is tuple:
            operands = ctx
        else:  # ``x op c``: the commonest constant, stored bare (see Value.operands)
            operands = (p, ctx)
        local = node._local
        bare = type(local) is not tuple
        k = 0
        for i, o in enumerate(operands):
            if type(o) is not Value and not isinstance(o, Value):
                continue  # a folded constant or a parameter
            u = uses[i] if uses is not None else None
            d: Any = None
            if u is not None:
                for j in u:
                    if j < 0 or type(operands[j]) is not float:
                        break
                else:  # every value it reads is a constant here: the stored float
                    d = local if bare else local[k]
            k += 1
            if d is None:
                d = op.local_value(operands, node, i)  # the op's Value rule
            # x * 1.0 is x exactly (IEEE-754): build no node for it
            if type(d) is float and d == 1.0:
                contrib = g
            elif type(g) is float and g == 1.0:
                contrib = d
            else:
                contrib = g * d
            prev = grads.get(o)
            grads[o] = contrib if prev is None else prev + contrib
