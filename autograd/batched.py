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

What the batched path does (its passes live in :mod:`autograd.batch_rules`:
chains, groups, layout, error plan; :mod:`autograd.batched_emit`: the trace and
the forward, one rule per op kind; :mod:`autograd.batched_backward`: the
backward and assembly; this module: the callable, its caches, fallbacks and
:class:`ArrayStep`):

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
matrix product) over the batch, and the loss is NumPy's (pairwise) sum of the
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

import operator
import threading
from collections.abc import Callable, Sequence
from typing import Any

from autograd.batched_emit import BatchedStats, Program, WorkArrays
from autograd.compile import Compiled
from autograd.engine import Value
from autograd.formula_numpy import namespace, require_numpy
from autograd.trace import TraceError, flatten

__all__ = ["ArrayStep", "BatchedCompiled", "BatchedStats", "compile_batched", "require_numpy"]

REDUCTIONS = ("mean", "sum")
_DATA = operator.attrgetter("_data")  # a parameter's float, read in one C-level pass
_INF = float("inf")
_REL = 1e-9  # self-check tolerance (relative to the terms' magnitude)


# ---------------------------------------------------------------------------
# The compiled batched function.


def _join(np: Any, mats: list[Any], n: int, out: Any = None) -> Any:
    """The arguments' matrices side by side, one row per sample (``concatenate``'s
    array; into ``out``, an array of that shape, if given). A few columns over many
    rows are copied one column at a time: NumPy copies a block of two or three
    columns row by row, several times slower."""
    width = sum(m.shape[1] for m in mats)
    if width > 8 or n < 512:
        return np.concatenate(mats, axis=1, out=out)
    D = np.empty((n, width)) if out is None else out
    flat = D.reshape(-1)
    c = 0
    for m in mats:
        for j in range(m.shape[1]):
            flat[c::width] = m[:, j]
            c += 1
    return D


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
        self._programs: dict[tuple[Any, ...], list[Program | None]] = {}
        self._fallback: Compiled | None = None
        self._lock = threading.RLock()  # traces and the per-sample path use the Values
        self._is_single = True
        self._joined: dict[int, WorkArrays] = {}  # the joined batch's arrays, by width
        self.__doc__ = getattr(fn, "__doc__", None)

    # -- inputs
    def _columns(self, args: tuple[Any, ...], held: list[Any] | None = None,
                 ) -> tuple[Any, tuple[Any, ...], int]:
        """The batch as one matrix (a row per sample), its shape key and its size; with
        ``held``, several arguments are joined into a kept array (see
        :class:`~autograd.batched_emit.WorkArrays`), appended to ``held`` to be given
        back when the call ends."""
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
        assert n is not None
        if len(mats) == 1:
            return mats[0], tuple(key), n
        out = None
        if held is not None:
            width = sum(m.shape[1] for m in mats)
            pool = self._joined.get(width)
            if pool is None:
                if len(self._joined) >= 8:
                    self._joined.clear()
                pool = self._joined.setdefault(width, WorkArrays(np, [width]))
            work = pool.take(n)
            held.append((pool, n, work))
            out = work[0]
        return _join(np, mats, n, out), tuple(key), n

    @staticmethod
    def _sample(args: tuple[Any, ...], i: int) -> tuple[Any, ...]:
        out = []
        for a in args:
            item = a[i]
            out.append(item.tolist() if hasattr(item, "tolist") else item)
        return tuple(out)

    # -- programs
    def _new_program(self, args: tuple[Any, ...], i: int) -> Program | None:
        sample = self._sample(args, i)
        self.traces += 1
        prog = Program(self.fn, sample)
        self._is_single = prog.single
        if self._self_check(prog):
            return prog
        prog = Program(self.fn, sample, group=False)
        return prog if self._self_check(prog) else None

    def _self_check(self, prog: Program) -> bool:
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
    def _programs_for(self, key: tuple[Any, ...]) -> list[Program | None]:
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
        held: list[Any] = []
        try:
            return self._execute_on(self._columns(args, held), args, backward, arr, theta)
        finally:  # the joined batch's array, for the next call (outputs never view it)
            for pool, n, work in held:
                pool.give(n, work, None)

    def _execute_on(self, batch: tuple[Any, tuple[Any, ...], int], args: tuple[Any, ...],
                    backward: bool, arr: _ArrayCall | None, theta: Any) -> Any:
        np = self._np
        D, key, n = batch
        seed = 1.0 / n if self.reduction == "mean" else 1.0
        progs = self._programs_for(key)
        rows = None  # None: all rows
        parts: list[tuple[Any, tuple[Any, ...]]] = []  # (row indices or None, outs)
        exact: list[Any] = []  # rows the dynamic engine's own path takes (near a kink)
        k = 0
        state = ""
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
                rows, state = self._run(prog, D, rows, arr, theta, seed, backward, parts,
                                        exact)
                if state == "done":
                    break
                if state == "next":
                    k += 1
            if state == "done" and not exact:  # the usual case: one program ran them all
                return self._assemble(parts, n)
        rest = [*exact] if state == "done" else [np.arange(n) if rows is None else rows,
                                                 *exact]
        rest_rows = np.sort(np.concatenate(rest))
        if rest_rows.size:
            if arr is None:
                with self._lock:
                    parts.append((rest_rows, self._run_per_sample(args, rest_rows, seed,
                                                                  backward)))
            else:
                parts.append((rest_rows, arr._per_sample(theta, args, rest_rows, seed,
                                                         backward)))
        with np.errstate(all="ignore"):
            return self._assemble(parts, n)

    def _run(self, prog: Program, D: Any, rows: Any, arr: _ArrayCall | None, theta: Any,
             seed: float, backward: bool, parts: list[Any],
             exact: list[Any]) -> tuple[Any, str]:
        """Run ``prog`` on ``rows`` (None: all); return the rows left and what to do next.

        Samples near a kink (within their values' error bounds) join ``exact``;
        those taking another branch are left for the next program (``"next"``);
        after samples were set aside, the program runs again on the others
        (``"again"``); ``"done"`` when it ran them all.
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
            idx = np.arange(D.shape[0]) if rows is None else rows
            ok = G if G.ndim else np.full(sub.shape[0], bool(G))
            if pre is True:  # near a kink: the dynamic engine's path for those
                exact.append(idx[~ok])
                return idx[ok], "again"
            take, rest = idx[ok], idx[~ok]
            left, state = take, "again"
            while state == "again" and left.size:
                left, state = self._run(prog, D, left, arr, theta, seed, backward, parts,
                                        exact)
                if state == "next":
                    raise TraceError(
                        "compile(batch=True): a guard changed between two runs on the "
                        "same samples; the function depends on state the trace cannot see"
                    )
            return rest, "next"
        parts.append((rows, outs))
        if backward:
            self._accumulate(prog, G, pre) if arr is None else arr._add(prog, G)
        return None, "done"

    @staticmethod
    def _accumulate(prog: Program, G: Any, pre: tuple[Any, ...]) -> None:
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
        # inf and nan are results here, as in the engine (the caller ignores NumPy's
        # warnings); NumPy's pairwise sum: the mean is promised to rounding
        total = float(outs[0].sum())
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

    def programs(self, *args: Any) -> list[Program]:
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

    def stats(self, *args: Any) -> BatchedStats:
        """What the traces for these arguments' shapes became (tracing now if none).

        Returns:
            A :class:`BatchedStats`, summed over the programs serving this
            shape (``programs == 0`` when every sample takes the per-sample
            path).
        """
        _, key, _ = self._columns(args)
        if key not in self._programs:
            self.forward(*args)
        total = BatchedStats(0, {}, 0, 0, 0, {}, 0, 0, 0, {})
        for prog in self.programs(*args):
            total = total + prog.stats
        return total

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

    def _perm(self, prog: Program) -> Any:
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
        return loss, call.total(), tuple(outs[1:])

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
    that threads may call one step at once; None until a program or the per-sample
    path adds to it)."""

    __slots__ = ("grad", "step")

    def __init__(self, step: ArrayStep, theta: Any) -> None:
        self.step = step
        self.grad: Any = None

    def total(self) -> Any:
        """The gradient (a new array)."""
        if self.grad is None:
            self.grad = self.step.compiled._np.zeros(len(self.step.params))
        return self.grad

    def _perm(self, prog: Program) -> Any:
        return self.step._perm(prog)

    def _write(self, theta: Any) -> None:
        self.step._write(theta)

    def _add(self, prog: Program, G: Any) -> None:
        perm = self.step._perm(prog)
        if perm is None and self.grad is None:
            self.grad = G  # the program's own new array: the first add takes it as it is
        elif perm is None:
            self.grad += G
        else:
            self.total()[perm] += G

    def _per_sample(self, theta: Any, args: tuple[Any, ...], rows: Any, seed: float,
                    backward: bool) -> tuple[Any, ...]:
        """Run ``rows`` through the per-sample path on the Values (under the step's lock:
        their ``.data`` and ``.grad`` are borrowed, then restored)."""
        ps = self.step.params
        with self.step.compiled._lock:
            self.step._write(theta)
            saved = [p.grad for p in ps]
            for p, g in zip(ps, self.total().tolist()):  # they add on, as the Value call's do
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
