"""The compiled path: trace a fixed-structure function once, then run straight-line Python.

:func:`compile` wraps a function that builds a scalar graph (a loss) from its
arguments and from Values it captures (parameters). On the first call it runs
the function once with the dynamic engine (the *trace*), then generates one
Python function holding the whole forward and backward pass as straight-line
float code, with no ``Value`` objects, and runs that on every later call with
the new arguments and the parameters' current ``.data``.

Where the code comes from: every node is emitted from its op-table entry
(:mod:`autograd.ops`): from the entry's :class:`~autograd.ops.Codegen`
templates where it has them, otherwise as calls of the entry's own
``forward`` and ``local`` functions. No derivative formula lives here. The
emitted backward visits nodes in the order ``Value.backward`` does and
accumulates in the same order, so values and gradients are bit-identical to
the dynamic engine's.

Staying valid for any data: ops with kinks (``relu``, ``abs``, ``clamp``,
``maximum``...) branch *inside* their template or function, so a trace records
no branch of theirs. Python control flow on a Value (``if v > 0``, ``bool(v)``,
``min(a, b)``) is recorded as a *guard*; the compiled code checks every guard
and, when the data takes the other branch, re-traces (or, with
``retrace=False``, raises :class:`TraceError`). ``float(v)``/``v.item()``
inside a trace are refused, since their result would be baked in as a
constant. A change in the arguments' structure (list lengths, a Value where a
number was) selects or makes another trace. A ``Value(...)`` made inside the
function (from a batch it closes over, say) becomes a constant of the trace:
later calls reuse its number. The trace warns about it once per source line
(:class:`CompileWarning`, naming the file and line); the pattern that works is
to pass the data as arguments (``step(xs, ys)`` with lists of numbers: each
call may bring a new batch of the same shape). The function may wrap such an
argument itself, as micrograd's demo does (``[list(map(Value, row)) for row in
xs]``): ``Value(x)`` of a number argument ``x`` is that argument, read afresh
on every call. What no check can see: a read
of ``v.data`` inside the function, a ``no_grad()`` block, and state the
function reads from elsewhere; :meth:`Compiled.verify` compares a compiled
call against the dynamic engine when in doubt.

Only the nodes the outputs (and guards) depend on are computed, and interior
nodes are never built as Values: a compiled call returns floats and updates
the ``.grad`` of leaf Values only.
"""

from __future__ import annotations

import builtins
import operator
import threading
from collections.abc import Callable
from typing import Any

from autograd.engine import Value
from autograd.trace import (
    CompileWarning,
    GuardFailed,
    TraceError,
    flatten,
    literal,
    trace,
    tracers,
    warn_constants,
)

__all__ = ["CompileWarning", "Compiled", "TraceError", "compile"]

_INF = float("inf")
_MAX_INLINE = 6  # deepest nesting of inlined expressions (keeps lines short)
_GRAD = operator.attrgetter("grad")
_DATA = operator.attrgetter("_data")


def _creation(node: Value) -> int:
    return node._id


def _gated(local: tuple[str, ...], n_after: int) -> list[int] | None:
    """If every partial template is ``{u0}`` or ``{u0} * {i}``, the operands i they read.

    ``None`` otherwise (or when the op computes other than one value after
    its output).
    """
    if n_after != 1:
        return None
    refs: list[int] = []
    for t in local:
        if t == "{u0}":
            continue
        head, _, tail = t.partition(" * ")
        if head != "{u0}" or not (tail[:1] == "{" and tail[-1:] == "}" and tail[1:-1].isdigit()):
            return None
        refs.append(int(tail[1:-1]))
    return refs


class _Program:
    """The generated code for one trace, and how to feed it."""

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        flat: list[Any],
        keep: frozenset[int] = frozenset(),
    ) -> None:
        # 1. Trace with the dynamic engine, on stand-ins: a new leaf for every
        # number, and one for every distinct Value argument (so that the code
        # serves any Values of later calls), except the Value arguments at
        # ``keep``, which the function also captures (traced as themselves).
        traced: list[Value] = []
        targs = []
        stand: dict[Value, Value] = {}
        for i, x in enumerate(flat):
            if isinstance(x, Value):
                if i in keep:
                    targs.append(x)
                    continue
                s = stand.get(x)
                if s is None:
                    s = stand[x] = Value(x._data)
                targs.append(s)
            else:
                v = Value(x)
                traced.append(v)
                targs.append(v)
        rec, outs, single, interior, order, leaves = trace(
            fn, args, targs,
            "compile: the function must return a Value (the loss), or a tuple whose "
            "items are Values (the loss first)", traced)
        self.single = single
        self.trace_nodes = len(order)

        # 3. Names.
        name: dict[Value, str] = {}
        for i, v in enumerate(targs):
            name.setdefault(v, f"a{i}")
        for copy, source in rec.copies.items():  # Value(x) of a number argument x is x
            name[copy] = name[source]
        captured = [v for v in leaves if v not in name]
        for j, v in enumerate(captured):
            name[v] = f"p{j}"
        for m, node in enumerate(order):
            name[node] = f"v{m}"
        # leaves whose gradients we return: Value arguments (not numbers) and captured ones
        grad_leaves: list[Value] = []
        seen_leaf = dict.fromkeys(traced)
        for v in [*targs, *captured]:
            if v not in seen_leaf:
                seen_leaf[v] = None
                grad_leaves.append(v)
        wants = set(grad_leaves)
        self.captured = captured
        self.captured_set = frozenset(captured)
        self.grad_leaves = grad_leaves
        # where a call's own leaves are: the position in the call's flat
        # arguments of each argument leaf, then the captured ones
        first: dict[Value, int] = {}
        for i, v in enumerate(targs):
            first.setdefault(v, i)
        self.arg_slots = [first[v] for v in grad_leaves if v in first]
        self.captured_leaves = [v for v in grad_leaves if v not in first]
        # positions (in leaves()) of nodes made before the trace: they have
        # parents (arguments never do) and keep them
        self.pre_slots = frozenset(len(self.arg_slots) + j
                                   for j, v in enumerate(self.captured_leaves)
                                   if v._p is not None)
        #: where the trace turned a Value it made into a constant of the code
        #: (file, line), whether or not that line was warned about before
        self.constants: tuple[tuple[str, int], ...] = tuple(dict.fromkeys(
            rec.made[v] for v in captured if v in rec.made))
        if self.constants:
            warn_constants(fn, rec.made, captured)

        # 4. Emit the forward, from each op's templates (or calls of its functions).
        glob: dict[str, Any] = {"_nan": float("nan"), "_inf": _INF, "_GuardFailed": GuardFailed}
        body: list[str] = []
        emit = body.append
        nargs = len(targs)
        if nargs:
            emit(f"    {', '.join(f'a{i}' for i in range(nargs))}, = _x")
        if captured:
            emit(f"    {', '.join(f'p{j}' for j in range(len(captured)))}, = _p")
        shapes: dict[tuple[int, int], tuple[Any, ...]] = {}
        needs = set(wants)  # nodes through which some wanted gradient flows
        # Analysis: which nodes can be inlined into their one consumer's
        # expression (used once by forward code, never by backward code).
        uses: dict[Value, int] = {}
        pinned: set[Value] = set(outs)  # outputs, guards and values backward reads
        for g in rec.guards:
            pinned.add(g[0])
            if isinstance(g[2], Value):
                pinned.add(g[2])
        info = []
        for node in order:
            op = node._entry
            operands = node.operands
            n = len(operands)
            shape = shapes.get((id(op), n))  # Op hashes all its fields: key by identity
            if shape is None:
                shape = shapes[(id(op), n)] = self._shape(op, n, glob)
            need = False
            for p in node.parents:
                if p in needs:
                    need = True
                    needs.add(node)
                    break
            fwd_uses, bwd_refs, out_ref = shape[6], shape[7], shape[8]
            for i, o in enumerate(operands):
                if isinstance(o, Value):
                    uses[o] = uses.get(o, 0) + fwd_uses[i]
                    if need and i in bwd_refs:
                        pinned.add(o)
            if need and out_ref:
                pinned.add(node)
            info.append((operands, shape, need))
        inline: dict[Value, str] = {}
        depth: dict[Value, int] = {}
        lits: dict[float, str] = {}
        local_expr: dict[Value, list[str | None]] = {}
        # Nodes whose every partial is one value u times an operand (or u
        # itself: a fused neuron's act'(z) * w_i, act'(z) * x_i, act'(z)): when
        # u is 0 and the gradient and those operands are finite, the node
        # passes on zeros only, and its backward lines are skipped (as
        # Value.backward skips a node whose partials are all zero).
        gate: dict[Value, tuple[str, list[str]]] = {}
        for m, node in enumerate(order):
            operands, shape, need = info[m]
            kind, t_temps, t_fwd, t_after, t_local, npar = shape[:6]
            args_s = []
            dep = 0
            for o in operands:
                if isinstance(o, Value):
                    e = inline.get(o)
                    if e is None:
                        args_s.append(name[o])
                    else:
                        args_s.append(e)
                        d_ = depth[o]
                        if d_ > dep:
                            dep = d_
                else:
                    lit = lits.get(o) if o else None
                    if lit is None:
                        lit = literal(o)
                        if o:
                            lits[o] = lit
                    args_s.append(lit)
            out = f"v{m}"
            can_inline = (
                node not in pinned and uses.get(node, 0) == 1 and dep < _MAX_INLINE and not t_temps
            )
            if kind:  # templates
                kw: dict[str, str] = {}
                for k, t in enumerate(t_temps):
                    tn = f"t{m}_{k}"
                    emit(f"    {tn} = {t.format(*args_s, **kw)}")
                    kw[f"t{k}"] = tn
                expr = t_fwd.format(*args_s, **kw)
                if can_inline and not (need and t_after):
                    inline[node] = f"({expr})"
                    depth[node] = dep + 1
                else:
                    emit(f"    {out} = {expr}")
                    kw["out"] = out
                if need:
                    for k, t in enumerate(t_after):
                        un = f"u{m}_{k}"
                        emit(f"    {un} = {t.format(*args_s, **kw)}")
                        kw[f"u{k}"] = un
                    local_expr[node] = [
                        t.format(*args_s, **kw) if isinstance(o, Value) else None
                        for t, o in zip(t_local, operands[:npar])
                    ]
                    gated = _gated(t_local, len(t_after))
                    if gated is not None:
                        gate[node] = (kw["u0"], [args_s[i] for i in gated])
            else:  # calls of the op's forward and local functions
                joined = ", ".join(args_s)
                if can_inline:
                    inline[node] = f"{t_fwd}({joined})"
                    depth[node] = dep + 1
                    continue
                emit(f"    {out} = {t_fwd}({joined})")
                if need:
                    emit(f"    d{m} = {t_local}({out}, {joined})")
                    local_expr[node] = [
                        f"d{m}[{i}]" if isinstance(o, Value) else None
                        for i, o in enumerate(operands[:npar])
                    ]

        # 5. Guards (after the forward; before any gradient is returned).
        for value, what, other, res in rec.guards:
            rhs = name[other] if isinstance(other, Value) else literal(other)
            cond = f"{name[value]} {what} {rhs}"
            emit(f"    if {'not ' if res else ''}({cond}): raise _GuardFailed")
        self.nguards = len(rec.guards)

        # 6. Emit the backward, in Value.backward's order and accumulation order.
        # Interior gradients live in a pool of names reused once a node is done.
        loss = outs[0]
        gname: dict[Value, str] = {v: f"g_{name[v]}" for v in grad_leaves}
        if grad_leaves:
            emit(f"    {', '.join(gname[v] for v in grad_leaves)}, = _g")
        if loss in interior and loss in needs:
            # How many contributions each node's gradient receives: a node with
            # one keeps it as an expression, substituted where it is used.
            incoming: dict[Value, int] = {}
            for node in order:
                if node in needs and node in local_expr:
                    ops_ = node.operands
                    for o, d in zip(ops_, local_expr[node]):
                        if d is not None and o in needs:
                            incoming[o] = incoming.get(o, 0) + 1
            free: list[str] = []
            fresh = 1
            gname[loss] = "g0"
            emit("    g0 = 1.0")
            gexpr: dict[Value, tuple[str, int]] = {}  # pending gradient expressions, depth
            for node in reversed(order):
                gn = gname.get(node)
                depth_g = 0
                if gn is None:
                    pend = gexpr.pop(node, None)
                    if pend is None or node not in needs:
                        continue  # not on the loss's graph (a guard's), or no gradient wanted
                    gn, depth_g = pend
                ops_ = node.operands
                pairs = [(o, d) for o, d in zip(ops_, local_expr[node])
                         if d is not None and o in needs]
                if depth_g and (len(pairs) != 1 or depth_g >= _MAX_INLINE):
                    tmp = free.pop() if free else f"g{fresh}"
                    if tmp == f"g{fresh}":
                        fresh += 1
                    emit(f"    {tmp} = {gn}")
                    gn, depth_g = tmp, 0
                if len(pairs) == 1 and pairs[0][1] == "1.0" and pairs[0][0] not in gname:
                    o = pairs[0][0]  # the gradient passes through unchanged
                    if not depth_g:
                        gname[o] = gn
                        continue
                    if incoming.get(o) == 1 and o not in wants:
                        gexpr[o] = (gn, depth_g)
                        continue
                g_s = f"({gn})" if depth_g else gn
                kept = False  # a pending expression reads gn: keep its name out of the pool
                ind = "    "
                fresh_names: set[str] = set()
                gating = gate.get(node) if len(pairs) > 1 and not depth_g else None
                if gating is not None:
                    # names first given here start at 0.0 (what they hold if skipped)
                    for o, _ in pairs:
                        if o not in gname:
                            if free:
                                new = free.pop()
                            else:
                                new = f"g{fresh}"
                                fresh += 1
                            gname[o] = new
                            fresh_names.add(new)
                            emit(f"    {new} = 0.0")
                    u_name, refs = gating
                    emit(f"    if {u_name} != 0.0 or ({' + '.join([gn, *refs])}) * 0.0 != 0.0:")
                    ind = "        "
                for o, d in pairs:
                    if d == "1.0":
                        term = g_s
                    elif d == "-1.0":
                        term = f"-{g_s}"
                    elif d.isidentifier() or d[0] == "d":
                        term = f"{g_s} * {d}"
                    else:
                        term = f"{g_s} * ({d})"
                    go = gname.get(o)
                    if go is not None:
                        if go in fresh_names:
                            fresh_names.discard(go)
                            emit(f"{ind}{go} = {term}")
                        else:
                            emit(f"{ind}{go} += {term}")
                    elif incoming.get(o) == 1 and o not in wants:
                        gexpr[o] = (term, depth_g + 1)
                        kept = True
                    else:
                        if free:
                            go = free.pop()
                        else:
                            go = f"g{fresh}"
                            fresh += 1
                        gname[o] = go
                        emit(f"    {go} = {term}")
                if not depth_g and not kept:
                    free.append(gn)  # every consumer of node is done: reuse its name
        elif loss in wants:  # the loss is itself a leaf argument or parameter
            emit(f"    {gname[loss]} += 1.0")
        ret_grads = [gname[v] for v in grad_leaves]
        outs_s = ", ".join(name[o] if o in name else literal(o.data) for o in outs)
        emit(f"    return ({outs_s},), ({', '.join(ret_grads)}{',' if ret_grads else ''})")
        src = "def _compiled(_x, _p, _g):\n" + "\n".join(body) + "\n"
        self.source = src
        exec(builtins.compile(src, "<autograd.compile>", "exec"), glob)
        self.run: Callable[..., tuple[tuple[float, ...], tuple[float, ...]]] = glob["_compiled"]
        self.trace_outputs = tuple(o.data for o in outs)

    @staticmethod
    def _shape(op: Any, n: int, glob: dict[str, Any]) -> tuple[Any, ...]:
        """How to emit ``op`` with ``n`` operands: its templates, or its functions' names."""
        npar = n - op.params
        cg = op.codegen
        if cg is None:
            base = f"_op{sum(1 for k in glob if k.endswith('_f') and k.startswith('_op'))}"
            for k, v in glob.items():  # one pair of names per op
                if v is op.forward and k.startswith("_op") and k.endswith("_f"):
                    base = k[:-2]
            glob[base + "_f"] = op.forward
            glob[base + "_l"] = op.local
            every = frozenset(range(n))
            return (False, (), base + "_f", (), base + "_l", npar, (1,) * n, every, True)
        for key, val in cg.names.items():
            if glob.get(key, val) is not val:
                raise TraceError(
                    f"compile: op {op.name!r} binds template name {key!r} to another "
                    "object than an earlier op; rename it in its Codegen.names"
                )
            glob[key] = val
        temps, fwd = cg.temp_templates(n), cg.forward_template(n)
        after, local = cg.after_templates(n), cg.local_templates(n)
        fwd_text = "".join(temps) + fwd
        fwd_uses = tuple(fwd_text.count(f"{{{i}}}") for i in range(n))
        bwd_text = "".join(after) + "".join(local)
        bwd_refs = frozenset(i for i in range(n) if f"{{{i}}}" in bwd_text)
        return (True, temps, fwd, after, local, npar, fwd_uses, bwd_refs, "{out}" in bwd_text)

    def leaves(self, flat: list[Any]) -> list[Value]:
        """The leaves a call with flat arguments ``flat`` returns gradients for, in order."""
        return [flat[i] for i in self.arg_slots] + self.captured_leaves

    def initial_grads(self, leaves: list[Value]) -> list[float]:
        """The gradients the generated code starts from: leaves accumulate into
        their ``.grad``; nodes made before the trace start from 0."""
        grads = list(map(_GRAD, leaves))
        for i in self.pre_slots:
            grads[i] = 0.0
        return grads

    def store(self, leaves: list[Value], grads: tuple[float, ...]) -> None:
        """Write a call's gradients into its leaves (``leaves(flat)``); a node made
        before the trace continues backward through its own graph instead."""
        if not self.pre_slots:
            for v, g in zip(leaves, grads):
                v.grad = g
            return
        pre = []
        for i, (v, g) in enumerate(zip(leaves, grads)):
            if i in self.pre_slots:
                pre.append((v, g))
            else:
                v.grad = g
        for v, g in pre:
            v.backward(g)


class Compiled:
    """A compiled function: call it as the original, get floats and ``.grad`` updates.

    ``compiled(*args)`` does what ``out = fn(*args); out.backward()`` does to
    every leaf Value involved (the Value arguments and the Values the
    function captures): it accumulates their ``.grad``. It returns the loss as
    a float (or a tuple of floats when ``fn`` returns a tuple). Interior nodes
    are never built, so they have no ``.grad`` to read.

    Attributes:
        fn: the original function.
        traces: how many times it has been traced so far.
        constants: the source lines (file, line) where a trace so far turned a
            Value made inside the function into a constant of the compiled
            code (:class:`CompileWarning` says so once per line; this keeps
            every one, for code that must know, such as ``fit(compile="auto")``).
    """

    def __init__(
        self, fn: Callable[..., Any], *, retrace: bool = True, max_traces: int = 8
    ) -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
        if isinstance(max_traces, bool) or not isinstance(max_traces, int) or max_traces < 1:
            raise ValueError(f"compile: max_traces must be a positive int, got {max_traces!r}")
        self.fn = fn
        self.retrace = retrace
        self.max_traces = max_traces
        self.traces = 0
        self._constants: dict[tuple[str, int], None] = {}
        self._cache: dict[tuple[Any, ...], _Program] = {}
        self.__doc__ = getattr(fn, "__doc__", None)

    def _trace(self, key: tuple[Any, ...], args: tuple[Any, ...], flat: list[Any],
               keep: frozenset[int] = frozenset()) -> _Program:
        if self.traces >= self.max_traces and not self.retrace:
            raise TraceError(
                f"compile: {getattr(self.fn, '__name__', 'function')} needed more than "
                f"{self.max_traces} traces; its structure changes from call to call, so "
                "call it without compile"
            )
        prog = _Program(self.fn, args, flat, keep)
        self.traces += 1
        self._constants.update(dict.fromkeys(prog.constants))
        if len(self._cache) >= self.max_traces:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = prog
        return prog

    def _lookup(self, args: tuple[Any, ...]
                ) -> tuple[_Program, list[Any], tuple[Any, ...], frozenset[int]]:
        """The trace for these arguments (tracing now if there is none), the flat
        arguments, the trace's key and the Value arguments it keeps as themselves.

        The key is the arguments' structure, plus which Value arguments are the
        same Value (``f(a, a)`` is another trace than ``f(a, b)``), plus which
        ones are Values the function captures (traced as themselves).
        """
        flat: list[Any] = []
        sig: list[Any] = []
        flatten(args, flat, sig, "args")
        key = tuple(sig)
        nv = sig.count("v")
        vals: list[Any] = []
        if nv:
            vals = [x for x in flat if type(x) is not float and type(x) is not int]
            if nv > 1 and len(set(vals)) != nv:  # some Value passed twice
                first: dict[Value, int] = {}
                same = []
                for i, x in enumerate(flat):
                    if type(x) is not float and type(x) is not int:
                        j = first.setdefault(x, i)
                        if j != i:
                            same.append((i, j))
                key += (("same", tuple(same)),)
        prog = self._cache.get(key)
        if prog is None:
            prog = self._trace(key, args, flat)
        keep: frozenset[int] = frozenset()
        if vals and not prog.captured_set.isdisjoint(vals):  # an argument is captured too
            caps = prog.captured_set
            shared = tuple((i, x) for i, x in enumerate(flat) if x in caps)
            keep = frozenset(i for i, _ in shared)
            key += (("captured", shared),)
            prog = self._cache.get(key) or self._trace(key, args, flat, keep)
        return prog, flat, key, keep

    @property
    def constants(self) -> tuple[tuple[str, int], ...]:
        """Every (file, line) where a trace so far baked a Value it made into the code."""
        return tuple(self._constants)

    def program(self, *args: Any) -> _Program:
        """Return the trace used for these arguments (tracing now if there is none)."""
        return self._lookup(args)[0]

    def source(self, *args: Any) -> str:
        """Return the generated Python source for these arguments' trace."""
        return self.program(*args).source

    def _execute(self, args: tuple[Any, ...], backward: bool) -> tuple[tuple[float, ...], bool]:
        if tracers and threading.get_ident() in tracers:
            raise TraceError(
                "compile: a compiled function was called inside a function being traced; "
                "its float results would become constants of the outer trace: call the "
                "uncompiled function there (compiled.fn), or compile only the outer one"
            )
        prog, flat, key, keep = self._lookup(args)
        xs = [x._data if type(x) is not float and isinstance(x, Value) else x for x in flat]
        leaves = prog.leaves(flat)
        try:
            outs, grads = prog.run(xs, list(map(_DATA, prog.captured)),
                                   prog.initial_grads(leaves))
        except GuardFailed:
            if not self.retrace:
                raise TraceError(
                    f"compile: {getattr(self.fn, '__name__', 'function')} takes another "
                    "branch on this data than when it was traced (a comparison or bool() "
                    "on a Value changed); pass retrace=True, or express the branch with "
                    "ops such as relu, maximum or clamp"
                ) from None
            self._cache.pop(key, None)
            prog = self._trace(key, args, flat, keep)
            leaves = prog.leaves(flat)
            outs, grads = prog.run(xs, [p._data for p in prog.captured],
                                   prog.initial_grads(leaves))
        if backward:
            prog.store(leaves, grads)
        return outs, prog.single

    def __call__(self, *args: Any) -> Any:
        """Run forward and backward; accumulate leaves' ``.grad``; return the loss.

        Args:
            *args: numbers, leaf Values, and (nested) lists or tuples of them,
                structured as at the trace (another structure traces again).

        Returns:
            The loss as a float, or a tuple of floats if ``fn`` returns a tuple.

        Raises:
            TraceError: if the function cannot be traced, or takes another
                branch than its trace and ``retrace`` is False.
            TypeError: for an argument that is not a number, a leaf Value or a
                list or tuple of them.
        """
        outs, single = self._execute(args, True)
        return outs[0] if single else outs

    def forward(self, *args: Any) -> Any:
        """Run the forward pass only: no ``.grad`` changes; returns as :meth:`__call__`."""
        outs, single = self._execute(args, False)
        return outs[0] if single else outs

    def verify(self, *args: Any, rel: float = 1e-9) -> None:
        """Check a compiled call against the dynamic engine on these arguments.

        Runs both from the same ``.grad`` values, compares the loss and every
        leaf gradient, then leaves the ``.grad`` fields as they were.

        Raises:
            TraceError: naming the first output or leaf that differs, with
                both values: the function's structure depends on something
                the trace cannot see (a ``.data`` read, outside state).
        """
        prog, flat, _, _ = self._lookup(args)
        leaves = prog.leaves(flat)
        saved = [v.grad for v in leaves]
        outs, _ = self._execute(args, True)
        got = [v.grad for v in leaves]
        for v, g in zip(leaves, saved):
            v.grad = g
        res = self.fn(*args)
        dyn = [res] if isinstance(res, Value) else list(res)
        dyn[0].backward()
        want = [v.grad for v in leaves]
        for v, g in zip(leaves, saved):
            v.grad = g

        def close(a: float, b: float) -> bool:
            return a == b or (a != a and b != b) or abs(a - b) <= rel * max(abs(a), abs(b))

        for i, (a, b) in enumerate(zip(outs, (o.data for o in dyn))):
            if not close(a, b):
                raise TraceError(f"compile.verify: output {i} is {a!r} compiled, {b!r} dynamic")
        for v, a, b in zip(leaves, got, want):
            if not close(a, b):
                label = f" {v.label!r}" if v.label else ""
                raise TraceError(
                    f"compile.verify: gradient of leaf{label} is {a!r} compiled, {b!r} dynamic; "
                    "the function depends on something its trace cannot see (a .data read, "
                    "outside state): call it without compile"
                )


def compile(  # noqa: A001 - as torch.compile
    fn: Callable[..., Any] | None = None, *, retrace: bool = True, max_traces: int = 8,
    batch: bool = False, reduction: str = "mean",
) -> Any:
    """Compile a function that builds a loss into straight-line Python.

    Use as ``step = autograd.compile(loss_fn)`` or as a decorator
    (``@autograd.compile`` or ``@autograd.compile(retrace=False)``). The
    function takes numbers, leaf Values, or (nested) lists and tuples of them,
    may capture Values (parameters), and returns a Value (or a tuple of Values,
    the loss first). See :class:`Compiled` for what a call does. Keep the
    function pure: its side effects (printing, updating ``.data``) happen
    once, while it is traced; do the optimizer step outside it.

    With ``batch=True``, ``fn`` is a *per-sample* loss ``fn(x, y)`` and the
    result (an :class:`autograd.batched.BatchedCompiled`) runs it over whole
    batches as NumPy arrays: ``step(X, Y)`` returns ``reduction`` (``"mean"``
    or ``"sum"``) of the per-sample losses and accumulates its gradient into
    ``.grad`` (see :mod:`autograd.batched`; needs NumPy,
    ``pip install 'chainrule[fast]'``).

    Args:
        fn: the function to compile.
        retrace: when the data takes another branch of a Python comparison
            than at the trace, trace again (True) or raise :class:`TraceError`.
            (With ``batch=True`` samples on another branch always get their
            own trace, up to ``max_traces``, then run one by one.)
        max_traces: how many traces (argument structures, or branches) to keep.
        batch: compile a per-sample loss to run over whole batches.
        reduction: with ``batch=True``, how per-sample losses combine.

    Returns:
        A :class:`Compiled` or ``BatchedCompiled`` (or a decorator making one,
        if ``fn`` is None).

    Raises:
        TypeError: if ``fn`` is not callable.
        ValueError: if ``max_traces`` is not a positive int, or for
            ``reduction`` without ``batch=True`` or an unknown one.
        ImportError: with ``batch=True`` when NumPy is not installed.
    """
    if batch:
        from autograd.batched import compile_batched  # NumPy is imported there, lazily

        return compile_batched(fn, reduction=reduction, max_traces=max_traces)
    if reduction != "mean":
        raise ValueError(
            f"compile: reduction={reduction!r} applies to a per-sample loss; pass batch=True"
        )
    if fn is None:
        return lambda f: Compiled(f, retrace=retrace, max_traces=max_traces)
    return Compiled(fn, retrace=retrace, max_traces=max_traces)
