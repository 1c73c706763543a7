"""The batched compiled path: per-sample scalar code run over a whole batch with NumPy.

``compile_batched(per_sample_loss, reduction="mean")`` (reached as
``autograd.compile(per_sample_loss, batch=True, reduction="mean")``) traces
``per_sample_loss(x, y)`` on the batch's first sample with the dynamic engine,
exactly as :func:`autograd.compile` does, and turns the trace into one
generated Python function in which every scalar op of the trace is applied
once to a NumPy array holding that op's value for every sample. Calling the
result with a batch (``step(X, Y)``, one row per sample) returns the reduced
loss and accumulates into the parameters' ``.grad`` what
``autograd.mean([per_sample_loss(x, y) for x, y in zip(X, Y)]).backward()``
(or ``sum``) would.

What this module owns:

* **The trace and its classification.** Values reached from the sample's
  inputs are *batched* (one array over the batch), the rest (parameters and
  what depends only on them, such as an L2 penalty) are *shared*: computed
  once, with the op table's own float ``forward``/``local`` (or, for a
  formula op over many parameters such as ``dot(ps, ps)``, on parameter
  vectors). Their gradients stay per sample until they reach a parameter.
* **Rendering ops as NumPy.** A batched node's forward and local derivative
  are rendered from the op's one formula (``op.rule``, parsed by
  :func:`autograd.formula_render.parse`): ``where(c, a, b)`` becomes
  ``numpy.where`` (its condition elementwise logic), each helper its NumPy
  form, an operand group (``*xs``) a matrix with one column per element, a
  partial of ``i`` a matrix of partials. No derivative is written here. An
  op without a formula, or whose formula has single operands after its
  groups or temporaries (``nn``'s fused neurons), is rendered from its
  :class:`~autograd.ops.Codegen` templates, themselves rendered from the
  formula (a Python conditional becomes ``numpy.where``); one with neither
  (ops registered with plain functions) runs its float ``forward``/``local``
  once per sample through ``numpy.frompyfunc``: correct, only slower.
* **Matrix products.** Fused neurons (the ``neuron_<activation>`` ops of
  ``nn``: operands ``x..., w..., b`` with ``act(w . x + b)``) and ``dot``
  nodes that read the same batched inputs and whose other half is parameters
  are grouped, layer by layer, into one ``X @ W`` product; their backward is
  ``dZ = dA * act'(Z)``, ``dW = X.T @ dZ``, ``dX = dZ @ W.T``, with ``act'``
  rendered from the activation's own entry (the formula the neuron's is
  composed from) and a pre-activation near a kink recomputed exactly as the
  neuron's formula computes its temporary ``z``.
* **Every kink on the dynamic engine's side.** A matrix product sums in
  another order (and with FMA) than the op does, and NumPy's ``exp``,
  ``log``, ``tanh``... are not libm's, so such values may differ from the
  dynamic engine's by rounding. Each is given a run-time bound on that
  difference (``(n + 2) u`` of a product's terms, plus its inputs' bounds
  carried through the ops' own partials), and every comparison in an op's
  formula (``relu``'s ``x <= 0``, ``maximum``'s ``a >= b``...) or a guard
  whose sides are within their bounds of each other marks its sample: those
  samples take the per-sample compiled path, bit for bit the dynamic engine's.
  With exact inputs a product's entries near 0 (or zero, whose sign the op's
  own sum decides) are recomputed in place instead. ``sum``, ``mean``,
  ``dot`` and ``logsumexp`` sum a row exactly rounded (``math.fsum``'s value,
  by error-free transformations), so ties fall as in the dynamic engine.
* **Guards.** Python control flow on a sample's Value (``if v > 0``) is
  recorded as in :mod:`autograd.compile`; here each guard is evaluated for
  every sample, samples taking the traced branch run together, and the others
  are traced again (one program per branch, up to ``max_traces``), after which
  the remaining samples go through the per-sample compiled path
  (:func:`autograd.compile`). Never a wrong result.
* **Self-check.** Every new program is run once on the sample it was traced
  on and compared with the dynamic engine (loss, outputs and gradients, via
  :func:`autograd.grad`); a mismatch rebuilds it without matrix grouping, and
  if it persists that program's samples use the per-sample compiled path.

Summation order: the dynamic engine adds per-sample contributions one sample
at a time; here a parameter's gradient is a NumPy sum (pairwise, or inside a
matrix product) over the batch, and the loss is ``math.fsum`` of the
per-sample losses. Values and gradients agree with the dynamic engine to
within a few units in the last place of the summed terms (the tests hold
them to 1e-12 relative to the terms' magnitude), with the same IEEE-754
specials (signed zeros, inf, nan) and on the same side of every kink and tie.
Ops without a formula or templates run their float rules per sample, and the
kinks inside a variadic op's formula (a loss's ``abs``) are not watched: exact
on their inputs, not on the side of a kink.

Parameters in an array: ``step.array_step(params)`` returns an
:class:`ArrayStep`, the same compiled step with the parameters' values passed
in as one float64 array (``theta[i]`` is ``params[i]``'s value) and their
gradient returned as one array, so that a training loop can keep the
parameters in an array and update them with array arithmetic (``nn.optim``'s
``step_array``) instead of reading and writing thousands of Values per step.
The Values are written only when a new program is traced (the trace reads
them) and when samples go through the per-sample fallback.

NumPy is optional (``pip install 'chainrule[fast]'``); it is imported only
when a batched function is built, so ``import autograd`` stays standard-
library only.
"""

from __future__ import annotations

import builtins
import operator
import threading
from collections.abc import Callable, Sequence
from typing import Any, cast

from autograd import numerics as N
from autograd.compile import Compiled
from autograd.engine import Value
from autograd.formula_numpy import (
    FormulaRendered,
    Side,
    bound,
    namespace,
    render,
    require_numpy,
)
from autograd.formula_render import temp_function
from autograd.ops import OPS
from autograd.trace import TraceError, flatten, literal, trace

__all__ = ["ArrayStep", "BatchedCompiled", "compile_batched", "require_numpy"]

REDUCTIONS = ("mean", "sum")
_DATA = operator.attrgetter("_data")  # a parameter's float, read in one C-level pass
_INF = float("inf")
_REL = 1e-9  # self-check tolerance (relative to the terms' magnitude)


def _picker(srcs: Sequence[str], objs: Sequence[Any]) -> Callable[[int], tuple[str, Any]]:
    """Operand ``k``'s source and object, for a comparison's side."""
    return lambda k: (srcs[k], objs[k])



# ---------------------------------------------------------------------------
# Affine nodes: fused neurons and dot products, grouped into matrix products.


def _affine(node: Value) -> tuple[list[Any], list[Any], Any, Any, tuple[float, ...]] | None:
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


class _Group:
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


def _assemble(used_args: set[int], fwd: list[str], bwd: list[str], outs_s: str,
              n_params: int, gm_used: set[_Group], shared_g: set[Value],
              pre_g: list[str]) -> list[str]:
    """The generated function's lines: its head (the batch's columns), the forward,
    the gradient accumulators (a group's matrix starts from its first whole-matrix
    gradient instead of zeros), the backward and the return."""
    head = ["def _batched(_D, _pl, _pa, _seed):", "    _B = _D.shape[0]"]
    head += [f"    a{i} = _D[:, {i}]" for i in sorted(used_args)]
    body = head + fwd
    body.append(f"    _outs = ({outs_s},)")
    body.append(f"    _G = _zeros({n_params})")
    for grp in sorted(gm_used, key=lambda g: g.gid):
        gm = f"GM{grp.gid}"
        touch = [k for k, line in enumerate(bwd) if f"{gm} " in line or f"{gm}[" in line]
        if len(touch) >= 1 and bwd[touch[0]].startswith(f"    {gm} += "):
            # its first gradient is a whole matrix: start from it (no zeros, no add)
            bwd[touch[0]] = bwd[touch[0]].replace(f"{gm} += ", f"{gm} = ", 1)
            if any(bwd[k].startswith((f"    {gm} += ", f"    {gm}[")) for k in touch[1:]):
                bwd[touch[0]] += ".copy()"  # later updates are in place
            continue
        body.append(f"    {gm} = _zeros((_B, {len(grp.members)}))")
    for o in sorted(shared_g, key=lambda v: -v._id):
        body.append(f"    g{-o._id} = 0.0")
    body += bwd
    body.append(f"    return _outs, _G, ({', '.join(pre_g)}{',' if pre_g else ''})")
    return body


def _find_groups(order: list[Value], batched: dict[Value, bool], absorbed: set[Value],
                 chains: dict[Value, tuple[list[Any], list[Any], Any]], pidx: dict[Value, int],
                 ) -> tuple[dict[tuple[Any, ...], _Group], dict[Value, tuple[_Group, int]]]:
    """Group the affine nodes (chains, fused neurons, ``dot``) that read the same batched
    inputs with parameter weights: each group becomes one ``X @ W (+ b)``.

    Returns the groups (by their key: kind, width, activation parameters,
    inputs) and, for each member node, its group and column.
    """
    groups: dict[tuple[Any, ...], _Group] = {}
    member: dict[Value, tuple[_Group, int]] = {}
    for node in order:
        if not batched[node] or node in absorbed:
            continue
        chain = chains.get(node)
        aff = (*chain, None, ()) if chain is not None else _affine(node)
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
            grp = groups[key] = _Group(len(groups), node._entry, xs, act, params,
                                       b is not None)
            grp.exact = exact if callable(exact) else None
        member[node] = (grp, len(grp.members))
        grp.members.append(node)
        grp.ws.append(ws)
        if b is not None:
            grp.bs.append(b)
    return groups, member


def _layout(groups: dict[Any, _Group], captured: list[Value]) -> list[Value]:
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


# ---------------------------------------------------------------------------
# One program: a trace turned into NumPy code.


class _Program:
    """The generated batched code for one trace (one branch of the guards)."""

    def __init__(self, fn: Callable[..., Any], sample: tuple[Any, ...],
                 group: bool = True) -> None:
        ns = namespace()
        np = ns["_np"]
        flat: list[Any] = []
        sig: list[Any] = []
        flatten(sample, flat, sig, "sample")
        if any(isinstance(x, Value) for x in flat):
            raise TypeError(
                "compile(batch=True): a batch holds numbers only (one row per sample); "
                "capture Values (parameters) in the function instead of passing them"
            )
        targs = [Value(x) for x in flat]
        rec, outs, single, interior, order, leaves = trace(
            fn, sample, targs,
            "compile(batch=True): the per-sample function must return a Value (the "
            "sample's loss), or a tuple of Values (the loss first)")
        self.single = single
        self.nout = len(outs)
        self.sample = sample
        self.outs_trace = outs
        guards = rec.guards
        self.trace_nodes = len(order)

        argi = {v: i for i, v in enumerate(targs)}
        captured = [v for v in leaves if v not in argi]
        pidx = {v: j for j, v in enumerate(captured)}
        self.captured = captured
        self.pre = [(j, v) for j, v in enumerate(captured) if v.parents]
        self.pre_index = {j for j, _ in self.pre}
        self.leaves = [v for v in captured if not v.parents]  # .grad accumulates
        self.nargs = len(targs)

        batched: dict[Value, bool] = dict.fromkeys(targs, True)
        for v in captured:
            batched[v] = False
        needs: dict[Value, bool] = dict.fromkeys(targs, False)
        for v in captured:
            needs[v] = True
        for node in order:
            ps = node.parents
            batched[node] = any(batched[p] for p in ps)
            needs[node] = any(needs[p] for p in ps)

        # -- chains of scalar ops that are a neuron's pre-activation, as micrograd
        # writes it: sum((w_i * x_i for ...), b) is add(...add(add(b, w0*x0), w1*x1)...)
        chains: dict[Value, tuple[list[Any], list[Any], Any]] = {}
        absorbed: set[Value] = set()  # their inner nodes: computed by the matrix product
        if group:
            chains, absorbed = self._chains(order, outs, guards, interior, pidx, batched)

        # -- groups of affine nodes
        groups, member = (_find_groups(order, batched, absorbed, chains, pidx) if group
                          else ({}, {}))
        first_of = {g.members[0]: g for g in groups.values()}

        # -- parameter layout
        layout = _layout(groups, captured)
        captured = layout
        pidx = {v: j for j, v in enumerate(captured)}
        self.captured = captured
        self.pre = [(j, v) for j, v in enumerate(captured) if v.parents]
        self.pre_index = {j for j, _ in self.pre}
        self.leaves = [v for v in captured if not v.parents]

        approx, checks, gchecks, need_e = self._error_plan(
            order, batched, absorbed, member, groups, guards)
        glob: dict[str, Any] = dict(ns)
        name: dict[Value, str] = {}
        err: dict[Value, tuple[str, str]] = {}  # approx node: (its error bound, against 0)
        fwd: list[str] = []
        emit = fwd.append
        used_args: set[int] = set()

        def eref(o: Any, zero: bool = False) -> str:
            """The source of a bound on how far ``o`` may be from the dynamic engine's value."""
            if not isinstance(o, Value) or not approx.get(o, False):
                return "0.0"
            if o in member:
                grp_ = member[o][0]
                # a product's side of 0 is the dynamic engine's (fix_affine)
                return "0.0" if zero and grp_.act is None else f"EA{grp_.gid}"
            e = err.get(o)
            return "_inf" if e is None else (e[1] if zero else e[0])

        def check(sides: list[tuple[Side, Side]], srcs: Callable[[int], tuple[str, Any]]) -> None:
            for a, b in sides:
                if a[0] == "?":
                    emit("    _nr[:] = True")
                    continue
                (ls, lo), (rs, ro) = [srcs(x[1]) if x[0] == "x" else (literal(x[1]), None)
                                      for x in (a, b)]
                zero = (a == ("c", 0.0)) or (b == ("c", 0.0))
                es = [(o[2] if zero else o[1]) if isinstance(o, tuple) else eref(o, zero)
                      for o in (lo, ro) if o is not None]
                es = [e for e in es if e != "0.0"]
                if es:
                    emit(f"    _near(_nr, {ls}, {rs}, {' + '.join(es)})")

        mags: dict[Any, str] = {}

        def mag(o: Any) -> str:
            """The source of a bound on ``max |o|`` over the batch."""
            if not isinstance(o, Value):
                return repr(abs(float(o)))
            if o in mags:
                return mags[o]
            if o in member:
                g = member[o][0].gid
                key: Any = ("group", g)
                if key not in mags:
                    emit(f"    MA{g} = _amax(A{g})")
                    mags[key] = f"MA{g}"
                return mags[key]
            if o in pidx:
                return f"abs({ref(o)})"
            nm = f"M{-o._id}"
            emit(f"    {nm} = _amax({ref(o)})")
            mags[o] = nm
            return nm

        def emit_err(node: Value, out: str, own: str, pairs: list[tuple[str, Any]]) -> None:
            """Emit ``e<m>``: a bound on how far ``out`` may be from the dynamic engine's."""
            m = -node._id
            terms = []
            if own != "0.0":
                op_name = op_of(node).name
                ops_ = node.operands
                if op_name in ("add", "sub"):
                    mags[node] = f"M{m}"
                    emit(f"    M{m} = {mag(ops_[0])} + {mag(ops_[1])}")
                elif op_name == "mul":
                    mags[node] = f"M{m}"
                    emit(f"    M{m} = {mag(ops_[0])} * {mag(ops_[1])}")
                terms.append(f"{own} * {mag(node) if node in mags else f'_amax({out})'}")
            refs = {ref(o): o for o in node.operands}
            for d, o in pairs:
                e = eref(o)
                if e == "0.0":
                    continue
                b = bound(d)
                if b == d:
                    b = mag(refs[d]) if d in refs else f"_amax({d})"
                terms.append(e if b == "1.0" else f"{b} * {e}")
            emit(f"    e{m} = _fin({' + '.join(terms) or '0.0'})")
            err[node] = (f"e{m}", f"e{m}")

        def ref(o: Any) -> str:
            if not isinstance(o, Value):
                return literal(o)
            nm = name.get(o)
            if nm is not None:
                return nm
            if o in argi:
                i = argi[o]
                used_args.add(i)
                nm = f"a{i}"
            elif o in pidx:
                nm = f"_pl[{pidx[o]}]"
            else:
                g, j = member[o]
                nm = f"v{o._id * -1}"
                emit(f"    {nm} = A{g.gid}[:, {j}]")
            name[o] = nm
            return nm

        # -- forward: shared nodes first (they depend on parameters only), as floats
        fcount = 0
        fnames: dict[int, str] = {}

        def fname(fun: Any, kind: str) -> str:
            nonlocal fcount
            key = id(fun)
            if key not in fnames:
                fnames[key] = f"_{kind}{fcount}"
                glob[fnames[key]] = fun
                fcount += 1
            return fnames[key]

        local_of: dict[Value, list[str | None]] = {}
        shared_local: dict[Value, str | list[str]] = {}  # a call, or one expression each
        shared_vec: dict[Value, tuple[int, list[tuple[str, bool]], list[Any]]] = {}
        for node in order:
            if batched[node]:
                continue
            op: Any = node._entry
            m = -node._id
            operands = node.operands
            rv = (render(op, len(operands)) if len(operands) >= 8
                  and all(isinstance(o, Value) and o in pidx for o in operands) else None)
            if isinstance(rv, FormulaRendered) and rv.variadic:
                # many parameters through a formula (an L2 penalty as dot(ps, ps)): vectors
                srcs = []
                ixs = []
                groups_ix = [[pidx[o] for o in operands[k * rv.size:(k + 1) * rv.size]]  # type: ignore[index]
                             for k in range(len(rv.rule.names))]
                lo = min(groups_ix[0])
                whole = (not rv.reindexed and all(g == groups_ix[0] for g in groups_ix)
                         and sorted(groups_ix[0]) == list(range(lo, lo + rv.size)))
                for k, gi in enumerate(groups_ix):
                    # every group the same parameters, each once, a contiguous block (all
                    # parameters in an L2 penalty): read them in block order, a view; the
                    # formula (elementwise in i, sums over groups) cannot tell the order
                    ix = np.arange(lo, lo + rv.size) if whole else np.array(gi, dtype=np.intp)
                    glob[f"_V{m}_{k}"] = ix
                    ixs.append(ix)
                    srcs.append(f"_pa[{lo}:{lo + rv.size}]" if whole else f"_pa[_V{m}_{k}]")
                out = f"v{m}"
                vec = rv.shared_vector(srcs, out, needs[node], emit, glob)
                name[node] = out
                if needs[node]:
                    shared_vec[node] = (rv.size, vec, ixs)
                continue
            cg = op.codegen
            if cg is not None and len(operands) <= 4 and all(
                    glob.get(k, v) is v for k, v in cg.names.items()):
                # a small op inline, from its float templates (as autograd.compile)
                glob.update(cg.names)
                n_ = len(operands)
                args = [ref(o) for o in operands]
                kw: dict[str, str] = {}
                for k, t in enumerate(cg.temp_templates(n_)):
                    emit(f"    ts{m}_{k} = {t.format(*args, **kw)}")
                    kw[f"t{k}"] = f"ts{m}_{k}"
                out = f"v{m}"
                emit(f"    {out} = {cg.forward_template(n_).format(*args, **kw)}")
                name[node] = out
                if needs[node]:
                    kw["out"] = out
                    for k, t in enumerate(cg.after_templates(n_)):
                        emit(f"    us{m}_{k} = {t.format(*args, **kw)}")
                        kw[f"u{k}"] = f"us{m}_{k}"
                    shared_local[node] = [f"({t.format(*args, **kw)})"
                                          for t in cg.local_templates(n_)]
                continue
            if len(operands) > 8 and all(isinstance(o, Value) and o in pidx for o in operands):
                glob[f"_ig{m}"] = operator.itemgetter(
                    *[pidx[o] for o in operands])  # type: ignore[index]
                joined = f"*_ig{m}(_pl)"  # many parameters (an L2 penalty): one C-level gather
            else:
                joined = ", ".join(ref(o) for o in operands)
            out = f"v{m}"
            emit(f"    {out} = {fname(op.forward, 'f')}({joined})")
            name[node] = out
            if needs[node]:
                shared_local[node] = f"{fname(op.local, 'l')}({out}, {joined})"

        # -- forward: batched nodes, in creation order
        gsrc: dict[_Group, str] = {}
        pm_done: list[bool] = []
        for node in order:
            if not batched[node] or node in absorbed:
                continue
            m = -node._id
            op = node._entry
            operands = node.operands
            if node in member:
                grp = first_of.get(node)
                if grp is None:
                    continue
                g = grp.gid
                x_src = self._x_source(grp, member, argi, ref, used_args)
                gsrc[grp] = x_src
                emit(f"    X{g} = {x_src}")
                k_, n_ = len(grp.members), len(grp.xs)
                if grp.start is not None:
                    s0, s1 = grp.start, grp.start + k_ * n_
                    emit(f"    W{g} = _pa[{s0}:{s1}].reshape({k_}, {n_}).T")
                    bias_src = f"_pa[{s1}:{s1 + k_}]"
                else:
                    widx = np.array([[pidx[w] for w in ws] for ws in grp.ws], dtype=np.intp).T
                    glob[f"_I{g}"] = widx
                    grp.dup = len(set(widx.ravel().tolist())) != widx.size
                    emit(f"    W{g} = _pa[_I{g}]")
                    bias_src = f"_pa[_J{g}]"
                    if grp.bias:
                        bidx = np.array([pidx[b] for b in grp.bs], dtype=np.intp)
                        glob[f"_J{g}"] = bidx
                        grp.bdup = len(set(bidx.tolist())) != bidx.size
                if grp.bias:
                    emit(f"    Z{g} = X{g} @ W{g} + {bias_src}")
                else:
                    emit(f"    Z{g} = X{g} @ W{g}")
                glob[f"_X{g}"] = grp.exact
                b_arg = bias_src if grp.bias else "None"
                ein = [eref(x) for x in grp.xs]
                ein_s = "0.0" if all(e == "0.0" for e in ein) else (
                    f"_emax({', '.join(dict.fromkeys(ein))}, 0.0)")
                if not pm_done:
                    pm_done.append(True)
                    emit("    _PM = _amax(_pa)")  # bounds every parameter, once per call
                emit(f"    EZ{g} = _fix_affine(Z{g}, X{g}, W{g}, {b_arg}, _X{g}, "
                     f"{ein_s}, _nr, _PM)")
                act = grp.act
                zs = (f"Z{g}", ("E", f"EZ{g}", "0.0"))  # its side of 0 is fixed
                zparams = grp.params

                def zsrc(k: int, zs: Any = zs, zparams: Any = zparams) -> tuple[str, Any]:
                    return zs if k == 0 else (literal(zparams[k - 1]), None)

                if act is None:
                    emit(f"    A{g} = Z{g}")
                    emit(f"    EA{g} = EZ{g}")
                else:
                    check(gchecks.get(grp, []), zsrc)
                    r = render(act, 1 + len(grp.params))
                    if r is None:  # the activation's float functions, elementwise
                        na = 1 + len(grp.params)
                        pj = "".join(f", {literal(p)}" for p in grp.params)
                        glob[f"_AF{g}"] = np.frompyfunc(act.forward, na, 1)
                        emit(f"    A{g} = _np.asarray(_AF{g}(Z{g}{pj}), dtype=float)")
                        if any(needs[mm] for mm in grp.members):
                            glob[f"_AL{g}"] = np.frompyfunc(
                                lambda *a, _l=act.local: _l(*a)[0], na + 1, 1)
                            emit(f"    S{g} = _np.asarray(_AL{g}(A{g}, Z{g}{pj}), dtype=float)")
                            grp.slope = f"S{g}"
                            emit(f"    EA{g} = _eprop(A{g}, 4.6e-16, S{g}, EZ{g})")
                        else:
                            emit(f"    EA{g} = _inf")
                        continue
                    aargs = [f"Z{g}", *(literal(p) for p in grp.params)]
                    gneed = any(needs[mm] for mm in grp.members)
                    locs = r.emit(f"G{g}", aargs, f"A{g}", True, emit, glob)
                    emit(f"    S{g} = {locs[0]}")
                    if gneed:
                        grp.slope = f"S{g}"
                    own = ("0.0" if getattr(r, "select", False) else
                           "9.2e-16" if r.inexact else "4.6e-16")
                    emit(f"    EA{g} = _eprop(A{g}, {own}, {bound(locs[0], f'S{g}')}, EZ{g})")
                continue
            args = [ref(o) for o in operands]
            out = f"v{m}"
            rr = render(op, len(operands))
            locs = []
            if rr is not None:
                locs = rr.emit(str(m), args, out, needs[node] or node in need_e, emit, glob)
                if needs[node]:
                    local_of[node] = [d if isinstance(o, Value) else None
                                      for d, o in zip(locs, operands[:rr.npar])]
                if node in checks:
                    check(checks[node], _picker(args, operands))
                if node in need_e:
                    own = ("0.0" if getattr(rr, "select", False) else
                           "9.2e-16" if getattr(rr, "inexact", True) else "4.6e-16")
                    emit_err(node, out, own, list(zip(locs, operands)))
            else:  # the op's float functions, once per sample
                nin = len(operands)
                npar = nin - op.params
                fk = f"{fname(op.forward, 'f')}_{nin}"
                glob[f"_E{fk}"] = np.frompyfunc(op.forward, nin, 1)
                emit(f"    {out} = _np.asarray(_E{fk}({', '.join(args)}), dtype=float)")
                if needs[node]:
                    loc = op.local
                    if npar == 1:
                        lf: Any = np.frompyfunc(lambda *a, _l=loc: _l(*a)[0], nin + 1, 1)
                    else:
                        lf = np.frompyfunc(lambda *a, _l=loc: _l(*a), nin + 1, npar)
                    lk = f"{fname(op.local, 'l')}_{nin}"
                    glob[f"_E{lk}"] = lf
                    emit(f"    d{m} = _E{lk}({out}, {', '.join(args)})")
                    local_of[node] = [
                        (f"_np.asarray(d{m}, dtype=float)" if npar == 1
                         else f"_np.asarray(d{m}[{i}], dtype=float)")
                        if isinstance(o, Value) else None
                        for i, o in enumerate(operands[:npar])
                    ]
                if node in need_e:
                    ds = local_of.get(node)
                    if ds is None or any(eref(o) != "0.0" for o in operands[npar:]):
                        emit(f"    e{m} = _inf")
                        err[node] = (f"e{m}", f"e{m}")
                    else:
                        emit_err(node, out, "4.6e-16",
                                 [(d, o) for d, o in zip(ds, operands) if d is not None])
            name[node] = out

        # -- guards: one boolean per sample
        conds = []
        for value, what, other, res in guards:
            c = f"({ref(value)} {what} {ref(other)})"
            conds.append(c if res else f"_not{c}")
            check([(("x", 0), ("x", 1))], _picker([ref(value), ref(other)], [value, other]))
        self.nguards = len(guards)
        if conds:
            emit(f"    _ok = _and(_True, {', '.join(conds)})")
            glob["_True"] = np.True_
            emit("    if not _ok.all(): return None, _ok, None")
        self.checked = any("_nr" in line for line in fwd)
        if self.checked:
            fwd.insert(0, "    _nr = _zeros(_B, bool)")
            emit("    if _nr.any(): return None, ~_nr, True")

        outs_s = ", ".join(ref(o) for o in outs)
        # -- backward
        bwd: list[str] = []
        bemit = bwd.append
        has: set[Value] = set()
        gm_used: set[_Group] = set()
        assigned: set[Value] = set()
        shared_g: set[Value] = set()
        boundary: set[Value] = set()  # shared nodes with gradient from batched ones

        def gref(o: Value) -> str:
            if o in member:
                g, j = member[o]
                gm_used.add(g)
                return f"GM{g.gid}[:, {j}]"
            return f"g{-o._id}"

        def contribute(o: Any, term: str, from_batched: bool) -> None:
            if not isinstance(o, Value) or not needs.get(o, False):
                return
            # A shared node's gradient is kept per sample too (an array), reduced
            # only where it reaches a parameter: sum_i (g_i * d), as the dynamic
            # engine adds it (0 * inf stays nan for the sample whose g_i is 0).
            if o in pidx:
                bemit(f"    _G[{pidx[o]}] += ({term}).sum()")
                return
            has.add(o)
            if not batched[o]:
                shared_g.add(o)
                if from_batched:
                    boundary.add(o)
                bemit(f"    g{-o._id} = g{-o._id} + {term}")
            elif o in member:
                bemit(f"    {gref(o)} += {term}")
            elif o in assigned:
                bemit(f"    g{-o._id} = g{-o._id} + {term}")
            else:
                assigned.add(o)
                bemit(f"    g{-o._id} = {term}")

        loss = outs[0]
        if needs[loss]:
            if loss in pidx:
                bemit(f"    _G[{pidx[loss]}] += _seed * _B")
            elif not batched[loss]:
                has.add(loss)
                shared_g.add(loss)
                boundary.add(loss)
                bemit(f"    g{-loss._id} = _full(_B, _seed)")
            else:
                has.add(loss)
                if loss in member:
                    bemit(f"    {gref(loss)} += _seed")
                else:
                    assigned.add(loss)
                    bemit(f"    g{-loss._id} = _full(_B, _seed)")
        for node in reversed(order):
            if not batched[node] or node in absorbed:
                continue
            if node in member:
                grp = first_of.get(node)
                if grp is None or grp not in gm_used:
                    continue
                g = grp.gid
                slope = grp.slope
                bemit(f"    dZ{g} = GM{g} * {slope}" if slope else f"    dZ{g} = GM{g}")
                if grp.start is not None:
                    k_, n_ = len(grp.members), len(grp.xs)
                    s0, s1 = grp.start, grp.start + k_ * n_
                    bemit(f"    _G[{s0}:{s1}] += (dZ{g}.T @ X{g}).ravel()")
                    if grp.bias:
                        bemit(f"    _G[{s1}:{s1 + k_}] += dZ{g}.sum(0)")
                elif grp.dup:
                    bemit(f"    _add_at(_G, _I{g}, X{g}.T @ dZ{g})")
                else:
                    bemit(f"    _G[_I{g}] += X{g}.T @ dZ{g}")
                if grp.bias and grp.start is None:
                    if grp.bdup:
                        bemit(f"    _add_at(_G, _J{g}, dZ{g}.sum(0))")
                    else:
                        bemit(f"    _G[_J{g}] += dZ{g}.sum(0)")
                if any(isinstance(x, Value) and needs[x] for x in grp.xs):
                    bemit(f"    dX{g} = dZ{g} @ W{g}.T")
                    src = gsrc[grp]
                    prev = self._whole(grp, member)
                    if prev is not None and src == f"A{prev.gid}":
                        gm_used.add(prev)
                        for mm in prev.members:
                            has.add(mm)
                        bemit(f"    GM{prev.gid} += dX{g}")
                    else:
                        for j, x in enumerate(grp.xs):
                            contribute(x, f"dX{g}[:, {j}]", True)
                continue
            if node not in has:
                continue
            gn = gref(node)
            for o, d in zip(node.operands, local_of.get(node, ())):
                if d is None:
                    continue
                if d == "1.0":
                    term = gn
                elif d == "-1.0":
                    term = f"-{gn}"
                elif d.isidentifier():
                    term = f"{gn} * {d}"
                else:
                    term = f"{gn} * ({d})"
                contribute(o, term, True)
        split = len(bwd)
        for node in reversed(order):
            if batched[node] or node not in has:
                continue
            m = -node._id
            if node in shared_vec:
                size, vec, ixs = shared_vec[node]
                for k, ((src, by_i), ix) in enumerate(zip(vec, ixs)):
                    q = src if by_i else f"_full({size}, {src})"
                    term = f"_outer_sum(g{m}, _np.broadcast_to({q}, ({size},)))"
                    lo = int(ix[0])
                    if ix.tolist() == list(range(lo, lo + size)):
                        bemit(f"    _G[{lo}:{lo + size}] += {term}")
                    elif len(set(ix.tolist())) != ix.size:
                        bemit(f"    _add_at(_G, _V{m}_{k}, {term})")
                    else:
                        bemit(f"    _G[_V{m}_{k}] += {term}")
                continue
            loc = shared_local[node]
            if isinstance(loc, str):
                bemit(f"    d{m} = {loc}")
            ops_ = node.operands
            npar = len(ops_) - op_of(node).params
            leaf_pos = [i for i, o in enumerate(ops_[:npar])
                        if isinstance(o, Value) and o in pidx and needs[o]]
            if len(leaf_pos) > 4 and isinstance(loc, str):
                ix = np.array([pidx[ops_[i]] for i in leaf_pos], dtype=np.intp)  # type: ignore[index]
                glob[f"_K{m}"] = ix
                glob[f"_P{m}"] = np.array(leaf_pos, dtype=np.intp)
                dup = len(set(ix.tolist())) != ix.size
                val = f"_outer_sum(g{m}, _np.asarray(d{m})[_P{m}])"
                bemit(f"    _add_at(_G, _K{m}, {val})" if dup else f"    _G[_K{m}] += {val}")
                rest = [i for i in range(npar) if i not in set(leaf_pos)]
            else:
                rest = list(range(npar))
            for i in rest:
                d_i = loc[i] if isinstance(loc, list) else f"d{m}[{i}]"
                contribute(ops_[i], f"g{m} * {d_i}", False)
        if len(bwd) > split:
            # The shared part twice: with gradients summed over the batch first
            # (floats: fast), and, only if that meets an inf or nan, per sample (as
            # the dynamic engine adds them, so 0 * inf stays nan for that sample).
            per_sample = bwd[split:]
            del bwd[split:]
            bwd.append("    _Gb = _G.copy()")
            bwd += self._shared_scalar(order, batched, has, shared_vec, shared_local,
                                       pidx, needs, glob, boundary)
            bwd.append("    if not _np.isfinite(_G).all():")
            bwd.append("        _G = _Gb")
            bwd += ["    " + line for line in per_sample]
        pre_g = [f"_G[{j}]" for j, _ in self.pre]

        body = _assemble(used_args, fwd, bwd, outs_s, len(captured), gm_used, shared_g, pre_g)
        src = "\n".join(body) + "\n"
        self.source = src
        self.uses_pl = "_pl" in "\n".join(body[1:])  # parameters read as floats too
        exec(builtins.compile(src, "<autograd.compile batch=True>", "exec"), glob)
        self.run: Callable[..., Any] = glob["_batched"]
        self.grouped = sum(len(g.members) for g in groups.values())
        self.groups = len(groups)

    @staticmethod
    def _error_plan(order: list[Value], batched: dict[Value, bool], absorbed: set[Value],
                    member: dict[Value, tuple[_Group, int]], groups: dict[Any, _Group],
                    guards: list[Any]) -> tuple[dict[Value, bool], dict[Value, Any],
                                                dict[_Group, Any], set[Value]]:
        """Which values may differ from the dynamic engine's, and which comparisons to watch.

        A value is *approximate* when a matrix product or a NumPy function that
        is not the float rule's (``_INEXACT``) computed it or something it
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
        gchecks: dict[_Group, Any] = {}
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

    @staticmethod
    def _shared_scalar(order: list[Value], batched: dict[Value, bool], has: set[Value],
                       shared_vec: dict[Value, tuple[int, list[tuple[str, bool]], list[Any]]],
                       shared_local: dict[Value, str | list[str]], pidx: dict[Value, int],
                       needs: dict[Value, bool], glob: dict[str, Any],
                       boundary: set[Value]) -> list[str]:
        """The shared nodes' backward with each gradient summed over the batch (``h``)."""
        nodes = [node for node in reversed(order) if not batched[node] and node in has]
        lines = [f"    h{-node._id} = float(_np.sum(g{-node._id}))" if node in boundary
                 else f"    h{-node._id} = 0.0" for node in nodes]
        for node in nodes:
            m = -node._id
            if node in shared_vec:
                size, vec, ixs = shared_vec[node]
                for k, ((src, by_i), ix) in enumerate(zip(vec, ixs)):
                    q = src if by_i else f"_full({size}, {src})"
                    term = f"h{m} * _np.broadcast_to({q}, ({size},))"
                    lo = int(ix[0])
                    if ix.tolist() == list(range(lo, lo + size)):
                        lines.append(f"    _G[{lo}:{lo + size}] += {term}")
                    elif len(set(ix.tolist())) != ix.size:
                        lines.append(f"    _add_at(_G, _V{m}_{k}, {term})")
                    else:
                        lines.append(f"    _G[_V{m}_{k}] += {term}")
                continue
            loc = shared_local[node]
            if isinstance(loc, str):
                lines.append(f"    d{m} = {loc}")
            ops_ = node.operands
            npar = len(ops_) - op_of(node).params
            leaf_pos = [i for i, o in enumerate(ops_[:npar])
                        if isinstance(o, Value) and o in pidx and needs[o]]
            rest = list(range(npar))
            if len(leaf_pos) > 4 and isinstance(loc, str):
                dup = len(set(glob[f"_K{m}"].tolist())) != len(leaf_pos)
                val = f"h{m} * _np.asarray(d{m})[_P{m}]"
                lines.append(f"    _add_at(_G, _K{m}, {val})" if dup
                             else f"    _G[_K{m}] += {val}")
                rest = [i for i in range(npar) if i not in set(leaf_pos)]
            for i in rest:
                o = ops_[i]
                if not isinstance(o, Value) or not needs.get(o, False):
                    continue
                d_i = loc[i] if isinstance(loc, list) else f"d{m}[{i}]"
                if o in pidx:
                    lines.append(f"    _G[{pidx[o]}] += h{m} * {d_i}")
                elif not batched[o]:
                    lines.append(f"    h{-o._id} += h{m} * {d_i}")
        return lines

    @staticmethod
    def _chains(order: list[Value], outs: list[Value], guards: list[Any],
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

    @staticmethod
    def _whole(grp: _Group, member: dict[Value, tuple[_Group, int]]) -> _Group | None:
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

    def _x_source(self, grp: _Group, member: dict[Value, tuple[_Group, int]],
                  argi: dict[Value, int], ref: Callable[[Any], str], used: set[int]) -> str:
        prev = self._whole(grp, member)
        if prev is not None:
            return f"A{prev.gid}"
        xs = grp.xs
        if all(isinstance(x, Value) and x in argi for x in xs):
            idx = [argi[x] for x in xs]
            if idx == list(range(idx[0], idx[0] + len(idx))):
                return f"_D[:, {idx[0]}:{idx[-1] + 1}]"
        return f"_stack(_B, {', '.join(ref(x) for x in xs)})"


# ---------------------------------------------------------------------------
# The compiled batched function.


def _close(a: float, b: float, scale: float) -> bool:
    if a == b or (a != a and b != b):
        return True
    return abs(a - b) <= _REL * max(abs(a), abs(b), scale)


class BatchedCompiled:
    """A per-sample loss compiled to run over whole batches (see :mod:`autograd.batched`).

    ``step(X, Y)`` takes one batch per argument of the per-sample function:
    a sequence (or NumPy array) with one item per sample, each item a number
    or a (nested) list of numbers shaped as the function expects. It returns
    the reduced loss (a float), or, when the function returns a tuple
    ``(loss, *outputs)``, ``(loss, *outputs)`` with each output a NumPy array
    of one value per sample; and it accumulates the reduced loss's gradient
    into the ``.grad`` of every Value the function captures.

    Attributes:
        fn: the per-sample function.
        reduction: ``"mean"`` or ``"sum"``.
        traces: how many programs (branches) have been traced.
        fallback_samples: how many samples ran through the per-sample
            compiled path so far (guards beyond ``max_traces``, or a failed
            self-check).
    """

    def __init__(self, fn: Callable[..., Any], *, reduction: str = "mean",
                 max_traces: int = 8) -> None:
        if not callable(fn):
            raise TypeError(f"compile(batch=True): expected a function, got {type(fn).__name__}")
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"compile(batch=True): reduction must be one of {', '.join(REDUCTIONS)}, "
                f"got {reduction!r}"
            )
        if isinstance(max_traces, bool) or not isinstance(max_traces, int) or max_traces < 1:
            raise ValueError(
                f"compile(batch=True): max_traces must be a positive int, got {max_traces!r}"
            )
        self._np = require_numpy()
        namespace()
        self.fn = fn
        self.reduction = reduction
        self.max_traces = max_traces
        self.traces = 0
        self.fallback_samples = 0
        self._programs: dict[tuple[Any, ...], list[_Program | None]] = {}
        self._fallback: Compiled | None = None
        self._lock = threading.RLock()  # traces and the per-sample path use the Values
        self._is_single = True
        self.__doc__ = getattr(fn, "__doc__", None)

    # -- inputs
    def _columns(self, args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...], int]:
        np = self._np
        if not args:
            raise TypeError("compile(batch=True): call it with one batch per argument")
        mats = []
        key: list[Any] = []
        n = None
        for k, a in enumerate(args):
            if isinstance(a, (Value, int, float)):
                raise TypeError(
                    f"compile(batch=True): argument {k} is a single "
                    f"{type(a).__name__}; pass one item per sample (a list or array)"
                )
            try:
                arr = np.asarray(a, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(
                    f"compile(batch=True): argument {k} is not a batch of numbers with "
                    "one shape per sample (a list of numbers or of equal-length lists, or "
                    "a NumPy array); samples of different structure need separate calls"
                ) from None
            if arr.ndim == 0 or arr.shape[0] == 0:
                raise ValueError(f"compile(batch=True): argument {k} holds no samples")
            if n is None:
                n = arr.shape[0]
            elif arr.shape[0] != n:
                raise ValueError(
                    f"compile(batch=True): argument 0 has {n} samples and argument {k} has "
                    f"{arr.shape[0]}; pass the same number of each"
                )
            key.append(arr.shape[1:])
            first = a[0]
            key.append(type(first) if not hasattr(first, "dtype") else "array")
            mats.append(arr.reshape(n, -1))
        D = mats[0] if len(mats) == 1 else np.concatenate(mats, axis=1)
        assert n is not None
        return D, tuple(key), n

    @staticmethod
    def _sample(args: tuple[Any, ...], i: int) -> tuple[Any, ...]:
        out = []
        for a in args:
            item = a[i]
            out.append(item.tolist() if hasattr(item, "tolist") else item)
        return tuple(out)

    # -- programs
    def _new_program(self, args: tuple[Any, ...], i: int) -> _Program | None:
        sample = self._sample(args, i)
        self.traces += 1
        prog = _Program(self.fn, sample)
        self._is_single = prog.single
        if self._self_check(prog):
            return prog
        prog = _Program(self.fn, sample, group=False)
        return prog if self._self_check(prog) else None

    def _self_check(self, prog: _Program) -> bool:
        """Run ``prog`` on its own sample; compare with the dynamic engine's trace."""
        from autograd.functional import grad

        np = self._np
        flat: list[Any] = []
        flatten(prog.sample, flat, [], "sample")
        D = np.array([[float(x) for x in flat]], dtype=np.float64).reshape(1, len(flat))
        pl = [v._data for v in prog.captured]
        with np.errstate(all="ignore"):
            outs, G, near = prog.run(D, pl, np.array(pl, dtype=np.float64), 1.0)
        if outs is None:  # near a kink its sample takes the dynamic engine's path
            return near is True
        for got, o in zip(outs, prog.outs_trace):
            val = float(np.asarray(got).ravel()[0]) if np.ndim(got) else float(got)
            if not _close(val, o.data, 0.0):
                return False
        loss = prog.outs_trace[0]
        wanted = list(prog.captured)
        if not wanted or not loss.parents:
            return True
        want = [g.data for g in grad(loss, wanted, allow_unused=True)]
        scale = max((abs(w) for w in want if w == w and abs(w) != _INF), default=0.0)
        return all(_close(float(a), b, scale) for a, b in zip(G.tolist(), want))

    def _per_sample(self) -> Compiled:
        if self._fallback is None:
            fn = self.fn

            def scaled(s: Any, *a: Any) -> Any:
                r = fn(*a)
                if isinstance(r, Value):
                    return (r * s, r)
                return (r[0] * s, *r)

            self._fallback = Compiled(scaled)
        return self._fallback

    # -- running
    def _programs_for(self, key: tuple[Any, ...]) -> list[_Program | None]:
        """The programs of one sample shape; at most ``max_traces`` shapes are kept."""
        progs = self._programs.get(key)
        if progs is None:
            with self._lock:
                progs = self._programs.get(key)
                if progs is None:
                    if len(self._programs) >= self.max_traces:  # as plain compile: oldest out
                        self._programs.pop(next(iter(self._programs)))
                    progs = self._programs[key] = []
        return progs

    def _execute(self, args: tuple[Any, ...], backward: bool,
                 arr: _ArrayCall | None = None, theta: Any = None) -> Any:
        np = self._np
        D, key, n = self._columns(args)
        seed = 1.0 / n if self.reduction == "mean" else 1.0
        progs = self._programs_for(key)
        rows = None  # None: all rows
        parts: list[tuple[Any, tuple[Any, ...]]] = []  # (row indices or None, outs)
        exact: list[Any] = []  # rows the dynamic engine's own path takes (near a kink)
        k = 0
        with np.errstate(all="ignore"):
            while rows is None or rows.size:
                if k == len(progs):
                    if len(progs) >= self.max_traces:
                        break
                    with self._lock:  # one trace at a time: it reads the Values
                        if k == len(progs):
                            first = 0 if rows is None else int(rows[0])
                            if arr is not None:  # the trace reads the parameters' Values
                                arr._write(theta)
                            progs.append(self._new_program(args, first))
                prog = progs[k]
                if prog is None:  # failed its self-check: the rest go sample by sample
                    break
                idx = np.arange(n) if rows is None else rows
                rows, state = self._run(prog, D, rows, idx, arr, theta, seed, backward,
                                        parts, exact)
                if state == "next":
                    k += 1
        if rows is None:
            rows = np.arange(n)
        rest = np.concatenate([rows, *exact]) if exact else rows
        if rest.size:
            rest = np.sort(rest)
            if arr is None:
                with self._lock:
                    parts.append((rest, self._run_per_sample(args, rest, seed, backward)))
            else:
                parts.append((rest, arr._per_sample(theta, args, rest, seed, backward)))
        return self._assemble(parts, n)

    def _run(self, prog: _Program, D: Any, rows: Any, idx: Any, arr: _ArrayCall | None,
             theta: Any, seed: float, backward: bool, parts: list[Any],
             exact: list[Any]) -> tuple[Any, str]:
        """Run ``prog`` on ``rows`` (None: all); return the rows left and what to do next.

        Samples near a kink (within their values' error bounds) join ``exact``;
        those taking another branch are left for the next program (``"next"``);
        after samples were set aside, the program runs again on the others
        (``"again"``).
        """
        np = self._np
        sub = D if rows is None else D[rows]
        if arr is None:
            pa = np.fromiter(map(_DATA, prog.captured), np.float64, len(prog.captured))
        else:
            perm = arr._perm(prog)
            pa = theta if perm is None else theta[perm]
        pl = pa.tolist() if prog.uses_pl else None
        outs, G, pre = prog.run(sub, pl, pa, seed)
        if outs is None:
            ok = G if G.ndim else np.full(sub.shape[0], bool(G))
            if pre is True:  # near a kink: the dynamic engine's path for those
                exact.append(idx[~ok])
                return idx[ok], "again"
            take, rest = idx[ok], idx[~ok]
            left, state = take, "again"
            while left.size and state == "again":
                left, state = self._run(prog, D, left, left, arr, theta, seed, backward,
                                        parts, exact)
                if state == "next":
                    raise TraceError(
                        "compile(batch=True): a guard changed between two runs on the "
                        "same samples; the function depends on state the trace cannot see"
                    )
            return rest, "next"
        parts.append((rows, outs))
        if backward:
            self._accumulate(prog, G, pre) if arr is None else arr._add(prog, G)
        return idx[:0], "done"

    @staticmethod
    def _accumulate(prog: _Program, G: Any, pre: tuple[Any, ...]) -> None:
        if prog.pre:
            keep = [g for j, g in enumerate(G.tolist()) if j not in prog.pre_index]
        else:
            keep = G.tolist()
        for v, g in zip(prog.leaves, keep):
            v.grad += g
        for (_, v), g in zip(prog.pre, pre):
            v.backward(float(g))

    def _run_per_sample(self, args: tuple[Any, ...], rows: Any, seed: float,
                        backward: bool) -> tuple[Any, ...]:
        comp = self._per_sample()
        res = []
        for i in rows.tolist():
            sample = self._sample(args, i)
            out = comp(seed, *sample) if backward else comp.forward(seed, *sample)
            res.append(out[1:])
        self.fallback_samples += len(res)
        cols = list(zip(*res))
        return tuple(self._np.array(c, dtype=self._np.float64) for c in cols) if cols else ()

    def _assemble(self, parts: list[tuple[Any, tuple[Any, ...]]], n: int) -> Any:
        np = self._np
        if len(parts) == 1 and parts[0][0] is None:
            outs = [o if np.ndim(o) else np.full(n, float(o)) for o in parts[0][1]]
        else:
            nout = len(parts[0][1])
            outs = [np.empty(n) for _ in range(nout)]
            for rows, vals in parts:
                sel = slice(None) if rows is None else rows
                for arr, v in zip(outs, vals):
                    arr[sel] = v
        per = outs[0]
        total = N.fsum(per.tolist())
        loss = total / n if self.reduction == "mean" else total
        return loss, outs

    def __call__(self, *args: Any) -> Any:
        """Run forward and backward over the batch; accumulate ``.grad``; return the loss.

        Args:
            *args: one batch per argument of the per-sample function (a list
                or NumPy array with one item per sample).

        Returns:
            The reduced loss (float); ``(loss, *outputs)`` with NumPy arrays of
            per-sample outputs when the function returns a tuple.

        Raises:
            TypeError: for an argument that is not a batch of numbers.
            ValueError: for empty batches or batches of different lengths.
            TraceError: if the function cannot be traced.
        """
        loss, outs = self._execute(args, True)
        return loss if self._single() else (loss, *outs[1:])

    def forward(self, *args: Any) -> Any:
        """Forward only: as :meth:`__call__`, without changing any ``.grad``."""
        loss, outs = self._execute(args, False)
        return loss if self._single() else (loss, *outs[1:])

    def losses(self, *args: Any) -> Any:
        """Return the per-sample losses as a NumPy array (no ``.grad`` changes)."""
        return self._execute(args, False)[1][0]

    def _single(self) -> bool:
        return self._is_single

    def programs(self, *args: Any) -> list[_Program]:
        """Return the programs (one per branch) traced for these arguments' shapes."""
        _, key, _ = self._columns(args)
        return [p for p in self._programs.get(key, []) if p is not None]

    def source(self, *args: Any) -> str:
        """Return the generated source of the first program for these arguments (tracing now)."""
        _, key, _ = self._columns(args)
        if not self._programs.get(key):
            self.forward(*args)
        progs = self.programs(*args)
        if not progs:
            raise TraceError("compile(batch=True): no batched program (per-sample path only)")
        return progs[0].source

    def array_step(self, params: Sequence[Value]) -> ArrayStep:
        """Return this step with the parameters passed and returned as arrays.

        Args:
            params: the Values the function captures (every one of them, e.g.
                ``model.parameters()``), in the order of the arrays.

        Returns:
            An :class:`ArrayStep`: ``loss, grad, outputs = arr(theta, X, Y)``.

        Raises:
            TypeError: if ``params`` holds something other than Values.
            ValueError: if ``params`` is empty or holds a Value twice.
        """
        return ArrayStep(self, params)


class ArrayStep:
    """A :class:`BatchedCompiled` step over parameters held in one float64 array.

    ``loss, grad, outputs = arr(theta, *batch)`` runs forward and backward over
    the batch with ``theta[i]`` as the value of ``params[i]`` and returns the
    reduced loss (a float), its gradient with respect to ``theta`` (a new
    float64 array, ``grad[i]`` for ``params[i]``) and the function's further
    outputs (a tuple of per-sample arrays; empty when it returns only the
    loss). The gradient is what the Value call would accumulate into
    ``params[i].grad``; neither ``.data`` nor ``.grad`` of the Values is used,
    except that tracing a new program (the first call, a new branch) first
    writes ``theta`` into ``.data`` (the trace reads the parameters), and
    samples sent to the per-sample fallback run on the Values (their
    ``.data`` set to ``theta``, their ``.grad`` restored afterwards).

    Threads may call one step at once: a call's running gradient is its own,
    and traces and the per-sample fallback (which borrow the Values) take the
    step's lock in turn.

    Attributes:
        compiled: the :class:`BatchedCompiled` step.
        params: the parameters, in array order.
    """

    def __init__(self, compiled: BatchedCompiled, params: Sequence[Value]) -> None:
        ps = list(params)
        who = "compile(batch=True).array_step"
        if not ps:
            raise ValueError(f"{who}: params is empty; pass the Values the function captures "
                             "(e.g. model.parameters())")
        for i, p in enumerate(ps):
            if not isinstance(p, Value):
                raise TypeError(f"{who}: params[{i}] must be a Value, got {type(p).__name__}")
        index = {p: i for i, p in enumerate(ps)}
        if len(index) != len(ps):
            raise ValueError(f"{who}: params holds a Value twice; list each parameter once")
        self.compiled = compiled
        self.params = ps
        self._index = index
        self._perms: dict[int, Any] = {}

    def _perm(self, prog: _Program) -> Any:
        """Where each of ``prog``'s captured Values is in ``params`` (None: the same order)."""
        key = id(prog)
        if key not in self._perms:
            who = "compile(batch=True).array_step"
            if prog.pre:
                v = prog.pre[0][1]
                raise ValueError(
                    f"{who}: the function reads {v!r}, a Value computed outside it (it has "
                    "parents), which an array of parameters cannot stand for; compute it "
                    "inside the function or use the Value call")
            missing = [v for v in prog.captured if v not in self._index]
            if missing:
                raise ValueError(
                    f"{who}: the function reads {len(missing)} Value(s) not in params (the "
                    f"first: {missing[0]!r}); pass every Value it captures, e.g. "
                    "model.parameters()")
            perm = [self._index[v] for v in prog.captured]
            same = perm == list(range(len(self.params)))
            self._perms[key] = (prog, None if same else self.compiled._np.array(perm,
                                                                              dtype="intp"))
        return self._perms[key][1]

    def _write(self, theta: Any) -> None:
        for p, v in zip(self.params, theta.tolist()):
            p.data = v


    def __call__(self, theta: Any, *args: Any) -> tuple[float, Any, tuple[Any, ...]]:
        """Run forward and backward over the batch with the parameters ``theta``.

        Args:
            theta: a float64 array (or sequence of floats), one value per parameter.
            *args: one batch per argument of the per-sample function.

        Returns:
            ``(loss, grad, outputs)``: the reduced loss, its gradient (a new
            float64 array shaped as ``theta``) and the per-sample outputs.

        Raises:
            TypeError: if ``theta`` does not hold one number per parameter, or
                for a batch that is not numbers.
            ValueError: for empty or unequal batches, or a function that
                reads a Value not in ``params``.
        """
        theta = self._theta(theta)
        call = _ArrayCall(self, theta)  # this call's running gradient: its own
        loss, outs = self.compiled._execute(args, True, call, theta)
        return loss, call.grad, tuple(outs[1:])

    def _theta(self, theta: Any) -> Any:
        np = self.compiled._np
        try:
            arr = np.asarray(theta, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.shape != (len(self.params),):
            raise TypeError(
                f"compile(batch=True).array_step: theta must hold one number per parameter "
                f"({len(self.params)}), got {type(theta).__name__}"
                f"{'' if arr is None else f' of shape {arr.shape}'}")
        return arr


class _ArrayCall:
    """One :class:`ArrayStep` call's state: its running gradient (never on the step, so
    that threads may call one step at once)."""

    __slots__ = ("grad", "step")

    def __init__(self, step: ArrayStep, theta: Any) -> None:
        self.step = step
        self.grad = step.compiled._np.zeros(len(step.params))

    def _perm(self, prog: _Program) -> Any:
        return self.step._perm(prog)

    def _write(self, theta: Any) -> None:
        self.step._write(theta)

    def _add(self, prog: _Program, G: Any) -> None:
        perm = self.step._perm(prog)
        if perm is None:
            self.grad += G
        else:
            self.grad[perm] += G

    def _per_sample(self, theta: Any, args: tuple[Any, ...], rows: Any, seed: float,
                    backward: bool) -> tuple[Any, ...]:
        """Run ``rows`` through the per-sample path on the Values (under the step's lock:
        their ``.data`` and ``.grad`` are borrowed, then restored)."""
        ps = self.step.params
        with self.step.compiled._lock:
            self.step._write(theta)
            saved = [p.grad for p in ps]
            for p, g in zip(ps, self.grad.tolist()):  # they add on, as the Value call's do
                p.grad = g
            try:
                res = self.step.compiled._run_per_sample(args, rows, seed, backward)
                self.grad = self.step.compiled._np.array([p.grad for p in ps],
                                                         dtype="float64")
            finally:
                for p, g in zip(ps, saved):
                    p.grad = g
        return res


def compile_batched(fn: Callable[..., Any] | None = None, *, reduction: str = "mean",
                    max_traces: int = 8) -> Any:
    """Compile a per-sample loss to run forward and backward over whole batches with NumPy.

    ``step = compile_batched(per_sample_loss)``; then ``step(X, Y)`` returns
    ``reduction`` (``"mean"`` or ``"sum"``) of ``per_sample_loss(X[i], Y[i])``
    over the batch and accumulates its gradient into every captured Value's
    ``.grad``, as ``autograd.mean([...]).backward()`` would (equal within
    rounding: the batch is summed in another order). Usable as a decorator.

    Args:
        fn: ``per_sample_loss(*sample) -> Value`` (or a tuple, the loss first).
        reduction: how the per-sample losses combine.
        max_traces: how many branches (guard outcomes) get their own program
            before further samples use the per-sample compiled path.

    Returns:
        A :class:`BatchedCompiled` (or a decorator making one if ``fn`` is None).

    Raises:
        ImportError: if NumPy is not installed (``pip install 'chainrule[fast]'``).
        TypeError: if ``fn`` is not callable.
        ValueError: for an unknown reduction or a bad ``max_traces``.
    """
    if fn is None:
        return lambda f: BatchedCompiled(f, reduction=reduction, max_traces=max_traces)
    return BatchedCompiled(fn, reduction=reduction, max_traces=max_traces)
