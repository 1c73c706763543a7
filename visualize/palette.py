"""One colour language for every picture and page chainrule draws.

Red means positive, blue means negative: a value, a weight or a gradient
above zero is red, below zero blue, zero white; the shade says the size.
Classes follow the sign a classifier's output takes for them: class 1 (output
above the threshold) is red, class 0 blue. Everything else (losses, series of
runs, highlights) uses the neutral :data:`SERIES` colours, never red or blue
alone, so that red and blue keep one meaning.

Graphs (:mod:`visualize.graph`), plots, the lessons, the replay page and the
playground read their colours from here; :data:`LEGEND` is the sentence each
picture's legend states.
"""

from __future__ import annotations

RGB = tuple[int, int, int]

#: pale to dark red: a value or gradient > 0 (and class 1)
POSITIVE_RAMP: tuple[RGB, RGB] = ((254, 224, 210), (165, 15, 21))
#: pale to dark blue: a value or gradient < 0 (and class 0)
NEGATIVE_RAMP: tuple[RGB, RGB] = ((222, 235, 247), (8, 69, 148))
#: the solid colours of the two signs (lines, points, edges)
POSITIVE = "#b2182b"
NEGATIVE = "#2166ac"
#: the lighter fills of the two signs (areas such as decision regions)
POSITIVE_FILL = "#f4a582"
NEGATIVE_FILL = "#92c5de"
ZERO = "#ffffff"
#: class label -> colour, for binary classification pictures
CLASS_COLOURS: dict[int, str] = {0: NEGATIVE, 1: POSITIVE}
#: not-a-number: a yellow box with a thick purple border
NAN_FILL, NAN_BORDER = "#ffe135", "#7b3294"
#: ±inf: a black box with a thick red border
INF_FILL, INF_BORDER = "#000000", "#d7301f"
#: neutral colours for series that carry no sign (runs, optimizers, curves)
SERIES: tuple[str, ...] = ("#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e", "#a6761d",
                           "#666666")
#: highlight of a chosen path or node (explain, the step-through player)
HIGHLIGHT = "#e6550d"
MUTED = "#888888"
#: the step-through player: the node passing its gradient back (pale orange) and its edges
STEP_SENDER_FILL, STEP_SENDER_EDGE = "#fdd0a2", HIGHLIGHT
#: the step-through player: the parents receiving it (pale green), edges traversed earlier
STEP_RECEIVER_FILL, STEP_TRAVERSED = "#c7e9c0", "#6a51a3"
#: edges not traversed yet, and boxes without a gradient
UNVISITED, GROUP_FILL = "#aaaaaa", "#eeeeee"

#: what red and blue mean, as every legend states it
LEGEND = "red > 0, blue < 0 (value, weight or gradient); red = class 1, blue = class 0"


def mix(ends: tuple[RGB, RGB], t: float) -> str:
    """Return the colour a fraction ``t`` (clamped to 0..1) along a ramp, as ``#rrggbb``.

    Args:
        ends: the pale and the dark end of the ramp.
        t: 0 gives the pale end, 1 the dark end.

    Returns:
        The colour as a hex string.
    """
    lo, hi = ends
    t = min(1.0, max(0.0, t))
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


def signed(x: float) -> str:
    """Return the solid colour of a number's sign: red > 0, blue < 0, grey for 0 or NaN.

    Args:
        x: a value, weight or gradient.

    Returns:
        :data:`POSITIVE`, :data:`NEGATIVE` or :data:`MUTED`.
    """
    if x > 0:
        return POSITIVE
    if x < 0:
        return NEGATIVE
    return MUTED


def css_variables() -> str:
    """Return the palette as CSS custom properties (``:root { --positive: ... }``) for pages."""
    names = {"positive": POSITIVE, "negative": NEGATIVE, "positive-fill": POSITIVE_FILL,
             "negative-fill": NEGATIVE_FILL, "highlight": HIGHLIGHT, "muted": MUTED}
    body = " ".join(f"--{k}: {v};" for k, v in names.items())
    return f":root {{ {body} }}"
