"""``autograd.grad(..., create_graph=True)``: gradients built as differentiable Values.

Walks the nodes newest first, the order of :func:`autograd.backward_order`, and,
for each node, adds ``grad * partial`` to each operand's gradient, where the
partial comes from the op's one formula:

* a partial that reads no Value in this node (``b`` in ``x * 2.0``, the ``1``
  of an addition, relu's ``where(out > 0.0, 1.0, 0.0)``) is the float the node
  stored at forward time: no Value rule is called, no node is built for it;
* an entry that declares ``fused_backward`` (tanh, sigmoid; per operand slot:
  logsumexp's group away from infinity, softmax_out's ``lse``) gets
  ``grad * partial`` as one node of its ``<op>_backward`` op, made from the
  entry (PyTorch's ``tanh_backward``);
* otherwise the op's Value rule (``Op.local_value``) builds the partial;
  operands with the same stored float partial (``mean``'s ``1 / n``) share
  one ``grad * partial`` node.

An operand that already has a gradient gets ``prev + grad * partial`` as one
node of ``addcmul`` (PyTorch's name), not a product and a sum: the same value,
and in any later pass the same terms in the same order (see :func:`_addcmul`).
Each op meets these choices once: on first use its plan becomes straight-line
code of its own (:func:`_rule`), the general path staying for what that code
does not cover (constants among the operands, ties at infinity, params).

Loaded by :func:`autograd.grad` on its first ``create_graph=True`` call, so
``import autograd`` does not pay for it.
"""

from __future__ import annotations

import re
from heapq import heappop, heappush, heapreplace
from typing import Any

from autograd import engine as _engine
from autograd.engine import Value, _ids, _new
from autograd.ops import OPS, Op, define_op, register_op

__all__ = ["create_graph"]

_ADDCMUL = OPS["addcmul"]

# per op (an Op hashes by identity: a name registered anew is another Op, with its own plan)
_uses_cache: dict[Op, tuple[Any, ...]] = {}


def _plan(op: Op) -> tuple[Any, ...]:
    """How ``create_graph`` treats nodes of ``op`` (cached per op).

    Returns ``(uses, fused, slots, direct, single, rules)``. ``uses``: for each operand slot, the
    operand indices its partial reads as values (``-1`` is ``out``); ``None``
    for a slot (or for the whole op, if it has no formula) means: evaluate
    the op's Value rule. Names read only in a ``where`` condition do not
    count: a condition reads data, so a partial whose value-names are all
    constants in a node is a float, the one the node stored at forward time.
    ``fused``: ``(backward op, value slots, its local)`` for a one-operand entry that
    declares ``fused_backward``, else None. ``slots``: for an entry of more
    operands that declares it, ``(fused slots, guard)`` (see :func:`_slot_ops`),
    else None. ``direct``: for each slot whose partial is one of the values
    (``b`` of ``a * b``, ``out`` of ``exp``, ``ys[i]`` of ``dot``), where that
    value is: the operand index (``-1``: ``out``; for a group, the group's
    index), None for the others; the Value rule would return it as it is.
    ``single``: for a node with one parent, whether its partial is the float it
    stored: 2 always, 1 where its constant operand is a float, 0 never. ``rules``: the
    op's generated code, made from the other five (see :func:`_rule`).
    """
    rule = op.rule
    uses: Any = None
    fused: Any = None
    slots: Any = None
    direct: Any = None
    if rule is not None:
        from autograd.formula_render import value_names

        index = {name: k for k, name in enumerate(rule.names)}
        index["out"] = -1
        names_of = [value_names(src, rule) for src in rule.partials]
        if rule.variadic:
            uses = _AllFree() if not any(names_of) else None
        else:
            uses = tuple(tuple(sorted(index[n] for n in names)) for names in names_of)
        if op.fused_backward and len(rule.partials) == 1 and not rule.variadic:
            names = sorted(names_of[0], key=lambda n: index[n] % len(index))  # operand, out
            at = -1 if names == ["out"] else 0 if names == [rule.names[0]] else 2
            fop = _fused_op(op, rule.partials[0], names, dict(op.fused_backward[0][1]))
            fused = (fop, at, fop.local)
        elif op.fused_backward:
            slots = _slot_ops(op)
        direct = _direct(rule)
    single = 0  # a one-parent node's partial is the stored float: 2 always, 1 if ctx is a float
    if uses is not None:
        try:
            u0 = uses[0]
        except IndexError:
            u0 = None
        if u0 is not None:
            single = 2 if not u0 else 1 if all(j == 1 for j in u0) else 0
    base = (uses, fused, slots, direct, single)
    plan = (*base, _rule(op, base))
    _uses_cache[op] = plan
    return plan


def _direct(rule: Any) -> tuple[int | None, ...] | None:
    """For each partial that is a bare value, where it is (see :func:`_plan`)."""
    import ast

    from autograd.formula_render import parse

    if rule.variadic and rule.singles:
        return None
    where: list[int | None] = []
    for src in rule.partials:
        tree = parse(src, rule, partial=True)
        if not rule.variadic and isinstance(tree, ast.Name):
            where.append(-1 if tree.id == "out" else rule.names.index(tree.id)
                         if tree.id in rule.names else None)
        elif (rule.variadic and isinstance(tree, ast.Subscript)
              and isinstance(tree.value, ast.Name) and tree.value.id in rule.groups
              and isinstance(tree.slice, ast.Name) and tree.slice.id == "i"):
            where.append(rule.groups.index(tree.value.id))
        else:
            where.append(None)
    return tuple(where) if any(w is not None for w in where) else None


def _slot_ops(op: Op) -> tuple[dict[int, tuple[Op, tuple[int, ...]]], Any]:
    """The fused ops of an entry of several operands, and when they apply.

    Returns ``(fused, guard)``: ``fused`` maps a partial's index to ``(backward op,
    reads)``, ``reads`` the values it takes after ``grad`` (an operand index, ``-1``
    for ``out``, ``-2`` for the group element the partial is for); ``guard`` is None,
    or a float function of ``out``, true where the fused ops do not apply: a group's
    partial ``where(c, a, b)`` whose ``a`` reads the whole group (logsumexp's ties at
    infinity) is fused as ``b``, where ``c`` is false.

    Raises:
        ValueError: if a declared slot is not an operand of the op, or the op has
            more than one group.
    """
    import ast

    from autograd.formula_render import float_expression, float_globals, parse, value_names

    rule = op.rule
    if rule is None:
        raise ValueError(f"{op.name}: fused_backward needs the op's formula")
    if len(rule.groups) > 1 or (rule.singles and rule.groups):
        raise ValueError(f"{op.name}: fused_backward supports one group or fixed operands")
    fused: dict[int, tuple[Op, tuple[int, ...]]] = {}
    guard: Any = None
    for slot, declared in op.fused_backward:
        if slot not in rule.names:
            raise ValueError(f"{op.name}: fused_backward names {slot!r}, not an operand; "
                             f"the operands are {', '.join(rule.names)}")
        j = rule.names.index(slot)
        src = rule.partials[j]
        tree = parse(src, rule, partial=True)
        if rule.variadic and isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) \
                and tree.func.id == "where" and _whole(tree.args[1], slot):
            cond, _, other = tree.args  # where(c, <the whole group's>, other): fuse other
            text = float_expression(f"where({ast.unparse(cond)}, 1.0, 0.0)", rule, {})
            # compiled first, never eval of a string (see compile_emit._filler)
            guard = eval(compile(f"lambda out: {text} == 1.0", "<guard>", "eval"),
                         float_globals(rule))
            tree = other
        if rule.variadic:
            if _whole(tree, slot):
                raise ValueError(f"{op.name}: fused_backward for {slot!r}: its partial "
                                 "reads the whole group, not one element")
            src = re.sub(rf"\b{slot}\[i\]", slot, ast.unparse(tree))
            own = _element_rule(rule)
        else:
            src, own = ast.unparse(tree), rule
        names = sorted(value_names(src, own), key=lambda n: (n == "out", own.names.index(n)
                                                              if n != "out" else 0))
        reads = tuple(-1 if n == "out" else -2 if rule.variadic else rule.names.index(n)
                      for n in names)
        fop = _fused_op(op, src, names, dict(declared), f"{op.name}_backward"
                        if len(op.fused_backward) == 1 else f"{op.name}_backward_{slot}")
        fused[j] = (fop, reads)
    return fused, guard


def _whole(tree: Any, group: str) -> bool:
    """Whether ``tree`` reads ``group`` other than as ``group[i]``."""
    import ast

    inner = {id(nd.value) for nd in ast.walk(tree) if isinstance(nd, ast.Subscript)}
    return any(isinstance(nd, ast.Name) and nd.id == group and id(nd) not in inner
               for nd in ast.walk(tree))


def _element_rule(rule: Any) -> Any:
    """``rule`` with its group as one operand (a partial's element ``xs[i]`` as ``xs``)."""
    from autograd.formula import Formula

    return Formula(tuple(rule.names), "0.0", tuple("0.0" for _ in rule.names))


def _fused_op(op: Op, partial: str, names: list[str], declared: dict[str, str],
              name: str = "") -> Op:
    """The one-node ``grad * partial`` op of ``op`` (``tanh_backward``), from its entry.

    ``partial`` reads the values ``names`` (operands, ``out``); ``declared`` gives the
    derivative of ``grad * partial`` with respect to each of them.
    """
    name = name or f"{op.name}_backward"
    have = OPS.get(name)
    if have is not None:
        return have
    missing = [n for n in names if n not in declared]
    if missing:
        raise ValueError(
            f"{op.name}: fused_backward must give the derivative of grad * partial for "
            f"{', '.join(missing)}, the values its partial reads"
        )

    def result(src: str) -> str:  # out is a reserved name: call it result
        return re.sub(r"\bout\b", "result", src)

    def own(src: str) -> str:  # ``this``, grad * partial, is the fused op's own out
        return re.sub(r"\bthis\b", "out", result(src))

    operands = ("grad", *("result" if n == "out" else n for n in names))
    entry = define_op(
        name, f"{op.symbol}_backward", operands, f"grad * ({result(partial)})",
        (result(partial), *(own(declared[n]) for n in names)),
        domain=((-1.0, 1.0),) * len(operands), api="function", builtin=False,
        doc=f"grad * d {op.name} / dx as one node (create_graph's fused backward).",
    )
    return register_op(entry)


# ---------------------------------------------------------------------------
# Each op's own create_graph code, generated from its plan: the choices that
# _operands_grads makes slot by slot, made once, when the op is first met.


def _rule(op: Op, plan: tuple[Any, ...]) -> Any:
    """The op's generated create_graph code, from the first five entries of its plan,
    for a node whose operands are all Values,
    ``(for a Value grad, for a float grad)``, each None where :func:`_operands_grads`
    stays the path (both: None).

    It makes the choices :func:`_operands_grads` would, slot by slot, in the same
    order, and builds the nodes it would (bodies of engine._node inlined): every
    node, and so every bit, is the same; only the interpreting of the plan is gone.
    """
    rule = op.rule
    if rule is None or plan[1] is not None or rule.params:
        return None
    bodies = [_variadic_body(op, plan, vg) if rule.variadic else _fixed_body(op, plan, vg)
              for vg in (True, False)]
    if bodies == [None, None]:
        return None
    from autograd.formula_render import float_globals

    slots = plan[2]
    env: dict[str, Any] = {
        "V": Value, "new": _new, "ids": _ids, "record": _engine._record_special,
        "push": heappush, "ADD": _engine._FAST_ADD, "MUL": _engine._FAST_MUL,
        "ADDCMUL": _ADDCMUL, "acc": _acc, "lv": op.local_value, "ops": _operands_grads,
        "op": op, "plan": plan, "guard": slots[1] if slots else None}
    for fop, _ in (slots[0] if slots else {}).values():  # the fused ops and their helpers
        env["F" + fop.name] = fop
        env.update(float_globals(fop.rule))
    made = []
    for body, kind in zip(bodies, ("Value", "float")):
        src = ("def rule(node, g, get, grads, heap, special, wait):\n    nxt = None\n"
               + (body or "") + "    return nxt\n")
        # (a code object, never a string: see compile_emit._filler)
        exec(compile(src, f"<create_graph {op.name}, {kind} grad>", "exec"), env)
        made.append(env["rule"] if body else None)
    return tuple(made)


def _node_src(v: str, op: str, data: str, p: str, local: str, ind: str,
              ctx: str = "None") -> str:
    """Source that builds node ``v`` of ``op`` (the body of engine._node)."""
    return "".join(f"{ind}{line}\n" for line in (
        f"{v} = new(V)", f"{v}._data = {data}", f"{v}.grad = 0.0", f"{v}._entry = {op}",
        f"{v}._p = {p}", f"{v}._local = {local}", f"{v}._ctx = {ctx}", f"{v}._id = next(ids)",
        "if special:", f"    record({v})"))


def _store_src(o: str, c: str, ind: str, value_prev: bool = True) -> str:
    """Source that adds ``c`` to ``prev``, the gradient of ``o`` so far; ``value_prev``:
    ``c`` is a Value and ``prev`` may be one (their sum is built inline), else ``+``."""
    add = (f"{ind}elif type(prev) is V:  # prev + {c}: the node engine._fast_add makes\n"
           + _node_src("s", "ADD", f"prev._data + {c}._data", f"(prev, {c})", "(1.0, 1.0)",
                       ind + "    ") + f"{ind}    grads[{o}] = s\n") if value_prev else ""
    return (f"{ind}if prev is None:\n{ind}    grads[{o}] = {c}\n"
            f"{ind}    if {o}._p is not None:  # it waits; the newest is handed back, unpushed\n"
            f"{ind}        if nxt is None:\n{ind}            nxt = {o}\n"
            f"{ind}        elif {o}._id < nxt._id:\n{ind}            push(heap, nxt._id)\n"
            f"{ind}            wait[nxt._id] = nxt\n{ind}            nxt = {o}\n"
            f"{ind}        else:\n{ind}            push(heap, {o}._id)\n"
            f"{ind}            wait[{o}._id] = {o}\n"
            + add + f"{ind}else:\n{ind}    grads[{o}] = prev + {c}\n")


def _direct_src(o: str, d: str, ind: str, vg: bool = True) -> str:
    """Source that adds ``g * d`` to the gradient of ``o``, ``d`` a value of the node,
    ``g`` a Value (``vg``) or a float."""
    if not vg:  # g * d as the operator makes it, d itself for g == 1.0
        return (f"{ind}prev = get({o})\n{ind}c = {d} if g == 1.0 else g * {d}\n"
                + _store_src(o, "c", ind, value_prev=False))
    return (f"{ind}prev = get({o})\n{ind}if type({d}) is not V:  # (a subclass's own ops)\n"
            f"{ind}    acc({o}, g, {d}, grads, heap, wait, True)\n"
            f"{ind}elif type(prev) is V:  # prev + g * d as one node (see _addcmul)\n"
            + _node_src("s", "ADDCMUL", f"prev._data + g._data * {d}._data", f"(prev, g, {d})",
                        f"(1.0, {d}._data, g._data)", ind + "    ")
            + f"{ind}    grads[{o}] = s\n{ind}else:  # g * d: the node engine._fast_mul makes\n"
            + _node_src("c", "MUL", f"g._data * {d}._data", f"(g, {d})",
                        f"({d}._data, g._data)", ind + "    ")
            + _store_src(o, "c", ind + "    ", value_prev=False))


def _fused_src(o: str, fop: Op, vals: list[str], d: str, ind: str) -> str:
    """Source that adds ``g * d`` to the gradient of ``o`` as one node of the fused op
    ``fop`` reading ``vals`` (see :func:`_fused`), its partials inlined from its formula."""
    from autograd.formula_render import float_expression

    rule: Any = fop.rule
    names = {n: f"{v}._data" for n, v in zip(rule.names, vals)}
    names["out"] = "data"
    parts = ", ".join(float_expression(src, rule, names) for src in rule.partials)
    return (f"{ind}data = g._data * {d}\n"
            + _node_src("c", "F" + fop.name, "data", f"({', '.join(vals)},)", f"({parts},)",
                        ind)
            + f"{ind}prev = get({o})\n" + _store_src(o, "c", ind))


def _slot_kind(rule: Any, i: int, uses: Any, direct: Any) -> str:
    """``one`` (the partial is the literal 1.0), ``float`` (a stored float), ``direct``
    (one of the values) or ``rule`` (the op's Value rule) for slot ``i``."""
    import ast

    if not uses[i]:
        try:
            return "one" if ast.literal_eval(rule.partials[i]) == 1.0 else "float"
        except ValueError:
            return "float"
    return "direct" if direct is not None and direct[i] is not None else "rule"


def _fixed_body(op: Op, plan: tuple[Any, ...], vg: bool) -> str | None:
    """The generated code of an op of fixed arity for a Value grad (``vg``) or a
    float one (None: keep the general path)."""
    uses, _, slots, direct, single = plan
    rule: Any = op.rule  # (not None: _rule checked)
    n = len(rule.names)
    if n == 1 and single == 2:  # (the main loop's one-parent path)
        return None
    if slots is not None and (slots[1] is not None or any(
            f[1] not in (_OUT, _ELEMENT_OUT) for f in slots[0].values())):
        return None
    names = [f"o{i}" for i in range(n)]
    src = [f"    {names[0] if n == 1 else ', '.join(names)} = node._p\n    local = node._local\n"]
    floats = 0
    for i, o in enumerate(names):
        loc = "local" if n == 1 else f"local[{i}]"
        kind = "fused" if slots is not None and i in slots[0] else _slot_kind(rule, i, uses, direct)
        if kind == "fused" and not vg:  # (a float grad: no fused node, the Value rule)
            return None
        if kind == "fused":
            element = slots[0][i][1] == _ELEMENT_OUT
            src.append(_fused_src(o, slots[0][i][0], ["g", o, "node"] if element else
                                  ["g", "node"], loc, "    "))
        elif kind == "one":
            src.append(f"    prev = get({o})\n" + _store_src(o, "g", "    ", vg))
        elif kind == "direct":
            src.append(_direct_src(o, "node" if direct[i] == -1 else names[direct[i]], "    ", vg))
        else:  # a float, stored or from the Value rule: _operands_grads's own steps
            floats += 1
            d = loc if kind == "float" else f"lv(({', '.join(names)},), node, {i})"
            src.append(f"    acc({o}, g, {d}, grads, heap, wait, {i == n - 1})\n")
    return None if floats > 1 else "".join(src)  # (two floats may share one product)


def _variadic_body(op: Op, plan: tuple[Any, ...], vg: bool) -> str | None:
    """The generated code of a variadic op whose partials are all 1.0 (``sum``), the
    other group's elements (``dot``), a stored float (``mean``) or fused per element
    (``logsumexp``), for a Value grad (``vg``) or a float one, else None."""
    uses, _, slots, direct, _ = plan
    rule: Any = op.rule  # (not None: _rule checked)
    head = "    p = node._p\n    if type(p) is not tuple:\n        p = (p,)\n"
    if slots is not None:
        if not vg or set(slots[0]) != {0} or slots[0][0][1] != _ELEMENT_OUT:
            return None
        return (head + "    if guard is not None and guard(node._data):\n"
                "        return ops(node, g, op, plan, None, plan[0], grads, heap, wait)\n"
                "    local = node._local\n    bare = type(local) is not tuple\n"
                "    for i, o in enumerate(p):\n"
                + _fused_src("o", slots[0][0][0], ["g", "o", "node"],
                             "(local if bare else local[i])", "        "))
    if rule.singles or len(rule.groups) != len(rule.partials):
        return None
    if type(uses) is _AllFree and all(_slot_kind(rule, i, uses, None) == "one"
                                      for i in range(len(rule.partials))):
        return head + "    for o in p:\n        prev = get(o)\n" + _store_src("o", "g", "        ",
                                                                          vg)
    if type(uses) is _AllFree and len(rule.groups) == 1 and vg:  # stored floats (mean's 1 / n)
        ind = "            "
        return (head + "    local = node._local\n    bare = type(local) is not tuple\n"
                "    n = len(p) - 1\n    last = None\n    for i, o in enumerate(p):\n"
                "        d = local if bare else local[i]\n        prev = get(o)\n"
                "        if d == 1.0:\n            c = g\n"
                "        elif d is last:  # one g * d node for equal partials\n"
                "            c = shared\n"
                "        elif type(prev) is V and i == n:  # the last: nothing shares it\n"
                + _node_src("s", "ADDCMUL", "prev._data + g._data * d", "(prev, g)", "(1.0, d)",
                            ind, "(prev, g, d)")
                + f"{ind}grads[o] = s\n{ind}continue\n        else:\n"
                + _node_src("c", "MUL", "g._data * d", "g", "d", ind, "d")
                + f"{ind}last = d\n{ind}shared = c\n"
                + _store_src("o", "c", "        "))
    if direct == (1, 0):  # xs[i]'s partial is ys[i], ys[i]'s is xs[i]
        return (head + "    k = len(p) // 2\n    for i, o in enumerate(p):\n"
                "        d = p[i + k] if i < k else p[i - k]\n"
                + _direct_src("o", "d", "        ", vg))
    return None


_ELEMENT_OUT = (-2, -1)  # what a fused op reads after grad: the group element, out
_OUT = (-1,)


class _AllFree(tuple):
    """Every slot of a variadic op is constant (``sum``, ``mean``): any index gives ()."""

    def __getitem__(self, i: Any) -> Any:
        return ()


def create_graph(output: Value, grads: dict[Value, Any], keep: Any = ()) -> None:
    """The gradients of ``output`` as Values (``grads`` starts with the seed), in place.

    Afterwards ``grads`` holds the gradient of every leaf reached and of each interior
    node in ``keep``; another interior node's entry may be missing or partial.
    """
    plans = _uses_cache
    get = grads.get
    new, ids, V, mulop = _new, _ids, Value, _engine._FAST_MUL  # (read once, not per node)
    special = _engine._special  # (anomaly mode cannot change during the loop)
    # Why a heap and no sweep: the next node is the newest one with a gradient waiting
    # (its consumers are newer, so all walked: its gradient is complete), and in a
    # chain that is the parent the last node passed its gradient to. That gradient
    # goes on to it directly, unstored (unless kept), without a dictionary or heap
    # operation: a chain needs no sweep of the graph beforehand, and no sort (W-chain
    # -22%). Another node waits: its creation key in the heap, the node in ``wait``
    # under it (a heap of (key, node) pairs compares tuples: W-tape's create_graph
    # took 7% more instructions); the order, and so every node built and every bit, is
    # backward_order's. A generated rule hands back the newest of the operands it
    # gave a first gradient, unpushed: often the next node, then no heap operation.
    if output._p is None:
        return
    heap: list[int] = []  # the creation keys of the nodes waiting (unique: no ties)
    wait: dict[int, Value] = {}  # key -> node
    node = output
    g = grads[output]
    while True:
        op: Any = node._entry  # interior nodes always carry their op
        try:
            plan = plans[op]
        except KeyError:
            plan = _plan(op)
        p = node._p
        rules = plan[5]  # the op's own straight-line code, for Value operands
        if rules is not None and node._ctx is None:
            rule = rules[0] if type(g) is V else rules[1] if type(g) is float else None
            if rule is not None:
                nxt = rule(node, g, get, grads, heap, special, wait)  # an operand that waits
                if nxt is not None:  # (the newest of the rule's: often the newest of all)
                    if heap and heap[0] < nxt._id:
                        k = heapreplace(heap, nxt._id)
                        wait[nxt._id] = nxt
                        node = wait.pop(k)
                    else:
                        node = nxt
                elif heap:
                    node = wait.pop(heappop(heap))
                else:
                    return
                g = grads[node]
                continue
        fused = plan[1]
        if fused is not None and type(g) is V:  # grad * partial as one node
            fop, at, local = fused  # a one-operand op whose partial reads out, x or both
            if at == -1:
                vals: Any = (g, node)
                parts = local(0.0, g._data, node._data)  # its own out is not a name
            elif at == 0:
                vals = (g, p)
                parts = local(0.0, g._data, p._data)
            else:
                vals = (g, p, node)
                parts = local(0.0, g._data, p._data, node._data)
            contrib: Any = new(V)  # the body of engine._node, inlined: grad * partial
            contrib._data = g._data * parts[0]
            contrib.grad = 0.0
            contrib._entry = fop
            contrib._p = vals
            contrib._local = parts
            contrib._ctx = None
            contrib._id = next(ids)
            if special:
                _engine._record_special(contrib)
            prev = get(p)
        else:
            ctx = node._ctx
            single = plan[4]
            if not (single and type(p) is not tuple and (type(ctx) is float
                                                         or (ctx is None and single == 2))):
                _operands_grads(node, g, op, plan, ctx, plan[0], grads, heap, wait)
                if not heap:
                    return
                node = wait.pop(heappop(heap))
                g = grads[node]
                continue
            # one parent, operand 0, maybe a constant operand 1 (``x * 2.0``): the
            # commonest node; its partial is the stored float if it reads no Value
            d0 = node._local
            prev = get(p)
            if d0 == 1.0:
                contrib = g
            elif type(g) is V and type(d0) is float:
                if type(prev) is V:  # prev + g * d0 as one addcmul node
                    grads[p] = _addcmul(prev, g, d0)
                    if not heap:
                        return
                    node = wait.pop(heappop(heap))
                    g = grads[node]
                    continue
                # g * d0: the node engine._fast_mul makes
                contrib = new(V)
                contrib._data = g._data * d0
                contrib.grad = 0.0
                contrib._entry = mulop
                contrib._p = g
                contrib._local = d0
                contrib._ctx = d0
                contrib._id = next(ids)
                if special:
                    _engine._record_special(contrib)
            elif g == 1.0:
                contrib = d0
            else:
                contrib = g * d0
        if prev is not None:  # p has a gradient: it waits in the heap (or is a leaf)
            grads[p] = prev + contrib
        elif p._p is None:
            grads[p] = contrib
        elif not heap or p._id < heap[0]:  # p is the newest waiting: walk it now
            node = p
            g = contrib
            if keep and p in keep:
                grads[p] = contrib
            continue
        else:
            grads[p] = contrib
            heappush(heap, p._id)
            wait[p._id] = p
        if not heap:
            return
        node = wait.pop(heappop(heap))
        g = grads[node]


def _operands_grads(node: Value, g: Any, op: Any, plan: Any, ctx: Any, uses: Any,
                    grads: dict[Value, Any], heap: list[int], wait: dict[int, Value]) -> None:
    """Add ``g * partial`` to ``grads`` for each Value operand of ``node``: the general
    path of :func:`create_graph` (several operands, constants among them, fused slots)."""
    p = node._p
    if ctx is None:
        operands: tuple[Any, ...] = p if type(p) is tuple else (p,)
    elif type(ctx) is tuple:
        operands = ctx
    else:  # ``x op c``: the commonest constant, stored bare (see Value.operands)
        operands = (p, ctx)
    local = node._local
    bare = type(local) is not tuple
    k = 0
    slots = plan[2]  # the slots of several operands fused, where the guard allows
    if slots is not None and (type(g) is not Value or (slots[1] is not None
                              and slots[1](node._data))):
        slots = None
    direct = plan[3]
    last: Any = None  # (partial, contrib): equal float partials share one g * d node
    for i, o in enumerate(operands):
        if type(o) is not Value and not isinstance(o, Value):
            continue  # a folded constant or a parameter
        contrib: Any = None
        if slots is not None:
            f = slots[0].get(0 if op.arity < 0 else i)
            if f is not None:
                contrib = _fused(f, g, o, node, operands, local if bare else local[k])
        if contrib is None:
            u = uses[i] if uses is not None else None
            d = None
            if u is not None:
                for j in u:
                    if j < 0 or type(operands[j]) is not float:
                        break
                else:  # every value it reads is a constant here: the stored float
                    d = local if bare else local[k]
            if d is None:
                j = None
                if direct is not None:  # the partial is one of the values: that Value
                    if op.arity >= 0:
                        j = direct[i]
                    else:
                        n = len(operands) // len(direct)
                        j = direct[i // n]
                        if j is not None:
                            j = j * n + i % n
                d = op.local_value(operands, node, i) if j is None else (  # the Value rule
                    node if j == -1 else operands[j])
            if last is not None and d is last[0]:  # mean's 1 / n for every operand
                contrib = last[1]
            else:  # (a float d is fused only in the last slot: a later one may share g * d)
                made = _acc(o, g, d, grads, heap, wait, bare or k == len(local) - 1)
                if made is not None and type(d) is float:
                    last = (d, made)
                k += 1
                continue
        k += 1
        _store(o, contrib, grads.get(o), grads, heap, wait)


def _store(o: Value, contrib: Any, prev: Any, grads: dict[Value, Any],
           heap: list[int], wait: dict[int, Value]) -> None:
    """``contrib`` is the gradient of ``o``, or added to ``prev``, its gradient so far; a
    node's first gradient makes it wait (a leaf's does not: it is never walked)."""
    if prev is None:
        grads[o] = contrib
        if o._p is not None:
            heappush(heap, o._id)
            wait[o._id] = o
    else:
        grads[o] = prev + contrib


def _acc(o: Value, g: Any, d: Any, grads: dict[Value, Any], heap: list[int], wait: dict[int, Value],
         fuse_float: bool) -> Any:
    """Add ``g * d`` to the gradient of ``o`` (``prev + g * d`` as one addcmul node where
    it has one); ``fuse_float``: a float ``d`` may be fused (no later slot shares g * d).

    Returns the product ``g * d`` if it was made as a node of its own, else None.
    """
    prev = grads.get(o)
    if type(d) is float and d == 1.0:  # x * 1.0 is x exactly (IEEE-754): no node
        contrib, made = g, None
    elif type(g) is float and g == 1.0:
        contrib, made = d, None
    elif type(prev) is Value and type(g) is Value and (type(d) is Value or (
            type(d) is float and fuse_float)):
        grads[o] = _addcmul(prev, g, d)
        return None
    else:
        contrib = made = g * d
    _store(o, contrib, prev, grads, heap, wait)
    return made


def _addcmul(prev: Value, g: Value, d: Any) -> Value:
    """``prev + g * d`` as one node of ``addcmul`` (the body of engine._node, inlined).

    Why one node, not a product and a sum: it halves the nodes an accumulated
    gradient costs, and keeps every bit of every order. Its value is the two ops'
    (``+`` and ``*`` round as they did); in any later backward it is walked where
    the sum was, and the product, one creation number older with nothing made
    between, was walked next: its operands get the same terms in the same order.
    """
    node: Any = _new(Value)
    if type(d) is Value:
        y = d._data
        node._p = (prev, g, d)
        node._local = (1.0, y, g._data)
        node._ctx = None
    else:  # a float partial: a constant operand, stored in the operands
        y = d
        node._p = (prev, g)
        node._local = (1.0, d)
        node._ctx = (prev, g, d)
    node._data = prev._data + g._data * y
    node.grad = 0.0
    node._entry = _ADDCMUL
    node._id = next(_ids)
    if _engine._special:
        _engine._record_special(node)
    return node


def _fused(f: tuple[Op, tuple[int, ...]], g: Value, o: Value, node: Value,
           operands: tuple[Any, ...], d: float) -> Value | None:
    """``g * d`` for operand ``o`` of ``node`` as one node of the fused op of ``f``
    (see :func:`_slot_ops`); None if a value it reads is a constant here."""
    fop, reads = f
    if reads == _ELEMENT_OUT:  # (x_i, out): logsumexp's
        vals: Any = (g, o, node)
        floats: Any = (g._data, o._data, node._data)
    elif reads == _OUT:
        vals = (g, node)
        floats = (g._data, node._data)
    else:
        vals = (g, *[node if r == -1 else o if r == -2 else operands[r] for r in reads])
        if not all(type(v) is Value for v in vals):
            return None
        floats = [v._data for v in vals]
    data = g._data * d  # the plain gradient's bits
    return _fused_node(fop, vals, data, fop.local(data, *floats))


def _fused_node(fop: Op, vals: tuple[Value, ...], data: float, parts: tuple[float, ...]
                ) -> Value:
    """A node of the fused backward op ``fop`` (the body of engine._node, inlined)."""
    contrib: Any = _new(Value)
    contrib._data = data
    contrib.grad = 0.0
    contrib._entry = fop
    contrib._p = vals
    contrib._local = parts
    contrib._ctx = None
    contrib._id = next(_ids)
    if _engine._special:
        _engine._record_special(contrib)
    return contrib
