"""Computation graphs as pictures: DOT text, Graphviz objects and rendered files.

This module owns how a graph of :class:`autograd.Value` nodes is drawn:

* :func:`to_dot` writes the DOT text itself (no Graphviz program needed), with
  deterministic ids and order, so the same graph gives byte-identical text;
* :func:`draw_dot` wraps it in a ``graphviz.Digraph`` (shown inline by Jupyter);
* :func:`render` writes an SVG, PNG or PDF file (or the ``.dot`` text) through
  Graphviz's ``dot`` program, and raises :class:`GraphvizNotFoundError` with
  installation help when the program is missing.

Every value node shows its label, data and gradient in ``%.4g`` style (small
numbers are never rounded away, zero is never ``-0``); every op is a node of
its own showing the op table's ``symbol`` and any folded constants (``* 2``).
Options: edge labels naming the local derivative with the op table's formula
and the gradient it passes back (``∂(w*x)/∂w = x = 0.5``), a sign-aware
diverging colour scale (red > 0, blue < 0, shade by ``log10 |grad|``, NaN and
inf standing out) whose legend lists only what is drawn, clusters by
``Value.scope`` (``"layer 1/neuron 3"``, nested, in numeric order, parameter
labels short and 1-based inside them), an explanation's paths highlighted,
and a node budget (``max_nodes``) spent greedily: scopes start collapsed into
summary nodes coloured by their gradient and the ones nearest the root open
first. Hover texts (SVG titles) name nodes and formulas, never internal ids.

Only the public API of :mod:`autograd` is used.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import autograd
from autograd import Value
from chainrule.outputs import write_file
from visualize import palette
from visualize.escape import dot_html, dot_string, xml_text

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "DEFAULT_MAX_NODES",
    "FORMATS",
    "GraphvizNotFoundError",
    "draw_dot",
    "find_dot",
    "fmt",
    "render",
    "render_dot",
    "to_dot",
]

#: The default node budget of a drawing.
DEFAULT_MAX_NODES = 400
#: The file formats :func:`render` writes (by suffix).
FORMATS = ("svg", "png", "pdf", "dot")
_RANKDIRS = ("LR", "TB")
_DOT_TIMEOUT = 300.0


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not installed (or not on ``PATH``).

    The message says what is missing, how to install it on Debian/Ubuntu,
    macOS and Windows, and that :func:`to_dot` still works without it.
    """

    def __init__(self, what: str = "the graph") -> None:
        super().__init__(
            f"Graphviz's `dot` program was not found on PATH, so {what} cannot be rendered. "
            "Install Graphviz (the system program, not only the Python package): "
            "Debian/Ubuntu: `sudo apt-get install graphviz`; macOS: `brew install graphviz`; "
            "Windows: `winget install graphviz` (or `choco install graphviz`), then add its "
            "bin folder to PATH. Without it, visualize.to_dot(...) still works: save the "
            "DOT text to a .dot file (render(..., 'graph.dot') does) and view it with any "
            "Graphviz viewer."
        )


def find_dot() -> str | None:
    """Return the path of Graphviz's ``dot`` program, or ``None`` if it is not on PATH."""
    return shutil.which("dot")


# ---------------------------------------------------------------------------
# Formatting


def fmt(x: float) -> str:
    """Format a number in ``%.4g`` style: ``0.0001234`` stays ``0.0001234``, never ``0.0001``.

    NaN and infinities print as ``nan``, ``inf`` and ``-inf``; zero prints
    as ``0``, never ``-0``.
    """
    if x != x:
        return "nan"
    if x in (math.inf, -math.inf):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.4g}"
    return "0" if text in ("-0", "0") else text


def _is_finite(x: float) -> bool:
    return not (x != x or x in (math.inf, -math.inf))


# ---------------------------------------------------------------------------
# The graph, collected once


@dataclass
class _Model:
    """The nodes reachable from the root, in breadth-first order from it."""

    root: Value
    nodes: list[Value]
    index: dict[Value, int]
    consumers: list[list[int]]
    scopes: list[tuple[str, ...]]


def _collect(root: Value) -> _Model:
    nodes = [root]
    index = {root: 0}
    queue = deque([root])
    while queue:
        v = queue.popleft()
        for p in v.parents:
            if p not in index:
                index[p] = len(nodes)
                nodes.append(p)
                queue.append(p)
    consumers: list[list[int]] = [[] for _ in nodes]
    for i, v in enumerate(nodes):
        for p in v.parents:
            j = index[p]
            if not consumers[j] or consumers[j][-1] != i:
                consumers[j].append(i)
    scopes: list[tuple[str, ...]] = []
    for v in nodes:
        scopes.append(tuple(v.scope.split("/")) if v.scope else ())
    # a leaf without a scope of its own is drawn in its consumers' scope when
    # they all share one (a neuron's weights sit inside the neuron)
    for i, v in enumerate(nodes):
        if v.parents or scopes[i]:
            continue
        owners = {scopes[c] for c in consumers[i]}
        if len(owners) == 1:
            scopes[i] = owners.pop()
    return _Model(root, nodes, index, consumers, scopes)


# ---------------------------------------------------------------------------
# The budget: which nodes are drawn, which collapse into summary nodes

Item = Union[int, str]  # a node's index, or a summary group's key


@dataclass
class _Group:
    key: str
    title: str
    members: list[int]
    cluster: tuple[str, ...]


@dataclass
class _Plan:
    item_of: list[Item]
    groups: dict[str, _Group] = field(default_factory=dict)


def _cost(model: _Model, item_of: Sequence[Item]) -> int:
    seen_groups = set()
    total = 0
    for i, item in enumerate(item_of):
        if isinstance(item, int):
            total += 2 if model.nodes[i].parents else 1
        elif item not in seen_groups:
            seen_groups.add(item)
            total += 1
    return total


def _distances(model: _Model) -> list[int]:
    """Each node's number of edges from the root (the nodes are in breadth-first order)."""
    dist = [0] * len(model.nodes)
    for i, v in enumerate(model.nodes):
        for p in v.parents:
            j = model.index[p]
            if j > i and dist[j] == 0:
                dist[j] = dist[i] + 1
    return dist


def _plan(model: _Model, max_nodes: int) -> _Plan:
    """Choose what is drawn: everything if it fits, else expand scopes greedily.

    Every scope starts collapsed into one summary node (top-level scopes
    first). Then the summary nodes nearest the root are opened one at a
    time, each replaced by its sub-scopes and its own nodes, as long as the
    drawing stays within ``max_nodes``; a group too big to open is skipped
    and the next nearest tried. Only when the top-level summaries alone do
    not fit do the nodes farthest from the root collapse (:func:`_truncate`).
    """
    import heapq

    n = len(model.nodes)
    plain: list[Item] = list(range(n))
    if _cost(model, plain) <= max_nodes:
        return _Plan(plain)
    dist = _distances(model)
    opened: set[tuple[str, ...]] = set()

    def assign() -> tuple[list[Item], dict[str, _Group]]:
        item_of: list[Item] = []
        groups: dict[str, _Group] = {}
        for i, s in enumerate(model.scopes):
            k = 1
            while k <= len(s) and s[:k] in opened:
                k += 1
            if i == 0 or k > len(s):
                item_of.append(i)
                continue
            prefix = s[:k]
            key = "scope:" + "/".join(prefix)
            if key not in groups:
                groups[key] = _Group(key, "/".join(prefix), [], prefix[:-1])
            groups[key].members.append(i)
            item_of.append(key)
        return item_of, groups

    item_of, groups = assign()
    if _cost(model, item_of) > max_nodes:
        return _truncate(model, item_of, groups, max_nodes)

    def strength(g: _Group) -> float:
        grads = [abs(model.nodes[i].grad) for i in g.members]
        finite = [a for a in grads if a == a]
        return -max(finite, default=0.0)

    def push(gs: dict[str, _Group], heap: list[tuple[int, float, str, tuple[str, ...]]]
             ) -> None:
        # nearest the root first; among equals, the group carrying the largest gradient
        for g in gs.values():
            prefix = tuple(g.title.split("/"))
            if prefix not in opened:
                heapq.heappush(heap, (min(dist[i] for i in g.members), strength(g), g.key,
                                      prefix))

    heap: list[tuple[int, float, str, tuple[str, ...]]] = []
    push(groups, heap)
    tried: set[tuple[str, ...]] = set()
    while heap:
        _, _, _, prefix = heapq.heappop(heap)
        if prefix in tried:
            continue
        tried.add(prefix)
        opened.add(prefix)
        new_item_of, new_groups = assign()
        if _cost(model, new_item_of) <= max_nodes:
            item_of, groups = new_item_of, new_groups
            push({k: g for k, g in groups.items() if tuple(g.title.split("/")) not in tried},
                 heap)
        else:
            opened.discard(prefix)
    return _Plan(item_of, groups)


def _truncate(
    model: _Model, item_of: list[Item], groups: dict[str, _Group], max_nodes: int
) -> _Plan:
    reserve = max(1, min(10, max_nodes // 10))
    order: list[Item] = []
    seen: set[Item] = set()
    members: dict[Item, list[int]] = {}
    for i, item in enumerate(item_of):
        members.setdefault(item, []).append(i)
    # breadth-first over items from the root's item, along parent edges
    queue = deque([item_of[0]])
    seen.add(item_of[0])
    while queue:
        item = queue.popleft()
        order.append(item)
        for i in members[item]:
            for p in model.nodes[i].parents:
                pi = item_of[model.index[p]]
                if pi not in seen:
                    seen.add(pi)
                    queue.append(pi)

    def cost(item: Item) -> int:
        if isinstance(item, int):
            return 2 if model.nodes[item].parents else 1
        return 1

    kept: set[Item] = set()
    used = 0
    for item in order:
        c = cost(item)
        if used + c > max_nodes - reserve:
            break
        kept.add(item)
        used += c
    hidden = [item for item in order if item not in kept]
    # connected parts of the hidden items (union-find)
    parent: dict[Item, Item] = {item: item for item in hidden}

    def find(a: Item) -> Item:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for item in hidden:
        for i in members[item]:
            for p in model.nodes[i].parents:
                pi = item_of[model.index[p]]
                if pi in parent:
                    ra, rb = find(item), find(pi)
                    if ra != rb:
                        parent[rb] = ra
    parts: dict[Item, list[Item]] = {}
    for item in hidden:
        parts.setdefault(find(item), []).append(item)
    part_list = list(parts.values())
    if len(part_list) > reserve:
        merged = [it for part in part_list[reserve - 1:] for it in part]
        part_list = [*part_list[: reserve - 1], merged]
    new_item_of = list(item_of)
    new_groups = {k: g for k, g in groups.items() if k in kept}
    for k, part in enumerate(part_list):
        key = f"rest:{k}"
        idx = sorted(i for item in part for i in members[item])
        new_groups[key] = _Group(key, "collapsed", idx, ())
        for i in idx:
            new_item_of[i] = key
    return _Plan(new_item_of, new_groups)


# ---------------------------------------------------------------------------
# Drawing


@dataclass(frozen=True)
class _Options:
    rankdir: str
    partials: bool
    color: bool
    clusters: bool
    title: str


@dataclass
class _Overlay:
    """What a backward-pass frame changes: shown grads, highlights, edge notes."""

    grads: Mapping[int, float]  # node index -> grad so far (absent: not reached)
    sender: int = -1
    receivers: frozenset[int] = frozenset()
    caption: str = ""
    traversed: frozenset[int] = frozenset()  # nodes that have passed their grad on


def _op_text(v: Value) -> str:
    try:
        entry = autograd.get_op(v.op)
        symbol = entry.symbol
        api = entry.api
        arity = entry.arity
    except autograd.UnknownOpError:
        symbol, api, arity = v.op, "function", -1
    operands = v.operands
    consts = [o for o in operands if not isinstance(o, Value)]
    if not consts:
        return symbol
    if api == "operator" and arity == 2 and len(operands) == 2:
        a, b = operands
        return f"{symbol} {fmt(float(b))}" if isinstance(a, Value) else f"{fmt(float(a))} {symbol}"
    if len(operands) <= 4:
        shown = ", ".join("·" if isinstance(o, Value) else fmt(float(o)) for o in operands)
        return f"{symbol}({shown})"
    n_values = len(operands) - len(consts)
    return f"{symbol}({n_values} values, {len(consts)} constants)"


_POS, _NEG = palette.POSITIVE_RAMP, palette.NEGATIVE_RAMP
_NAN_FILL, _NAN_BORDER = palette.NAN_FILL, palette.NAN_BORDER
_INF_FILL, _INF_BORDER = palette.INF_FILL, palette.INF_BORDER
_FONT = "Helvetica"
_mix = palette.mix


class _Colours:
    """A diverging colour scale for gradients: red > 0, blue < 0, white 0.

    The shade follows ``log10 |grad|`` between the smallest and the largest
    non-zero magnitude drawn, starting from a clearly tinted pale shade, so a
    gradient of 1e-6 next to one of 10 is still coloured. NaN is a yellow box
    with a thick purple border, ±inf a black box with a thick red border.
    The legend lists only the kinds of gradient present.
    """

    def __init__(self, grads: Sequence[float | None]) -> None:
        known = [g for g in grads if g is not None]
        mags = [abs(g) for g in known if _is_finite(g) and g != 0.0]
        self.lo = math.log10(min(mags)) if mags else 0.0
        self.hi = math.log10(max(mags)) if mags else 0.0
        self.min_mag = min(mags) if mags else 0.0
        self.max_mag = max(mags) if mags else 0.0
        self.pos = any(_is_finite(g) and g > 0 for g in known)
        self.neg = any(_is_finite(g) and g < 0 for g in known)
        self.zero = any(g == 0.0 for g in known)
        self.nan = any(g != g for g in known)
        self.inf = any(g in (math.inf, -math.inf) for g in known)
        self.unknown = len(known) < len(grads)

    def shade(self, g: float) -> float:
        """Where |g| sits on the scale: 0.15 (smallest drawn) to 1 (largest)."""
        span = self.hi - self.lo
        frac = 1.0 if span == 0 else (math.log10(abs(g)) - self.lo) / span
        return 0.15 + 0.85 * frac

    def fill(self, g: float) -> tuple[str, str]:
        """Return (background, font colour) for a gradient."""
        if g != g:
            return _NAN_FILL, "black"
        if g in (math.inf, -math.inf):
            return _INF_FILL, "white"
        if g == 0.0:
            return "white", "black"
        t = self.shade(g)
        return _mix(_POS if g > 0 else _NEG, t), "white" if t > 0.6 else "black"

    def legend(self, unknown_text: str = "") -> str:
        """An HTML-like table: a swatch per kind of gradient drawn, nothing else."""
        rows: list[tuple[list[tuple[str, str]], str]] = []
        one = self.min_mag == self.max_mag
        for present, ends, sign in ((self.pos, _POS, "> 0"), (self.neg, _NEG, "< 0")):
            if present:
                shades = [_mix(ends, 1.0)] if one else [_mix(ends, 0.15), _mix(ends, 1.0)]
                rows.append(([(c, "#888888") for c in shades], f"grad {sign}"))
        if (self.pos or self.neg) and not one:
            rows.append(([], f"pale to dark: |grad| from {fmt(self.min_mag)} to "
                             f"{fmt(self.max_mag)} (log scale)"))
        if self.zero:
            rows.append(([("white", "#888888")], "grad 0"))
        if self.nan:
            rows.append(([(_NAN_FILL, _NAN_BORDER)], "grad nan ⚠ (not a number)"))
        if self.inf:
            rows.append(([(_INF_FILL, _INF_BORDER)], "grad ±inf ⚠ (infinite)"))
        if self.unknown and unknown_text:
            rows.append(([], unknown_text))
        if not rows:
            return ""
        # one cell per row, swatches as coloured squares: Graphviz stretches the
        # columns of a nested table to the caption's width, squares in text do not
        out = []
        for sw, text in rows:
            marks = "".join('<font color="#888888">□</font>' if c == "white" else
                            f'<font color="{c}">■</font>' for c, _ in sw)
            if not sw:
                marks = ""
            sep = " " if marks else ""
            out.append(f'<tr><td align="left">{marks}{sep}{dot_html(text)}</td></tr>')
        return '<table border="0" cellborder="0" cellspacing="0" cellpadding="1">' + \
            "".join(out) + "</table>"


_DOTTED = re.compile(r"(?:^|\.)([A-Za-z_]\w*)(?:\.(\d+))?$")


def _short_label(label: str) -> str:
    """A dotted parameter name shown inside its cluster: ``layers.0.neurons.3.w.1`` -> ``w2``.

    The last name, with a trailing list index made 1-based like the cluster
    titles (``neuron 4``); other labels are unchanged.
    """
    if "." not in label:
        return label
    m = _DOTTED.search(label)
    if m is None:
        return label
    name, index = m.group(1), m.group(2)
    return f"{name}{int(index) + 1}" if index is not None else name


def _value_label(v: Value, grad: float | None, colours: _Colours | None,
                 muted: bool, name: str | None = None,
                 highlighted: bool = False) -> tuple[str, str]:
    """Return (HTML label, extra node attributes) for a value node (thick orange if highlighted)."""
    cells = []
    shown_name = v.label if name is None else name
    if shown_name:
        cells.append(f"<td><b>{dot_html(shown_name)}</b></td>")
    data_mark = "" if _is_finite(v.data) else " ⚠"
    cells.append(f"<td>data {fmt(v.data)}{data_mark}</td>")
    if grad is None:
        cells.append('<td><font color="#888888">grad ?</font></td>')
    else:
        grad_mark = "" if _is_finite(grad) else " ⚠"
        if colours is not None:
            bg, font = colours.fill(grad)
            cells.append(f'<td bgcolor="{bg}"><font color="{font}">grad {fmt(grad)}{grad_mark}'
                         "</font></td>")
        else:
            cells.append(f"<td>grad {fmt(grad)}{grad_mark}</td>")
    border = "#888888" if muted else "black"
    width = 1
    worst = [x for x in (v.data, grad) if x is not None]
    if any(x != x for x in worst):
        border, width = _NAN_BORDER, 3
    elif any(x in (math.inf, -math.inf) for x in worst):
        border, width = _INF_BORDER, 3
    if highlighted:
        width = 3 if width == 1 else width
        border = _HL if border == "black" else border
    table = (f'<<table border="{width}" cellborder="1" cellspacing="0" cellpadding="4" '
             f'color="{border}"><tr>{"".join(cells)}</tr></table>>')
    return table, "shape=plain"


def _group_output(model: _Model, group: _Group) -> int | None:
    member_set = set(group.members)
    outputs = [i for i in group.members
               if i == 0 or any(c not in member_set for c in model.consumers[i])]
    return outputs[0] if len(outputs) == 1 else None


def _group_grad(model: _Model, group: _Group, shown: Sequence[float | None]) -> float | None:
    """The gradient a summary box is coloured by: its output's, else the largest in it."""
    out = _group_output(model, group)
    if out is not None:
        return shown[out]
    known = [g for g in (shown[i] for i in group.members) if g is not None]
    if not known:
        return None
    bad = [g for g in known if not _is_finite(g)]
    return bad[0] if bad else max(known, key=abs)


def _group_label(model: _Model, plan: _Plan, group: _Group,
                 shown: Sequence[float | None] | None = None) -> str:
    members = group.members
    ops = Counter(model.nodes[i].op for i in members if model.nodes[i].parents)
    leaves = sum(1 for i in members if not model.nodes[i].parents)
    parts = [f"{count} × {_symbol(op)}" for op, count in
             sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))]
    if leaves:
        names = [model.nodes[i].label for i in members if not model.nodes[i].parents]
        joined = ", ".join(_short_label(n) for n in names)
        listed = f" ({joined})" if all(names) and len(joined) <= 40 else ""
        parts.append(f"{leaves} lea{'f' if leaves == 1 else 'ves'}{listed}")
    member_set = set(members)
    outputs = [i for i in members
               if i == 0 or any(c not in member_set for c in model.consumers[i])]
    lines = [f"<b>{dot_html(group.title)}</b>",
             dot_html(f"{len(members)} node{'s' if len(members) != 1 else ''}: " +
                   ", ".join(parts))]
    if len(outputs) == 1:
        o = model.nodes[outputs[0]]
        g = o.grad if shown is None else shown[outputs[0]]
        name = f"{_short_label(o.label)}: " if o.label else "out: "
        gtext = "?" if g is None else fmt(g)
        lines.append(dot_html(f"{name}data {fmt(o.data)}, grad {gtext}"))
    elif outputs:
        lines.append(dot_html(f"{len(outputs)} outputs"))
    return "<" + "<br/>".join(lines) + ">"


def _symbol(op: str) -> str:
    try:
        return autograd.get_op(op).symbol
    except autograd.UnknownOpError:
        return op


def _plain_name(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][\w.]*|-?[\d.]+(?:e[-+]?\d+)?", text) is not None


def _node_name(v: Value, inside: bool) -> str:
    """How edge labels and tooltips name a node: its label, or a short expression."""
    if v.label:
        return _short_label(v.label) if inside else v.label
    if not v.parents:
        return fmt(v.data)
    text = _expression(v, 2)
    return text if len(text) <= 24 else f"({_symbol(v.op)})"


def _expression(v: Value, depth: int, top: bool = False) -> str:
    """``v`` as a short expression of its operands' names (its own label unless ``top``)."""
    if v.label and not top:
        return _short_label(v.label)
    if not v.parents:
        return fmt(v.data)
    if depth == 0:
        return "…"
    try:
        entry = autograd.get_op(v.op)
    except autograd.UnknownOpError:
        return f"{v.op}(…)"
    names = [_expression(o, depth - 1) if isinstance(o, Value) else fmt(float(o))
             for o in v.operands]
    if entry.api == "operator" and entry.arity == 2 and len(names) == 2:
        a, b = (n if _plain_name(n) else f"({n})" for n in names)
        return f"{a}{entry.symbol}{b}" if entry.symbol in ("*", "**", "/") else \
            f"{a} {entry.symbol} {b}"
    if entry.api == "operator" and entry.arity == 1 and names:
        n = names[0]
        return f"{entry.symbol}{n if _plain_name(n) else f'({n})'}"
    if len(names) <= 3:
        return f"{entry.symbol}({', '.join(names)})"
    return f"{entry.symbol}(…)"


def _slots(v: Value) -> list[int]:
    """For each parent of ``v``, its position among ``v.operands``."""
    pos = [k for k, o in enumerate(v.operands) if isinstance(o, Value)]
    return pos if len(pos) == len(v.parents) else list(range(len(v.parents)))


def _derivative_text(v: Value, slot: int) -> str:
    """The op table's local derivative for operand ``slot``, in the operands' names.

    Rendered from the op's formula (``Op.edge_label``); "" when the op has
    none, or no short text to show.
    """
    try:
        entry = autograd.get_op(v.op)
    except autograd.UnknownOpError:
        return ""
    names = []
    for o in v.operands:
        n = _expression(o, 1) if isinstance(o, Value) else fmt(float(o))
        names.append(n if _plain_name(n) else f"({n})")
    return entry.edge_label(slot, names)


def _partial_label(v: Value, k: int, slot: int, d: float, g: float | None,
                   inside: bool) -> str:
    """Which derivative an edge carries: ``∂(w*x)/∂w = x = 0.5`` (and grad·∂)."""
    child = _node_name(v, inside)
    parent = v.parents[k]
    pname = _node_name(parent, inside)
    pname = pname if _plain_name(pname) else f"({pname})"
    if sum(1 for p in v.parents if p is parent) > 1:
        pname += f" (operand {slot + 1})"
    child = child if _plain_name(child) else f"({child})"
    formula = _derivative_text(v, slot)
    value = fmt(d)
    text = f"∂{child}/∂{pname}"
    if formula and formula != value:
        text += f" = {formula}"
    text += f" = {value}"
    if g is not None:
        text += f"\ngrad·∂ = {fmt(g)} × {value} = {fmt(g * d)}"
    return text


@dataclass(frozen=True)
class _Highlight:
    """What ``--explain`` draws: the edges (child, operand slot) and nodes of some paths."""

    edges: frozenset[tuple[int, int]]
    nodes: frozenset[int]
    caption: str = ""


_HL = palette.HIGHLIGHT


@dataclass
class _Drawing:
    """What every piece of one DOT text reads: the graph, its plan and options, the overlays.

    ``shown`` is the gradient drawn for each node (the overlay's, else
    ``.grad``); ``colours`` the grad colour scale (None without colour).
    """

    model: _Model
    plan: _Plan
    opts: _Options
    overlay: _Overlay | None
    highlight: _Highlight | None
    shown: list[float | None]
    colours: _Colours | None

    def inside(self, i: int) -> bool:
        """Whether node ``i`` is drawn inside a cluster (its labels then short)."""
        return self.opts.clusters and bool(self.model.scopes[i])

    def lit(self, i: int) -> bool:
        """Whether node ``i`` is on a highlighted path."""
        return self.highlight is not None and i in self.highlight.nodes


def _drawing(model: _Model, plan: _Plan, opts: _Options, overlay: _Overlay | None,
             highlight: _Highlight | None) -> _Drawing:
    """The shown gradients and a colour scale over those actually drawn (nodes and groups)."""
    if overlay is not None:
        shown = [overlay.grads.get(i) for i in range(len(model.nodes))]
    else:
        shown = [v.grad for v in model.nodes]
    drawn_grads = [g for i, g in enumerate(shown) if isinstance(plan.item_of[i], int)]
    drawn_grads += [_group_grad(model, g, shown) for g in plan.groups.values()]
    colours = _Colours(drawn_grads) if opts.color else None
    return _Drawing(model, plan, opts, overlay, highlight, shown, colours)


def _group_node(d: _Drawing, key: str) -> str:
    """The DOT line of a summary box: its label, fill by gradient, and a tooltip."""
    group = d.plan.groups[key]
    label = _group_label(d.model, d.plan, group, d.shown)
    fill, font = palette.GROUP_FILL, "black"
    gg = _group_grad(d.model, group, d.shown)
    if d.colours is not None and gg is not None:
        fill, font = d.colours.fill(gg)
    tip = f"{group.title}: {len(group.members)} nodes drawn as one box"
    return (f'{_gid(key, d.plan)} [shape=note style="filled,dashed" fillcolor="{fill}" '
            f'fontcolor="{font}" tooltip={dot_string(tip)} label={label}];')


def _value_nodes(d: _Drawing, i: int) -> list[str]:
    """The DOT lines of node ``i``: its value box, and its op ellipse if it has parents."""
    v, overlay = d.model.nodes[i], d.overlay
    muted = overlay is not None and i not in overlay.grads
    name = _short_label(v.label) if d.inside(i) and v.label else v.label
    label, attrs = _value_label(v, d.shown[i], d.colours, muted, name, d.lit(i))
    extra = ""
    if overlay is not None and i == overlay.sender:
        extra = f' style=filled fillcolor="{palette.STEP_SENDER_FILL}"'
    elif overlay is not None and i in overlay.receivers:
        extra = f' style=filled fillcolor="{palette.STEP_RECEIVER_FILL}"'
    if overlay is not None and i == (overlay.sender if overlay.sender >= 0 else 0):
        extra += ' class="cr-focus"'  # the step page keeps this node in view
    tip = _tooltip(v, d.inside(i))
    lines = [f"v{i} [{attrs} tooltip={dot_string(tip)} label={label}{extra}];"]
    if v.parents:
        op_attrs = "shape=ellipse"
        if overlay is not None and i == overlay.sender:
            op_attrs += f' style=filled fillcolor="{palette.STEP_SENDER_FILL}"'
        if d.lit(i):
            op_attrs += f' color="{_HL}" penwidth=2'
        op_tip = _op_tooltip(v)
        lines.append(f"o{i} [{op_attrs} tooltip={dot_string(op_tip)} "
                     f"label={dot_string(_op_text(v))}];")
    return lines


def _cluster_items(d: _Drawing) -> dict[tuple[str, ...], list[str]]:
    """The node lines of each cluster path (``()`` is the top level), in order of first appearance.

    Every prefix of a path has an entry, so that empty outer clusters are
    still drawn around their inner ones. Without clusters all goes to ``()``.
    """
    cluster_items: dict[tuple[str, ...], list[str]] = {}

    def put(path: tuple[str, ...], lines: list[str]) -> None:
        if not d.opts.clusters:
            path = ()
        for k in range(len(path) + 1):
            cluster_items.setdefault(path[:k], [])
        cluster_items[path].extend(lines)

    emitted_groups: set[str] = set()
    for i in range(len(d.model.nodes)):
        item = d.plan.item_of[i]
        if isinstance(item, str):
            if item not in emitted_groups:
                emitted_groups.add(item)
                put(d.plan.groups[item].cluster, [_group_node(d, item)])
            continue
        put(d.model.scopes[i], _value_nodes(d, i))
    return cluster_items


def _header_lines(d: _Drawing, clustered: bool) -> list[str]:
    """The graph's opening lines: layout, fonts, and the caption (title, notes, legend)."""
    # With clusters (layers, neurons), keep them in the order we emit them (neuron
    # 1, 2, 3...): no second crossing pass, and a short first one, so that Graphviz
    # does not rotate a layer's neurons to 13, 14, 15, 16, 1, 2...
    keep_order = " remincross=false; mclimit=0.01;" if clustered else ""
    lines = ["digraph G {", f"  rankdir={d.opts.rankdir};{keep_order}",
             f'  graph [fontname="{_FONT}" fontsize=12];',
             f'  node [fontname="{_FONT}" fontsize=11];',
             f'  edge [fontname="{_FONT}" fontsize=9 arrowsize=0.7];']
    caption = []
    if d.opts.title:
        caption.append(f"<b>{dot_html(d.opts.title)}</b>")
    if d.overlay is not None and d.overlay.caption:
        caption.append(dot_html(d.overlay.caption))
    if d.highlight is not None and d.highlight.caption:
        caption.append(f'<font color="{_HL}">{dot_html(d.highlight.caption)}</font>')
    legend = d.colours.legend("grad ?: not reached yet") if d.colours is not None else ""
    if caption or legend:
        body = "".join(f'<tr><td align="left">{c}</td></tr>' for c in caption)
        if legend:
            body += f'<tr><td align="left">{legend}</td></tr>'
        lines.append(f'  labelloc=t; labeljust=l; label=<<table border="0" cellpadding="1">'
                     f"{body}</table>>;")
    return lines


def _cluster_lines(cluster_items: Mapping[tuple[str, ...], list[str]]) -> list[str]:
    """The node lines nested in ``subgraph cluster_N`` blocks, inner clusters in numeric order."""
    lines: list[str] = []
    counter = [0]

    def emit(path: tuple[str, ...], indent: str) -> None:
        lines.extend(indent + line for line in cluster_items.get(path, []))
        children = [p for p in cluster_items if len(p) == len(path) + 1 and p[:-1] == path]
        children.sort(key=lambda p: _natural(p[-1]))  # neuron 1, 2, ..., 10 top to bottom
        for child in children:
            counter[0] += 1
            lines.append(f"{indent}subgraph cluster_{counter[0]} {{")
            lines.append(f"{indent}  label={dot_string(child[-1])}; style=rounded; "
                         'color="#999999";')
            emit(child, indent + "  ")
            lines.append(f"{indent}}}")

    emit((), "  ")
    return lines


def _edge_attrs(d: _Drawing, i: int, k: int, slot: int) -> list[str]:
    """The attributes of the edge from parent ``k`` (operand ``slot``) of node ``i`` to its op.

    A backward-step frame labels it with the arithmetic of the pass; otherwise
    ``partials`` labels it with the local derivative; a highlighted path
    colours it; every edge gets a tooltip.
    """
    v, overlay = d.model.nodes[i], d.overlay
    p, dv = v.parents[k], v.partials[k]
    g = d.shown[i]
    attrs = []
    if overlay is not None:
        if i == overlay.sender:
            c = palette.STEP_SENDER_EDGE
            attrs.append(f'color="{c}" penwidth=2.5 fontcolor="{c}"')
            text = f"{fmt(g or 0.0)} × {fmt(dv)} = {fmt((g or 0.0) * dv)}"
            attrs.append(f"label={dot_string(text)}")
        elif i in overlay.traversed:
            c = palette.STEP_TRAVERSED
            attrs.append(f'color="{c}" fontcolor="{c}"')
            text = f"passed {fmt((g or 0.0) * dv)}"
            attrs.append(f"label={dot_string(text)}")
        else:
            attrs.append(f'color="{palette.UNVISITED}"')
    elif d.opts.partials:
        attrs.append(f"label={dot_string(_partial_label(v, k, slot, dv, g, d.inside(i)))}")
    if d.highlight is not None and (i, k) in d.highlight.edges:
        attrs.append(f'color="{_HL}" penwidth=2.5 fontcolor="{_HL}"')
    tip = (f"{_node_name(p, d.inside(i))} → {_node_name(v, d.inside(i))}: "
           f"local derivative {fmt(dv)}")
    attrs.append(f"tooltip={dot_string(tip)}")
    return attrs


def _edge_lines(d: _Drawing) -> list[str]:
    """The edges, in the order of the consuming node and operand position.

    An edge between two drawn nodes goes from the parent's value box to the
    child's op (``o -> v`` joins the op to its result); an edge touching a
    summary box is dashed and drawn once.
    """
    lines = []
    model, item_of = d.model, d.plan.item_of
    seen_edges: set[tuple[str, str]] = set()
    for i, v in enumerate(model.nodes):
        if not v.parents:
            continue
        dst_item = item_of[i]
        if isinstance(dst_item, int):
            out_tip = dot_string(f"{_symbol(v.op)} gives {_node_name(v, d.inside(i))}")
            lines.append(f"  o{i} -> v{i} [tooltip={out_tip}"
                         + (f' color="{_HL}" penwidth=2.5];' if d.lit(i) else "];"))
        slots = _slots(v)
        for k, (p, _) in enumerate(zip(v.parents, v.partials, strict=True)):
            j = model.index[p]
            src_item = item_of[j]
            if src_item == dst_item:
                continue
            src = f"v{j}" if isinstance(src_item, int) else _gid(src_item, d.plan)
            dst = f"o{i}" if isinstance(dst_item, int) else _gid(dst_item, d.plan)
            if isinstance(src_item, int) and isinstance(dst_item, int):
                lines.append(f"  {src} -> {dst} [" + " ".join(_edge_attrs(d, i, k, slots[k]))
                             + "];")
            elif (src, dst) not in seen_edges:
                seen_edges.add((src, dst))
                lines.append(f"  {src} -> {dst} [style=dashed];")
    return lines


def _dot_lines(model: _Model, plan: _Plan, opts: _Options,
               overlay: _Overlay | None = None,
               highlight: _Highlight | None = None) -> list[str]:
    """The DOT text of a planned graph, line by line (without newlines).

    Args:
        model: the collected graph.
        plan: which nodes are drawn and which collapse into summary boxes.
        opts: the drawing options.
        overlay: a backward-pass frame's state (grads so far, sender, receivers).
        highlight: an explanation's paths to draw in orange.
    """
    d = _drawing(model, plan, opts, overlay, highlight)
    cluster_items = _cluster_items(d)
    return [*_header_lines(d, len(cluster_items) > 1), *_cluster_lines(cluster_items),
            *_edge_lines(d), "}"]


def _tooltip(v: Value, inside: bool) -> str:
    """A node's tooltip: its name, its formula and its numbers (never an internal id)."""
    parts = []
    if v.parents:
        formula = _expression(v, 2, top=True)
        parts.append(f"{v.label} = {formula}" if v.label else formula)
    elif v.label:
        parts.append(v.label)
    else:
        parts.append("a constant leaf")
    if v.scope:
        parts.append(f"in {v.scope}")
    parts.append(f"data {fmt(v.data)}, grad {fmt(v.grad)}")
    return "; ".join(parts)


def _op_tooltip(v: Value) -> str:
    try:
        entry = autograd.get_op(v.op)
        return f"{entry.name}: {entry.formula}; local derivative {entry.derivative}"
    except autograd.UnknownOpError:
        return v.op


def _natural(name: str) -> tuple[tuple[int, Union[int, str]], ...]:
    """A sort key reading the numbers in a name as numbers: neuron 2 before neuron 10."""
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.findall(r"\d+|\D+", name))


def _gid(key: str, plan: _Plan) -> str:
    return "s" + str(list(plan.groups).index(key))


def _options(rankdir: str, partials: bool, color: bool, clusters: bool, title: str,
             max_nodes: int, root: Any, what: str) -> _Options:
    if not isinstance(root, Value):
        raise TypeError(f"{what}: root must be an autograd.Value, got {type(root).__name__}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"{what}: rankdir must be 'LR' or 'TB', got {rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 3:
        raise ValueError(
            f"{what}: max_nodes must be an int >= 3, got {max_nodes!r}; it is the most "
            "nodes Graphviz is given (larger graphs collapse into summary nodes)"
        )
    return _Options(rankdir, bool(partials), bool(color), bool(clusters), str(title))


def to_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    partials: bool = False,
    color: bool = True,
    clusters: bool = True,
    max_nodes: int = DEFAULT_MAX_NODES,
    title: str = "",
    highlight: Any = None,
) -> str:
    """Return the DOT text of the graph that computes ``root``.

    Needs no Graphviz program. The text depends only on the graph (ids follow
    a breadth-first walk from ``root``), so the same graph gives the same bytes.

    Args:
        root: the output node; everything it depends on is drawn.
        rankdir: ``"LR"`` (inputs left, output right) or ``"TB"`` (top to bottom).
        partials: label each edge with the local derivative ``∂`` (from
            ``Value.partials``) and the gradient it passes back (``grad·∂``).
        color: fill value nodes by ``|grad|`` on a log scale; NaN and inf
            get a thick purple or red border and a ⚠ mark.
        clusters: group nodes by ``Value.scope`` ("layer 1/neuron 3", nested).
        max_nodes: the most nodes in the drawing (value nodes, op nodes and
            summary nodes together). Larger graphs collapse scopes (deepest
            first) into summary nodes, then the nodes farthest from ``root``.
        title: a caption at the top.
        highlight: an :class:`visualize.Explanation` (from ``explain(x, root)``):
            its paths from ``root`` down to ``x`` are drawn in orange, each
            operand slot of a reused variable (``x * x``) on its own edge.

    Returns:
        The DOT source, ending with a newline.

    Raises:
        TypeError: if ``root`` is not a Value.
        ValueError: if ``rankdir`` is not LR/TB or ``max_nodes`` is below 3.
    """
    opts = _options(rankdir, partials, color, clusters, title, max_nodes, root, "to_dot")
    model = _collect(root)
    marks = _highlight(model, highlight) if highlight is not None else None
    return "\n".join(_dot_lines(model, _plan(model, max_nodes), opts, highlight=marks)) + "\n"


def _highlight(model: _Model, explanation: Any) -> _Highlight:
    """The edges and nodes on an explanation's paths (``.paths``: nodes and slots)."""
    paths = getattr(explanation, "paths", None)
    if paths is None:
        raise TypeError("to_dot: highlight must be the result of visualize.explain(x, root), "
                        f"got {type(explanation).__name__}")
    edges: set[tuple[int, int]] = set()
    nodes: set[int] = set()
    for path in paths:
        for hop, v in enumerate(path.nodes):
            if v not in model.index:
                raise ValueError("to_dot: highlight explains another graph; pass "
                                 "explain(x, root) for this root")
            nodes.add(model.index[v])
            if hop < len(path.slots):
                edges.add((model.index[v], path.slots[hop]))
    n = len(paths)
    x = getattr(explanation, "x", None)
    name = x.label if isinstance(x, Value) and x.label else "x"
    total = getattr(explanation, "total", None)
    caption = (f"orange: the {n} path{'s' if n != 1 else ''} along which d(root)/d{name} "
               "flows")
    if isinstance(total, float):
        caption += f"; the products along them sum to {fmt(total)}"
    return _Highlight(frozenset(edges), frozenset(nodes), caption)


def draw_dot(
    root: Value,
    format: str = "svg",  # noqa: A002 - micrograd's trace_graph signature
    rankdir: str = "LR",
    *,
    partials: bool = False,
    color: bool = True,
    clusters: bool = True,
    max_nodes: int = DEFAULT_MAX_NODES,
    title: str = "",
    highlight: Any = None,
) -> graphviz.Digraph:
    """Return the graph as a ``graphviz.Digraph`` (Jupyter shows it inline).

    ``draw_dot(root, format="svg", rankdir="LR")`` is micrograd's
    ``trace_graph`` signature: ``format`` is what ``.render()`` and Jupyter
    produce (svg, png, pdf...). The other options are :func:`to_dot`'s;
    ``.source`` holds the DOT text. Showing or rendering the object needs
    Graphviz's ``dot`` program.

    Raises:
        TypeError: if ``root`` is not a Value.
        ValueError: for a bad option (see :func:`to_dot`) or an empty ``format``.
        ImportError: if the ``graphviz`` Python package is missing.
    """
    if not isinstance(format, str) or not re.fullmatch(r"[a-z0-9:_]+", format):
        raise ValueError(f"draw_dot: format must be a Graphviz output format such as 'svg' "
                         f"or 'png', got {format!r}")
    text = to_dot(root, rankdir=rankdir, partials=partials, color=color, clusters=clusters,
                  max_nodes=max_nodes, title=title, highlight=highlight)
    try:
        import graphviz
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError(
            "draw_dot: the 'graphviz' Python package is missing; pip install graphviz "
            "(to_dot works without it)"
        ) from e
    body = [line + "\n" for line in text.splitlines()[1:-1]]
    return graphviz.Digraph(name="G", body=body, format=format)


def render_dot(dot_text: str, path: str | os.PathLike[str], *, what: str = "the graph") -> Path:
    """Write DOT text to ``path`` in the format its suffix names (svg, png, pdf or dot).

    The file appears complete or not at all (written to a temporary file,
    then renamed). Missing parent folders are created.

    Args:
        dot_text: the DOT source.
        path: the output file; its suffix chooses the format.
        what: how error messages name the drawing.

    Returns:
        The path written.

    Raises:
        ValueError: if the suffix is not one of :data:`FORMATS`.
        GraphvizNotFoundError: if the format needs Graphviz's ``dot`` and it is
            missing (``.dot`` never does).
        RuntimeError: if ``dot`` fails or runs for more than five minutes.
    """
    out = Path(path)
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(
            f"render: cannot tell the format of {str(out)!r} from its suffix; use one of "
            + ", ".join("." + f for f in FORMATS)
        )
    if suffix == "dot":
        data = dot_text.encode("utf-8")
    else:
        data = _run_dot(dot_text, suffix, f"{what} ({out.name})")
        if suffix == "svg":
            data = svg_titles(data.decode("utf-8")).encode("utf-8")
    _write_atomic(out, data)
    return out


_TITLED = re.compile(r'<title>[^<]*</title>(\s*<g id="a_[^"]*"><a xlink:title="([^"]*)")')


def svg_titles(svg: str, title: str = "") -> str:
    """Make an SVG's hover texts the nodes' names and formulas, not Graphviz's ids.

    Graphviz writes each node's id (``v3``) as its ``<title>``, which
    browsers show on hover; the tooltip we gave the node replaces it.
    ``title`` replaces the graph's own ``<title>G</title>``.
    """
    out = _TITLED.sub(lambda m: f"<title>{m.group(2)}</title>{m.group(1)}", svg)
    return out.replace("<title>G</title>", f"<title>{xml_text(title)}</title>" if title else
                       "<title>computation graph</title>", 1)


def _run_dot(dot_text: str, fmt_name: str, what: str) -> bytes:
    """Run Graphviz's ``dot`` on the text and return the output bytes."""
    exe = find_dot()
    if exe is None:
        raise GraphvizNotFoundError(what)
    try:
        proc = subprocess.run(
            [exe, f"-T{fmt_name}"], input=dot_text.encode("utf-8"), capture_output=True,
            timeout=_DOT_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"render: Graphviz took more than {_DOT_TIMEOUT:.0f} s on {what}; "
            "draw fewer nodes (lower max_nodes)"
        ) from None
    except FileNotFoundError:
        raise GraphvizNotFoundError(what) from None
    if proc.returncode != 0:
        raise RuntimeError(
            f"render: Graphviz's dot failed on {what} (exit {proc.returncode}): "
            + proc.stderr.decode("utf-8", "replace").strip()
        )
    return bytes(proc.stdout)


def _write_atomic(out: Path, data: bytes, flag: str = "render") -> None:
    """Write ``data`` to ``out`` by the output rule (:func:`chainrule.outputs.write_file`)."""
    write_file(out, data, flag)


def render(
    root: Value,
    path: str | os.PathLike[str],
    *,
    rankdir: str = "LR",
    partials: bool = False,
    color: bool = True,
    clusters: bool = True,
    max_nodes: int = DEFAULT_MAX_NODES,
    title: str = "",
    highlight: Any = None,
) -> Path:
    """Draw the graph of ``root`` into a file: SVG, PNG or PDF (by suffix), or DOT text.

    Takes the options of :func:`to_dot`.

    Returns:
        The path written.

    Raises:
        TypeError: if ``root`` is not a Value.
        ValueError: for a bad option or an unknown suffix.
        GraphvizNotFoundError: if ``dot`` is missing (a ``.dot`` path never needs it).
        RuntimeError: if ``dot`` fails.
    """
    text = to_dot(root, rankdir=rankdir, partials=partials, color=color, clusters=clusters,
                  max_nodes=max_nodes, title=title, highlight=highlight)
    return render_dot(text, path)
