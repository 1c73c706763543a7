"""The compiled path: trace a fixed-structure function once, then run straight-line Python.

:func:`compile` wraps a function that builds a scalar graph (a loss) from its
arguments and from Values it captures (parameters). On the first call it runs
the function once with the dynamic engine (the *trace*), then generates one
Python function holding the whole forward and backward pass as straight-line
float code, with no ``Value`` objects, and runs that on every later call with
the new arguments and the parameters' current ``.data``. (The function is a
generator, one pass per turn of its loop, kept suspended between calls: its
frame, thousands of locals for a large graph, is allocated once, not per call.)

Where the code comes from: every node is emitted from its op-table entry
(:mod:`autograd.ops`): from the entry's :class:`~autograd.ops.Codegen`
templates where it has them, otherwise as calls of the entry's own
``forward`` and ``local`` functions. No derivative formula lives here. The
emitted backward visits nodes in the order ``Value.backward`` does and
accumulates in the same order, so values and gradients are bit-identical to
the dynamic engine's.

Lean code first: where a branch of the code is taken only at IEEE edges (a
logsumexp whose largest entry or output is infinite or nan), the code CPython
compiles first leaves it out and raises :class:`~autograd.compile_emit.RareBranch`
there instead; the first call that raises compiles the full code
(:meth:`Compiled.source`), which answers that call and every later one.
(W-tape's 10,000 ops: CPython compiles 43,280 lines, not 51,085, a fifth fewer
instructions.)

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
import re
import threading
from collections import Counter
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from autograd.compile_emit import (
    Backward,
    Forward,
    RareBranch,
    analyse,
    emit_guards,
    lean_body,
    names,
    rare,
)
from autograd.engine import Value
from autograd.memory import pause_gc
from autograd.numerics import RAISING as _RAISING
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

__all__ = ["CompileWarning", "Compiled", "TraceError", "TraceStats", "compile"]

_INF = float("inf")
# a run of a trace's generated code: yields (outputs, gradients), is sent the next
# call's (arguments, captured data, initial gradients)
_Run = Generator[tuple[tuple[float, ...], tuple[float, ...]],
                 tuple[list[float], list[float], list[float]], None]


@dataclass(frozen=True)
class TraceStats:
    """What one trace of a compiled function became (``compiled.stats(*args)``).

    As ``jax.make_jaxpr(f)(x).eqns`` or a ``torch.fx`` graph's node counts:
    numbers to assert how a trace runs without reading its generated code.

    Attributes:
        nodes: interior nodes of the traced graph (the ops the code computes,
            plus those only a guard reads).
        ops: op name -> how many traced nodes of it.
        constants: Values made inside the function and baked in as constants
            (the source lines of :attr:`Compiled.constants` for this trace).
        guards: branch guards recorded (comparisons or ``bool()`` on a Value);
            an op's kinks branch inside its code and are not guards.
        calls: nodes run as calls of their op's Python functions (an op with
            neither formula nor templates) instead of inlined code.
        helper_calls: math helper name (``"exp"``, ``"tanh"``...) -> how many
            calls of it the generated code holds (each runs once per call: the
            code is straight-line, without loops: a call runs at most once).
    """

    nodes: int
    ops: Mapping[str, int]
    constants: int
    guards: int
    calls: int
    helper_calls: Mapping[str, int]


def _op_name(node: Value) -> str:
    op: Any = node._entry
    return str(op.name)


def helper_calls(src: str, glob: Mapping[str, Any]) -> dict[str, int]:
    """How many calls of each math helper (a callable global ``_name``, not an op's
    own function ``_op<k>_f``) the source ``src`` holds, by name without ``_``."""
    names = [k for k, v in glob.items() if k.startswith("_") and callable(v)
             and not k.startswith(("_op", "_Guard", "_compiled", "_batched"))]
    counts = {k[1:]: len(re.findall(rf"(?<![\w.]){re.escape(k)}\(", src)) for k in names}
    return {k: n for k, n in sorted(counts.items()) if n}


def _stand_ins(flat: list[Any], keep: frozenset[int]) -> tuple[list[Value], list[Value]]:
    """Pass 1a: the Values a trace runs on, and those of them standing for numbers.

    A new leaf for every number, and one for every distinct Value argument (so
    that the code serves any Values of later calls), except the Value
    arguments at ``keep``, which the function also captures (traced as
    themselves).
    """
    traced: list[Value] = []
    targs: list[Value] = []
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
    return targs, traced


class _Program:
    """The generated code for one trace, and how to feed it (passes 1-7 in order)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        flat: list[Any],
        keep: frozenset[int] = frozenset(),
    ) -> None:
        targs, traced = _stand_ins(flat, keep)
        rec, outs, single, interior, order, leaves = trace(
            fn, args, targs,
            "compile: the function must return a Value (the loss), or a tuple whose "
            "items are Values (the loss first)", traced)
        self.single = single
        self.trace_nodes = len(order)
        name, captured, grad_leaves = names(rec, targs, traced, leaves, order)
        self._slots(targs, captured, grad_leaves)
        #: where the trace turned a Value it made into a constant of the code
        #: (file, line), whether or not that line was warned about before
        self.constants: tuple[tuple[str, int], ...] = tuple(dict.fromkeys(
            rec.made[v] for v in captured if v in rec.made))
        if self.constants:
            warn_constants(fn, rec.made, captured)
        with pause_gc():  # its many short-lived tuples and lists (no cycle) set off collections
            self._generate(rec, targs, outs, interior, order, name, captured, grad_leaves)
        self.trace_outputs = tuple(o.data for o in outs)
        self.ops = dict(Counter(_op_name(node) for node in order))

    def _generate(self, rec: Any, targs: list[Value], outs: list[Value],
                  interior: dict[Value, None], order: list[Value], name: dict[Value, str],
                  captured: list[Value], grad_leaves: list[Value]) -> None:
        """Passes 3-7: the code of the trace (nodes ``order``, outputs ``outs``), compiled."""
        glob: dict[str, Any] = {"_nan": float("nan"), "_inf": _INF, "_GuardFailed": GuardFailed,
                                "_Rare": RareBranch, "_rare": rare}
        body: list[str] = []
        emit = body.append
        if targs:
            emit(f"    {', '.join(f'a{i}' for i in range(len(targs)))}, = _x")
        if captured:
            emit(f"    {', '.join(f'p{j}' for j in range(len(captured)))}, = _p")
        wants = set(grad_leaves)
        info, needs, uses, pinned = analyse(order, outs, rec.guards, wants, glob)
        fw = Forward(body, name, uses, pinned, needs)
        for m, node in enumerate(order):
            fw.node(m, node, *info[m])
        self.calls = fw.calls
        emit_guards(emit, rec.guards, name)
        self.nguards = len(rec.guards)
        loss = outs[0]
        gname: dict[Value, str] = {v: f"g_{name[v]}" for v in grad_leaves}
        if grad_leaves:
            emit(f"    {', '.join(gname[v] for v in grad_leaves)}, = _g")
        if loss in interior and loss in needs:
            Backward(body, gname, wants, needs, fw).run(loss, order)
        elif loss in wants:  # the loss is itself a leaf argument or parameter
            emit(f"    {gname[loss]} += 1.0")
        ret_grads = [gname[v] for v in grad_leaves]
        outs_s = ", ".join(name[o] if o in name else literal(o.data) for o in outs)
        grads_s = ", ".join(ret_grads) + ("," if ret_grads else "")
        emit(f"    _x, _p, _g = yield ({outs_s},), ({grads_s})")  # one run a turn: see _build
        head = "def _compiled(_x, _p, _g):\n    while True:\n    "
        self._build(head + "\n    ".join(body) + "\n", glob,
                    head + "\n    ".join(lean_body(body, fw.lean)) + "\n" if fw.lean else None)

    def _slots(self, targs: list[Value], captured: list[Value], grad_leaves: list[Value]) -> None:
        """Where a call's own leaves are: the position in the call's flat
        arguments of each argument leaf, then the captured ones."""
        self.captured = captured
        self.captured_set = frozenset(captured)
        self.grad_leaves = grad_leaves
        first: dict[Value, int] = {}
        for i, v in enumerate(targs):
            first.setdefault(v, i)
        self.arg_slots = [first[v] for v in grad_leaves if v in first]
        self.captured_leaves = [v for v in grad_leaves if v not in first]
        # every flat argument is a leaf of its own, in order: leaves(flat) is flat itself
        self.all_args = self.arg_slots == list(range(len(targs)))
        # positions (in leaves()) of nodes made before the trace: they have
        # parents (arguments never do) and keep them
        self.pre_slots = frozenset(len(self.arg_slots) + j
                                   for j, v in enumerate(self.captured_leaves)
                                   if v._p is not None)

    def _build(self, src: str, glob: dict[str, Any], lean: str | None = None) -> None:
        """Pass 7: compile the code: ``lean`` where the trace has one (``src`` without
        the lines of branches rare data takes, see :class:`Backward`), else ``src``
        itself; ``src``, the full code, only when a lean run raises
        :class:`RareBranch` (:meth:`_complete`)."""
        self.source = src
        self._lean = lean is not None
        self._load(src if lean is None else lean, glob)

    def _load(self, src: str, glob: dict[str, Any]) -> None:
        """Compile ``src``, and make its function twice: with the helpers, and with
        the math functions themselves for the helpers that only catch their
        exceptions (same floats wherever they return): the fast one runs first; on
        an exception, the helpers' code runs instead (see run).

        The code is a generator, one run of the program per turn of its loop: a
        run yields its results and waits for the next arguments. A generator
        kept between calls (``_idle``) runs in its own frame, allocated once: a
        plain call of a function with thousands of locals gets a new chunk of
        the interpreter's frame stack (mmap and munmap, fresh pages) every
        time, and frees every value when it returns."""
        code = builtins.compile(src, "<autograd.compile>", "exec")
        exec(code, glob)
        self.safe: Callable[..., _Run] = glob["_compiled"]
        raw = {id(k): v for k, v in _RAISING.items()}
        fast = {k: raw.get(id(v), v) for k, v in glob.items()}
        exec(code, fast)
        self.fast: Callable[..., _Run] = fast["_compiled"]
        # runs of fast waiting for their next arguments (one per thread calling at the
        # same time: list.pop and append are atomic); a run that raised is dropped
        self._idle: list[_Run] = []

    def _complete(self) -> None:
        """Run the full code from now on (a lean run met a branch only it has)."""
        if self._lean:
            self._lean = False
            self._load(self.source, self.safe.__globals__)

    def __getstate__(self) -> dict[str, Any]:
        """The state for copy and pickle: without the suspended runs (a generator has
        none to copy; the copy makes its own)."""
        return {**self.__dict__, "_idle": []}

    @property
    def stats(self) -> TraceStats:
        """This trace's :class:`TraceStats` (its helper calls counted on first use)."""
        st = self.__dict__.get("_stats")
        if st is None:
            st = self._stats = TraceStats(
                nodes=self.trace_nodes, ops=self.ops, constants=len(self.constants),
                guards=self.nguards, calls=self.calls,
                helper_calls=helper_calls(self.source, self.safe.__globals__))
        return st

    def run(self, xs: list[float], ps: list[float], gs: list[float],
            ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Outputs and gradients for arguments ``xs``, captured data ``ps`` and
        initial gradients ``gs`` (none of them is modified)."""
        idle = self._idle
        try:
            try:
                run = idle.pop()
            except IndexError:  # the first call, or another thread's run is under way
                run = self.fast(xs, ps, gs)
                got = next(run)
            else:
                got = run.send((xs, ps, gs))
        except (ArithmeticError, ValueError):  # an IEEE edge (1/0, log(0)...): the helpers
            try:
                return next(self.safe(xs, ps, gs))
            except RareBranch:
                pass
        except RareBranch:
            pass
        else:
            idle.append(run)
            return got
        self._complete()  # the lean code raised: the full code answers, now and from now on
        return self.run(xs, ps, gs)

    def leaves(self, flat: list[Any]) -> list[Value]:
        """The leaves a call with flat arguments ``flat`` returns gradients for, in order."""
        if self.all_args:
            return flat + self.captured_leaves if self.captured_leaves else flat
        return [flat[i] for i in self.arg_slots] + self.captured_leaves

    def initial_grads(self, leaves: list[Value]) -> list[float]:
        """The gradients the generated code starts from: leaves accumulate into
        their ``.grad``; nodes made before the trace start from 0."""
        grads = [v.grad for v in leaves]
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
        # (n, trace) when a call with one list of n distinct leaf Values has a trace
        # (the commonest call: step(params)); see _run_list
        self._list: tuple[int, _Program] | None = None
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
        self._list = None  # found again by the next general call
        self._constants.update(dict.fromkeys(prog.constants))
        if len(self._cache) >= self.max_traces:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = prog
        return prog

    def _lookup(self, args: tuple[Any, ...]
                ) -> tuple[_Program, list[Any], tuple[Any, ...], frozenset[int], bool]:
        """The trace for these arguments (tracing now if there is none), the flat
        arguments, the trace's key, the Value arguments it keeps as themselves and
        whether every flat argument is a Value.

        The key is the arguments' structure, plus which Value arguments are the
        same Value (``f(a, a)`` is another trace than ``f(a, b)``), plus which
        ones are Values the function captures (traced as themselves).
        """
        flat: list[Any] = []
        sig: list[Any] = []
        flatten(args, flat, sig, "args")
        key = tuple(sig)
        nv = sig.count("v")
        every = nv == len(flat)
        vals: list[Any] = []
        if nv:
            vals = flat if every else [x for x in flat
                                       if type(x) is not float and type(x) is not int]
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
        if vals and prog.captured_set and not prog.captured_set.isdisjoint(vals):
            # an argument is captured too
            caps = prog.captured_set
            shared = tuple((i, x) for i, x in enumerate(flat) if x in caps)
            keep = frozenset(i for i, _ in shared)
            key += (("captured", shared),)
            prog = self._cache.get(key) or self._trace(key, args, flat, keep)
        return prog, flat, key, keep, every

    @property
    def constants(self) -> tuple[tuple[str, int], ...]:
        """Every (file, line) where a trace so far baked a Value it made into the code."""
        return tuple(self._constants)

    def program(self, *args: Any) -> _Program:
        """Return the trace used for these arguments (tracing now if there is none)."""
        return self._lookup(args)[0]

    def source(self, *args: Any) -> str:
        """Return the generated Python source for these arguments' trace (its full
        code: the lean code runs first, see the module's docstring)."""
        return self.program(*args).source

    def stats(self, *args: Any) -> TraceStats:
        """What the trace for these arguments became (tracing now if there is none).

        Returns:
            A :class:`TraceStats`: its nodes, ops, constants, guards and calls.
        """
        return self.program(*args).stats

    def _execute(self, args: tuple[Any, ...], backward: bool) -> tuple[tuple[float, ...], bool]:
        if tracers and threading.get_ident() in tracers:
            raise TraceError(
                "compile: a compiled function was called inside a function being traced; "
                "its float results would become constants of the outer trace: call the "
                "uncompiled function there (compiled.fn), or compile only the outer one"
            )
        prog, flat, key, keep, every = self._lookup(args)
        xs = ([x._data for x in flat] if every else
              [x._data if type(x) is not float and isinstance(x, Value) else x for x in flat])
        leaves = prog.leaves(flat)
        try:
            outs, grads = prog.run(xs, [p._data for p in prog.captured],
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
        if (len(args) == 1 and type(args[0]) is list and every and not keep
                and len(key) == len(flat) + 2):  # args, one list, no nested one: its Values
            self._list = (len(flat), prog)  # (distinct: "same" would lengthen the key)
        return outs, prog.single

    def _run_list(self, arg: Any, backward: bool) -> tuple[tuple[float, ...], bool] | None:
        """A call with the one argument ``arg``, when it is a list of the same length of
        distinct leaf Values as a call traced before, none captured by the function:
        what :meth:`_execute` returns, checking only that. None for any other call (and
        where the data takes another branch): the general path then traces, refuses
        or runs it."""
        n, prog = self._list  # type: ignore[misc]
        if type(arg) is not list or len(arg) != n:
            return None
        caps = prog.captured_set
        if ([v._p if type(v) is Value else 1 for v in arg].count(None) != n  # leaf Values
                or len(set(arg)) != n or (caps and not caps.isdisjoint(arg))
                or (tracers and threading.get_ident() in tracers)):
            return None
        leaves = arg + prog.captured_leaves if prog.captured_leaves else arg
        try:
            outs, grads = prog.run([v._data for v in arg], [p._data for p in prog.captured],
                                   prog.initial_grads(leaves))
        except GuardFailed:
            return None
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
        got = self._run_list(args[0], True) if self._list and len(args) == 1 else None
        outs, single = self._execute(args, True) if got is None else got
        return outs[0] if single else outs

    def forward(self, *args: Any) -> Any:
        """Run the forward pass only: no ``.grad`` changes; returns as :meth:`__call__`."""
        got = self._run_list(args[0], False) if self._list and len(args) == 1 else None
        outs, single = self._execute(args, False) if got is None else got
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
        prog, flat = self._lookup(args)[:2]
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
