"""W-tape: a generated graph unlike ours, beside a plain-Python index tape (issue 22).

The workload is a deterministic (seeded) list of N scalar ops over 100 inputs,
cycling through unary ops (``tanh``, ``exp``, ``log`` of a positive value,
``sigmoid``, ``relu``), products, additions, short ``autograd.sum``,
``autograd.mean``, ``autograd.dot``, ``autograd.logsumexp`` and
``autograd.softmax`` (2-5 operands), closed by one ``sum`` of every result
no op consumed. The op list is written once (:func:`make_graph`) and replayed by

* ``index tape (peer)``: the design any user can write in an afternoon, values
  and gradients in two flat lists, the ops as index tuples replayed forward,
  then backward with hand-written local rules for exactly these ops
  (:class:`Tape`; the peer, so its rules are its own);
* ``chainrule dynamic``: the same op list replayed with ``Value`` operations
  (:func:`replay`), then ``backward()``;
* ``chainrule compiled``: :func:`replay` through ``autograd.compile``.

Before timing, the three must agree on every value and input gradient (the
largest relative difference is recorded; more than 1e-9 raises). Then, in
interleaved rounds in one process (CPU time, each GC mode), forward+backward
steps are timed; the ratios to the tape are given as the ratio of the best
steps and as the range of the per-round ratios (the machine's noise).

Also measured: per-op rows (forward and forward+backward of ``sum``, ``mean``,
``dot``, ``logsumexp``, ``softmax`` of k = 2, 4, 8 operands against k - 1
binary ``+`` nodes over the same operands, and against the same function
written with binary and unary ops), bytes per node of the built graph,
``grad(create_graph=True)`` against a plain backward, and compile time for
N = 1,000 / 3,000 / 10,000 ops.

Run: ``python -m benchmarks.tape [--quick] [--profile] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import gc
import math
import operator
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial, reduce
from typing import Any

import autograd
from autograd import Value
from benchmarks.timing import (
    best_in_rounds,
    fmt_table,
    gc_mode,
    machine,
    profile_top,
    traced_bytes,
    write_json,
)

TAPE = "index tape (peer)"
DYNAMIC = "chainrule dynamic"
COMPILED = "chainrule compiled"
TOLERANCE = 1e-9
N_INPUTS = 100

# op codes, shared by every engine: each op is (code, out, a, b) where ``out`` is the
# slot of its (first) result; unary: a = operand slot; mul/add: a, b slots; n-ary: a =
# tuple of slots (dot: a = xs, b = ys); softmax writes k results from ``out`` on.
TANH, EXP, LOG, SIGMOID, RELU, MUL, ADD, SUM, MEAN, DOT, LSE, SOFTMAX = range(12)
NAMES = ("tanh", "exp", "log", "sigmoid", "relu", "mul", "add", "sum", "mean", "dot",
         "logsumexp", "softmax")
UNARY = (TANH, EXP, LOG, SIGMOID, RELU)
CYCLE = ("unary", MUL, SUM, "unary", MUL, SOFTMAX, "unary", ADD, LSE, "unary", MUL, MEAN,
         "unary", DOT)

Op = tuple[int, int, Any, Any]


@dataclass(frozen=True)
class Graph:
    """A generated workload: the inputs, the op list, the slot count and the root slot."""

    inputs: tuple[float, ...]
    ops: tuple[Op, ...]
    slots: int

    @property
    def root(self) -> int:
        """The slot of the loss (the closing sum)."""
        return self.slots - 1

    def counts(self) -> dict[str, int]:
        """How many ops of each kind (the closing sum included)."""
        out: dict[str, int] = {}
        for op in self.ops:
            out[NAMES[op[0]]] = out.get(NAMES[op[0]], 0) + 1
        return out


# ---------------------------------------------------------------------------
# The peer: an index tape with hand-written local rules (benchmarks only).


def tape_forward(ops: Sequence[Op], v: list[float]) -> None:
    """Replay ``ops`` forward over the value list ``v`` (inputs first, results after)."""
    exp, log, tanh = math.exp, math.log, math.tanh
    for code, out, a, b in ops:
        if code == MUL:
            v[out] = v[a] * v[b]
        elif code == TANH:
            v[out] = tanh(v[a])
        elif code == EXP:
            v[out] = exp(v[a])
        elif code == LOG:
            v[out] = log(v[a])
        elif code == SIGMOID:
            v[out] = 1.0 / (1.0 + exp(-v[a]))
        elif code == RELU:
            x = v[a]
            v[out] = x if x > 0.0 else 0.0
        elif code == ADD:
            v[out] = v[a] + v[b]
        elif code == SUM:
            v[out] = sum([v[i] for i in a])
        elif code == MEAN:
            v[out] = sum([v[i] for i in a]) / len(a)
        elif code == DOT:
            v[out] = sum([v[i] * v[j] for i, j in zip(a, b)])
        elif code == LSE:
            xs = [v[i] for i in a]
            m = max(xs)
            v[out] = m + log(sum([exp(x - m) for x in xs]))
        else:  # SOFTMAX
            xs = [v[i] for i in a]
            m = max(xs)
            es = [exp(x - m) for x in xs]
            s = sum(es)
            for j, e in enumerate(es):
                v[out + j] = e / s


def tape_backward(ops: Sequence[Op], v: Sequence[float], g: list[float]) -> None:
    """Replay ``ops`` backward, accumulating d root / d slot into ``g`` (seeded by the caller)."""
    exp = math.exp
    for code, out, a, b in reversed(ops):
        go = g[out]
        if code == MUL:
            g[a] += go * v[b]
            g[b] += go * v[a]
        elif code == TANH:
            t = v[out]
            g[a] += go * (1.0 - t * t)
        elif code == EXP:
            g[a] += go * v[out]
        elif code == LOG:
            g[a] += go / v[a]
        elif code == SIGMOID:
            s = v[out]
            g[a] += go * s * (1.0 - s)
        elif code == RELU:
            if v[a] > 0.0:
                g[a] += go
        elif code == ADD:
            g[a] += go
            g[b] += go
        elif code == SUM:
            for i in a:
                g[i] += go
        elif code == MEAN:
            go /= len(a)
            for i in a:
                g[i] += go
        elif code == DOT:
            for i, j in zip(a, b):
                g[i] += go * v[j]
                g[j] += go * v[i]
        elif code == LSE:
            y = v[out]
            for i in a:
                g[i] += go * exp(v[i] - y)
        else:  # SOFTMAX: d x_i = s_i (g_i - sum_j g_j s_j)
            outs = range(out, out + len(a))
            d = sum([g[o] * v[o] for o in outs])
            for i, o in zip(a, outs):
                g[i] += v[o] * (g[o] - d)


class Tape:
    """The peer engine: one step is :func:`tape_forward` then :func:`tape_backward`."""

    name = TAPE

    def __init__(self, graph: Graph) -> None:
        self.ops = graph.ops
        self.n_in = len(graph.inputs)
        self.pad = [0.0] * (graph.slots - self.n_in)
        self.slots = graph.slots

    def values(self, xs: Sequence[float]) -> list[float]:
        """Every slot's value for inputs ``xs``."""
        v = list(xs) + self.pad
        tape_forward(self.ops, v)
        return v

    def loss_grads(self, xs: Sequence[float]) -> tuple[float, list[float]]:
        """The loss and d loss / d input (one forward and one backward)."""
        v = list(xs) + self.pad
        tape_forward(self.ops, v)
        g = [0.0] * self.slots
        g[-1] = 1.0
        tape_backward(self.ops, v, g)
        return v[-1], g[: self.n_in]

    step = loss_grads


# ---------------------------------------------------------------------------
# The workload, and chainrule replaying it.


def make_graph(n_ops: int, *, seed: int = 0, n_inputs: int = N_INPUTS) -> Graph:
    """Generate ``n_ops`` ops over ``n_inputs`` inputs (then the closing sum), deterministically.

    Operands are drawn mostly from recent results not yet consumed, else from the last 64
    slots or the inputs, within bounds that keep every value finite and every ``log``'s
    operand positive (the generator evaluates as it goes, with :func:`tape_forward`).

    Raises:
        ValueError: if ``n_ops`` or ``n_inputs`` is below 1.
    """
    if n_ops < 1 or n_inputs < 1:
        raise ValueError(f"make_graph: n_ops ({n_ops}) and n_inputs ({n_inputs}) must be >= 1")
    rng = random.Random(seed)
    v = [rng.uniform(0.5, 1.5) for _ in range(n_inputs)]
    inputs = tuple(v)
    ops: list[Op] = []
    fresh: list[int] = []
    used: set[int] = set()

    def pick(ok: Callable[[float], bool]) -> int:
        n = len(v)
        for _ in range(8):
            r = rng.random()
            if r < 0.6 and fresh:
                i = fresh.pop(len(fresh) - 1 - rng.randrange(min(8, len(fresh))))
            elif r < 0.85 and n > n_inputs:
                i = rng.randrange(max(n_inputs, n - 64), n)
            else:
                i = rng.randrange(n_inputs)
            if ok(v[i]):
                used.add(i)
                return i
        return rng.randrange(n_inputs)  # the inputs (0.5-1.5) pass every bound

    def bounded(x: float) -> bool:
        return abs(x) <= 50.0

    def small(x: float) -> bool:
        return abs(x) <= 3.0

    def push(code: int, a: Any, b: Any, outs: int = 1) -> None:
        op = (code, len(v), a, b)
        v.extend([0.0] * outs)
        tape_forward([op], v)
        ops.append(op)
        fresh.extend(range(op[1], op[1] + outs))

    unary = 0
    for n in range(n_ops):
        kind = CYCLE[n % len(CYCLE)]
        k = rng.randint(2, 5)
        if kind == "unary":
            code = UNARY[unary % len(UNARY)]
            unary += 1
            ok = {EXP: small, LOG: lambda x: x > 0.05}.get(code, bounded)
            push(code, pick(ok), 0)
        elif kind in (MUL, ADD):
            ok = small if kind == MUL else bounded
            push(int(kind), pick(ok), pick(ok))
        elif kind == DOT:
            push(DOT, tuple(pick(small) for _ in range(k)), tuple(pick(small) for _ in range(k)))
        else:
            push(int(kind), tuple(pick(bounded) for _ in range(k)), None,
                 outs=k if kind == SOFTMAX else 1)
    rest = tuple(i for i in range(n_inputs, len(v)) if i not in used)
    push(SUM, rest, None)
    return Graph(inputs, tuple(ops), len(v))


def replay(ops: Sequence[Op], leaves: Sequence[Value]) -> list[Value]:
    """Build the op list's graph with chainrule ``Value`` ops; return every slot's Value."""
    s = list(leaves)
    push = s.append
    for code, _, a, b in ops:
        if code == MUL:
            push(s[a] * s[b])
        elif code == TANH:
            push(s[a].tanh())
        elif code == EXP:
            push(s[a].exp())
        elif code == LOG:
            push(s[a].log())
        elif code == SIGMOID:
            push(s[a].sigmoid())
        elif code == RELU:
            push(s[a].relu())
        elif code == ADD:
            push(s[a] + s[b])
        elif code == SUM:
            push(autograd.sum([s[i] for i in a]))
        elif code == MEAN:
            push(autograd.mean([s[i] for i in a]))
        elif code == DOT:
            push(autograd.dot([s[i] for i in a], [s[j] for j in b]))
        elif code == LSE:
            push(autograd.logsumexp([s[i] for i in a]))
        else:
            s.extend(autograd.softmax([s[i] for i in a]))
    return s


def loss_fn(ops: Sequence[Op]) -> Callable[[Sequence[Value]], Value]:
    """The function of the leaves both chainrule rows run: the root of :func:`replay`."""
    def loss(leaves: Sequence[Value]) -> Value:
        return replay(ops, leaves)[-1]
    return loss


class Dynamic:
    """chainrule's dynamic engine: leaves, :func:`replay`, ``backward()``."""

    name = DYNAMIC

    def __init__(self, graph: Graph) -> None:
        self.loss = loss_fn(graph.ops)

    def loss_grads(self, xs: Sequence[float]) -> tuple[float, list[float]]:
        """The loss and d loss / d input."""
        leaves = [Value(x) for x in xs]
        root = self.loss(leaves)
        root.backward()
        return root.data, [x.grad for x in leaves]

    step = loss_grads


class Compiled:
    """The same loss through ``autograd.compile`` (traced on the first call)."""

    name = COMPILED

    def __init__(self, graph: Graph) -> None:
        self.fn = autograd.compile(loss_fn(graph.ops))

    def loss_grads(self, xs: Sequence[float]) -> tuple[float, list[float]]:
        """The loss and d loss / d input."""
        leaves = [Value(x) for x in xs]
        loss = self.fn(leaves)
        return float(loss), [x.grad for x in leaves]

    step = loss_grads


ENGINES: tuple[Callable[[Graph], Any], ...] = (Tape, Dynamic, Compiled)


# ---------------------------------------------------------------------------
# Agreement.


def rel_err(a: Sequence[float], b: Sequence[float]) -> float:
    """Largest elementwise ``|a - b| / max(|b|, 1e-3 * max|b|)``: relative, and absolute
    at a thousandth of the largest entry for entries near zero (cancellation)."""
    if len(a) != len(b):
        raise RuntimeError(f"tape: {len(a)} numbers against {len(b)}")
    floor = max(1e-300, 1e-3 * max((abs(y) for y in b), default=0.0))
    return max((abs(x - y) / max(abs(y), floor) for x, y in zip(a, b)), default=0.0)


def check(graph: Graph) -> dict[str, Any]:
    """Compare every engine with the tape: slot values (dynamic), loss and input gradients.

    Raises:
        RuntimeError: if any difference exceeds 1e-9, naming the engine and figure.
    """
    tape = Tape(graph)
    want_v = tape.values(graph.inputs)
    want_loss, want_g = tape.loss_grads(graph.inputs)
    leaves = [Value(x) for x in graph.inputs]
    slots = replay(graph.ops, leaves)
    out: dict[str, Any] = {
        "values_dynamic_vs_tape": rel_err([s.data for s in slots], want_v),
    }
    dyn = Dynamic(graph).loss_grads(graph.inputs)
    comp = Compiled(graph).loss_grads(graph.inputs)
    for name, (loss, grads) in ((DYNAMIC, dyn), (COMPILED, comp)):
        out[f"loss_{name}_vs_tape"] = rel_err([loss], [want_loss])
        out[f"grads_{name}_vs_tape"] = rel_err(grads, want_g)
    out["compiled_bit_identical_to_dynamic"] = comp == dyn
    out["max_rel_err"] = max(v for k, v in out.items() if k.endswith("_vs_tape"))
    bad = {k: v for k, v in out.items() if k.endswith("_vs_tape") and not v <= TOLERANCE}
    if bad:
        raise RuntimeError(f"tape: the engines disagree beyond {TOLERANCE:g}: {bad}")
    return out


# ---------------------------------------------------------------------------
# Timing: CPU time, interleaved rounds.


def calibrate(fn: Callable[[], Any], target: float) -> int:
    """How many calls of ``fn`` take about ``target`` CPU seconds (after one warm call)."""
    fn()
    n, t = 1, 0.0
    while True:
        t0 = time.process_time()
        for _ in range(n):
            fn()
        t = time.process_time() - t0
        if t >= target / 4 or n >= 1 << 20:
            return max(1, round(n * target / max(t, 1e-9)))
        n *= 4


def rounds(items: dict[str, Callable[[], Any]], *, n_rounds: int, target: float,
           modes: Sequence[str] = ("default", "off"),
           collect_each: bool = True) -> dict[str, dict[str, list[float]]]:
    """CPU seconds per call of each item, one figure per round and GC mode.

    Every round times every item (in an order rotated each round, so no item always
    follows the same one), each as one block of calls sized to ``target`` seconds;
    a full collection runs before each block (``collect_each``) or before each round
    and mode (for many small items, whose graphs hold no cycles).
    Returns ``{mode: {item: [s, ...]}}``.
    """
    reps = {name: calibrate(fn, target) for name, fn in items.items()}
    names = list(items)
    out: dict[str, dict[str, list[float]]] = {m: {k: [] for k in names} for m in modes}
    cpu = time.process_time
    for r in range(n_rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for mode in modes:
            gc.collect()
            for name in order:
                fn, n = items[name], reps[name]
                if collect_each:
                    gc.collect()
                with gc_mode(mode):
                    t0 = cpu()
                    for _ in range(n):
                        fn()
                    dt = cpu() - t0
                out[mode][name].append(dt / n)
    return out


def ratio_stats(num: list[float], den: list[float]) -> dict[str, float]:
    """Ratio of the bests, and the min / median / max of the per-round ratios."""
    per = [a / b for a, b in zip(num, den)]
    return {"best": min(num) / min(den), "min": min(per), "median": statistics.median(per),
            "max": max(per)}


def time_engines(graph: Graph, *, n_rounds: int, target: float) -> dict[str, Any]:
    """Forward+backward steps of every engine; µs per step and ratios to the tape."""
    xs = list(graph.inputs)
    engines = [make(graph) for make in ENGINES]
    items: dict[str, Callable[[], Any]] = {e.name: partial(e.step, xs) for e in engines}
    t = rounds(items, n_rounds=n_rounds, target=target)
    res: dict[str, Any] = {}
    for mode, per in t.items():
        res[mode] = {name: {"us_best": min(ts) * 1e6, "us_median": statistics.median(ts) * 1e6,
                            "x_tape": ratio_stats(ts, per[TAPE])}
                     for name, ts in per.items()}
    return res


# ---------------------------------------------------------------------------
# Per-op rows: n-ary ops against the k - 1 binary ops they replace.

MICRO_OPS = ("sum", "mean", "dot", "logsumexp", "softmax")


def _nary(name: str, xs: list[Value]) -> Callable[[], Any]:
    """The n-ary op on ``xs`` as a call with no frame of ours around it, like ``reduce``'s."""
    if name == "dot":
        h = len(xs) // 2
        return partial(autograd.dot, xs[:h], xs[h:])
    return partial(getattr(autograd, name), xs)


def _composite(name: str, xs: list[Value]) -> Callable[[], Any]:
    """The same function written with binary and unary ops (what the n-ary op saves), as
    a call: ``sum``'s is ``reduce``'s, the others pay one frame of ours (~40 ns)."""
    if name == "sum":
        return partial(reduce, operator.add, xs)
    return partial(_composite_of, name, xs)


def _composite_of(name: str, xs: list[Value]) -> Any:
    add = operator.add
    if name == "mean":
        return reduce(add, xs) * (1.0 / len(xs))
    if name == "dot":
        h = len(xs) // 2
        return reduce(add, [x * y for x, y in zip(xs[:h], xs[h:])])
    es = [x.exp() for x in xs]
    s = reduce(add, es)
    return s.log() if name == "logsumexp" else [e / s for e in es]


def _head(out: Any) -> Value:
    """The scalar backward starts from: the result, or ``sum`` of softmax's list."""
    return autograd.sum(out) if isinstance(out, list) else out


def _with_backward(build: Callable[[], Any]) -> Callable[[], None]:
    """``build()`` then backward from its :func:`_head`."""
    def run() -> None:
        _head(build()).backward()
    return run


def _held(build: Callable[[], Any], n: int) -> tuple[float, int]:
    """Traced bytes held per result of ``build()`` (n results kept), and nodes per result."""
    used, kept = traced_bytes(lambda: [build() for _ in range(n)])
    used -= sys.getsizeof(kept)
    outs = kept[0] if isinstance(kept[0], list) else [kept[0]]
    nodes = {id(v) for o in outs for v in autograd.backward_order(o)}
    return used / n, len(nodes)


def micro(*, ks: Sequence[int] = (2, 4, 8), n_rounds: int, target: float,
          held: int = 200) -> list[dict[str, Any]]:
    """Forward and forward+backward µs of each n-ary op, its composite and k - 1 adds (GC off)."""
    items: dict[str, Callable[[], Any]] = {}
    rows: list[dict[str, Any]] = []
    add = operator.add
    for k in ks:
        rng = random.Random(k)
        xs = [Value(rng.uniform(0.5, 1.5)) for _ in range(k)]
        items[f"adds/{k}/f"] = partial(reduce, add, xs)
        items[f"adds/{k}/fb"] = _with_backward(partial(reduce, add, xs))
        for name in MICRO_OPS:
            for how, call in (("nary", _nary(name, xs)), ("comp", _composite(name, xs))):
                items[f"{name}/{how}/{k}/f"] = call
                items[f"{name}/{how}/{k}/fb"] = _with_backward(call)
            b, nodes = _held(_nary(name, xs), held)
            rows.append({"op": name, "k": k, "bytes_per_result": b, "nodes_per_result": nodes})
    t = rounds(items, n_rounds=n_rounds, target=target, modes=("off",),
               collect_each=False)["off"]

    def best(key: str) -> float:
        return min(t[key]) * 1e6

    def per_round(a: str, b: str) -> dict[str, float]:
        return ratio_stats(t[a], t[b])

    for row in rows:
        name, k = row["op"], row["k"]
        for ph in ("f", "fb"):
            row[f"us_{ph}"] = best(f"{name}/nary/{k}/{ph}")
            row[f"adds_us_{ph}"] = best(f"adds/{k}/{ph}")
            row[f"composite_us_{ph}"] = best(f"{name}/comp/{k}/{ph}")
            row[f"x_adds_{ph}"] = per_round(f"{name}/nary/{k}/{ph}", f"adds/{k}/{ph}")
            row[f"x_composite_{ph}"] = per_round(f"{name}/nary/{k}/{ph}", f"{name}/comp/{k}/{ph}")
    return rows


# ---------------------------------------------------------------------------
# Memory, create_graph, compile time.


def bytes_per_node(graph: Graph) -> dict[str, float]:
    """Traced bytes per interior node held by the built graph (leaves made beforehand)."""
    leaves = [Value(x) for x in graph.inputs]
    loss = loss_fn(graph.ops)
    used, root = traced_bytes(lambda: loss(leaves))
    nodes = len(autograd.backward_order(root))
    return {"bytes_per_node": used / nodes, "nodes": nodes}


def create_graph_ratio(graph: Graph, *, n_rounds: int) -> dict[str, Any]:
    """``grad(create_graph=True)`` and plain ``grad`` against ``backward()`` on this graph, GC off.

    Each call runs on a freshly built graph (the build is not timed); the three are timed
    one after another in each round. What a call returns is held until the clock has
    stopped (see :func:`benchmarks.timing.best_in_rounds`): freeing the gradient graph
    took a fifth to a third of create_graph's time here (three runs) when it was timed.
    """
    loss = loss_fn(graph.ops)
    calls: dict[str, Callable[[Value, list[Value]], Any]] = {
        "backward": lambda root, leaves: root.backward(),
        "grad": lambda root, leaves: autograd.grad(root, leaves, allow_unused=True),
        "grad_create_graph": lambda root, leaves: autograd.grad(
            root, leaves, create_graph=True, allow_unused=True),
    }
    ts: dict[str, list[float]] = {k: [] for k in calls}
    for r in range(3 * n_rounds + 1):  # single calls: thrice the rounds
        for name, fn in calls.items():
            leaves = [Value(x) for x in graph.inputs]
            root = loss(leaves)
            gc.collect()
            with gc_mode("off"):
                t0 = time.process_time()
                out = fn(root, leaves)  # (held: freeing the result is not its cost)
                dt = time.process_time() - t0
            del root, leaves, out
            if r:  # the first round warms up
                ts[name].append(dt)
    return {"backward_us": min(ts["backward"]) * 1e6, "grad_us": min(ts["grad"]) * 1e6,
            "grad_create_graph_us": min(ts["grad_create_graph"]) * 1e6,
            "create_graph_over_backward": ratio_stats(ts["grad_create_graph"], ts["backward"])}


def compile_times(sizes: Sequence[int], *, repeat: int) -> list[dict[str, Any]]:
    """CPU seconds to trace and compile the workload of each size (best of ``repeat``)."""
    rows = []
    for n in sizes:
        graph = make_graph(n)
        best, nodes, lines = float("inf"), 0, 0
        for _ in range(repeat):
            fn = autograd.compile(loss_fn(graph.ops))
            leaves = [Value(x) for x in graph.inputs]
            gc.collect()
            t0 = time.process_time()
            prog = fn.program(leaves)
            best = min(best, time.process_time() - t0)
            nodes, lines = prog.trace_nodes, prog.source.count("\n")
        rows.append({"ops": n, "trace_nodes": nodes, "s": best, "us_per_op": best / n * 1e6,
                     "source_lines": lines})
    return rows


# ---------------------------------------------------------------------------
# The whole row, its report and the command line.


def run(*, quick: bool = False, n_ops: int = 2_000, seed: int = 0, n_rounds: int = 7,
        compile_sizes: Sequence[int] | None = None) -> dict[str, Any]:
    """Check, then measure everything; return the JSON-ready results.

    ``compile_sizes`` defaults to 1,000 / 3,000 / 10,000 ops (100 / 300 when ``quick``).
    """
    if quick:
        n_ops, n_rounds = min(n_ops, 200), 2
    if compile_sizes is None:
        compile_sizes = (100, 300) if quick else (1_000, 3_000, 10_000)
    target = 0.002 if quick else 0.05
    graph = make_graph(n_ops, seed=seed)
    res: dict[str, Any] = {"ops": n_ops, "seed": seed, "inputs": len(graph.inputs),
                           "slots": graph.slots, "rounds": n_rounds, "counts": graph.counts(),
                           "check": check(graph)}
    res["engines"] = time_engines(graph, n_rounds=n_rounds, target=target)
    res["micro"] = micro(n_rounds=n_rounds, target=target / 10, held=20 if quick else 200)
    res["memory"] = bytes_per_node(graph)
    res["create_graph"] = create_graph_ratio(graph, n_rounds=n_rounds)
    res["compile"] = compile_times(compile_sizes, repeat=1 if quick else 2)
    return res


def _range(s: dict[str, float]) -> str:
    return f"{s['best']:.2f}x ({s['min']:.2f}-{s['max']:.2f})"


def headline(res: dict[str, Any]) -> list[str]:
    """The figures against issue 22's goals, one line each."""
    d, c = res["engines"]["default"], res["engines"]["off"]
    cg = res["create_graph"]["create_graph_over_backward"]
    big = res["compile"][-1]
    return [
        f"Dynamic / tape: {_range(d[DYNAMIC]['x_tape'])} default GC, "
        f"{_range(c[DYNAMIC]['x_tape'])} GC off (goal <= 3x).",
        f"Compiled / tape: {_range(d[COMPILED]['x_tape'])} default GC, "
        f"{_range(c[COMPILED]['x_tape'])} GC off (goal <= 0.4x).",
        f"Bytes per node of this graph: {res['memory']['bytes_per_node']:.0f} "
        f"({res['memory']['nodes']:,} nodes; goal 120).",
        f"grad(create_graph=True) / backward(): {_range(cg)} (goal <= 3x).",
        f"Compile time: {big['s']:.2f} s for {big['ops']:,} ops ({big['us_per_op']:.0f} µs/op; "
        f"{res['compile'][0]['us_per_op']:.0f} µs/op at {res['compile'][0]['ops']:,}; "
        "goal linear, 10,000 ops <= 1 s).",
        _nary_headline(res["micro"]),
    ]


def _nary_headline(rows: list[dict[str, Any]]) -> str:
    """The worst n-ary ratio against what the op replaces: the k - 1 binary ops of sum,
    mean and dot; the exps, adds and log (or divisions) of logsumexp and softmax."""
    def worst(ops: tuple[str, ...], key: str, ph: str) -> str:
        r = max((r for r in rows if r["op"] in ops), key=lambda r: r[key + ph]["best"])
        return f"{r[key + ph]['best']:.2f}x ({r['op']}, k = {r['k']})"
    own = ("sum", "mean", "dot")
    return (f"n-ary ops at most the ops they replace: sum/mean/dot against k - 1 adds, worst "
            f"{worst(own, 'x_adds_', 'f')} forward, {worst(own, 'x_adds_', 'fb')} "
            f"forward+backward; logsumexp/softmax against their composite, worst "
            f"{worst(('logsumexp', 'softmax'), 'x_composite_', 'f')} forward, "
            f"{worst(('logsumexp', 'softmax'), 'x_composite_', 'fb')} forward+backward "
            "(goal <= 1x).")


def report(res: dict[str, Any]) -> str:
    """Format :func:`run`'s results as Markdown (blocks apart, so that tables render)."""
    chk = res["check"]
    rows = []
    for name in (TAPE, DYNAMIC, COMPILED):
        cells = [name]
        for mode in ("default", "off"):
            e = res["engines"][mode][name]
            cells += [f"{e['us_best']:.0f} ({e['us_median']:.0f})", _range(e["x_tape"])]
        rows.append(cells)
    ident = "bit-identical" if chk["compiled_bit_identical_to_dynamic"] else "NOT bit-identical"
    mrows = [[r["op"], str(r["k"]), f"{r['us_f']:.2f} / {r['us_fb']:.2f}",
              f"{r['adds_us_f']:.2f} / {r['adds_us_fb']:.2f}",
              _range(r["x_adds_f"]), _range(r["x_adds_fb"]),
              f"{r['x_composite_f']['best']:.2f}x / {r['x_composite_fb']['best']:.2f}x",
              str(r["nodes_per_result"]), f"{r['bytes_per_result']:.0f}"] for r in res["micro"]]
    cg = res["create_graph"]
    blocks = [
        f"W-tape: {res['ops']:,} generated scalar ops over {res['inputs']} inputs "
        f"({res['slots'] - res['inputs']:,} results; seed {res['seed']}), forward+backward; "
        f"CPU µs per step, best of {res['rounds']} interleaved rounds (median); ratio to the "
        "index tape: of the bests (range of the per-round ratios):",
        fmt_table(["engine", "default GC", "x tape", "GC off", "x tape"], rows),
        f"Agreement with the tape: max relative difference {chk['max_rel_err']:.1e} "
        f"(values and gradients; limit 1e-9); compiled {ident} to dynamic.",
        "\n".join(f"- {line}" for line in headline(res)),
        "n-ary ops of k operands (dot: k/2 pairs) against k - 1 binary `+` nodes over the "
        "same leaves (`reduce(operator.add, xs)`) and against the same function from "
        "binary/unary ops (composite); each op is called as `partial(autograd.sum, xs)`, "
        "with no frame of the benchmark's around it, as `reduce` has none; CPU µs, GC off; "
        "ratio of bests (per-round range); softmax's backward starts from `sum` of its "
        "outputs; nodes and bytes held per result:",
        fmt_table(["op", "k", "µs fwd / fwd+bwd", "k-1 adds µs", "x adds fwd",
                   "x adds fwd+bwd", "x composite fwd / fwd+bwd", "nodes", "bytes"], mrows),
        f"create_graph on this graph: backward {cg['backward_us']:.0f} µs, grad "
        f"{cg['grad_us']:.0f} µs, grad(create_graph=True) {cg['grad_create_graph_us']:.0f} µs "
        "(GC off). Compile time (trace + code generation + CPython's `compile`):",
        fmt_table(["ops", "trace nodes", "compile s (CPU)", "µs/op", "lines"], [
            [f"{r['ops']:,}", f"{r['trace_nodes']:,}", f"{r['s']:.3f}", f"{r['us_per_op']:.0f}",
             f"{r['source_lines']:,}"] for r in res["compile"]]),
    ]
    return "\n\n".join(blocks)


def page(res: dict[str, Any]) -> str:
    """The speed page's W-tape section (Markdown)."""
    return "\n".join([
        "**W-tape, a graph unlike ours** (`python -m benchmarks.tape`): a generated list of "
        "scalar ops (unary ops, products, short `sum`/`mean`/`dot`/`logsumexp`/`softmax`) "
        "replayed by a plain-Python index tape (values and gradients in two flat lists, "
        "hand-written local rules: the design anyone writes in an afternoon), by the dynamic "
        "engine and by `autograd.compile`, after checking that all three agree.",
        "",
        report(res),
    ])


def breakdown(graph: Graph, *, n_rounds: int = 5) -> dict[str, float]:
    """Best CPU µs (GC off) of each part of a dynamic step and of a tape step, on fresh graphs.

    The parts: making the leaves, the forward replay, ``backward_order`` (what
    ``backward`` spends collecting and sorting the nodes), the whole ``backward()``
    (so the chain-rule loop is the difference), and the tape's forward and backward.
    """
    xs = list(graph.inputs)
    ops, loss, pad = graph.ops, loss_fn(graph.ops), [0.0] * (graph.slots - len(xs))

    def tape_values() -> list[float]:
        v = xs + pad
        tape_forward(ops, v)
        return v

    def tape_grads(v: list[float]) -> None:
        g = [0.0] * graph.slots
        g[-1] = 1.0
        tape_backward(ops, v, g)

    def root() -> Value:
        return loss([Value(x) for x in xs])

    parts: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]] = {
        "dynamic: leaves": (lambda _: [Value(x) for x in xs], lambda: None),
        "dynamic: forward (replay)": (lambda leaves: replay(ops, leaves),
                                      lambda: [Value(x) for x in xs]),
        "dynamic: backward, collect + sort": (autograd.backward_order, root),
        "dynamic: backward, whole": (lambda r: r.backward(), root),
        "tape: forward": (lambda v: tape_forward(ops, v), lambda: xs + pad),
        "tape: backward": (tape_grads, tape_values),
    }
    return {k: v * 1e6 for k, v in best_in_rounds(parts, n_rounds).items()}


def breakdown_report(b: dict[str, float]) -> str:
    """Format :func:`breakdown` as Markdown (the chain-rule loop as a difference)."""
    b = dict(b)
    b["dynamic: backward, chain-rule loop (whole - collect)"] = (
        b["dynamic: backward, whole"] - b["dynamic: backward, collect + sort"])
    return "\n".join(["Where a step's time goes (best CPU µs, GC off):",
                      fmt_table(["part", "µs"], [[k, f"{v:.0f}"] for k, v in b.items()])])


def profile(graph: Graph, *, steps: int = 5, top: int = 20) -> str:
    """cProfile of ``steps`` dynamic steps on ``graph`` (default GC): top functions by own time."""
    eng = Dynamic(graph)
    xs = list(graph.inputs)
    eng.step(xs)
    return profile_top(lambda: eng.step(xs), steps, top)


def main(argv: list[str] | None = None) -> None:
    """Command line of ``python -m benchmarks.tape``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.tape",
                                 description="W-tape: a generated graph beside an index tape.")
    ap.add_argument("--quick", action="store_true", help="small sizes and rounds (smoke run)")
    ap.add_argument("--ops", type=int, default=2_000, help="ops in the generated graph")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    ap.add_argument("--seed", type=int, default=0, help="the generator's seed")
    ap.add_argument("--profile", action="store_true",
                    help="also break a step down and print a cProfile listing of the dynamic step")
    ap.add_argument("--json", help="write the results to this path")
    args = ap.parse_args(argv)
    m = machine()
    print(f"{m['implementation']} {m['python']}, {m['cpus']} CPUs; {m['date']}")
    res = run(quick=args.quick, n_ops=args.ops, seed=args.seed, n_rounds=args.rounds)
    print(report(res))
    if args.profile:
        print()
        graph = make_graph(args.ops, seed=args.seed)
        print(breakdown_report(breakdown(graph)))
        print()
        print(profile(graph))
    write_json(args.json, res)


if __name__ == "__main__":
    main()
