"""``nn.Module``: the base class owning parameters, names, state dicts and modes.

A module's parameters are the ``Value`` leaves it holds in its public
attributes, directly, in child modules, or in lists of either. Names are the
dotted attribute path in construction order (``layers.0.neurons.3.w.1``), as
in PyTorch's ``named_parameters``.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterator, Mapping
from typing import Any

from autograd import Value

__all__ = ["Module"]


class ModelFileError(ValueError):
    """A model file or state is damaged, truncated, foreign or of an unknown version."""


class StateTypeError(ModelFileError, TypeError):
    """A state entry of the wrong type (also a ``TypeError``, as it was before)."""


class StateKeyError(ModelFileError, KeyError):
    """A state with missing or unexpected keys (also a ``KeyError``, as it was before)."""


class Module:
    """Base class of neurons, layers and models.

    Subclasses store parameters (``Value`` leaves) and child modules in public
    attributes (or lists of them); everything else here works from that.

    Attributes:
        training: True in training mode (the default), False after ``eval()``.
            No module of nn behaves differently between the modes yet; the
            flag is kept for code written for PyTorch.
    """

    training: bool = True

    # -- structure --------------------------------------------------------

    def _entries(self) -> Iterator[tuple[str, Any]]:
        for name, value in vars(self).items():
            if not name.startswith("_"):
                yield name, value

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for each direct child module (list items as ``name.i``)."""
        for name, value in self._entries():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        """Yield ``(dotted_name, parameter)`` pairs in a stable order.

        Args:
            prefix: prepended to every name (with a dot).

        Returns:
            An iterator over pairs such as ``("layers.0.neurons.3.w.1", Value)``.
        """
        pre = f"{prefix}." if prefix else ""
        for name, value in self._entries():
            if isinstance(value, Value):
                yield pre + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(pre + name)
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Value):
                        yield f"{pre}{name}.{i}", item
                    elif isinstance(item, Module):
                        yield from item.named_parameters(f"{pre}{name}.{i}")

    def parameters(self) -> list[Value]:
        """Return every parameter (a list of ``Value`` leaves), in ``named_parameters`` order."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """Return how many scalar parameters the module has."""
        return sum(1 for _ in self.named_parameters())

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0."""
        for p in self.parameters():
            p.grad = 0.0

    # -- modes ------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=False``: eval) here and in every child; returns self."""
        self.training = bool(mode)
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode here and in every child; returns self."""
        return self.train(False)

    # -- state ------------------------------------------------------------

    def state_dict(self) -> dict[str, float]:
        """Return ``{dotted_name: float}`` for every parameter (a copy of the data)."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy parameter values from ``state`` into the module, all or nothing.

        Args:
            state: ``{dotted_name: number}``, as returned by :meth:`state_dict`.
            strict: if True, every parameter must be present and no extra key
                allowed; if False, missing and extra keys are skipped.

        Raises:
            ModelFileError: for every malformed state, as one of:
            StateTypeError (also a ``TypeError``): if ``state`` is not a mapping,
                or an entry is not a real number (a list or a string is a
                wrongly sized entry).
            StateKeyError (also a ``KeyError``): if ``strict`` and keys are
                missing or unexpected (all are named).
            ModelFileError: if an entry is not finite (nan, inf) or too large
                for a float.
            Nothing is changed when an error is raised.
        """
        if not isinstance(state, Mapping):
            raise StateTypeError(
                f"load_state_dict: expected a mapping of parameter names to numbers, "
                f"got {type(state).__name__}"
            )
        params = dict(self.named_parameters())
        if strict:
            missing = [k for k in params if k not in state]
            extra = [k for k in state if k not in params]
            if missing or extra:
                parts = []
                if missing:
                    parts.append(f"missing keys {_names(missing)}")
                if extra:
                    parts.append(f"unexpected keys {_names(extra)}")
                raise StateKeyError(
                    f"load_state_dict: {' and '.join(parts)}; the state belongs to a "
                    "different architecture (or pass strict=False to load the matching keys)"
                )
        updates: list[tuple[Value, float]] = []
        for name, p in params.items():
            if name not in state:
                continue
            v = state[name]
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or isinstance(v, Value):
                raise StateTypeError(
                    f"load_state_dict: entry {name!r} must be one real number (each "
                    f"parameter is a scalar), got {type(v).__name__} {_short(v)}"
                )
            try:
                f = float(v)
            except OverflowError:
                f = math.inf
            if not math.isfinite(f):
                raise ModelFileError(
                    f"load_state_dict: entry {name!r} is {_short(v)}, not a finite weight "
                    "(the state is damaged: load a saved model or checkpoint that holds "
                    "finite weights)"
                )
            updates.append((p, f))
        for p, v in updates:
            p.data = v

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the architecture and weights to ``path`` as JSON, atomically (see :func:`nn.save`).

        Raises:
            TypeError: if the module has no ``config()``.
            OSError: if the file cannot be written.
        """
        from nn.serialize import save

        save(self, path)

    # -- display ----------------------------------------------------------

    def extra_repr(self) -> str:
        """Return the text shown inside the parentheses of ``repr`` (override it)."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        return "\n".join(lines) + "\n)"


def _names(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(k) for k in keys[:limit])
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return f"[{shown}{more}]"


def _short(x: object) -> str:
    r = repr(x)
    return r if len(r) <= 40 else r[:37] + "..."
