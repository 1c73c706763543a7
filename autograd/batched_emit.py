"""One batched program: a trace turned into NumPy code (the passes of :mod:`autograd.batched`).

:class:`Program` runs the passes in order, each a named function or method:

1. **trace** (:func:`autograd.trace.trace`) on the batch's first sample, and
   :func:`classify`: which nodes are *batched* (reached from the sample) and
   which need a gradient;
2. **chains and groups** (:func:`autograd.batch_rules.find_chains`,
   :func:`~autograd.batch_rules.find_groups`): affine nodes become matrix
   products;
3. **layout** (:func:`~autograd.batch_rules.layout`) of the parameter vector;
4. **error plan** (:func:`~autograd.batch_rules.error_plan`): what may differ
   from the dynamic engine's values and which comparisons to watch;
5. **emit forward**: the shared nodes as floats (:meth:`Forward.shared`), then
   the batched ones in creation order, one rule per op kind: a group's product
   (:meth:`Forward.group`), an op rendered elementwise from its formula
   (:meth:`Forward.node`; the NumPy forms come from
   :mod:`autograd.formula_numpy`), or its float functions once per sample;
6. **guards** (:meth:`Forward.guards`): one boolean per sample;
7. **emit backward** (:mod:`autograd.batched_backward`);
8. **assemble** (:func:`autograd.batched_backward.assemble`) and compile.
"""

from __future__ import annotations

import builtins
import operator
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autograd.batch_rules import Group, error_plan, find_chains, find_groups, layout, op_of, whole
from autograd.batched_backward import Backward, assemble
from autograd.compile import TraceStats, helper_calls
from autograd.engine import Value
from autograd.formula_numpy import (
    FormulaRendered,
    Side,
    bound,
    namespace,
    render,
    write_into,
)
from autograd.trace import flatten, literal, trace

__all__ = ["BatchedStats", "Forward", "Program", "WorkArrays", "classify", "own"]


@dataclass(frozen=True)
class BatchedStats(TraceStats):
    """What a batched step's traces became (``compile(f, batch=True).stats(*args)``).

    The fields of :class:`~autograd.compile.TraceStats`, summed over the
    programs (one per branch of the guards) serving these arguments' shapes;
    here ``calls`` counts the nodes run by their op's float functions sample
    by sample (``numpy.frompyfunc``: an op with neither formula nor
    templates), and:

    Attributes:
        programs: the programs traced for this batch shape (one per branch).
        groups: matrix products formed (layers of fused neurons, ``dot``
            nodes or micrograd-style ``sum(w*x, b)`` chains).
        grouped: affine nodes computed inside them.
        vector_ops: op name -> shared nodes over many parameters (an L2
            penalty's ``dot(ps, ps)``) run as one NumPy call on the
            parameter vector.
    """

    programs: int
    groups: int
    grouped: int
    vector_ops: Mapping[str, int]

    def __add__(self, other: BatchedStats) -> BatchedStats:
        """The stats of two programs together (counts summed)."""
        def add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
            return dict(Counter(a) + Counter(b))

        return BatchedStats(
            self.nodes + other.nodes, add(self.ops, other.ops),
            self.constants + other.constants, self.guards + other.guards,
            self.calls + other.calls, add(self.helper_calls, other.helper_calls),
            self.programs + other.programs, self.groups + other.groups,
            self.grouped + other.grouped, add(self.vector_ops, other.vector_ops))


class WorkArrays:
    """A program's work arrays, kept between calls: one set per batch size and
    concurrent call.

    A call takes a set (``take(n)``: float64 arrays of ``(n, cols)`` for each
    entry of ``cols``) and gives it back when it returns (``give``), so that its
    batch-sized intermediates (products, activations, their slopes, gradients)
    are written into memory that is already mapped instead of being allocated
    afresh, which for large arrays is an ``mmap`` whose pages fault in on every
    call (glibc's malloc maps 128 KiB and more apart, and gives them back on
    ``free``). A set is taken by one call at a time (threads calling the program
    at once get sets of their own); the sets kept hold at most ``max_bytes``
    together (the oldest batch size goes first, and a set larger than that is
    not kept). A small batch (its widest array under ``min_bytes``, where
    allocating is cheap) gets ``None`` for each array: the program then
    allocates as NumPy does. What a program returns is never a work array (its
    outputs are copied out when they are views).
    """

    SETS = 4  # sets kept per batch size (concurrent calls)

    def __init__(self, np: Any, cols: list[int], min_bytes: int = 1 << 16,
                 max_bytes: int = 1 << 26) -> None:
        self.np, self.cols, self.max_bytes = np, cols, max_bytes
        self.row_bytes = 8 * sum(cols)
        self.min_rows = -(-min_bytes // (8 * max(cols, default=1)))
        self.none = [None] * len(cols)
        self.free: dict[int, list[list[Any]]] = {}

    def take(self, n: int) -> list[Any]:
        """A set of work arrays for a batch of ``n`` samples (new if none is free)."""
        if n < self.min_rows:
            return self.none
        sets = self.free.get(n)
        if sets:
            try:
                return sets.pop()
            except IndexError:  # another thread took the last one
                pass
        empty = self.np.empty
        return [empty((n, c)) for c in self.cols]

    def kept_bytes(self) -> int:
        """The bytes of the sets kept now."""
        return sum(len(sets) * n for n, sets in list(self.free.items())) * self.row_bytes

    def give(self, n: int, work: list[Any], result: Any) -> Any:
        """Keep ``work`` for the next call on ``n`` samples; return ``result``."""
        if n < self.min_rows:
            return result
        size = n * self.row_bytes
        sets = self.free.get(n)
        if sets is None or len(sets) < self.SETS:
            while self.free and self.kept_bytes() + size > self.max_bytes:
                old = next((k for k in list(self.free) if k != n), None)
                if old is None:
                    return result  # this size alone fills the budget: not kept
                self.free.pop(old, None)  # the oldest batch size out
            if self.kept_bytes() + size > self.max_bytes:
                return result
            self.free.setdefault(n, []).append(work)
        return result


def own(x: Any) -> Any:
    """``x``, or a copy of it when it is a view (of a work array, of the batch)."""
    return x.copy() if getattr(x, "base", None) is not None else x


def _picker(srcs: Sequence[str], objs: Sequence[Any]) -> Callable[[int], tuple[str, Any]]:
    """Operand ``k``'s source and object, for a comparison's side."""
    return lambda k: (srcs[k], objs[k])


def _own_error(r: Any, default: bool = True) -> str:
    """The rounding bound of one rendered op's own result (0 for a selection)."""
    if getattr(r, "select", False):
        return "0.0"
    return "9.2e-16" if getattr(r, "inexact", default) else "4.6e-16"


def classify(targs: list[Value], captured: list[Value], order: list[Value],
             ) -> tuple[dict[Value, bool], dict[Value, bool]]:
    """Pass 1b: which nodes are batched (depend on the sample) and which need a
    gradient (depend on a parameter)."""
    batched: dict[Value, bool] = dict.fromkeys(targs, True)
    needs: dict[Value, bool] = dict.fromkeys(targs, False)
    for v in captured:
        batched[v] = False
        needs[v] = True
    for node in order:
        ps = node.parents
        batched[node] = any(batched[p] for p in ps)
        needs[node] = any(needs[p] for p in ps)
    return batched, needs


class Forward:
    """Pass 5-6: the forward lines of one program, and the names and bounds they define.

    ``ref(o)`` names a value (an argument column, a parameter, a node, a
    group's column); ``eref(o)`` is a bound on how far it may be from the
    dynamic engine's value; ``check`` emits the run-time test of a
    comparison's sides against their bounds (samples near a kink take the
    dynamic engine's path).
    """

    def __init__(self, np: Any, glob: dict[str, Any], argi: dict[Value, int],
                 pidx: dict[Value, int], member: dict[Value, tuple[Group, int]],
                 approx: dict[Value, bool], batched: dict[Value, bool],
                 needs: dict[Value, bool]) -> None:
        self.np, self.glob, self.argi, self.pidx = np, glob, argi, pidx
        self.member, self.approx, self.batched, self.needs = member, approx, batched, needs
        self.fwd: list[str] = []
        self.emit = self.fwd.append
        self.name: dict[Value, str] = {}
        self.err: dict[Value, tuple[str, str]] = {}  # approx node: (its error bound, against 0)
        self.used_args: set[int] = set()
        self.mags: dict[Any, str] = {}
        self.fnames: dict[int, str] = {}
        self.local_of: dict[Value, list[str | None]] = {}
        self.shared_local: dict[Value, str | list[str]] = {}  # a call, or one expression each
        self.shared_vec: dict[Value, tuple[int, list[tuple[str, bool]], list[Any]]] = {}
        self.gsrc: dict[Group, str] = {}
        self.pm_done = False
        self.calls = 0  # nodes run by their op's float functions, sample by sample
        self.work: list[int] = []  # the work arrays' columns (each (B, cols) float64)

    def work_array(self, cols: int) -> str:
        """Reserve a work array of ``(B, cols)`` (see :class:`WorkArrays`); return its source."""
        self.work.append(cols)
        return f"_w[{len(self.work) - 1}]"

    # -- names and bounds
    def ref(self, o: Any) -> str:
        """The source of value ``o`` (naming it on first use)."""
        if not isinstance(o, Value):
            return literal(o)
        nm = self.name.get(o)
        if nm is not None:
            return nm
        if o in self.argi:
            i = self.argi[o]
            self.used_args.add(i)
            nm = f"a{i}"
        elif o in self.pidx:
            nm = f"_pl[{self.pidx[o]}]"
        else:
            g, j = self.member[o]
            nm = f"v{o._id * -1}"
            self.emit(f"    {nm} = A{g.gid}[:, {j}]")
        self.name[o] = nm
        return nm

    def eref(self, o: Any, zero: bool = False) -> str:
        """The source of a bound on how far ``o`` may be from the dynamic engine's value."""
        if not isinstance(o, Value) or not self.approx.get(o, False):
            return "0.0"
        if o in self.member:
            grp_ = self.member[o][0]
            # a product's side of 0 is the dynamic engine's (fix_affine)
            return "0.0" if zero and grp_.act is None else f"EA{grp_.gid}"
        e = self.err.get(o)
        return "_inf" if e is None else (e[1] if zero else e[0])

    def check(self, sides: list[tuple[Side, Side]],
              srcs: Callable[[int], tuple[str, Any]]) -> None:
        """Mark the samples where a comparison's sides are within their bounds."""
        for a, b in sides:
            if a[0] == "?":
                self.emit("    _nr[:] = True")
                continue
            (ls, lo), (rs, ro) = [srcs(x[1]) if x[0] == "x" else (literal(x[1]), None)
                                  for x in (a, b)]
            zero = (a == ("c", 0.0)) or (b == ("c", 0.0))
            es = [(o[2] if zero else o[1]) if isinstance(o, tuple) else self.eref(o, zero)
                  for o in (lo, ro) if o is not None]
            es = [e for e in es if e != "0.0"]
            if es:
                self.emit(f"    _near(_nr, {ls}, {rs}, {' + '.join(es)})")

    def mag(self, o: Any) -> str:
        """The source of a bound on ``max |o|`` over the batch."""
        mags = self.mags
        if not isinstance(o, Value):
            return repr(abs(float(o)))
        if o in mags:
            return mags[o]
        if o in self.member:
            g = self.member[o][0].gid
            key: Any = ("group", g)
            if key not in mags:
                self.emit(f"    MA{g} = _amax(A{g})")
                mags[key] = f"MA{g}"
            return mags[key]
        if o in self.pidx:
            return f"abs({self.ref(o)})"
        nm = f"M{-o._id}"
        self.emit(f"    {nm} = _amax({self.ref(o)})")
        mags[o] = nm
        return nm

    def emit_err(self, node: Value, out: str, own: str, pairs: list[tuple[str, Any]]) -> None:
        """Emit ``e<m>``: a bound on how far ``out`` may be from the dynamic engine's."""
        m = -node._id
        terms = []
        if own != "0.0":
            op_name = op_of(node).name
            ops_ = node.operands
            if op_name in ("add", "sub"):
                self.mags[node] = f"M{m}"
                self.emit(f"    M{m} = {self.mag(ops_[0])} + {self.mag(ops_[1])}")
            elif op_name == "mul":
                self.mags[node] = f"M{m}"
                self.emit(f"    M{m} = {self.mag(ops_[0])} * {self.mag(ops_[1])}")
            terms.append(f"{own} * {self.mag(node) if node in self.mags else f'_amax({out})'}")
        refs = {self.ref(o): o for o in node.operands}
        for d, o in pairs:
            e = self.eref(o)
            if e == "0.0":
                continue
            b = bound(d)
            if b == d:
                b = self.mag(refs[d]) if d in refs else f"_amax({d})"
            terms.append(e if b == "1.0" else f"{b} * {e}")
        self.emit(f"    e{m} = _fin({' + '.join(terms) or '0.0'})")
        self.err[node] = (f"e{m}", f"e{m}")

    def fname(self, fun: Any, kind: str) -> str:
        """The global name of an op's float function in the generated code."""
        key = id(fun)
        if key not in self.fnames:
            self.fnames[key] = f"_{kind}{len(self.fnames)}"
            self.glob[self.fnames[key]] = fun
        return self.fnames[key]

    # -- shared nodes (parameters only), as floats
    def shared(self, node: Value) -> None:
        """Rule for a shared node: many parameters through a formula as vectors, a small
        op inline from its float templates (as autograd.compile), else a call."""
        op: Any = node._entry
        operands = node.operands
        pidx = self.pidx
        rv = (render(op, len(operands)) if len(operands) >= 8
              and all(isinstance(o, Value) and o in pidx for o in operands) else None)
        if isinstance(rv, FormulaRendered) and rv.variadic:
            self._shared_vector(node, rv)
            return
        cg = op.codegen
        if cg is not None and len(operands) <= 4 and all(
                self.glob.get(k, v) is v for k, v in cg.names.items()):
            self._shared_template(node, cg)
            return
        m = -node._id
        if len(operands) > 8 and all(isinstance(o, Value) and o in pidx for o in operands):
            self.glob[f"_ig{m}"] = operator.itemgetter(
                *[pidx[o] for o in operands])  # type: ignore[index]
            joined = f"*_ig{m}(_pl)"  # many parameters (an L2 penalty): one C-level gather
        else:
            joined = ", ".join(self.ref(o) for o in operands)
        out = f"v{m}"
        self.emit(f"    {out} = {self.fname(op.forward, 'f')}({joined})")
        self.name[node] = out
        if self.needs[node]:
            self.shared_local[node] = f"{self.fname(op.local, 'l')}({out}, {joined})"

    def _shared_vector(self, node: Value, rv: FormulaRendered) -> None:
        """Many parameters through a formula (an L2 penalty as dot(ps, ps)): vectors."""
        np, m, operands, pidx = self.np, -node._id, node.operands, self.pidx
        srcs = []
        ixs = []
        groups_ix = [[pidx[o] for o in operands[k * rv.size:(k + 1) * rv.size]]  # type: ignore[index]
                     for k in range(len(rv.rule.names))]
        lo = min(groups_ix[0])
        whole_ = (not rv.reindexed and all(g == groups_ix[0] for g in groups_ix)
                  and sorted(groups_ix[0]) == list(range(lo, lo + rv.size)))
        for k, gi in enumerate(groups_ix):
            # every group the same parameters, each once, a contiguous block (all
            # parameters in an L2 penalty): read them in block order, a view; the
            # formula (elementwise in i, sums over groups) cannot tell the order
            ix = np.arange(lo, lo + rv.size) if whole_ else np.array(gi, dtype=np.intp)
            self.glob[f"_V{m}_{k}"] = ix
            ixs.append(ix)
            srcs.append(f"_pa[{lo}:{lo + rv.size}]" if whole_ else f"_pa[_V{m}_{k}]")
        out = f"v{m}"
        vec = rv.shared_vector(srcs, out, self.needs[node], self.emit, self.glob)
        self.name[node] = out
        if self.needs[node]:
            self.shared_vec[node] = (rv.size, vec, ixs)

    def _shared_template(self, node: Value, cg: Any) -> None:
        """A small shared op inline, from its float templates (as autograd.compile)."""
        m, operands, emit = -node._id, node.operands, self.emit
        self.glob.update(cg.names)
        n_ = len(operands)
        args = [self.ref(o) for o in operands]
        kw: dict[str, str] = {}
        for k, t in enumerate(cg.temp_templates(n_)):
            emit(f"    ts{m}_{k} = {t.format(*args, **kw)}")
            kw[f"t{k}"] = f"ts{m}_{k}"
        out = f"v{m}"
        emit(f"    {out} = {cg.forward_template(n_).format(*args, **kw)}")
        self.name[node] = out
        if self.needs[node]:
            kw["out"] = out
            for k, t in enumerate(cg.after_templates(n_)):
                emit(f"    us{m}_{k} = {t.format(*args, **kw)}")
                kw[f"u{k}"] = f"us{m}_{k}"
            self.shared_local[node] = [f"({t.format(*args, **kw)})"
                                       for t in cg.local_templates(n_)]

    # -- batched nodes
    def x_source(self, grp: Group) -> str:
        """The source of a group's input matrix ``X``."""
        prev = whole(grp, self.member)
        if prev is not None:
            return f"A{prev.gid}"
        xs = grp.xs
        if all(isinstance(x, Value) and x in self.argi for x in xs):
            idx = [self.argi[x] for x in xs]
            if idx == list(range(idx[0], idx[0] + len(idx))):
                return f"_D[:, {idx[0]}:{idx[-1] + 1}]"
        return f"_stack(_B, {', '.join(self.ref(x) for x in xs)})"

    def group(self, grp: Group, gchecks: dict[Group, Any]) -> None:
        """Rule for an affine group: ``Z = X @ W (+ b)``, its exact fix-up near 0, then
        the activation elementwise (``A``, its slope ``S`` and bound ``EA``)."""
        np, emit, g, pidx = self.np, self.emit, grp.gid, self.pidx
        x_src = self.x_source(grp)
        self.gsrc[grp] = x_src
        emit(f"    X{g} = {x_src}")
        k_, n_ = len(grp.members), len(grp.xs)
        if grp.start is not None:
            s0, s1 = grp.start, grp.start + k_ * n_
            emit(f"    W{g} = _pa[{s0}:{s1}].reshape({k_}, {n_}).T")
            bias_src = f"_pa[{s1}:{s1 + k_}]"
        else:
            widx = np.array([[pidx[w] for w in ws] for ws in grp.ws], dtype=np.intp).T
            self.glob[f"_I{g}"] = widx
            grp.dup = len(set(widx.ravel().tolist())) != widx.size
            emit(f"    W{g} = _pa[_I{g}]")
            bias_src = f"_pa[_J{g}]"
            if grp.bias:
                bidx = np.array([pidx[b] for b in grp.bs], dtype=np.intp)
                self.glob[f"_J{g}"] = bidx
                grp.bdup = len(set(bidx.tolist())) != bidx.size
        emit(f"    Z{g} = _mm(X{g}, W{g}, out={self.work_array(k_)})  # X{g} @ W{g}")
        if grp.bias:
            emit(f"    Z{g} += {bias_src}")  # in place: one batch-sized array, not two
        self.glob[f"_X{g}"] = grp.exact
        b_arg = bias_src if grp.bias else "None"
        ein = [self.eref(x) for x in grp.xs]
        ein_s = "0.0" if all(e == "0.0" for e in ein) else (
            f"_emax({', '.join(dict.fromkeys(ein))}, 0.0)")
        if not self.pm_done:
            self.pm_done = True
            emit("    _PM = _amax(_pa)")  # bounds every parameter, once per call
        scr = self.work_array(max(k_, n_))
        emit(f"    EZ{g} = _fix_affine(Z{g}, X{g}, W{g}, {b_arg}, _X{g}, {ein_s}, _nr, _PM, {scr})")
        if grp.act is None:
            emit(f"    A{g} = Z{g}")
            emit(f"    EA{g} = EZ{g}")
        else:
            self._activation(grp, gchecks)

    def _activation(self, grp: Group, gchecks: dict[Group, Any]) -> None:
        """A group's activation on ``Z``: rendered from its formula, or its float
        functions elementwise."""
        np, emit, g, act = self.np, self.emit, grp.gid, grp.act
        zs = (f"Z{g}", ("E", f"EZ{g}", "0.0"))  # its side of 0 is fixed
        zparams = grp.params
        self.check(gchecks.get(grp, []),
                   lambda k: zs if k == 0 else (literal(zparams[k - 1]), None))
        r = render(act, 1 + len(grp.params))
        gneed = any(self.needs[mm] for mm in grp.members)
        if r is None:  # the activation's float functions, elementwise
            self.calls += len(grp.members)
            na = 1 + len(grp.params)
            pj = "".join(f", {literal(p)}" for p in grp.params)
            self.glob[f"_AF{g}"] = np.frompyfunc(act.forward, na, 1)
            emit(f"    A{g} = _np.asarray(_AF{g}(Z{g}{pj}), dtype=float)")
            if gneed:
                self.glob[f"_AL{g}"] = np.frompyfunc(
                    lambda *a, _l=act.local: _l(*a)[0], na + 1, 1)
                emit(f"    S{g} = _np.asarray(_AL{g}(A{g}, Z{g}{pj}), dtype=float)")
                grp.slope = f"S{g}"
                emit(f"    EA{g} = _eprop(A{g}, 4.6e-16, S{g}, EZ{g})")
            else:
                emit(f"    EA{g} = _inf")
            return
        aargs = [f"Z{g}", *(literal(p) for p in grp.params)]
        k_ = len(grp.members)
        locs = r.emit(f"G{g}", aargs, f"A{g}", True, emit, self.glob,
                      lambda: self.work_array(k_))
        emit(f"    S{g} = {write_into(locs[0], lambda: self.work_array(k_)) or locs[0]}")
        if gneed:
            grp.slope = f"S{g}"
        own, slope = _own_error(r, False), bound(locs[0], f"S{g}")
        if own in ("0", "0.0") and slope == "1.0":  # relu: _eprop would return EZ (nan: inf)
            emit(f"    EA{g} = _fin(EZ{g})")
        else:
            emit(f"    EA{g} = _eprop(A{g}, {own}, {slope}, EZ{g})")

    def node(self, node: Value, checks: dict[Value, Any], need_e: set[Value]) -> None:
        """Rule for any other batched node: elementwise from its formula (NumPy forms
        from autograd.formula_numpy), else its float functions once per sample."""
        op: Any = node._entry
        m, operands = -node._id, node.operands
        args = [self.ref(o) for o in operands]
        out = f"v{m}"
        rr = render(op, len(operands))
        if rr is None:
            self._per_sample(node, args, out, need_e)
        else:
            locs = rr.emit(str(m), args, out, self.needs[node] or node in need_e,
                           self.emit, self.glob)
            if self.needs[node]:
                self.local_of[node] = [d if isinstance(o, Value) else None
                                       for d, o in zip(locs, operands[:rr.npar])]
            if node in checks:
                self.check(checks[node], _picker(args, operands))
            if node in need_e:
                self.emit_err(node, out, _own_error(rr), list(zip(locs, operands)))
        self.name[node] = out

    def _per_sample(self, node: Value, args: list[str], out: str, need_e: set[Value]) -> None:
        """An op without formula or templates: its float functions, once per sample."""
        np, emit, m = self.np, self.emit, -node._id
        op: Any = node._entry
        operands = node.operands
        self.calls += 1
        nin = len(operands)
        npar = nin - op.params
        fk = f"{self.fname(op.forward, 'f')}_{nin}"
        self.glob[f"_E{fk}"] = np.frompyfunc(op.forward, nin, 1)
        emit(f"    {out} = _np.asarray(_E{fk}({', '.join(args)}), dtype=float)")
        if self.needs[node]:
            loc = op.local
            if npar == 1:
                lf: Any = np.frompyfunc(lambda *a, _l=loc: _l(*a)[0], nin + 1, 1)
            else:
                lf = np.frompyfunc(lambda *a, _l=loc: _l(*a), nin + 1, npar)
            lk = f"{self.fname(op.local, 'l')}_{nin}"
            self.glob[f"_E{lk}"] = lf
            emit(f"    d{m} = _E{lk}({out}, {', '.join(args)})")
            self.local_of[node] = [
                (f"_np.asarray(d{m}, dtype=float)" if npar == 1
                 else f"_np.asarray(d{m}[{i}], dtype=float)")
                if isinstance(o, Value) else None
                for i, o in enumerate(operands[:npar])
            ]
        if node in need_e:
            ds = self.local_of.get(node)
            if ds is None or any(self.eref(o) != "0.0" for o in operands[npar:]):
                emit(f"    e{m} = _inf")
                self.err[node] = (f"e{m}", f"e{m}")
            else:
                self.emit_err(node, out, "4.6e-16",
                              [(d, o) for d, o in zip(ds, operands) if d is not None])

    def guards(self, guards: list[Any]) -> None:
        """Pass 6: one boolean per sample; samples off the traced branch return early."""
        conds = []
        ref = self.ref
        for value, what, other, res in guards:
            c = f"({ref(value)} {what} {ref(other)})"
            conds.append(c if res else f"_not{c}")
            self.check([(("x", 0), ("x", 1))], _picker([ref(value), ref(other)], [value, other]))
        if conds:
            self.emit(f"    _ok = _and(_True, {', '.join(conds)})")
            self.glob["_True"] = self.np.True_
            self.emit("    if not _ok.all(): return _give(_B, _w, (None, _ok, None))")


class Program:
    """The generated batched code for one trace (one branch of the guards)."""

    def __init__(self, fn: Callable[..., Any], sample: tuple[Any, ...],
                 group: bool = True) -> None:
        ns = namespace()
        targs = self._stand_ins(sample)
        rec, outs, single, interior, order, leaves = trace(
            fn, sample, targs,
            "compile(batch=True): the per-sample function must return a Value (the "
            "sample's loss), or a tuple of Values (the loss first)")
        self.single, self.nout, self.sample, self.outs_trace = single, len(outs), sample, outs
        guards = rec.guards
        self.trace_nodes = len(order)
        argi = {v: i for i, v in enumerate(targs)}
        captured = [v for v in leaves if v not in argi]
        pidx = {v: j for j, v in enumerate(captured)}
        self.nargs = len(targs)
        batched, needs = classify(targs, captured, order)
        chains: dict[Value, tuple[list[Any], list[Any], Any]] = {}
        absorbed: set[Value] = set()  # their inner nodes: computed by the matrix product
        if group:
            chains, absorbed = find_chains(order, outs, guards, interior, pidx, batched)
        groups, member = (find_groups(order, batched, absorbed, chains, pidx) if group
                          else ({}, {}))
        first_of = {g.members[0]: g for g in groups.values()}
        captured = layout(groups, captured)
        pidx = {v: j for j, v in enumerate(captured)}
        self.captured = captured
        self.pre = [(j, v) for j, v in enumerate(captured) if v.parents]
        self.pre_index = {j for j, _ in self.pre}
        self.leaves = [v for v in captured if not v.parents]  # .grad accumulates
        approx, checks, gchecks, need_e = error_plan(order, batched, absorbed, member, groups,
                                                     guards)
        fw = Forward(ns["_np"], dict(ns), argi, pidx, member, approx, batched, needs)
        for node in order:
            if not batched[node]:
                fw.shared(node)
        for node in order:
            if not batched[node] or node in absorbed:
                continue
            if node not in member:
                fw.node(node, checks, need_e)
            elif node in first_of:
                fw.group(first_of[node], gchecks)
        fw.guards(guards)
        self.nguards = len(guards)
        self.checked = any("_nr" in line for line in fw.fwd)
        if self.checked:
            fw.fwd.insert(0, "    _nr = _zeros(_B, bool)")
            fw.emit("    if _nr.any(): return _give(_B, _w, (None, ~_nr, True))")
        # an output may be a view of a work array (a layer's column): the caller's own copy
        outs_s = ", ".join(f"_own({fw.ref(o)})" if batched.get(o) else fw.ref(o) for o in outs)
        bw = Backward(fw, order, absorbed, first_of)
        bw.run(outs[0])
        pre_g = [f"_G[{j}]" for j, _ in self.pre]
        body = assemble(fw.used_args, fw.fwd, bw.lines, outs_s, len(captured), bw.gm_used,
                        bw.shared_g, pre_g, fw.work_array)
        self.work = WorkArrays(fw.np, fw.work)
        fw.glob.update(_take=self.work.take, _give=self.work.give, _own=own,
                       _mm=fw.np.matmul, _mul=fw.np.multiply)
        self._build(body, fw.glob)
        self.grouped = sum(len(g.members) for g in groups.values())
        self.groups = len(groups)
        self._counts = (dict(Counter(op_of(node).name for node in order)),
                        len(dict.fromkeys(rec.made[v] for v in captured if v in rec.made)),
                        fw.calls, dict(Counter(op_of(node).name for node in fw.shared_vec)))

    @property
    def stats(self) -> BatchedStats:
        """This program's :class:`BatchedStats` (helper calls counted on first use)."""
        ops, constants, calls, vector_ops = self._counts
        return BatchedStats(
            nodes=self.trace_nodes, ops=ops, constants=constants, guards=self.nguards,
            calls=calls, helper_calls=helper_calls(self.source, self.run.__globals__),
            programs=1, groups=self.groups, grouped=self.grouped, vector_ops=vector_ops)

    @staticmethod
    def _stand_ins(sample: tuple[Any, ...]) -> list[Value]:
        """Pass 1a: a leaf for every number of the sample (a batch holds numbers only)."""
        flat: list[Any] = []
        sig: list[Any] = []
        flatten(sample, flat, sig, "sample")
        if any(isinstance(x, Value) for x in flat):
            raise TypeError(
                "compile(batch=True): a batch holds numbers only (one row per sample); "
                "capture Values (parameters) in the function instead of passing them"
            )
        return [Value(x) for x in flat]

    def _build(self, body: list[str], glob: dict[str, Any]) -> None:
        """Pass 8: compile the assembled lines into ``run``."""
        src = "\n".join(body) + "\n"
        self.source = src
        self.uses_pl = "_pl" in "\n".join(body[1:])  # parameters read as floats too
        exec(builtins.compile(src, "<autograd.compile batch=True>", "exec"), glob)
        self.run: Callable[..., Any] = glob["_batched"]
