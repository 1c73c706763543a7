"""Saving and loading models: versioned JSON, written atomically, checked on load.

A model file is one JSON object::

    {"format": "chainrule.nn", "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1], ...},
     "weights": {"layers.0.neurons.0.w.0": 0.123, ...},
     "meta": {...},                 # optional: training epoch, history
     "checksum": "<sha256 of the canonical JSON of architecture, weights and meta>"}

Writes go to a temporary file in the same folder, then ``os.replace`` it over
the target, so a reader never sees a half-written file. :func:`load` rebuilds
the model and fills it only after every check passed: a damaged, truncated or
foreign file raises :class:`ModelFileError` and returns nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Union

from nn.layers import MLP, Layer, Neuron
from nn.module import Module

__all__ = ["FORMAT", "VERSION", "ModelFileError", "load", "load_meta", "save", "write_atomic"]

FORMAT = "chainrule.nn"
VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]


class ModelFileError(ValueError):
    """A model file is damaged, truncated, foreign or of an unknown version."""


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _checksum(architecture: Any, weights: Any, meta: Any) -> str:
    body = {"architecture": architecture, "weights": weights, "meta": meta}
    return hashlib.sha256(_canonical(body)).hexdigest()


def write_atomic(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``.

    The temporary file lives in the target's folder (so the rename is atomic)
    and is removed if anything fails; an existing file at ``path`` is either
    left as it was or replaced whole.

    Raises:
        OSError: if the folder does not exist or is not writable.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(model: Module, path: PathLike, meta: dict[str, Any] | None = None) -> None:
    """Save ``model``'s architecture and weights to ``path`` as JSON, atomically.

    Args:
        model: an :class:`~nn.MLP`, :class:`~nn.Layer` or :class:`~nn.Neuron`.
        path: the file to write (its folder must exist).
        meta: optional JSON-serialisable extras (``fit`` stores the epoch and
            the history of a checkpoint here).

    Raises:
        TypeError: if the model has no ``config()`` (a custom Module), or
            ``meta`` is not JSON-serialisable.
        OSError: if the file cannot be written (nothing is left behind).
    """
    config = getattr(model, "config", None)
    if not callable(config):
        raise TypeError(
            f"save: {type(model).__name__} has no config() describing its architecture; "
            "save its state_dict() yourself, or use nn.MLP/Layer/Neuron"
        )
    architecture = config()
    weights = model.state_dict()
    meta = {} if meta is None else dict(meta)
    try:
        doc = {"format": FORMAT, "version": VERSION, "architecture": architecture,
               "weights": weights, "meta": meta,
               "checksum": _checksum(architecture, weights, meta)}
        text = json.dumps(doc, indent=1)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save: meta must be JSON-serialisable ({exc})") from exc
    write_atomic(path, text)


_BUILDERS = {"MLP": MLP, "Layer": Layer, "Neuron": Neuron}


def _build(arch: Any) -> Module:
    if not isinstance(arch, dict) or arch.get("type") not in _BUILDERS:
        kind = arch.get("type") if isinstance(arch, dict) else arch
        raise ModelFileError(
            f"load: unknown architecture type {kind!r}; this version knows "
            f"{', '.join(sorted(_BUILDERS))}"
        )
    kwargs = {k: v for k, v in arch.items() if k != "type"}
    try:
        if arch["type"] == "MLP":
            return MLP(kwargs.pop("nin"), kwargs.pop("nouts"), seed=0, **kwargs)
        if arch["type"] == "Layer":
            return Layer(kwargs.pop("nin"), kwargs.pop("nout"), seed=0, **kwargs)
        return Neuron(kwargs.pop("nin"), seed=0, **kwargs)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"load: the architecture {arch!r} is invalid ({exc})") from exc


def _read(path: PathLike) -> dict[str, Any]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFileError(f"load: cannot read {str(path)!r}: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(
            f"load: {str(path)!r} is not a chainrule model file (not valid JSON: {exc}); "
            "it may be truncated or damaged"
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(
            f"load: {str(path)!r} is not a chainrule model file (no \"format\": {FORMAT!r}); "
            "save models with model.save(path)"
        )
    if doc.get("version") != VERSION:
        raise ModelFileError(
            f"load: {str(path)!r} has format version {doc.get('version')!r}; this version "
            f"of chainrule reads version {VERSION}"
        )
    for key in ("architecture", "weights", "meta", "checksum"):
        if key not in doc:
            raise ModelFileError(f"load: {str(path)!r} lacks the {key!r} entry; it is damaged")
    if doc["checksum"] != _checksum(doc["architecture"], doc["weights"], doc["meta"]):
        raise ModelFileError(
            f"load: {str(path)!r} fails its checksum: its content was changed or damaged "
            "after saving"
        )
    return doc


def load(path: PathLike) -> Module:
    """Rebuild a model saved with :func:`save` (or ``model.save``).

    Args:
        path: the model file.

    Returns:
        A new model with the saved architecture and weights.

    Raises:
        ModelFileError: (a ``ValueError``) if the file cannot be read, is not
            JSON, is not a chainrule model file, has an unknown version, fails
            its checksum, or its weights do not fit its architecture. No model
            is returned half-loaded.
    """
    doc = _read(path)
    model = _build(doc["architecture"])
    try:
        model.load_state_dict(doc["weights"], strict=True)
    except (KeyError, TypeError) as exc:
        msg = exc.args[0] if exc.args else exc
        raise ModelFileError(f"load: the weights in {str(path)!r} do not fit: {msg}") from exc
    return model


def load_meta(path: PathLike) -> dict[str, Any]:
    """Return the ``meta`` entry of a model file (a checkpoint's epoch and history).

    Raises:
        ModelFileError: as :func:`load`.
    """
    meta = _read(path)["meta"]
    if not isinstance(meta, dict):
        raise ModelFileError(f"load_meta: the meta entry of {str(path)!r} is not an object")
    return meta
