"""The batched path's analysis passes: chains, affine groups, the parameter layout, error plan.

These passes read a trace (its nodes in creation order, which are *batched*:
reached from the sample's inputs) and decide, before any code is emitted,
what :mod:`autograd.batched_emit` renders how:

* :func:`find_chains` finds the scalar chains that are a neuron's
  pre-activation as micrograd writes it (``b + w0*x0 + w1*x1 + ...``);
* :func:`find_groups` groups affine nodes (those chains, ``nn``'s fused
  neurons, ``dot``) that read the same batched inputs with parameter weights,
  layer by layer: each group becomes one ``X @ W (+ b)``;
* :func:`layout` orders the parameter vector so that each group's ``W`` and
  ``b`` are views of it;
* :func:`error_plan` finds the values that may differ from the dynamic
  engine's by rounding and the comparisons (kinks, ties, guards) to watch.

The rule for each op kind: ``dot`` and ``neuron_<act>`` are affine (one
product in a group, :func:`affine`), every other op is elementwise over the
batch by default (rendered from its formula by :mod:`autograd.formula_numpy`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from autograd.engine import Value
from autograd.formula_numpy import render
from autograd.formula_render import temp_function
from autograd.ops import OPS

__all__ = ["Group", "error_plan", "find_chains", "find_groups", "layout", "op_of", "whole"]


def affine(node: Value) -> tuple[list[Any], list[Any], Any, Any, tuple[float, ...]] | None:
    """``(xs, ws, b, activation op, activation params)`` of an affine node, else None."""
    op: Any = node._entry
    name = op.name
    ops_ = node.operands
    if name == "dot":
        n = len(ops_) // 2
        return (list(ops_[:n]), list(ops_[n:]), None, None, ()) if n else None
    if not name.startswith("neuron_") or op.arity != -1:
        return None
    act_name = name[len("neuron_"):]
    act = None
    if act_name != "linear":
        act = OPS.get(act_name)
        if act is None or act.arity not in (1 + act.params,):
            return None
    np_ = act.params if act is not None else 0
    if op.params != np_:
        return None
    core = len(ops_) - np_
    if core < 3 or (core - 1) % 2:
        return None
    n = (core - 1) // 2
    params = tuple(ops_[core:])
    if any(isinstance(p, Value) for p in params):
        return None
    return list(ops_[:n]), list(ops_[n:2 * n]), ops_[2 * n], act, tuple(map(float, params))


def op_of(node: Value) -> Any:
    """The table entry of an interior node."""
    return node._entry


def _exact_chain(xs: list[float], ws: list[float], b: float | None) -> float:
    """A chain's pre-activation as its scalar nodes compute it: left to right."""
    z = b
    for w, x in zip(ws, xs):
        p = w * x
        z = p if z is None else z + p
    return 0.0 if z is None else z


def _exact_affine(op: Any, act: Any) -> Callable[..., float] | bool | None:
    """How ``op`` itself computes one pre-activation ``x . w (+ b)``.

    Returns a function ``exact(xs, ws, b)``; False when the op's sum cannot
    be found (the node is then not grouped).
    """
    if op.name == "dot":
        fwd = op.forward
        return lambda xs, ws, b: fwd(*xs, *ws)  # symmetric: x . w = w . x exactly
    rule = op.rule
    if rule is None or not rule.temps:
        return False
    # the neuron's temporary z = w . x + b, as its formula's float rules compute it
    z_of = temp_function(rule, rule.temps[0][0])
    tail = (0.0,) * op.params

    def exact(xs: list[float], ws: list[float], b: float | None) -> float:
        return z_of(*xs, *ws, -0.0 if b is None else b, *tail)  # x + -0.0 is x

    return exact


class Group:
    """Affine nodes reading the same batched inputs: one ``X @ W (+ b)``."""

    def __init__(self, gid: int, op: Any, xs: list[Any], act: Any,
                 params: tuple[float, ...], bias: bool) -> None:
        self.gid = gid
        self.op = op
        self.xs = xs
        self.act = act
        self.params = params
        self.bias = bias
        self.members: list[Value] = []
        self.ws: list[list[Value]] = []
        self.bs: list[Value] = []
        self.dup = False  # a parameter appears twice among the weights
        self.bdup = False  # ... among the biases
        self.slope: str | None = None  # the name of act'(Z), None for the identity
        self.start: int | None = None  # where its weights start in the parameter vector
        # exact(xs, ws, b): one pre-activation as the op computes it, to recompute
        # entries a kink could tell apart (None: no kink to protect)
        self.exact: Callable[..., float] | None = None


def find_groups(order: list[Value], batched: dict[Value, bool], absorbed: set[Value],
                 chains: dict[Value, tuple[list[Any], list[Any], Any]], pidx: dict[Value, int],
                 ) -> tuple[dict[tuple[Any, ...], Group], dict[Value, tuple[Group, int]]]:
    """Group the affine nodes (chains, fused neurons, ``dot``) that read the same batched
    inputs with parameter weights: each group becomes one ``X @ W (+ b)``.

    Returns the groups (by their key: kind, width, activation parameters,
    inputs) and, for each member node, its group and column.
    """
    groups: dict[tuple[Any, ...], Group] = {}
    member: dict[Value, tuple[Group, int]] = {}
    for node in order:
        if not batched[node] or node in absorbed:
            continue
        chain = chains.get(node)
        aff = (*chain, None, ()) if chain is not None else affine(node)
        if aff is None:
            continue
        xs, ws, b, act, params = aff
        if chain is None and not any(isinstance(x, Value) and batched[x] for x in xs):
            xs, ws = ws, xs
        if chain is None and op_of(node).name != "dot" and xs is not aff[0]:
            continue  # a neuron whose weights are batched: elementwise
        if not all(isinstance(w, Value) and w in pidx for w in ws):
            continue
        if b is not None and not (isinstance(b, Value) and b in pidx):
            continue
        key = ("chain" if chain is not None else id(node._entry), len(xs), params,
               tuple(id(x) if isinstance(x, Value) else ("c", x) for x in xs))
        grp = groups.get(key)
        exact = _exact_chain if chain is not None else _exact_affine(op_of(node), act)
        if exact is False:
            continue
        if grp is None:
            grp = groups[key] = Group(len(groups), node._entry, xs, act, params,
                                       b is not None)
            grp.exact = exact if callable(exact) else None
        member[node] = (grp, len(grp.members))
        grp.members.append(node)
        grp.ws.append(ws)
        if b is not None:
            grp.bs.append(b)
    return groups, member


def layout(groups: dict[Any, Group], captured: list[Value]) -> list[Value]:
    """The parameter vector's order: each group's weights (member by member) and biases
    contiguous (so that ``W`` and ``b`` are views and their gradients slice updates),
    then the other captured Values. Sets each laid-out group's ``start``."""
    placed: dict[Value, int] = {}
    layout: list[Value] = []
    for grp in groups.values():
        ws_flat = [w for ws in grp.ws for w in ws]
        block = ws_flat + list(grp.bs)
        if len(set(block)) == len(block) and not any(v in placed for v in block):
            grp.start = len(layout)
            for v in block:
                placed[v] = len(layout)
                layout.append(v)
    return layout + [v for v in captured if v not in placed]


def error_plan(order: list[Value], batched: dict[Value, bool], absorbed: set[Value],
                member: dict[Value, tuple[Group, int]], groups: dict[Any, Group],
                guards: list[Any]) -> tuple[dict[Value, bool], dict[Value, Any],
                                            dict[Group, Any], set[Value]]:
    """Which values may differ from the dynamic engine's, and which comparisons to watch.

    A value is *approximate* when a matrix product or a NumPy function that
    is not the float rule's (the rendering's ``inexact``) computed it or something it
    depends on. A comparison in an op's formula (a kink: ``x <= 0.0``, a
    tie: ``a >= b``) or in a guard, with an approximate side, is checked at
    run time: samples within their values' error bounds of it take the
    dynamic engine's own path. Returns the approximate nodes, each checked
    node's comparisons, each group's (its activation's, on ``Z``), and the
    nodes whose error bound must be computed.
    """
    approx: dict[Value, bool] = {}
    checks: dict[Value, Any] = {}
    for node in order:
        if not batched[node] or node in absorbed:
            continue
        if node in member:
            approx[node] = True
            continue
        operands = node.operands
        rr = render(node._entry, len(operands))
        atoms = rr.atoms if rr is not None else []
        inexact = rr.inexact if rr is not None else False
        ap = [isinstance(o, Value) and approx.get(o, False) for o in operands]
        approx[node] = inexact or any(ap)
        keep = [(a, b) for a, b in atoms
                if (a[0] == "?" and any(ap)) or any(x[0] == "x" and ap[x[1]] for x in (a, b))]
        if keep:
            checks[node] = keep
    gchecks: dict[Group, Any] = {}
    for grp in groups.values():
        r = render(grp.act, 1 + len(grp.params)) if grp.act is not None else None
        atoms = [] if r is None else [
            (a, b) for a, b in r.atoms if ("x", 0) in (a, b) or a[0] == "?"]
        if atoms:
            gchecks[grp] = atoms
    need_e: set[Value] = set()
    stack: list[Any] = []
    for node, atoms in checks.items():
        stack += [node.operands[x[1]] for a, b in atoms for x in (a, b) if x[0] == "x"]
        if any(a[0] == "?" for a, _ in atoms):
            stack += list(node.operands)
    for g in guards:
        stack += [g[0], g[2]]
    for grp in groups.values():
        stack += list(grp.xs)  # a group's inputs' error moves its pre-activations
    while stack:
        v = stack.pop()
        if not isinstance(v, Value) or not approx.get(v, False) or v in need_e:
            continue
        need_e.add(v)
        if v not in member:
            stack += list(v.operands)
    return approx, checks, gchecks, need_e


def find_chains(order: list[Value], outs: list[Value], guards: list[Any],
            interior: dict[Value, None], pidx: dict[Value, int],
            batched: dict[Value, bool],
            ) -> tuple[dict[Value, tuple[list[Any], list[Any], Any]], set[Value]]:
    """Find ``b + w0*x0 + w1*x1 + ...`` chains (parameters ``w``, ``b``), longest first.

    Every inner node must feed only the chain (one use, not an output or a
    guard's value). Returns ``{root: (xs, ws, b or None)}`` and the inner nodes.
    """
    uses: dict[Value, int] = {}
    for node in order:
        for o in node.operands:
            if isinstance(o, Value):
                uses[o] = uses.get(o, 0) + 1
    pinned = set(outs)
    for g in guards:
        pinned.add(g[0])
        if isinstance(g[2], Value):
            pinned.add(g[2])
    chains: dict[Value, tuple[list[Any], list[Any], Any]] = {}
    absorbed: set[Value] = set()

    def single(v: Any) -> bool:
        return (isinstance(v, Value) and v in interior and uses.get(v, 0) == 1
                and v not in pinned and v not in absorbed)

    def term(v: Any) -> tuple[Value, Any] | None:  # w * x or x * w, w a parameter
        if not single(v) or op_of(v).name != "mul":
            return None
        a, c = v.operands
        a_par = isinstance(a, Value) and a in pidx
        c_par = isinstance(c, Value) and c in pidx
        if a_par and not c_par:
            return a, c
        if c_par and not a_par:
            return c, a
        return None

    for node in reversed(order):
        if node in absorbed or not batched[node] or op_of(node).name != "add":
            continue
        terms: list[tuple[Value, Any]] = []
        inner: list[Value] = []
        bias = None
        cur = node
        ok = False
        while True:
            a, c = cast("tuple[Any, Any]", cur.operands)
            t = term(c)
            if t is None:
                break
            terms.append(t)
            inner.append(c)
            if isinstance(a, Value) and a in pidx:  # the bias starts the chain
                bias, ok = a, True
                break
            t0 = term(a)
            if t0 is not None:  # no bias: the first product starts it
                terms.append(t0)
                inner.append(a)
                ok = True
                break
            if single(a) and op_of(a).name == "add":
                inner.append(a)
                cur = a
                continue
            break
        if not ok or len(terms) < 2:
            continue
        terms.reverse()
        xs = [x for _, x in terms]
        if not any(isinstance(x, Value) and batched[x] for x in xs):
            continue
        chains[node] = (xs, [w for w, _ in terms], bias)
        absorbed.update(inner)
    return chains, absorbed


def whole(grp: Group, member: dict[Value, tuple[Group, int]]) -> Group | None:
    """The group whose outputs are exactly ``grp``'s inputs, in order, if any."""
    xs = grp.xs
    if not xs or not isinstance(xs[0], Value) or xs[0] not in member:
        return None
    prev, _ = member[xs[0]]
    if len(prev.members) != len(xs):
        return None
    if all(x is mm for x, mm in zip(xs, prev.members)):
        return prev
    return None
