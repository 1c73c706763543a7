"""Plumbing shared by every layer of chainrule (standard library only, imports nothing of ours).

:mod:`chainrule.outputs` is the one rule for the files chainrule writes: the
library (``nn.save``, ``visualize.render``) and the application (``chainrule
train --save``, lessons, pages) all write through it, so it sits below
``autograd``, ``nn`` and ``visualize`` (``nn`` and ``visualize`` never import
each other). :data:`__version__` is the installed distribution's version.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["__version__"]

try:
    __version__: str = metadata.version("chainrule")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
