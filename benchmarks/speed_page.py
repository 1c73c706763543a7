"""The speed page, ``docs/speed.md``, generated from a suite run.

``python -m benchmarks --write-docs`` runs the suite and rewrites the page.

Only the text between ``<!-- benchmarks:start -->`` and ``<!-- benchmarks:end -->``
is replaced; the rest of the page is left alone. The README only links to it.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks import batched, chain, tape, userstep
from benchmarks import workloads as W
from benchmarks.timing import fmt_table

START = "<!-- benchmarks:start -->"
END = "<!-- benchmarks:end -->"
PAGE = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "speed.md")

INTRO = """```bash
bash .ci/test -q                        # once: ./.venv with the dev extras (micrograd, NumPy)
.venv/bin/python -m benchmarks          # the suite: W-user, W-chain, W-tape, W-mlp, W-wide,
                                        # W-mlp by batch size (64, 1,024), digits, fit, W-sweep
.venv/bin/python -m benchmarks --quick  # a smoke run; --full scales W-chain to 1e6 nodes
.venv/bin/python -m benchmarks --write-docs  # ... and rewrite this page from the run
.venv/bin/python -m benchmarks --only batched --merge --write-docs  # one workload anew
.venv/bin/python -m benchmarks.userstep --profile  # W-user alone, and where its time goes
.venv/bin/python -m benchmarks.tape --profile  # W-tape alone: a generated graph, an index tape
.venv/bin/python -m benchmarks.batched --profile  # the batched step, statement by statement
```

One process times every engine on the workloads of `shared/benchmarks.md`, with the default
garbage-collector setting and with it off (best of N steps after a warm-up), checks that each
engine computes the float floor's loss and gradients on the same weights, prints the tables
below and writes `benchmarks/latest.json`. The **float floor** is the suite's own hand-written
backprop in plain Python floats: ratios to it, measured in the same run, are the figures to
compare across machines (absolute times move by ±30% here between runs).

Rows of the other tables: `chainrule nn` is the `nn` library (fused neurons, one node each) on
the dynamic engine; `chainrule ops` builds the same model from `autograd.dot`, `+` and `relu`;
`compiled` rows run the same loss function through `autograd.compile` (below); `numpy batched`
is the same step written by hand in NumPy, vectorised over the batch (parameters and gradient
in one vector, the penalty one dot, SGD one update: `benchmarks/workloads.py`). PyTorch rows
appear when it is installed.

**W-user, the step you write.** The first table times micrograd's demo step written against
our API, exactly as a user ports it: inputs as Values, the model called per sample, the builtin
`sum`, `model.zero_grad()`, `total.backward()`, an SGD loop over `model.parameters()`
(`benchmarks/userstep.py` holds the code; micrograd 0.1.0 runs the very same function). The
compiled row passes the batch to `autograd.compile` as an argument:

```python
def loss_fn(inputs, Y):                     # the demo's loss, unchanged
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores)]
    return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())

step = autograd.compile(loss_fn)
for k in range(100):
    inputs = [list(map(Value, xrow)) for xrow in X]   # built outside, passed in
    model.zero_grad()                                  # before: step() runs backward too
    loss = step(inputs, Y)                             # a float; .grad is filled
    for p in model.parameters():
        p.data -= 0.05 * p.grad
```

Pass the batch in as arguments (numbers or Values). Inside the compiled function, `Value(x)` of
a number argument `x` is that argument, so micrograd's `list(map(Value, xrow))` may stay inside;
but a `Value` made from data the function closes over is a constant of the trace (warned once
per line, listed in `step.constants`), and a later batch would not reach it."""

OUTRO = """**The compiled path.** `step = autograd.compile(loss_fn)` traces `loss_fn` once and
generates straight-line Python for its forward and backward from the op table's source templates
(`autograd.ops.Codegen`); `step(X, Y)` then returns the loss as a float and accumulates `.grad`
into the parameters, exactly as `loss_fn(X, Y).backward()` would (bit-identical, property-tested).
`relu`, `abs`, `clamp`, `maximum` branch inside the generated code, so one trace is valid for
any data; a Python `if` on a Value is guarded and re-traced when the data takes the other
branch; `float(v)` inside a trace is refused; `step.verify(X, Y)` compares with the dynamic
engine. `nn.fit(...)` trains this way by default when the run is long enough to pay for the
trace (`compile="auto"`), and always without NumPy under `compile=True`.

**The batched path.** `step = autograd.compile(per_sample_loss, batch=True, reduction="mean")`
(NumPy needed: `pip install 'chainrule[fast]'`) traces the loss of *one* sample and runs every
scalar op of that trace once over the whole batch as a NumPy array, rendered from the op
table's single formula (kinks as `numpy.where` selects); fused neurons and `dot` nodes that
read the same inputs become one matrix product per layer. `step(X, Y)` returns the mean loss
and fills `.grad` as `autograd.mean([per_sample_loss(x, y) ...]).backward()` would, to
rounding (the batch is summed in another order; property-tested to 1e-12 of the terms). A
Python `if` on a Value splits the batch by branch. `nn.fit(..., compile=True)` and
`chainrule train --compile` take this path when NumPy is installed, with the parameters in one
array for an epoch: `step.array_step(params)` gives the same program as an `ArrayStep`
(parameters in as one float64 array, loss and gradient out), and the optimizer updates them
with `step_array` (the same update formula as its per-Value `step`). The `chainrule nn batched`
rows run that way (`nn.optim.SGD.step_array`); `chainrule ops batched` zeroes and updates one
`Value` at a time. `python -m benchmarks.batched` prints these workloads alone, with the
hand-written NumPy step beside them (`--breakeven`: what a trace costs `fit`).

**The garbage collector.** chainrule's graphs have no reference cycles (a node refers only to
its parents), so reference counting frees them and CPython's cyclic collector finds nothing:
it only costs time. `with autograd.pause_gc(): ...` (and `nn.fit(..., pause_gc=True)`) pauses it
for a block and restores the previous setting after; nothing changes at import.

**Attribute reads.** `Value` defines no `__getattr__`: CPython 3.11 specialises no attribute read
on instances of a class that has one, so each `node._p`, `node.grad` or `self._data` in the
engine's loops took the generic lookup (ten slot reads: 127 ns on a plain slotted class, 311 ns
with the hook). Without it, W-chain's backward went from about 290 to 170 ns a node and W-tape's
dynamic step from 3.3x to 2.8x the index tape. Ops a user registers with `api="method"` become
real methods of `Value` when registered, and go when removed.

**The backward sweep.** Before the chain rule, `backward()` collects the nodes it reaches and
sorts them by creation number. It marks each node met by giving its `.grad` the pass's own
float 0.0 (a new object each pass, told apart by `is`), which also resets it, instead of keeping
a set of the nodes met: one or two attribute reads per edge instead of a set lookup and
insertion. The sweep alone, in one process against the set: W-tape's graph -28%, W-chain -30%,
W-mlp -6% (nn) and -13% (ops); W-chain's backward about 230 to 190 ns a node.
`grad(create_graph=True)` must leave `.grad` alone, so it walks without a sweep: the next node is
the newest one with a gradient waiting (from a heap by creation number), which in a chain is
the parent the last node passed its gradient to, with no heap operation at all (W-chain 480 to
350 ns a node; the same order, nodes and bits). The heap holds the creation numbers alone (the
waiting nodes sit in a dictionary under them): a heap of (number, node) pairs compares tuples,
17% of W-tape's create_graph instructions; and each op's generated code hands back the newest
operand it gave a first gradient, unpushed, often the next node. W-tape's create_graph: 45.2M to
41.2M instructions a call (callgrind, steady state; W-chain's unchanged, 36.9M and 37.0M).

**create_graph on wide graphs.** An operand that already has a gradient gets its next term
`g * d` and the sum as one `addcmul` node (an op of the table, PyTorch's name): the same value,
and in any later pass the same terms in the same order, so every bit of every order is kept
(W-tape's gradient graph: 8,016 nodes to 6,828). Each op's choices (which partials are stored
floats, which are operands, which fuse) are made once: on first use its plan becomes
straight-line code of its own, with the node bodies inlined; a differential test holds it to
the general path, node for node, for three orders over the whole table. W-tape,
`grad(create_graph=True)` against `backward()`, six alternating runs against the engine before
it (CPU time, GC off): median 8.4x to 5.3x. The rest is Python building about one Value per
edge (the floor measured for one node per edge with no logic at all is 1.5x a backward);
fewer nodes would need n-ary accumulation, which changes second-order bits. In instructions
(callgrind, results held): a backward 10.2M, create_graph 37.0M, building the same 6,729 nodes
with no logic 23.5M. The suite times create_graph with its result held until the clock stops:
freeing the gradient graph is not the walk's cost (as freeing the forward graph is not
backward's), and it had been a fifth to a third of the figure. A walker written
from scratch for products and sums only (no plans, the same nodes) takes 4.1-4.8x a backward
on a random DAG of 2,000 of them, where ours takes 4.5-5.6x; walking a sorted sweep instead
of the heap brings that walker to 3.2-3.5x, but ours on W-chain from 2.6-2.8x to 3.9x (the sweep
costs more than a chain's heap, which stays empty). That DAG ends in a sum of 2,000 operands,
whose gradient puts 1,999 nodes in the heap at once; on W-tape the heap never holds more than
124, and our walker over a sorted sweep (the generated code with no waiting logic) took 37.6M
instructions a call against the heap's 37.3M: the heap is not what keeps W-tape above 3x.

**Short n-ary calls.** `autograd.sum([a, b])` took two Python calls (the public function,
then the group's fast path) where `a + b` takes one. The public functions of `sum`, `mean`,
`dot` and `logsumexp` are now generated from the op table with the unrolled lines for 2-5
operands (dot: one or two pairs) inline for a list or a tuple (the group fast paths lost theirs:
one copy); a longer one or a number among them takes the fast path as before. At k = 2,
forward, against one `+` through `reduce` (30 interleaved rounds, one process): sum 1.01x to
0.85x, mean 1.08x to 0.93x, dot of one pair 1.31x to 0.96x (0.96-1.03x over later runs: an
add's cost; the product it replaces, an operator's call, costs 0.84x)."""


def _r(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


STEP_HEADERS = ["engine", "ms/step, default GC", "ms/step, GC off", "x float floor (default GC)",
                "x float floor (GC off)", "x numpy batched (default GC)",
                "micrograd / this (default GC)", "max rel diff vs floor"]
DIGITS_HEADERS = ["engine", "s/epoch, default GC", "s/epoch, GC off",
                  "x float floor (default GC)", "x float floor (GC off)"]


def step_rows(eng: dict[str, Any]) -> list[list[str]]:
    """The rows of a step workload's table (W-mlp, W-wide), one per engine (suite schema)."""
    fl = eng["float floor"]
    ref = {k: (eng[k]["ms_gc_default"] if k in eng else None)
           for k in ("numpy batched", "micrograd")}
    rows = []
    for name, e in eng.items():
        on, off = e["ms_gc_default"], e["ms_gc_off"]
        x_floor, x_numpy, x_mg = W.ratio_cells(on, fl["ms_gc_default"], ref["numpy batched"],
                                               ref["micrograd"])
        rows.append([name, f"{on:.3f}", f"{off:.3f}", x_floor,
                     W.ratio_cells(off, fl["ms_gc_off"], None, None)[0], x_numpy, x_mg,
                     f"{e['max_rel_diff_vs_floor']:.0e}"])
    return rows


def digits_rows(d: dict[str, Any]) -> list[list[str]]:
    """The rows of the digits epoch's table, one per engine."""
    fl = d["engines"]["float floor"]
    return [[name + (" (est.)" if e.get("extrapolated_from_batches") else ""),
             f"{e['s_gc_default']:.2f}", f"{e['s_gc_off']:.2f}",
             _r(e["s_gc_default"], fl["s_gc_default"]), _r(e["s_gc_off"], fl["s_gc_off"])]
            for name, e in d["engines"].items()]


def section(res: dict[str, Any]) -> str:
    """Return the Markdown of the speed section for a suite result."""
    m = res["machine"]
    parts = [INTRO, ""]
    key = "user" if "user" in res else "W-mlp"
    floor_ms = res.get(key, {}).get("engines", {}).get("float floor", {}).get("ms_gc_default")
    what = "W-user step takes {:.1f} ms of CPU time" if key == "user" else \
        "W-mlp step takes {:.1f} ms"
    where = (f" (the float floor's {what.format(floor_ms)} here, 1.3–2.5 ms on the machine of "
             "`shared/benchmarks.md`)") if floor_ms else ""
    runs = ""
    if res.get("merged"):
        by: dict[str, list[str]] = {}
        for key, date in res["merged"].items():
            by.setdefault(date, []).append(key)
        runs = " Workloads by run: " + "; ".join(
            f"{', '.join(keys)} ({date})" for date, keys in sorted(by.items())) + "."
    parts.append(
        f"Latest run: {m['date']}, CPython {m['python']} on a shared {m['cpus']}-core "
        f"{m['processor']} Linux machine{where}.{runs}"
    )
    parts.append("")
    if "user" in res:
        u = res["user"]
        parts.append(f"W-user ({u['samples']} samples, {u['parameters']} parameters): the best "
                     "of N steps (median in brackets) in CPU time of the process, which the "
                     "other processes of a shared machine do not inflate, and in wall time; "
                     "ratios of CPU-time bests:")
        parts.append("")
        parts.append(fmt_table(userstep.HEADERS, userstep.rows(u)))
        parts.append("")
        for note in userstep.notes(u):
            parts += [note, ""]
        parts.append("The other workloads (W-mlp, W-wide: our own fastest paths, `forward_batch` "
                     "and fused losses):")
        parts.append("")
    rows = [[key, *row] for key in ("W-mlp", "W-wide") if key in res
            for row in step_rows(res[key]["engines"])]
    if rows:
        parts.append(fmt_table(["workload", *STEP_HEADERS], rows))
        parts.append("")
    if "batched" in res:
        parts += [batched.batch_report(res["batched"], sep="\n\n"), ""]
    if "digits" in res:
        d = res["digits"]
        parts.append(f"One epoch of digits ({d['samples']} images, MLP(64, [32, 10]), batches "
                     "of 32, MSE on one-hot targets), seconds; compiled rows include tracing:")
        parts.append("")
        parts.append(fmt_table(DIGITS_HEADERS, digits_rows(d)))
        parts.append("")
    if "fit" in res:
        parts += [batched.fit_report(res["fit"]), ""]
    if "chain" in res:
        c = res["chain"]
        eng = c["engines"]
        ours, fl = eng["chainrule"], eng["float floor"]
        rows = []
        for name, e in eng.items():
            cells = [name]
            for mode in ("default", "off"):
                t, f = e[f"gc_{mode}"], fl[f"gc_{mode}"]
                cells.append(f"{t['forward_ns']:.0f} / {t['backward_ns']:.0f} "
                             f"({_r(t['forward_ns'], f['forward_ns'])} / "
                             f"{_r(t['backward_ns'], f['backward_ns'])})")
            b = e.get("bytes_per_node")
            cells.append("-" if b is None else f"{b:.0f}")
            rows.append(cells)
        parts.append(f"W-chain ({c['op_nodes']:,} unfused op nodes), ns per node forward / "
                     "backward (x float floor):")
        parts.append("")
        parts.append(fmt_table(["engine", "default GC", "GC off", "bytes/node"], rows))
        parts.append("")
        comp = c.get("compiled")
        if comp:
            floor_ns = comp.get("floor_ns") or (fl["gc_off"]["forward_ns"]
                                                + fl["gc_off"]["backward_ns"])
            parts.append(
                f"Compiled W-chain: {comp['run_ns']:.0f} ns per node forward + backward "
                f"({comp['run_ns'] / floor_ns:.2f}x "
                f"the float floor), compiled in {comp['compile_us_per_node']:.1f} µs per node "
                f"({comp['nodes']:,} nodes)."
            )
            parts.append("")
        cg = c["create_graph"]
        first = c["scaling"][0]
        lastrow = c["scaling"][-1]

        def tot(row: dict[str, Any], mode: str) -> float:
            return float(row[f"forward_ns_gc_{mode}"] + row[f"backward_ns_gc_{mode}"])

        mg = eng.get("micrograd")
        speed = ""
        if mg:
            a, b = ours["gc_default"], mg["gc_default"]
            ratio = (b["forward_ns"] + b["backward_ns"]) / (a["forward_ns"] + a["backward_ns"])
            speed = f"chainrule is {ratio:.1f}x faster than micrograd per node (default GC). "
        parts.append(
            f"{speed}`autograd.grad(create_graph=True)` costs "
            f"{cg['create_graph_over_backward']:.1f}x a plain backward{chain.range_text(cg)} "
            "(CPU time, GC off, interleaved rounds). Per-node time at "
            f"{lastrow['nodes']:,} nodes is {tot(lastrow, 'default') / tot(first, 'default'):.2f}x "
            f"(default GC) and {tot(lastrow, 'off') / tot(first, 'off'):.2f}x (GC off) that at "
            f"{first['nodes']:,}."
        )
        parts.append("")
    if "tape" in res:
        parts += [tape.page(res["tape"]), ""]
    comp = []
    for key in ("W-mlp", "W-wide"):
        for name, e in res.get(key, {}).get("engines", {}).items():
            if "compile_ms" in e:
                comp.append(f"{key} {name}: {e['compile_ms']:.0f} ms for {e['trace_nodes']:,} "
                            f"nodes ({e['compile_us_per_node']:.0f} µs/node)")
    if comp:
        parts.append("Compile time (trace + code generation + CPython's `compile`): "
                     + "; ".join(comp) + ". A fused neuron or `dot` node with 2n + 1 "
                     "operands emits about as much code as 2n + 1 scalar nodes, and CPython's "
                     "own `compile` takes most of the time.")
        parts.append("")
    parts.append(OUTRO)
    return "\n".join(parts)


def update(res: dict[str, Any], path: str = PAGE) -> None:
    """Replace the speed page's generated region with :func:`section` of ``res``.

    Raises:
        RuntimeError: if the page lacks the region's markers.
    """
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    i, j = text.find(START), text.find(END)
    if i < 0 or j < i:
        raise RuntimeError(f"benchmarks.speed_page: {path} has no {START} ... {END} region")
    text = text[: i + len(START)] + "\n" + section(res) + "\n" + text[j:]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
