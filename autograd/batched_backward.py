"""The batched program's backward pass and its assembly (passes 7-8, see batched_emit).

:class:`Backward` emits, in reverse creation order, one rule per node kind: a
group's ``dZ = GM * act'(Z)``, ``dW = X.T @ dZ``, ``dX = dZ @ W.T``
(:meth:`Backward.group`); an elementwise node's ``g * d`` per operand, from
the partials its forward rendered (:meth:`Backward.node`); and the shared
nodes' backward, twice (:meth:`Backward.shared`, :func:`shared_scalar`).
:func:`assemble` joins the head, forward, accumulators, backward and return.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from autograd.batch_rules import Group, op_of, whole
from autograd.engine import Value

if TYPE_CHECKING:
    from autograd.batched_emit import Forward

__all__ = ["Backward", "assemble", "shared_scalar"]


def _times(gn: str, d: str) -> str:
    """The text of gradient ``gn`` times partial ``d``."""
    if d == "1.0":
        return gn
    if d == "-1.0":
        return f"-{gn}"
    if d.isidentifier():
        return f"{gn} * {d}"
    return f"{gn} * ({d})"


class Backward:
    """Pass 7: the backward lines of one program (``lines``), from its :class:`Forward`."""

    def __init__(self, fw: Forward, order: list[Value], absorbed: set[Value],
                 first_of: dict[Value, Group]) -> None:
        self.fw, self.order, self.absorbed, self.first_of = fw, order, absorbed, first_of
        self.lines: list[str] = []
        self.bemit = self.lines.append
        self.has: set[Value] = set()
        self.gm_used: set[Group] = set()
        self.assigned: set[Value] = set()
        self.shared_g: set[Value] = set()
        self.boundary: set[Value] = set()  # shared nodes with gradient from batched ones

    def gref(self, o: Value) -> str:
        """The source of node ``o``'s gradient (a group's column, or ``g<m>``)."""
        if o in self.fw.member:
            g, j = self.fw.member[o]
            self.gm_used.add(g)
            return f"GM{g.gid}[:, {j}]"
        return f"g{-o._id}"

    def contribute(self, o: Any, term: str, from_batched: bool) -> None:
        """Add ``term`` to ``o``'s gradient.

        A shared node's gradient is kept per sample too (an array), reduced
        only where it reaches a parameter: sum_i (g_i * d), as the dynamic
        engine adds it (0 * inf stays nan for the sample whose g_i is 0).
        """
        fw, bemit = self.fw, self.bemit
        if not isinstance(o, Value) or not fw.needs.get(o, False):
            return
        if o in fw.pidx:
            bemit(f"    _G[{fw.pidx[o]}] += ({term}).sum()")
            return
        self.has.add(o)
        if not fw.batched[o]:
            self.shared_g.add(o)
            if from_batched:
                self.boundary.add(o)
            bemit(f"    g{-o._id} = g{-o._id} + {term}")
        elif o in fw.member:
            bemit(f"    {self.gref(o)} += {term}")
        elif o in self.assigned:
            bemit(f"    g{-o._id} = g{-o._id} + {term}")
        else:
            self.assigned.add(o)
            bemit(f"    g{-o._id} = {term}")

    def seed(self, loss: Value) -> None:
        """The loss's gradient: the seed, for every sample."""
        fw, bemit = self.fw, self.bemit
        if not fw.needs[loss]:
            return
        if loss in fw.pidx:
            bemit(f"    _G[{fw.pidx[loss]}] += _seed * _B")
        elif not fw.batched[loss]:
            self.has.add(loss)
            self.shared_g.add(loss)
            self.boundary.add(loss)
            bemit(f"    g{-loss._id} = _full(_B, _seed)")
        else:
            self.has.add(loss)
            if loss in fw.member:
                bemit(f"    {self.gref(loss)} += _seed")
            else:
                self.assigned.add(loss)
                bemit(f"    g{-loss._id} = _full(_B, _seed)")

    def run(self, loss: Value) -> None:
        """Emit the whole backward: batched nodes in reverse, then the shared ones."""
        fw = self.fw
        self.seed(loss)
        for node in reversed(self.order):
            if not fw.batched[node] or node in self.absorbed:
                continue
            if node in fw.member:
                grp = self.first_of.get(node)
                if grp is not None and grp in self.gm_used:
                    self.group(grp)
            elif node in self.has:
                gn = self.gref(node)
                for o, d in zip(node.operands, fw.local_of.get(node, ())):
                    if d is not None:
                        self.contribute(o, _times(gn, d), True)
        self.shared()

    def group(self, grp: Group) -> None:
        """Rule for an affine group: ``dZ``, then ``dW`` (and ``db``) into the
        parameter gradient, and ``dX`` to the inputs (a whole previous group's
        matrix in one add)."""
        fw, bemit, g = self.fw, self.bemit, grp.gid
        slope = grp.slope
        bemit(f"    dZ{g} = GM{g}")
        if slope:  # in place: GM is this call's own array, not read after this
            bemit(f"    dZ{g} *= {slope}  # GM{g} * {slope}")
        if grp.start is not None:
            k_, n_ = len(grp.members), len(grp.xs)
            s0, s1 = grp.start, grp.start + k_ * n_
            bemit(f"    _G[{s0}:{s1}] += (dZ{g}.T @ X{g}).ravel()")
            if grp.bias:
                bemit(f"    _G[{s1}:{s1 + k_}] += _colsum(dZ{g})")
        elif grp.dup:
            bemit(f"    _add_at(_G, _I{g}, X{g}.T @ dZ{g})")
        else:
            bemit(f"    _G[_I{g}] += X{g}.T @ dZ{g}")
        if grp.bias and grp.start is None:
            if grp.bdup:
                bemit(f"    _add_at(_G, _J{g}, _colsum(dZ{g}))")
            else:
                bemit(f"    _G[_J{g}] += _colsum(dZ{g})")
        if any(isinstance(x, Value) and fw.needs[x] for x in grp.xs):
            out = fw.work_array(len(grp.xs))
            if len(grp.members) == 1:  # an outer product: NumPy's matmul runs it far slower
                # than a broadcast multiply (the same products; zeros' signs vanish in _G)
                bemit(f"    dX{g} = _mul(dZ{g}, W{g}.T, out={out})  # dZ{g} @ W{g}.T of one column")
            else:
                bemit(f"    dX{g} = _mm(dZ{g}, W{g}.T, out={out})  # dZ{g} @ W{g}.T")
            prev = whole(grp, fw.member)
            if prev is not None and fw.gsrc[grp] == f"A{prev.gid}":
                self.gm_used.add(prev)
                for mm in prev.members:
                    self.has.add(mm)
                bemit(f"    GM{prev.gid} += dX{g}")
            else:
                for j, x in enumerate(grp.xs):
                    self.contribute(x, f"dX{g}[:, {j}]", True)

    def shared(self) -> None:
        """The shared nodes' backward, twice: with gradients summed over the batch
        first (floats: fast), and, only if that meets an inf or nan, per sample (as
        the dynamic engine adds them, so 0 * inf stays nan for that sample)."""
        fw, bwd = self.fw, self.lines
        split = len(bwd)
        for node in reversed(self.order):
            if fw.batched[node] or node not in self.has:
                continue
            if node in fw.shared_vec:
                self._shared_vector(node)
            else:
                self._shared_node(node)
        if len(bwd) > split:
            per_sample = bwd[split:]
            del bwd[split:]
            bwd.append("    _Gb = _G.copy()")
            bwd += shared_scalar(self.order, fw.batched, self.has, fw.shared_vec,
                                 fw.shared_local, fw.pidx, fw.needs, fw.glob, self.boundary)
            bwd.append("    if not _np.isfinite(_G).all():")
            bwd.append("        _G = _Gb")
            bwd += ["    " + line for line in per_sample]

    def _shared_vector(self, node: Value) -> None:
        """A shared vector node's gradient (per sample) into the parameter vector."""
        m = -node._id
        def term(q: str, size: int, _: int) -> str:
            return f"_outer_sum(g{m}, _np.broadcast_to({q}, ({size},)))"

        self.lines += _vector_lines(m, self.fw.shared_vec[node], term)

    def _shared_node(self, node: Value) -> None:
        """A shared scalar node's gradient (per sample) to its operands: many
        parameter leaves in one gather-add."""
        fw, bemit, m = self.fw, self.bemit, -node._id
        np, pidx = fw.np, fw.pidx
        loc = fw.shared_local[node]
        if isinstance(loc, str):
            bemit(f"    d{m} = {loc}")
        ops_ = node.operands
        npar = len(ops_) - op_of(node).params
        leaf_pos = [i for i, o in enumerate(ops_[:npar])
                    if isinstance(o, Value) and o in pidx and fw.needs[o]]
        if len(leaf_pos) > 4 and isinstance(loc, str):
            ix = np.array([pidx[ops_[i]] for i in leaf_pos], dtype=np.intp)  # type: ignore[index]
            fw.glob[f"_K{m}"] = ix
            fw.glob[f"_P{m}"] = np.array(leaf_pos, dtype=np.intp)
            dup = len(set(ix.tolist())) != ix.size
            val = f"_outer_sum(g{m}, _np.asarray(d{m})[_P{m}])"
            bemit(f"    _add_at(_G, _K{m}, {val})" if dup else f"    _G[_K{m}] += {val}")
            rest = [i for i in range(npar) if i not in set(leaf_pos)]
        else:
            rest = list(range(npar))
        for i in rest:
            d_i = loc[i] if isinstance(loc, list) else f"d{m}[{i}]"
            self.contribute(ops_[i], f"g{m} * {d_i}", False)


def _vector_lines(m: int, vec_ixs: tuple[int, list[tuple[str, bool]], list[Any]],
                  term: Callable[[str, int, int], str], merge: bool = False) -> list[str]:
    """The lines adding a shared vector node's gradient into ``_G``, one per operand
    group: ``term(q, size, count)`` is the gradient from ``q``, the group's partial, of
    ``size`` elements, added ``count`` times (a slice where the group is a block of the
    vector, else an indexed add). With ``merge``, groups adding the same partial to the
    same block (``dot(ps, ps)``) are one add of the term counted twice."""
    size, vec, ixs = vec_ixs
    adds: list[list[Any]] = []  # [line with {} for the term, q, count]
    for k, ((src, by_i), ix) in enumerate(zip(vec, ixs)):
        q = src if by_i else f"_full({size}, {src})"
        lo = int(ix[0])
        if ix.tolist() == list(range(lo, lo + size)):
            line = f"    _G[{lo}:{lo + size}] += {{}}"
        elif len(set(ix.tolist())) != ix.size:
            line = f"    _add_at(_G, _V{m}_{k}, {{}})"
        else:
            line = f"    _G[_V{m}_{k}] += {{}}"
        if merge and adds and adds[-1][:2] == [line, q]:
            adds[-1][2] += 1
        else:
            adds.append([line, q, 1])
    return [line.format(term(q, size, count)) for line, q, count in adds]


def _block(q: str, size: int) -> str:
    """``q`` as an array of ``size`` elements: itself when it is a block ``_pa[lo:hi]``
    of that size already, else ``_np.broadcast_to`` of it."""
    hit = re.fullmatch(r"_pa\[(\d+):(\d+)\]", q)
    if hit and int(hit[2]) - int(hit[1]) == size:
        return q
    return f"_np.broadcast_to({q}, ({size},))"


def _summed_term(m: int, q: str, size: int, count: int) -> str:
    h = f"h{m}" if count == 1 else f"({count:.1f} * h{m})"
    return f"{h} * {_block(q, size)}"


def shared_scalar(order: list[Value], batched: dict[Value, bool], has: set[Value],
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
            lines += _vector_lines(m, shared_vec[node], partial(_summed_term, m), merge=True)
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


def assemble(used_args: set[int], fwd: list[str], bwd: list[str], outs_s: str,
             n_params: int, gm_used: set[Group], shared_g: set[Value],
             pre_g: list[str], work: Callable[[int], str]) -> list[str]:
    """The generated function's lines: its head (the batch's columns and the call's
    work arrays, ``work(cols)`` reserving one), the forward, the gradient
    accumulators (a group's matrix starts from its first whole-matrix gradient
    instead of zeros), the backward and the return (the work arrays given back)."""
    head = ["def _batched(_D, _pl, _pa, _seed):", "    _B = _D.shape[0]",
            "    _w = _take(_B)"]
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
        body.append(f"    {gm} = _zeros_in({work(len(grp.members))}, _B, {len(grp.members)})")
    for o in sorted(shared_g, key=lambda v: -v._id):
        body.append(f"    g{-o._id} = 0.0")
    body += bwd
    pre = f"({', '.join(pre_g)}{',' if pre_g else ''})"
    body.append(f"    return _give(_B, _w, (_outs, _G, {pre}))")
    return body

