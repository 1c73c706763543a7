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

The names below are loaded on first use (PEP 562), so that ``import
visualize`` itself is cheap: the ``chainrule`` program
(:mod:`visualize.app.console`) starts with a Ctrl-C handler before it imports the
engine.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


_LAZY: dict[str, str] = {
    "BackwardDots": "visualize.steps",
    "BackwardFrames": "visualize.steps",
    "BackwardStep": "visualize.steps",
    "DEFAULT_MAX_NODES": "visualize.graph",
    "Explanation": "visualize.explain",
    "GradPath": "visualize.explain",
    "GraphvizNotFoundError": "visualize.graph",
    "PlotDependencyError": "visualize.plots",
    "backward_dots": "visualize.steps",
    "backward_steps": "visualize.steps",
    "draw_dot": "visualize.graph",
    "explain": "visualize.explain",
    "find_dot": "visualize.graph",
    "fmt": "visualize.graph",
    "plot_decision_boundary": "visualize.plots",
    "plot_grad_flow": "visualize.plots",
    "plot_history": "visualize.plots",
    "render": "visualize.graph",
    "render_backward": "visualize.steps",
    "render_dot": "visualize.graph",
    "svg_titles": "visualize.graph",
    "to_dot": "visualize.graph",
}


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'visualize' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package's module type: importing a submodule never hides a function of its name.

    Python binds a submodule to its package's attribute when the submodule is
    first imported; ``visualize.explain`` is the function :func:`explain`
    (as it was when this package imported its names eagerly), not the module.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == f"{__name__}.{name}":
            return  # the submodule of that name stays in sys.modules only
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
