"""The backward pass step by step: frames and a page that steps through them.

Backward visits the nodes in :func:`autograd.backward_order`; at each step one
node passes its gradient to its parents, each parent receiving
``grad · local derivative``. :func:`backward_steps` records those steps,
:func:`backward_dots` draws one DOT frame per step (the node passing its
gradient in blue, the parents receiving it in green, the edges labelled with
what they carry, nodes not reached yet with ``grad ?``), and
:func:`render_backward` writes the frames as SVG files plus one self-contained
HTML page that steps through them.

Only the public API of :mod:`autograd` is used.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import autograd
from autograd import Value
from visualize.graph import (
    DEFAULT_MAX_NODES,
    _collect,
    _cost,
    _dot_lines,
    _options,
    _Overlay,
    _Plan,
    _run_dot,
    _write_atomic,
    fmt,
)

__all__ = [
    "DEFAULT_MAX_STEPS",
    "BackwardFrames",
    "BackwardStep",
    "backward_dots",
    "backward_steps",
    "render_backward",
]

#: The default most steps (interior nodes) a step-by-step drawing accepts.
DEFAULT_MAX_STEPS = 60


@dataclass(frozen=True)
class BackwardStep:
    """One step of a backward pass.

    Attributes:
        index: 0 for the seed, then 1, 2, ... in backward order.
        node: the node whose gradient is passed on (the root at step 0).
        passes: ``(parent, contribution)`` per operand, in operand order; the
            contribution is ``node.grad · local derivative``. Empty at step 0.
        grads: every node's gradient after the step (nodes not reached yet
            are absent).
        caption: the step in words.
    """

    index: int
    node: Value
    passes: tuple[tuple[Value, float], ...]
    grads: Mapping[Value, float]
    caption: str


@dataclass(frozen=True)
class BackwardFrames:
    """What :func:`render_backward` wrote.

    Attributes:
        frames: the SVG files, one per step, in order.
        html: the page that steps through them (the SVGs are inlined, so it
            works on its own).
    """

    frames: tuple[Path, ...]
    html: Path


def _name(v: Value) -> str:
    return v.label or (f"({v.op})" if v.op else f"(leaf {fmt(v.data)})")


def backward_steps(root: Value, gradient: float = 1.0) -> list[BackwardStep]:
    """Replay one backward pass from ``root`` without touching any ``.grad``.

    Args:
        root: the output.
        gradient: the seed, d loss / d root.

    Returns:
        The steps: the seed, then one per interior node in backward order.

    Raises:
        TypeError: if ``root`` is not a Value or ``gradient`` not a real number.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps: root must be an autograd.Value, got "
                        f"{type(root).__name__}")
    if isinstance(gradient, bool) or not isinstance(gradient, (int, float)):
        raise TypeError(f"backward_steps: gradient must be a real number, got "
                        f"{type(gradient).__name__}")
    grads: dict[Value, float] = {root: float(gradient)}
    steps = [BackwardStep(0, root, (), dict(grads),
                          f"step 0: {_name(root)} receives the seed gradient {fmt(gradient)}")]
    for k, node in enumerate(autograd.backward_order(root), 1):
        g = grads[node]
        passes = []
        for p, d in zip(node.parents, node.partials, strict=True):
            c = g * d
            grads[p] = grads.get(p, 0.0) + c
            passes.append((p, c))
        parts = "; ".join(f"{_name(p)} += {fmt(c)}" for p, c in passes)
        caption = (f"step {k}: {_name(node)} passes its grad {fmt(g)} to its "
                   f"parents (grad × local derivative): {parts}")
        steps.append(BackwardStep(k, node, tuple(passes), dict(grads), caption))
    return steps


def backward_dots(
    root: Value,
    *,
    rankdir: str = "LR",
    max_steps: int = DEFAULT_MAX_STEPS,
    title: str = "",
) -> list[str]:
    """Return one DOT frame per backward step (see :func:`backward_steps`).

    Args:
        root: the output.
        rankdir: ``"LR"`` or ``"TB"``.
        max_steps: the most interior nodes accepted (a frame per node).
        title: a caption above every frame.

    Returns:
        The DOT texts, the seed frame first.

    Raises:
        TypeError: if ``root`` is not a Value.
        ValueError: if the graph has more than ``max_steps`` interior nodes or
            more than the default node budget, or an option is bad.
    """
    opts = _options(rankdir, True, False, True, title, DEFAULT_MAX_NODES, root,
                    "backward_dots")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"backward_dots: max_steps must be an int >= 1, got {max_steps!r}")
    model = _collect(root)
    n_steps = sum(1 for v in model.nodes if v.parents)
    if n_steps > max_steps:
        raise ValueError(
            f"backward_dots: the graph has {n_steps} interior nodes, more than "
            f"max_steps={max_steps}; step through a smaller graph or raise max_steps"
        )
    plan = _Plan(list(range(len(model.nodes))))
    if _cost(model, plan.item_of) > DEFAULT_MAX_NODES:
        raise ValueError(
            f"backward_dots: the graph has more than {DEFAULT_MAX_NODES} nodes to draw; "
            "step through a smaller graph"
        )
    frames = []
    for step in backward_steps(root):
        grads = {model.index[v]: g for v, g in step.grads.items()}
        overlay = _Overlay(
            grads=grads,
            sender=model.index[step.node],
            receivers=frozenset(model.index[p] for p, _ in step.passes),
            caption=step.caption,
        )
        frames.append("\n".join(_dot_lines(model, plan, opts, overlay)) + "\n")
    return frames


_PROLOG = re.compile(r"\A(?:<\?xml[^>]*\?>\s*)?(?:<!DOCTYPE[^>]*>\s*)?(?:<!--.*?-->\s*)*",
                     re.DOTALL)


def render_backward(
    root: Value,
    out_dir: str | os.PathLike[str],
    *,
    rankdir: str = "LR",
    max_steps: int = DEFAULT_MAX_STEPS,
    title: str = "",
) -> BackwardFrames:
    """Write the backward pass of ``root`` as SVG frames and an HTML page.

    Files: ``step_000.svg``, ``step_001.svg``, ... and ``backward.html`` in
    ``out_dir`` (created if missing). Everything is rendered before anything
    is written, so a failure leaves no half-written set.

    Returns:
        The paths written.

    Raises:
        TypeError: if ``root`` is not a Value.
        ValueError: as :func:`backward_dots`.
        GraphvizNotFoundError: if Graphviz's ``dot`` is missing.
        RuntimeError: if ``dot`` fails.
    """
    dots = backward_dots(root, rankdir=rankdir, max_steps=max_steps, title=title)
    steps = backward_steps(root)
    out = Path(out_dir)
    svgs = [_run_dot(text, "svg", f"backward step {k}") for k, text in enumerate(dots)]
    frames = []
    for k, data in enumerate(svgs):
        path = out / f"step_{k:03d}.svg"
        _write_atomic(path, data)
        frames.append(path)
    page = _page([s.decode("utf-8") for s in svgs], [s.caption for s in steps],
                 title or "The backward pass, step by step")
    html_path = out / "backward.html"
    _write_atomic(html_path, page.encode("utf-8"))
    return BackwardFrames(tuple(frames), html_path)


def _page(svgs: list[str], captions: list[str], title: str) -> str:
    figures = []
    for k, svg in enumerate(svgs):
        body = _PROLOG.sub("", svg)
        hidden = "" if k == 0 else " hidden"
        figures.append(f'<figure class="frame" id="f{k}"{hidden}>{body}</figure>')
    caps = json.dumps(captions)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; }}
#controls {{ margin: 0.5em 0 1em; }}
#caption {{ font-size: 1.05em; margin: 0.5em 0; min-height: 2.5em; }}
figure {{ margin: 0; overflow: auto; }}
figure svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>Blue: the node passing its gradient on. Green: the parents receiving grad × local
derivative. <code>grad ?</code>: not reached yet. Keys: ← → step, Home/End.</p>
<div id="controls">
<button id="first">⏮</button> <button id="prev">◀ back</button>
<input id="slider" type="range" min="0" max="{len(svgs) - 1}" value="0">
<button id="next">next ▶</button> <button id="last">⏭</button>
<span id="count"></span>
</div>
<div id="caption"></div>
{chr(10).join(figures)}
<script>
const captions = {caps};
const frames = document.querySelectorAll(".frame");
const slider = document.getElementById("slider");
let current = 0;
function show(k) {{
  current = Math.max(0, Math.min(frames.length - 1, k));
  frames.forEach((f, i) => {{ f.hidden = i !== current; }});
  slider.value = current;
  document.getElementById("caption").textContent = captions[current];
  document.getElementById("count").textContent = `step ${{current}} of ${{frames.length - 1}}`;
}}
document.getElementById("first").onclick = () => show(0);
document.getElementById("prev").onclick = () => show(current - 1);
document.getElementById("next").onclick = () => show(current + 1);
document.getElementById("last").onclick = () => show(frames.length - 1);
slider.oninput = () => show(Number(slider.value));
document.addEventListener("keydown", (e) => {{
  if (e.key === "ArrowRight") show(current + 1);
  if (e.key === "ArrowLeft") show(current - 1);
  if (e.key === "Home") show(0);
  if (e.key === "End") show(frames.length - 1);
}});
show(0);
</script>
</body>
</html>
"""
