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
number was) selects or makes another trace. What no check can see is a read
of ``v.data`` inside the function (its result becomes a constant) or state the
function reads from elsewhere; :meth:`Compiled.verify` compares a compiled
call against the dynamic engine when in doubt.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable
from typing import Any

from autograd import engine as _engine
from autograd.engine import Value

__all__ = ["Compiled", "TraceError", "compile"]

_INF = float("inf")


class TraceError(RuntimeError):
    """Raised when a function cannot be compiled, or its trace no longer applies."""


class _GuardFailed(Exception):
    """Raised by generated code when data takes another branch than the trace."""


# ---------------------------------------------------------------------------
# Observing comparisons during a trace (per thread).

_tracers: dict[int, _Recorder] = {}
_tracers_lock = threading.Lock()


def _observe(value: Value, what: str, other: Any, result: Any) -> None:
    rec = _tracers.get(threading.get_ident())
    if rec is not None:
        rec.record(value, what, other, result)


class _Recorder:
    def __init__(self) -> None:
        self.guards: list[tuple[Value, str, Any, bool]] = []

    def record(self, value: Value, what: str, other: Any, result: Any) -> None:
        if what == "float":
            raise TraceError(
                "compile: float(v) or v.item() on a Value inside a compiled function "
                "would bake its current data into the compiled code as a constant; "
                "keep the computation in Value ops, or call it outside the function"
            )
        if isinstance(other, Value) or type(other) is float:
            self.guards.append((value, what, other, bool(result)))
        else:
            self.guards.append((value, what, float(other), bool(result)))


def _start_recording() -> _Recorder:
    rec = _Recorder()
    with _tracers_lock:
        ident = threading.get_ident()
        if ident in _tracers:
            raise TraceError(
                "compile: a compiled function was called while tracing another one "
                "in the same thread; call it outside, or compile the outer function only"
            )
        _tracers[ident] = rec
        _engine._observer = _observe
    return rec


def _stop_recording() -> None:
    with _tracers_lock:
        _tracers.pop(threading.get_ident(), None)
        if not _tracers:
            _engine._observer = None


# ---------------------------------------------------------------------------
# Arguments: nested lists/tuples of numbers and leaf Values.


def _flatten(obj: Any, flat: list[Any], sig: list[Any], where: str) -> None:
    t = type(obj)
    if t is float or t is int:
        flat.append(obj)
        sig.append("n")
    elif t is list or t is tuple:
        sig.append(len(obj) if t is list else -1 - len(obj))
        for i, o in enumerate(obj):
            _flatten(o, flat, sig, f"{where}[{i}]")
    elif t is Value or isinstance(obj, Value):
        if obj.parents:
            raise TypeError(
                f"compile: argument {where} is an interior Value (op {obj.op!r}); pass "
                "numbers or leaf Values, e.g. value.detach(), or capture it in the function"
            )
        flat.append(obj)
        sig.append("v")
    else:
        try:
            flat.append(_engine._to_float(obj, f"compile: argument {where}"))
        except TypeError:
            raise TypeError(
                f"compile: argument {where} is a {type(obj).__name__}; a compiled "
                "function takes numbers, leaf Values, and lists or tuples of them"
            ) from None
        sig.append("n")


def _rebuild(obj: Any, it: Any) -> Any:
    t = type(obj)
    if t is list:
        return [_rebuild(o, it) for o in obj]
    if t is tuple:
        return tuple(_rebuild(o, it) for o in obj)
    return next(it)


# ---------------------------------------------------------------------------
# One trace: graph -> source -> function.


def _literal(x: float) -> str:
    if x != x:
        return "_nan"
    if x == _INF:
        return "_inf"
    if x == -_INF:
        return "(-_inf)"
    r = repr(float(x))
    return f"({r})" if r.startswith("-") else r


class _Program:
    """The generated code for one trace, and how to feed it."""

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        flat: list[Any],
    ) -> None:
        # 1. Trace with the dynamic engine.
        traced: list[Value] = []
        targs = []
        for x in flat:
            if isinstance(x, Value):
                targs.append(x)
            else:
                v = Value(x)
                traced.append(v)
                targs.append(v)
        start = _engine._count()  # nodes made from here on have smaller ids
        rec = _start_recording()
        try:
            result = fn(*_rebuild(args, iter(targs)))
        finally:
            _stop_recording()
        single = isinstance(result, Value)
        outs = [result] if single else list(result) if isinstance(result, (list, tuple)) else []
        if not outs or not all(isinstance(o, Value) for o in outs):
            raise TraceError(
                "compile: the function must return a Value (the loss), or a tuple whose "
                f"items are Values (the loss first); got {type(result).__name__}"
            )
        self.single = single
        self.trace_nodes = 0

        # 2. Classify what the outputs and guards reach.
        input_pos = {id(v): i for i, v in enumerate(targs)}
        roots: list[Value] = list(outs)
        for g in rec.guards:
            roots.append(g[0])
            if isinstance(g[2], Value):
                roots.append(g[2])
        interior: dict[int, Value] = {}
        leaves: dict[int, Value] = {}  # captured leaves and pre-trace nodes: read .data
        stack = list(roots)
        while stack:
            node = stack.pop()
            k = id(node)
            if k in interior or k in leaves:
                continue
            if node.parents and node._id < start:
                interior[k] = node
                stack.extend(node.parents)
            else:
                leaves[k] = node
        order = sorted(interior.values(), key=lambda n: n._id, reverse=True)  # creation order
        self.trace_nodes = len(order)

        # 3. Names.
        name: dict[int, str] = {}
        for i, v in enumerate(targs):
            name.setdefault(id(v), f"a{i}")
        captured = [v for k, v in leaves.items() if k not in input_pos]
        for j, v in enumerate(captured):
            name[id(v)] = f"p{j}"
        for m, node in enumerate(order):
            name[id(node)] = f"v{m}"
        # leaves whose gradients we return: Value arguments (not numbers) and captured ones
        grad_leaves: list[Value] = []
        seen_leaf = {id(t) for t in traced}
        for v in [*targs, *captured]:
            if id(v) not in seen_leaf:
                seen_leaf.add(id(v))
                grad_leaves.append(v)
        wants = {id(v) for v in grad_leaves}
        self.arg_values = [i for i, x in enumerate(flat) if isinstance(x, Value)]
        self.captured = captured
        self.grad_leaves = grad_leaves

        # 4. Emit the forward.
        glob: dict[str, Any] = {"_nan": float("nan"), "_inf": _INF, "_GuardFailed": _GuardFailed}
        body: list[str] = []
        nargs = len(targs)
        if nargs:
            body.append(f"    {', '.join(f'a{i}' for i in range(nargs))}, = _x")
        if captured:
            body.append(f"    {', '.join(f'p{j}' for j in range(len(captured)))}, = _p")
        fn_names: dict[int, str] = {}
        needs = set(wants)  # nodes through which some wanted gradient flows
        local_expr: dict[int, list[str | None]] = {}
        for m, node in enumerate(order):
            op = node._op
            if op is None:  # cannot happen: interior nodes always have an op
                raise TraceError(f"compile: node {node!r} has parents but no op")
            operands = node.operands
            args_s = [name[id(o)] if isinstance(o, Value) else _literal(o) for o in operands]
            out = f"v{m}"
            need = any(id(p) in needs for p in node.parents)
            if need:
                needs.add(id(node))
            cg = op.codegen
            npar = len(operands) - op.params
            if cg is not None:
                for key, val in cg.names.items():
                    if glob.get(key, val) is not val:
                        raise TraceError(
                            f"compile: op {op.name!r} binds template name {key!r} to another "
                            "object than an earlier op; rename it in its Codegen.names"
                        )
                    glob[key] = val
                temps: dict[str, str] = {}
                for k, t in enumerate(cg.temp_templates(len(operands))):
                    tn = f"t{m}_{k}"
                    body.append(f"    {tn} = {t.format(*args_s, **temps)}")
                    temps[f"t{k}"] = tn
                fwd = cg.forward_template(len(operands)).format(*args_s, **temps)
                body.append(f"    {out} = {fwd}")
                if need:
                    for k, t in enumerate(cg.after_templates(len(operands))):
                        un = f"u{m}_{k}"
                        body.append(f"    {un} = {t.format(*args_s, out=out, **temps)}")
                        temps[f"u{k}"] = un
                    tl = cg.local_templates(len(operands))
                    local_expr[id(node)] = [
                        tl[i].format(*args_s, out=out, **temps) if isinstance(o, Value) else None
                        for i, o in enumerate(operands[:npar])
                    ]
            else:
                if id(op) not in fn_names:
                    fn_names[id(op)] = f"_op{len(fn_names)}"
                    glob[fn_names[id(op)] + "_f"] = op.forward
                    glob[fn_names[id(op)] + "_l"] = op.local
                f = fn_names[id(op)]
                body.append(f"    {out} = {f}_f({', '.join(args_s)})")
                if need:
                    body.append(f"    d{m} = {f}_l({out}, {', '.join(args_s)})")
                    local_expr[id(node)] = [
                        f"d{m}[{i}]" if isinstance(o, Value) else None
                        for i, o in enumerate(operands[:npar])
                    ]

        # 5. Guards (after the forward; before any gradient is returned).
        for value, what, other, res in rec.guards:
            rhs = name[id(other)] if isinstance(other, Value) else _literal(other)
            cond = f"{name[id(value)]} {what} {rhs}"
            body.append(f"    if {'not ' if res else ''}({cond}): raise _GuardFailed")
        self.nguards = len(rec.guards)

        # 6. Emit the backward, in Value.backward's order.
        loss = outs[0]
        gname: dict[int, str] = {}
        first: set[int] = set()
        ret_grads = []
        for v in grad_leaves:
            gname[id(v)] = f"g_{name[id(v)]}"
        if grad_leaves:
            body.append(f"    {', '.join(gname[id(v)] for v in grad_leaves)}, = _g")
        if id(loss) in interior and id(loss) in needs:
            bwd = [n for n in sorted(interior.values(), key=lambda n: n._id) if id(n) in needs]
            reach = {id(loss)}
            gname[id(loss)] = f"g_{name[id(loss)]}"
            body.append(f"    {gname[id(loss)]} = 1.0")
            for node in bwd:
                if id(node) not in reach:
                    continue  # guard-only node: not on the loss's graph
                gn = gname[id(node)]
                for o, d in zip(node.operands, local_expr[id(node)]):
                    if d is None or id(o) not in needs:
                        continue
                    ko = id(o)
                    if d == "1.0":
                        term = gn
                    elif d == "-1.0":
                        term = f"-{gn}"
                    elif d.isidentifier() or d.startswith("d"):
                        term = f"{gn} * {d}"
                    else:
                        term = f"{gn} * ({d})"
                    if ko in wants or ko in first:
                        body.append(f"    {gname[ko]} += {term}")
                    else:
                        first.add(ko)
                        reach.add(ko)
                        gname[ko] = f"g_{name[ko]}"
                        body.append(f"    {gname[ko]} = {term}")
        elif id(loss) in wants:  # the loss is itself a leaf argument or parameter
            body.append(f"    {gname[id(loss)]} += 1.0")
        ret_grads = [gname[id(v)] for v in grad_leaves]
        outs_s = ", ".join(name[id(o)] if id(o) in name else _literal(o.data) for o in outs)
        body.append(f"    return ({outs_s},), ({', '.join(ret_grads)}{',' if ret_grads else ''})")
        src = "def _compiled(_x, _p, _g):\n" + "\n".join(body) + "\n"
        self.source = src
        exec(builtins.compile(src, "<autograd.compile>", "exec"), glob)
        self.run: Callable[..., tuple[tuple[float, ...], tuple[float, ...]]] = glob["_compiled"]
        self.trace_outputs = tuple(o.data for o in outs)

    def initial_grads(self) -> list[float]:
        """The gradients the generated code starts from: leaves accumulate into
        their ``.grad``; nodes made before the trace start from 0."""
        return [0.0 if v.parents else v.grad for v in self.grad_leaves]


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
        self._cache: dict[tuple[Any, ...], _Program] = {}
        self.__doc__ = getattr(fn, "__doc__", None)

    def _trace(self, key: tuple[Any, ...], args: tuple[Any, ...], flat: list[Any]) -> _Program:
        if self.traces >= self.max_traces and not self.retrace:
            raise TraceError(
                f"compile: {getattr(self.fn, '__name__', 'function')} needed more than "
                f"{self.max_traces} traces; its structure changes from call to call, so "
                "call it without compile"
            )
        prog = _Program(self.fn, args, flat)
        self.traces += 1
        if len(self._cache) >= self.max_traces:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = prog
        return prog

    def program(self, *args: Any) -> _Program:
        """Return the trace used for these arguments (tracing now if there is none)."""
        flat: list[Any] = []
        sig: list[Any] = []
        _flatten(args, flat, sig, "args")
        key = tuple(sig)
        prog = self._cache.get(key)
        return prog if prog is not None else self._trace(key, args, flat)

    def source(self, *args: Any) -> str:
        """Return the generated Python source for these arguments' trace."""
        return self.program(*args).source

    def _execute(self, args: tuple[Any, ...], backward: bool) -> tuple[tuple[float, ...], bool]:
        flat: list[Any] = []
        sig: list[Any] = []
        _flatten(args, flat, sig, "args")
        key = tuple(sig)
        prog = self._cache.get(key)
        if prog is None:
            prog = self._trace(key, args, flat)
        xs = [x.data if type(x) is not float and isinstance(x, Value) else x for x in flat]
        try:
            outs, grads = prog.run(xs, [p.data for p in prog.captured], prog.initial_grads())
        except _GuardFailed:
            if not self.retrace:
                raise TraceError(
                    f"compile: {getattr(self.fn, '__name__', 'function')} takes another "
                    "branch on this data than when it was traced (a comparison or bool() "
                    "on a Value changed); pass retrace=True, or express the branch with "
                    "ops such as relu, maximum or clamp"
                ) from None
            self._cache.pop(key, None)
            prog = self._trace(key, args, flat)
            outs, grads = prog.run(xs, [p.data for p in prog.captured], prog.initial_grads())
        if backward:
            pre = []
            for v, g in zip(prog.grad_leaves, grads):
                if v.parents:  # a node made before the trace: continue through its graph
                    pre.append((v, g))
                else:
                    v.grad = g
            for v, g in pre:
                v.backward(g)
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
        prog = self.program(*args)
        leaves = list(prog.grad_leaves)
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
    fn: Callable[..., Any] | None = None, *, retrace: bool = True, max_traces: int = 8
) -> Any:
    """Compile a function that builds a loss into straight-line Python.

    Use as ``step = autograd.compile(loss_fn)`` or as a decorator
    (``@autograd.compile`` or ``@autograd.compile(retrace=False)``). The
    function takes numbers, leaf Values, or (nested) lists and tuples of them,
    may capture Values (parameters), and returns a Value (or a tuple of Values,
    the loss first). See :class:`Compiled` for what a call does.

    Args:
        fn: the function to compile.
        retrace: when the data takes another branch of a Python comparison
            than at the trace, trace again (True) or raise :class:`TraceError`.
        max_traces: how many traces (argument structures) to keep.

    Returns:
        A :class:`Compiled` (or a decorator making one, if ``fn`` is None).

    Raises:
        TypeError: if ``fn`` is not callable.
        ValueError: if ``max_traces`` is not a positive int.
    """
    if fn is None:
        return lambda f: Compiled(f, retrace=retrace, max_traces=max_traces)
    return Compiled(fn, retrace=retrace, max_traces=max_traces)
