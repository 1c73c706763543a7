"""The live playground: ``chainrule playground`` in the browser and :class:`Playground` in Jupyter.

A learner picks a data set, features, layers, activation and optimizer and
watches a real ``nn`` model train (:mod:`~visualize.app.playground.session`);
the whole run is one validated, serialisable state
(:mod:`~visualize.app.playground.state`); the browser page
(:mod:`~visualize.app.playground.server`) and the Jupyter widget
(:mod:`~visualize.app.playground.widget`) share one front-end module,
``playground.js``, and one message protocol
(:mod:`~visualize.app.playground.protocol`).
"""

from __future__ import annotations

from typing import Any

from visualize.app.playground.state import PlaygroundState, StateError, load_state, save_state

__all__ = ["Playground", "PlaygroundState", "StateError", "load_state", "save_state"]


def __getattr__(name: str) -> Any:
    if name == "Playground":  # needs anywidget: imported on first use
        from visualize.app.playground.widget import Playground

        return Playground
    raise AttributeError(f"module 'visualize.app.playground' has no attribute {name!r}")
