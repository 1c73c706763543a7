"""The chain rule for one gradient, written out: :func:`explain`.

``explain(x, root)`` lists every path from ``root`` down to ``x``, the local
derivatives along it (from ``Value.partials``), their product, and the sum of
the products over all paths, which is ``d root / d x``: what ``x.grad`` holds
after ``root.backward()`` (for a leaf, on its first backward pass).

Only the public API of :mod:`autograd` is used.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from autograd import Value
from visualize.escape import html_text
from visualize.graph import fmt

__all__ = ["DEFAULT_MAX_PATHS", "Explanation", "GradPath", "explain"]

#: The default most paths :func:`explain` lists one by one.
DEFAULT_MAX_PATHS = 200


@dataclass(frozen=True)
class GradPath:
    """One path from the root down to ``x``.

    Attributes:
        nodes: the nodes along it, ``root`` first and ``x`` last.
        partials: the local derivative of each node with respect to the next
            (one fewer than ``nodes``).
        product: the product of ``partials`` (1.0 for the empty path, when
            ``x`` is the root).
        slots: at each hop, which parent of the node it goes through (an index
            into ``Value.parents``): tells ``x * x``'s two operand slots apart.
    """

    nodes: tuple[Value, ...]
    partials: tuple[float, ...]
    product: float
    slots: tuple[int, ...] = ()

    def chain(self, root: Value) -> str:
        """The path's nodes as text, root first; a reused operand names its slot."""
        parts = [_name(self.nodes[0], root)]
        for hop, v in enumerate(self.nodes[1:]):
            name = _name(v, root)
            above = self.nodes[hop]
            if hop < len(self.slots) and sum(1 for p in above.parents if p is v) > 1:
                name += f" (operand {self.slots[hop] + 1})"
            parts.append(name)
        return " <- ".join(parts)


@dataclass(frozen=True)
class Explanation:
    """The chain rule for ``d root / d x``.

    Attributes:
        x: the node differentiated with respect to.
        root: the output.
        paths: the paths listed (at most ``max_paths`` of them).
        n_paths: how many paths there are in all.
        total: the sum of the products over all paths: ``d root / d x``.
        grad: ``x.grad`` as it was when :func:`explain` ran.
    """

    x: Value
    root: Value
    paths: tuple[GradPath, ...]
    n_paths: int
    total: float
    grad: float

    @property
    def truncated(self) -> bool:
        """True when there are more paths than :attr:`paths` lists."""
        return self.n_paths > len(self.paths)

    def __iter__(self) -> Iterator[GradPath]:
        return iter(self.paths)

    def table_rows(self) -> list[tuple[str, str, str, str]]:
        """One row per listed path: number, nodes, local derivatives, product."""
        rows = []
        for k, p in enumerate(self.paths, 1):
            chain = p.chain(self.root).replace(" <- ", " ← ")
            factors = " × ".join(fmt(d) for d in p.partials) if p.partials else "1 (x is the root)"
            rows.append((str(k), chain, factors, fmt(p.product)))
        return rows

    def heading(self) -> str:
        """What the table shows: d root / d x as a sum over paths."""
        n = self.n_paths
        return (f"d {_name(self.root, self.root)} / d {_name(self.x, self.root)}: the sum over "
                f"{n} path{'s' if n != 1 else ''} of the product of local derivatives")

    def footer(self) -> list[str]:
        """The closing lines: paths left out, the sum and x.grad."""
        lines = []
        if self.truncated:
            lines.append(f"... and {self.n_paths - len(self.paths)} more paths "
                         "(raise max_paths to list them)")
        xs = _name(self.x, self.root)
        lines.append(f"sum = {fmt(self.total)}   ({xs}.grad = {fmt(self.grad)})")
        return lines

    def _repr_html_(self) -> str:
        """A table for Jupyter: one row per path, its local derivatives and product."""
        esc = html_text
        body = "".join(
            f"<tr><td>{esc(k)}</td><td style='text-align:left'>{esc(c)}</td>"
            f"<td style='text-align:left'>{esc(f)}</td><td>{esc(p)}</td></tr>"
            for k, c, f, p in self.table_rows())
        foot = "".join(f"<tr><td colspan='4' style='text-align:left'><b>{esc(t)}</b></td></tr>"
                       for t in self.footer())
        return (f"<table><caption style='text-align:left'>{esc(self.heading())}</caption>"
                "<thead><tr><th>path</th><th style='text-align:left'>nodes (root first)</th>"
                "<th style='text-align:left'>local derivatives</th><th>product</th></tr></thead>"
                f"<tbody>{body}{foot}</tbody></table>")

    def _repr_markdown_(self) -> str:
        """The same table in Markdown (HTML in it escaped: notebooks render Markdown's HTML)."""
        def cell(t: str) -> str:
            return html_text(t).replace("|", "\\|")

        lines = [f"**{cell(self.heading())}**", "",
                 "| path | nodes (root first) | local derivatives | product |",
                 "| ---: | :--- | :--- | ---: |"]
        lines += [f"| {k} | {cell(c)} | {cell(f)} | {p} |" for k, c, f, p in self.table_rows()]
        lines += [""] + [f"**{cell(t)}**" for t in self.footer()]
        return "\n".join(lines)

    def __str__(self) -> str:
        xs = _name(self.x, self.root)
        rs = _name(self.root, self.root)
        n = self.n_paths
        lines = [f"d {rs} / d {xs}: the sum over {n} path{'s' if n != 1 else ''} "
                 "of the product of local derivatives along each"]
        for k, p in enumerate(self.paths, 1):
            lines.append(f"  path {k}: {p.chain(self.root)}")
            if p.partials:
                factors = " × ".join(fmt(d) for d in p.partials)
                lines.append(f"          = {factors} = {fmt(p.product)}")
            else:
                lines.append("          = 1 (x is the root)")
        if self.truncated:
            more = n - len(self.paths)
            lines.append(f"  ... and {more} more paths (raise max_paths to list them)")
        lines.append(f"  sum = {fmt(self.total)}   ({xs}.grad = {fmt(self.grad)})")
        return "\n".join(lines)


def _name(v: Value, root: Value) -> str:
    if v.label:
        return v.label
    if v is root:
        return "root" if not v.op else f"root ({v.op})"
    return f"({v.op})" if v.op else f"(leaf {fmt(v.data)})"


def explain(x: Value, root: Value, *, max_paths: int = DEFAULT_MAX_PATHS) -> Explanation:
    """Write out the chain rule for ``d root / d x``.

    Every path from ``root`` down to ``x`` follows parent links; an operand
    used twice (``a * a``) gives two paths. The product of the local
    derivatives along a path is its contribution; the contributions sum to
    the derivative. The sum is computed exactly over all paths (by counting
    through the graph), even when only ``max_paths`` are listed.

    Args:
        x: the node to differentiate with respect to (a leaf or an interior node).
        root: the output.
        max_paths: the most paths listed one by one.

    Returns:
        An :class:`Explanation`; ``str()`` of it is a readable derivation.

    Raises:
        TypeError: if ``x`` or ``root`` is not a Value.
        ValueError: if ``root`` does not depend on ``x``, or ``max_paths`` < 0.
    """
    for name, v in (("x", x), ("root", root)):
        if not isinstance(v, Value):
            raise TypeError(f"explain: {name} must be an autograd.Value, got {type(v).__name__}")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 0:
        raise ValueError(f"explain: max_paths must be an int >= 0, got {max_paths!r}")
    # nodes from which x is reachable, in an order where consumers come first
    order = _topo_from(root)
    reaches: set[Value] = {x}
    for v in reversed(order):
        if v is not x and any(p in reaches for p in v.parents):
            reaches.add(v)
    if root not in reaches:
        name = f" ({x.label!r})" if x.label else ""
        raise ValueError(
            f"explain: root does not depend on x{name}; pass a node that the root was "
            "computed from"
        )
    # counting: sum of path products and number of paths, from x upwards
    below: dict[Value, tuple[float, int]] = {x: (1.0, 1)}
    for v in reversed(order):
        if v is x or v not in reaches:
            continue
        terms: list[float] = []
        count = 0
        for p, d in zip(v.parents, v.partials, strict=True):
            if p in below:
                s, c = below[p]
                terms.append(d * s)
                count += c
        below[v] = (_sum(terms), count)
    total, n_paths = below[root]
    paths = tuple(_paths(x, root, reaches, max_paths))
    return Explanation(x, root, paths, n_paths, total, x.grad)


def _sum(terms: list[float]) -> float:
    if all(math.isfinite(t) for t in terms):
        return math.fsum(terms)
    return sum(terms)  # fsum raises on inf - inf; plain sum gives nan as IEEE does


def _topo_from(root: Value) -> list[Value]:
    """Nodes reachable from root, each after all of its consumers (iterative)."""
    order: list[Value] = []
    seen = {root}
    stack: list[tuple[Value, int]] = [(root, 0)]
    while stack:
        v, k = stack.pop()
        if k < len(v.parents):
            stack.append((v, k + 1))
            p = v.parents[k]
            if p not in seen:
                seen.add(p)
                stack.append((p, 0))
        else:
            order.append(v)  # post-order: parents before v
    order.reverse()  # consumers first
    return order


def _paths(x: Value, root: Value, reaches: set[Value], limit: int) -> Iterator[GradPath]:
    """Yield up to ``limit`` paths root -> x, depth first, in operand order."""
    if limit == 0:
        return
    found = 0
    # each frame: node, next operand position
    nodes: list[Value] = [root]
    partials: list[float] = []
    slots: list[int] = []
    positions: list[int] = [0]
    if root is x:
        yield GradPath((root,), (), 1.0)
        return
    while nodes:
        v = nodes[-1]
        k = positions[-1]
        if k >= len(v.parents):
            nodes.pop()
            positions.pop()
            if partials:
                partials.pop()
                slots.pop()
            continue
        positions[-1] = k + 1
        p = v.parents[k]
        if p not in reaches:
            continue
        d = v.partials[k]
        if p is x:
            ds = (*partials, d)
            yield GradPath((*nodes, x), ds, math.prod(ds), (*slots, k))
            found += 1
            if found >= limit:
                return
            continue
        nodes.append(p)
        positions.append(0)
        partials.append(d)
        slots.append(k)
