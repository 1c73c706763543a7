"""The backward pass step by step: frames and a page that steps through them.

Backward visits the nodes in :func:`autograd.backward_order`; at each step one
node passes its gradient to its parents, each parent receiving
``grad · local derivative``. :func:`backward_steps` records those steps with
captions showing the arithmetic; :func:`backward_dots` draws one DOT frame per
step showing only what has been computed by then (the node passing its
gradient in orange, the parents receiving it in green, the edge being traversed
labelled with its product, nodes not reached yet with ``grad ?``) and a last
frame summing up the gradients; in Jupyter its result displays as the
interactive stepper. :func:`render_backward` writes the frames as SVG files
plus one self-contained HTML page that steps through them (keys, buttons,
slider, autoplay, zoom and pan).

Only the public API of :mod:`autograd` is used.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import autograd
from autograd import Value
from visualize.escape import fill, html_attr, html_text, js_string, script_json
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
    find_dot,
    fmt,
    svg_titles,
)

__all__ = [
    "DEFAULT_MAX_STEPS",
    "BackwardDots",
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


def _grad_of(v: Value) -> str:
    if not v.label:
        return f"the grad of {_name(v)}"
    plain = re.fullmatch(r"[A-Za-z_][\w.]*", v.label) is not None
    return f"{v.label}.grad" if plain else f"({v.label}).grad"


def backward_steps(root: Value, gradient: float = 1.0) -> list[BackwardStep]:
    """Replay one backward pass from ``root`` without touching any ``.grad``.

    Each caption shows the arithmetic of its step, one term per operand:
    ``0.7864 × 0.5 = 0.3932 → w.grad``, and the running sum where a node
    receives a second contribution (``→ x.grad, now 0.5 + 0.3932 = 0.8932``).

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
                          f"step 0: {_name(root)} receives the seed gradient {fmt(gradient)} "
                          f"(d{_name(root)}/d{_name(root)} = 1)")]
    for k, node in enumerate(autograd.backward_order(root), 1):
        g = grads[node]
        passes = []
        terms = []
        for p, d in zip(node.parents, node.partials, strict=True):
            c = g * d
            before = grads.get(p)
            grads[p] = (before or 0.0) + c
            passes.append((p, c))
            term = f"{fmt(g)} × {fmt(d)} = {fmt(c)} → {_grad_of(p)}"
            if before is not None:
                term += f", now {fmt(before)} + {fmt(c)} = {fmt(grads[p])}"
            terms.append(term)
        caption = (f"step {k}: {_name(node)} passes its grad {fmt(g)} back, times each local "
                   f"derivative: " + "; ".join(terms))
        steps.append(BackwardStep(k, node, tuple(passes), dict(grads), caption))
    return steps


def _leaves_in_order(root: Value) -> list[Value]:
    """The leaves under ``root`` in reading order: depth first, operands left to right."""
    out: list[Value] = []
    seen = {root}
    stack = [root]
    while stack:
        v = stack.pop()
        if not v.parents:
            out.append(v)
        for p in reversed(v.parents):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return out


def _summary_caption(root: Value, grads: Mapping[Value, float]) -> str:
    leaves = [v for v in _leaves_in_order(root) if v in grads]
    named = [v for v in leaves if v.label] or leaves
    shown = ", ".join(f"{_name(v)}.grad = {fmt(grads[v])}" for v in named[:12])
    more = f" and {len(named) - 12} more" if len(named) > 12 else ""
    return (f"done: every gradient is computed; d{_name(root)}/d(each input): "
            f"{shown}{more}")


class BackwardDots(list[str]):
    """The DOT frames of a backward pass: a list of DOT texts that Jupyter shows as a stepper.

    ``frames[0]`` is the seed, then one frame per backward step, then a last
    frame summing up the gradients. In Jupyter the object displays as the
    interactive step-through page (:meth:`_repr_html_`, which needs
    Graphviz's ``dot``); as a list it is plain DOT text.

    Attributes:
        captions: one caption per frame.
        title: the title shown above the frames.
    """

    captions: list[str]
    title: str

    def __init__(self, frames: list[str], captions: list[str], title: str) -> None:
        super().__init__(frames)
        self.captions = captions
        self.title = title

    def _repr_html_(self) -> str:
        """The stepper, inline: the frames as SVG with buttons, slider, keys, autoplay, zoom."""
        if find_dot() is None:
            return ("<p><b>visualize.backward_dots</b>: Graphviz's <code>dot</code> is not "
                    "installed, so the frames cannot be drawn; the object is a list of "
                    f"{len(self)} DOT texts.</p>")
        svgs = [svg_titles(_run_dot(text, "svg", f"backward frame {k}").decode("utf-8"),
                           self.title)
                for k, text in enumerate(self)]
        uid = "crstep-" + secrets.token_hex(4)
        return _stepper(svgs, self.captions, self.title, uid, standalone=False)


def backward_dots(
    root: Value,
    *,
    rankdir: str = "LR",
    max_steps: int = DEFAULT_MAX_STEPS,
    title: str = "",
) -> BackwardDots:
    """Return one DOT frame per backward step (see :func:`backward_steps`), then a summary.

    Each frame shows only what has been computed by then: nodes not reached
    yet say ``grad ?``, the node passing its gradient is orange with its edges
    labelled by the arithmetic (``0.7864 × 0.5 = 0.3932``), the parents
    receiving it are green, edges traversed earlier say what they passed,
    and edges not traversed yet carry no number. The last frame shows every
    gradient and sums them up in its caption.

    Args:
        root: the output.
        rankdir: ``"LR"`` or ``"TB"``.
        max_steps: the most interior nodes accepted (a frame per node).
        title: a caption above every frame.

    Returns:
        A :class:`BackwardDots` (a list of DOT texts; Jupyter shows it as a stepper).

    Raises:
        TypeError: if ``root`` is not a Value.
        ValueError: if the graph has more than ``max_steps`` interior nodes or
            more than the default node budget, or an option is bad.
    """
    opts = _options(rankdir, True, True, True, title, DEFAULT_MAX_NODES, root,
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
    captions = []
    traversed: set[int] = set()
    steps = backward_steps(root)
    for step in steps:
        grads = {model.index[v]: g for v, g in step.grads.items()}
        sender = model.index[step.node]
        overlay = _Overlay(
            grads=grads,
            sender=sender if step.index > 0 else -1,
            receivers=frozenset(model.index[p] for p, _ in step.passes),
            caption=step.caption,
            traversed=frozenset(traversed),
        )
        if step.index > 0:
            traversed.add(sender)
        frames.append("\n".join(_dot_lines(model, plan, opts, overlay)) + "\n")
        captions.append(step.caption)
    final = steps[-1].grads
    summary = _summary_caption(root, final)
    overlay = _Overlay(grads={model.index[v]: g for v, g in final.items()},
                       caption=summary, traversed=frozenset(traversed))
    frames.append("\n".join(_dot_lines(model, plan, opts, overlay)) + "\n")
    captions.append(summary)
    return BackwardDots(frames, captions, title or "The backward pass, step by step")


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

    Files: ``step_000.svg``, ``step_001.svg``, ... (the last one sums up the
    gradients) and ``backward.html`` in ``out_dir`` (created if missing).
    The page stands alone (SVGs inlined, no downloads): buttons, a slider,
    arrow keys (one step per press, whatever has focus), Home/End, space to
    play/pause, autoplay, and zoom (+/−/0 keys, buttons, the mouse wheel) and
    pan (drag) for big graphs. Everything is rendered before anything is
    written, so a failure leaves no half-written set.

    Returns:
        The paths written.

    Raises:
        TypeError: if ``root`` is not a Value.
        ValueError: as :func:`backward_dots`.
        GraphvizNotFoundError: if Graphviz's ``dot`` is missing.
        RuntimeError: if ``dot`` fails.
    """
    dots = backward_dots(root, rankdir=rankdir, max_steps=max_steps, title=title)
    out = Path(out_dir)
    svgs = [svg_titles(_run_dot(text, "svg", f"backward step {k}").decode("utf-8"), dots.title)
            for k, text in enumerate(dots)]
    frames = []
    for k, data in enumerate(svgs):
        path = out / f"step_{k:03d}.svg"
        _write_atomic(path, data.encode("utf-8"))
        frames.append(path)
    page = _page(svgs, dots.captions, dots.title)
    html_path = out / "backward.html"
    _write_atomic(html_path, page.encode("utf-8"))
    return BackwardFrames(tuple(frames), html_path)


_CSS = """
.crstep { font-family: Helvetica, Arial, sans-serif; }
.crstep:focus { outline: 2px solid #9ecae1; }
.crstep .cr-controls { margin: 0.4em 0; display: flex; flex-wrap: wrap; gap: 0.4em;
  align-items: center; }
.crstep button { font: inherit; font-size: 0.95em; padding: 0.2em 0.7em; cursor: pointer; }
.crstep .cr-slider { width: 16em; }
.crstep .cr-caption { font-size: 1.05em; margin: 0.5em 0; min-height: 2.6em;
  font-variant-numeric: tabular-nums; }
.crstep .cr-view { overflow: hidden; border: 1px solid #ccc; position: relative;
  height: 70vh; cursor: grab; background: white; touch-action: none; }
.crstep .cr-view.cr-drag { cursor: grabbing; }
.crstep .cr-stage { transform-origin: 0 0; position: absolute; left: 0; top: 0; }
.crstep .cr-frame svg { display: block; max-width: none; height: auto; }
/* (Jupyter shrinks output SVGs to the cell's width: the stepper scales them itself) */
.crstep .cr-help { color: #555; font-size: 0.9em; }
"""

_JS = r"""
(function () {
  const root = document.getElementById(__UID__);
  const standalone = __STANDALONE__;
  const captions = __CAPTIONS__;
  const frames = root.querySelectorAll(".cr-frame");
  const last = frames.length - 1;
  const slider = root.querySelector(".cr-slider");
  const caption = root.querySelector(".cr-caption");
  const count = root.querySelector(".cr-count");
  const playButton = root.querySelector(".cr-play");
  const view = root.querySelector(".cr-view");
  const stage = root.querySelector(".cr-stage");
  // manual: the user zoomed or panned; until Fit, steps then keep the focus node in view
  let current = 0, timer = null, scale = 1, tx = 0, ty = 0, manual = false;
  function show(k) {
    current = Math.max(0, Math.min(last, k));
    frames.forEach((f, i) => { f.hidden = i !== current; });
    slider.value = String(current);
    caption.textContent = captions[current];
    count.textContent = current === last ? "summary" : `step ${current} of ${last - 1}`;
    root.dataset.step = String(current);
    if (manual) follow(); else fit();
  }
  function follow() {
    // keep the node passing its gradient in view (big graphs are zoomed in)
    const el = frames[current].querySelector(".cr-focus");
    if (!el || !view.clientWidth) return;
    const r = el.getBoundingClientRect(), v = view.getBoundingClientRect();
    const pad = 24;
    if (r.left >= v.left + pad && r.right <= v.right - pad &&
        r.top >= v.top + pad && r.bottom <= v.bottom - pad) return;
    tx += (v.left + v.width / 2) - (r.left + r.width / 2);
    ty += (v.top + v.height / 2) - (r.top + r.height / 2);
    apply();
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playButton.textContent = "Play";
    root.dataset.playing = "false";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (current >= last) show(0);
    timer = setInterval(() => { if (current >= last) { stop(); } else { show(current + 1); } },
                        __DELAY__);
    playButton.textContent = "Pause";
    root.dataset.playing = "true";
  }
  function apply() {
    stage.style.transform = `translate(${tx}px, ${ty}px) scale(${scale})`;
    root.dataset.zoom = scale.toFixed(3);
  }
  function zoom(factor, cx, cy) {
    manual = true;
    const next = Math.max(0.1, Math.min(8, scale * factor));
    if (cx === undefined) { cx = view.clientWidth / 2; cy = view.clientHeight / 2; }
    tx = cx - (cx - tx) * (next / scale);
    ty = cy - (cy - ty) * (next / scale);
    scale = next;
    apply();
  }
  function size(svg) {
    const px = (a) => { const t = svg.getAttribute(a) || "0";
      return parseFloat(t) * (t.endsWith("pt") ? 96 / 72 : 1); };
    return [px("width"), px("height")];
  }
  function fit() {
    // the whole graph on every frame: the widest and tallest frame fits the view (frames
    // differ by their edge labels), so nothing pans off-screen from one frame to the next
    manual = false;
    let w = 1, h = 1;
    frames.forEach((f) => { const svg = f.querySelector("svg");
      if (svg) { const [a, b] = size(svg); w = Math.max(w, a); h = Math.max(h, b); } });
    if (!view.dataset.room) view.dataset.room = String(view.clientHeight);
    const room = Number(view.dataset.room);
    scale = Math.min(1.5, (view.clientWidth - 8) / w, (room - 8) / h);
    tx = Math.max(0, (view.clientWidth - w * scale) / 2);
    ty = 4;
    if (!view.dataset.sized) {  // no tall empty box under a small graph
      view.style.height = Math.min(room, h * scale + 12) + "px";
      view.dataset.sized = "1";
    }
    apply();
  }
  const actions = {
    "ArrowRight": () => { stop(); show(current + 1); },
    "ArrowLeft": () => { stop(); show(current - 1); },
    "Home": () => { stop(); show(0); },
    "End": () => { stop(); show(last); },
    " ": play,
    "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(0.8), "0": () => fit(),
  };
  // one key press is one step whatever has focus: handled once, in the capture
  // phase, and its default (the slider's own arrow-key step) prevented
  (standalone ? document : root).addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const act = actions[e.key];
    if (!act) return;
    e.preventDefault();
    e.stopPropagation();
    if (!e.repeat || e.key.startsWith("Arrow")) act();
  }, true);
  (standalone ? document : root).addEventListener("keyup", (e) => {
    if (e.key === " ") { e.preventDefault(); }
  }, true);
  root.querySelector(".cr-first").addEventListener("click", () => { stop(); show(0); });
  root.querySelector(".cr-prev").addEventListener("click", () => { stop(); show(current - 1); });
  root.querySelector(".cr-next").addEventListener("click", () => { stop(); show(current + 1); });
  root.querySelector(".cr-last").addEventListener("click", () => { stop(); show(last); });
  playButton.addEventListener("click", play);
  root.querySelector(".cr-zin").addEventListener("click", () => zoom(1.25));
  root.querySelector(".cr-zout").addEventListener("click", () => zoom(0.8));
  root.querySelector(".cr-fit").addEventListener("click", () => fit());
  slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
  view.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = view.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, {passive: false});
  let drag = null;
  view.addEventListener("pointerdown", (e) => {
    drag = {x: e.clientX - tx, y: e.clientY - ty};
    view.classList.add("cr-drag");
    view.setPointerCapture(e.pointerId);
  });
  view.addEventListener("pointermove", (e) => {
    if (drag === null) return;
    tx = e.clientX - drag.x; ty = e.clientY - drag.y; manual = true; apply();
  });
  const end = () => { drag = null; view.classList.remove("cr-drag"); };
  view.addEventListener("pointerup", end);
  view.addEventListener("pointercancel", end);
  show(0);
})();
"""


def _stepper(svgs: list[str], captions: list[str], title: str, uid: str,
             standalone: bool, delay_ms: int = 1200) -> str:
    """The step-through widget: controls, caption and frames, with its script, in one div."""
    figures = []
    for k, svg in enumerate(svgs):
        body = _PROLOG.sub("", svg)
        hidden = "" if k == 0 else " hidden"
        figures.append(f'<div class="cr-frame" data-frame="{k}"{hidden}>{body}</div>')
    script = fill(_JS, {"UID": js_string(uid), "STANDALONE": "true" if standalone else "false",
                        "CAPTIONS": script_json(captions), "DELAY": str(int(delay_ms))})
    heading = "" if standalone else f"<b>{html_text(title)}</b>"
    focus = "" if standalone else ' tabindex="0"'
    keys_where = "" if standalone else " (click the stepper first)"
    return f"""<div class="crstep" id="{html_attr(uid)}"{focus}>
<style>{_CSS}</style>
{heading}
<p class="cr-help">Orange: the node passing its gradient back; green: its parents receiving
grad × local derivative; <i>grad ?</i>: not reached yet. Keys{keys_where}: ← → one step,
Home/End, space play/pause, + − zoom, 0 fit; drag to pan, wheel to zoom.</p>
<div class="cr-controls">
<button type="button" class="cr-first" title="first step (Home)">|&lt; First</button>
<button type="button" class="cr-prev" title="one step back (←)">&lt; Back</button>
<button type="button" class="cr-play" title="play / pause (space)">Play</button>
<button type="button" class="cr-next" title="one step on (→)">Next &gt;</button>
<button type="button" class="cr-last" title="the summary (End)">Last &gt;|</button>
<input class="cr-slider" type="range" min="0" max="{len(svgs) - 1}" value="0"
 aria-label="step">
<span class="cr-count"></span>
<button type="button" class="cr-zout" title="zoom out (-)">Zoom −</button>
<button type="button" class="cr-zin" title="zoom in (+)">Zoom +</button>
<button type="button" class="cr-fit" title="fit the graph (0)">Fit</button>
</div>
<div class="cr-caption" aria-live="polite"></div>
<div class="cr-view"><div class="cr-stage">
{chr(10).join(figures)}
</div></div>
<script>{script}</script>
</div>"""


def _page(svgs: list[str], captions: list[str], title: str) -> str:
    widget = _stepper(svgs, captions, title, "crstep", standalone=True)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html_text(title)}</title>
<style>body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; }}</style>
</head>
<body>
<h1>{html_text(title)}</h1>
{widget}
</body>
</html>
"""
