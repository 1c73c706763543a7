"""The path player: a self-contained page animating optimisation paths over a 2-D loss surface.

:func:`write_player` takes the surface as a grid of values, and one path per
run (the parameters after every step, and the loss at each), and writes one
HTML file (no network) whose slider, buttons, arrow keys and autoplay move
every run forward step by step. The learning-rate and optimizers lessons use
it where motion explains: how each rate or optimizer moves, not only where it
ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from visualize.app.lessons._base import page, write_text
from visualize.escape import fill, html_text, script_json

__all__ = ["write_player"]

_SCRIPT = "".join(Path(__file__).with_name(name).read_text(encoding="utf-8")
                  for name in ("controls.js", "player.js"))

_BODY = """
<h1>__TITLE__</h1>
<p>__INTRO__ Keys: ← → one step, Home/End, space play/pause.</p>
<div id="controls">
<button id="first">« first</button> <button id="prev">◀</button>
<button id="play">▶ play</button> <button id="next">▶</button>
<button id="last">last »</button>
<input id="slider" type="range" min="0" value="0" aria-label="step">
<b id="step"></b>
</div>
<div id="view"><canvas id="surface" width="640" height="480"></canvas>
<ul id="legend"></ul></div>
<p class="meta">__AXES__</p>
"""

_STYLE = """
#controls { margin: 0.6em 0; display: flex; gap: 0.5em; align-items: center; flex-wrap: wrap; }
#slider { width: 24em; }
#view { display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; }
#surface { border: 1px solid #ccc; max-width: 100%; }
#legend { font-family: monospace; font-weight: bold; list-style: square; }
"""


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def write_player(path: Path, *, title: str, intro: str, axes: tuple[str, str],
                 surface: Callable[[float, float], float],
                 bounds: tuple[float, float, float, float],
                 runs: Mapping[str, tuple[str, Sequence[tuple[float, float]], Sequence[float]]],
                 value_name: str = "loss", minimum: tuple[float, float] | None = None,
                 resolution: int = 80) -> Path:
    """Write the player page.

    Args:
        path: the HTML file to write.
        title, intro: the heading and a sentence above the controls.
        axes: the names of the horizontal and vertical parameters.
        surface: ``f(x, y)`` drawn as the shaded background (its log if all
            values are positive and span more than two decades).
        bounds: ``(x0, x1, y0, y1)`` of the picture.
        runs: name -> ``(colour, path, values)``: the point after every step
            (the start first) and the value at each point.
        value_name: what the values are called in the legend.
        minimum: a point marked with a gold dot.
        resolution: grid cells per axis of the background.

    Returns:
        The path written.
    """
    x0, x1, y0, y1 = bounds
    xs = [x0 + (x1 - x0) * (i + 0.5) / resolution for i in range(resolution)]
    ys = [y0 + (y1 - y0) * (j + 0.5) / resolution for j in range(resolution)]
    grid = [[surface(x, y) for x in xs] for y in ys]
    flat = [v for row in grid for v in row if math.isfinite(v)]
    if flat and min(flat) > 0 and max(flat) / min(flat) > 100:
        grid = [[math.log10(v) for v in row] for row in grid]
    inside = {}
    for name, (colour, pts, values) in runs.items():
        kept = []
        for p in pts:  # a diverging path is cut where it leaves the picture, far out
            if not (all(math.isfinite(c) for c in p) and abs(p[0]) < 1e6 and abs(p[1]) < 1e6):
                break
            kept.append([p[0], p[1]])
        inside[name] = {"colour": colour, "path": kept,
                        "values": [_finite(v) for v in values[:len(kept)]]}
    data = {"grid": {"x0": x0, "x1": x1, "y0": y0, "y1": y1,
                     "values": [[_finite(v) for v in row] for row in grid]},
            "runs": inside, "valueName": value_name,
            "minimum": list(minimum) if minimum else None,
            "xLabel": axes[0], "yLabel": axes[1]}
    body = fill(_BODY, {"TITLE": html_text(title), "INTRO": html_text(intro),
                        "AXES": html_text(f"horizontal: {axes[0]}, vertical: {axes[1]}; darker "
                                          f"= higher {value_name}; the gold dot is the minimum")})
    script = "const DATA = " + script_json(data) + ";\n" + _SCRIPT
    return write_text(path, page(title, body, style=_STYLE, script=script))
