"""visualize: computation graphs to DOT/SVG through Graphviz, and training plots.

Graphs (:mod:`visualize.graph`): :func:`to_dot` (DOT text, no Graphviz
needed), :func:`draw_dot` (a ``graphviz.Digraph`` for Jupyter), :func:`render`
(SVG/PNG/PDF by suffix). The chain rule for one gradient: :func:`explain`
(:mod:`visualize.explain`; in Jupyter its result shows as a table, and
``to_dot(..., highlight=explanation)`` draws its paths). The backward pass
step by step: :func:`backward_steps`, :func:`backward_dots` (in Jupyter, the
interactive stepper inline), :func:`render_backward` (SVG frames and a page)
(:mod:`visualize.steps`). Training pictures with matplotlib (the ``plot``
extra, imported only when used): :func:`plot_history`,
:func:`plot_decision_boundary`, :func:`plot_grad_flow`
(:mod:`visualize.plots`).

This package uses only the public API of :mod:`autograd` and never imports
:mod:`nn`.
"""

from visualize.explain import Explanation, GradPath, explain
from visualize.graph import (
    DEFAULT_MAX_NODES,
    GraphvizNotFoundError,
    draw_dot,
    find_dot,
    fmt,
    render,
    render_dot,
    svg_titles,
    to_dot,
)
from visualize.plots import (
    PlotDependencyError,
    plot_decision_boundary,
    plot_grad_flow,
    plot_history,
)
from visualize.steps import (
    BackwardDots,
    BackwardFrames,
    BackwardStep,
    backward_dots,
    backward_steps,
    render_backward,
)

__all__ = [
    "DEFAULT_MAX_NODES",
    "BackwardDots",
    "BackwardFrames",
    "BackwardStep",
    "Explanation",
    "GradPath",
    "GraphvizNotFoundError",
    "PlotDependencyError",
    "backward_dots",
    "backward_steps",
    "draw_dot",
    "explain",
    "find_dot",
    "fmt",
    "plot_decision_boundary",
    "plot_grad_flow",
    "plot_history",
    "render",
    "render_backward",
    "render_dot",
    "svg_titles",
    "to_dot",
]
