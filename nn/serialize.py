"""Saving and loading models: versioned JSON, written atomically, checked on load.

A model file is one JSON object::

    {"format": "chainrule.nn", "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1], ...},
     "weights": {"layers.0.neurons.0.w.0": 0.123, ...},
     "meta": {...},                 # optional: training epoch, history
     "checksum": "<sha256 of the canonical JSON of architecture, weights and meta>"}

Writes follow the output rule of :mod:`chainrule.outputs`: a temporary file in
the target's folder (``.<name>.<pid>.<random>.tmp``, so one left by a killed
process is recognisable), then ``os.replace`` over the target, so a reader never
sees a half-written file; an existing file keeps its permission bits; only
regular files are written (a symbolic link's target is replaced). Files are
strict JSON (no ``NaN`` or ``Infinity``).

:func:`load` checks everything before it builds anything: the size of the file
(:data:`MAX_FILE_BYTES`), the JSON (no nan/inf tokens, no nesting deeper than a
model file has, no integers too large for a float), the types of every entry,
the architecture against :data:`MAX_PARAMETERS` and against the number of
weights, and every weight being a finite number. A damaged, truncated, foreign
or impossible file raises :class:`ModelFileError` and returns nothing.

The checksum (SHA-256 of the content) catches accidents (a truncated copy, a
flipped byte, an edit by hand); it is not a signature: anyone can write a
file with a valid checksum, so load only files you trust to be what they say.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from typing import Any, Union

from chainrule.outputs import write_file
from nn.layers import MLP, Layer, Neuron
from nn.module import ModelFileError, Module

__all__ = [
    "FORMAT",
    "MAX_FILE_BYTES",
    "MAX_PARAMETERS",
    "VERSION",
    "ModelFileError",
    "Standardized",
    "load",
    "load_meta",
    "read_model_file",
    "save",
]

FORMAT = "chainrule.nn"
VERSION = 1

#: the largest model file :func:`load` reads (bytes)
MAX_FILE_BYTES = 64 * 1024 * 1024
#: the most parameters a loaded architecture may have (checked before it is built)
MAX_PARAMETERS = 1_000_000
#: the deepest JSON nesting a model file may have (a checkpoint's history is 4 deep)
_MAX_DEPTH = 8

PathLike = Union[str, "os.PathLike[str]"]


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _checksum(architecture: Any, weights: Any, meta: Any) -> str:
    body = {"architecture": architecture, "weights": weights, "meta": meta}
    return hashlib.sha256(_canonical(body)).hexdigest()


def save(model: Module, path: PathLike, meta: dict[str, Any] | None = None) -> None:
    """Save ``model``'s architecture and weights to ``path`` as JSON, atomically.

    Args:
        model: an :class:`~nn.MLP`, :class:`~nn.Layer` or :class:`~nn.Neuron`.
        path: the file to write (missing folders are created; a symbolic link's
            target is replaced; a device, FIFO or socket is refused).
        meta: optional JSON-serialisable extras (``fit`` stores the epoch and
            the history of a checkpoint here).

    Raises:
        TypeError: if the model has no ``config()`` (a custom Module), or
            ``meta`` is not JSON-serialisable (or holds nan/inf).
        ValueError: if a weight is nan or inf (files are strict JSON).
        chainrule.outputs.OutputPathError: (an ``OSError``) if the path is refused
            or the file cannot be written; the message names the path, an old
            file is left as it was and no temporary file is left behind.
    """
    config = getattr(model, "config", None)
    if not callable(config):
        raise TypeError(
            f"save: {type(model).__name__} has no config() describing its architecture; "
            "save its state_dict() yourself, or use nn.MLP/Layer/Neuron"
        )
    meta = {} if meta is None else dict(meta)
    if isinstance(model, Standardized):  # the file format of train --save
        meta.setdefault("scaler", model.scaler_meta())
        model = model.model
    architecture = config()
    weights = model.state_dict()
    try:
        doc = {"format": FORMAT, "version": VERSION, "architecture": architecture,
               "weights": weights, "meta": meta,
               "checksum": _checksum(architecture, weights, meta)}
        text = json.dumps(doc, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        bad = [k for k, v in weights.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"save: weight {bad[0]!r} is {weights[bad[0]]!r}; a model file holds "
                             "finite weights only (the training diverged?)") from exc
        raise TypeError(f"save: meta must be JSON-serialisable with finite numbers "
                        f"({exc})") from exc
    write_file(path, text.encode("utf-8"), "save")


_BUILDERS = {"MLP": MLP, "Layer": Layer, "Neuron": Neuron}


def _width(v: Any, where: str, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_PARAMETERS:
        raise ModelFileError(f"{where}: the architecture's {what} must be an integer in "
                             f"1..{MAX_PARAMETERS}, got {v!r}")
    return v


def _parameter_count(arch: dict[str, Any], where: str) -> int:
    """The number of weights ``arch`` describes, checked against :data:`MAX_PARAMETERS`."""
    kind = arch["type"]
    if kind == "MLP":
        nouts = arch.get("nouts")
        if not isinstance(nouts, list) or not 1 <= len(nouts) <= 1000:
            raise ModelFileError(f"{where}: the architecture's nouts must be a list of 1..1000 "
                                 f"layer widths, got {nouts!r}"[:300])
        sizes = [_width(arch.get("nin"), where, "nin")]
        sizes += [_width(v, where, f"nouts[{k}]") for k, v in enumerate(nouts)]
        count = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    elif kind == "Layer":
        count = (_width(arch.get("nin"), where, "nin") + 1) * _width(arch.get("nout"), where,
                                                                      "nout")
    else:
        count = _width(arch.get("nin"), where, "nin") + 1
    if count > MAX_PARAMETERS:
        raise ModelFileError(f"{where}: the architecture has {count} parameters, more than "
                             f"the limit of {MAX_PARAMETERS}")
    return count


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


#: the types of the architecture's optional entries (the builders check their values)
_ARCH_TYPES: tuple[tuple[str, Any, str], ...] = (
    ("activation", lambda v: isinstance(v, str), "a name"),
    ("output_activation", lambda v: v is None or isinstance(v, str), "a name or null"),
    ("negative_slope", _is_real, "a finite number"),
    ("fused", lambda v: isinstance(v, bool), "true or false"),
)


def _build(arch: Any, where: str = "load") -> Module:
    if not isinstance(arch, dict) or not isinstance(arch.get("type"), str) \
            or arch["type"] not in _BUILDERS:
        kind = arch.get("type") if isinstance(arch, dict) else arch
        raise ModelFileError(
            f"{where}: unknown architecture type {str(kind)[:80]!r}; this version knows "
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
        raise ModelFileError(f"{where}: the architecture {str(arch)[:200]} is invalid "
                             f"({exc})") from exc


def _no_constant(token: str) -> float:
    raise ValueError(f"the number {token} is not allowed: a model file holds finite numbers")


def _finite_float(token: str) -> float:
    v = float(token)
    if not math.isfinite(v):
        raise ValueError(f"the number {token[:40]} overflows a float")
    return v


def _depth(obj: Any, limit: int) -> bool:
    """True if ``obj`` nests no deeper than ``limit`` (iteratively: no recursion)."""
    stack = [(obj, 0)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, (dict, list)):
            if d >= limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return True


def _parse(raw: bytes, name: str, where: str) -> Any:
    """Strict JSON with bounded nesting; any failure is a :class:`ModelFileError`."""
    # a cheap pre-check: more opening brackets in a row than a model file has
    if b"[" * (_MAX_DEPTH + 2) in raw.replace(b" ", b"").replace(b"\n", b"") or \
            b"{" * (_MAX_DEPTH + 2) in raw.replace(b" ", b"").replace(b"\n", b""):
        raise ModelFileError(f"{where}: {name} nests deeper than a model file does; "
                             "it is damaged or not a model file")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant,
                         parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise ModelFileError(
            f"{where}: {name} is not a chainrule model file (not valid JSON: {reason}); "
            "it may be truncated or damaged"
        ) from exc
    if not _depth(doc, _MAX_DEPTH):
        raise ModelFileError(f"{where}: {name} nests deeper than a model file does; "
                             "it is damaged or not a model file")
    return doc


def read_model_file(path: PathLike, who: str = "load", *,
                    check_weights: bool = True) -> dict[str, Any]:
    """Read and check a model file whole; return its document (nothing is built).

    Checks the size, the JSON, the format and version, the checksum, the
    types of every entry, the architecture's parameter count (against
    :data:`MAX_PARAMETERS` and the number of weights) and that every weight
    is a finite number.

    Raises:
        ModelFileError: naming ``who``, the file and what is wrong.
    """
    name = repr(str(path))
    try:
        size = os.stat(path).st_size
        if size > MAX_FILE_BYTES:
            raise ModelFileError(f"{who}: {name} has {size} bytes, more than the limit of "
                                 f"{MAX_FILE_BYTES} for a model file")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ModelFileError(f"{who}: cannot read {name}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ModelFileError(f"{who}: {name} is larger than the limit of {MAX_FILE_BYTES} bytes")
    doc = _parse(raw, name, who)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(
            f"{who}: {name} is not a chainrule model file (no \"format\": {FORMAT!r}); "
            "save models with model.save(path)"
        )
    if doc.get("version") != VERSION:
        raise ModelFileError(
            f"{who}: {name} has format version {str(doc.get('version'))[:40]}; this version "
            f"of chainrule reads version {VERSION}"
        )
    for key in ("architecture", "weights", "meta", "checksum"):
        if key not in doc:
            raise ModelFileError(f"{who}: {name} lacks the {key!r} entry; it is damaged")
    if not isinstance(doc["checksum"], str) or \
            doc["checksum"] != _checksum(doc["architecture"], doc["weights"], doc["meta"]):
        raise ModelFileError(
            f"{who}: {name} fails its checksum: its content was changed or damaged "
            "after saving"
        )
    _check_document(doc, f"{who}: {name}")
    if check_weights:
        _check_weights(doc["weights"], f"{who}: {name}")
    return doc


def _check_document(doc: dict[str, Any], where: str) -> None:
    """The types of a model document's entries, before anything is built from them."""
    arch, weights, meta = doc["architecture"], doc["weights"], doc["meta"]
    if not isinstance(arch, dict) or not isinstance(arch.get("type"), str) \
            or arch["type"] not in _BUILDERS:
        kind = arch.get("type") if isinstance(arch, dict) else type(arch).__name__
        raise ModelFileError(f"{where}: unknown architecture type {str(kind)[:80]!r}; this "
                             f"version knows {', '.join(sorted(_BUILDERS))}")
    if not isinstance(weights, dict):
        raise ModelFileError(f"{where}: the weights entry is a {type(weights).__name__}, not an "
                             "object of parameter names to numbers")
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where}: the meta entry is a {type(meta).__name__}, not an object")
    for key, ok, want in _ARCH_TYPES:
        if key in arch and not ok(arch[key]):
            raise ModelFileError(f"{where}: the architecture's {key} must be {want}, got "
                                 f"{str(arch[key])[:60]!r}")
    count = _parameter_count(arch, where)
    if abs(count - len(weights)) > max(16, count // 100):  # near misses: keys named on load
        raise ModelFileError(f"{where}: the weights do not fit: the architecture has {count} "
                             f"parameters but the file holds {len(weights)} weights; it is "
                             "damaged")


def _check_weights(weights: dict[str, Any], where: str) -> None:
    """Every weight a finite number."""
    for key, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ModelFileError(f"{where}: the weights do not fit: weight {key[:80]!r} is a "
                                 f"{type(v).__name__}, not a number")
        try:
            ok = math.isfinite(float(v))
        except OverflowError:
            ok = False
        if not ok:
            raise ModelFileError(f"{where}: weight {key[:80]!r} is not a finite float; the "
                                 "file is damaged")


class Standardized(Module):
    """A model with its input scaler: what :func:`load` returns for a file saved with one.

    ``chainrule train --save`` standardises the features on the training part
    and stores that scaler (``meta["scaler"]``: per-feature ``mean`` and
    ``scale``) with the model. Loaded, the model takes raw inputs again:
    ``Standardized(model, mean, scale)(x)`` is ``model((x - mean) / scale)``,
    for floats and for ``Value`` inputs (the graph includes the scaling).
    Attributes not found here (``nin``, ``layers``, ``nouts``...) are the
    model's; :meth:`save` writes the same file format back.

    Attributes:
        model: the network, which sees standardised inputs.
        mean, scale: the scaler, one number per input (every scale > 0).
    """

    def __init__(self, model: Module, mean: list[float], scale: list[float]) -> None:
        self.model = model
        self._mean = [float(m) for m in mean]
        self._scale = [float(s) for s in scale]

    @property
    def mean(self) -> list[float]:
        """The per-input mean subtracted first."""
        return list(self._mean)

    @property
    def scale(self) -> list[float]:
        """The per-input scale divided by next."""
        return list(self._scale)

    def __getattr__(self, name: str) -> Any:
        if name == "model":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.model, name)

    def standardize(self, x: Any) -> list[Any]:
        """One sample's inputs scaled as in training: ``(x - mean) / scale``.

        Raises:
            ValueError: if ``x`` has not one number per input.
        """
        row = list(x)
        if len(row) != len(self._mean):
            raise ValueError(f"Standardized: a sample has {len(row)} inputs; the model takes "
                             f"{len(self._mean)}")
        return [(v - m) / s for v, m, s in zip(row, self._mean, self._scale)]

    def __call__(self, x: Any) -> Any:
        return self.model(self.standardize(x))  # type: ignore[operator]

    def predict(self, xs: Any) -> list[Any]:
        """The model's outputs for raw samples (scaled first), as floats, recording no graph."""
        return self.model.predict([self.standardize(x) for x in xs])  # type: ignore[attr-defined]

    def config(self) -> dict[str, Any]:
        """The inner model's architecture (the scaler is saved in the file's meta)."""
        return self.model.config()  # type: ignore[attr-defined]

    def scaler_meta(self) -> dict[str, list[float]]:
        """The scaler as a model file's ``meta["scaler"]`` holds it."""
        return {"mean": self.mean, "scale": self.scale}

    def extra_repr(self) -> str:
        return f"{len(self._mean)} standardised inputs"


def _scaler(meta: dict[str, Any], nin: Any, where: str) -> tuple[list[float], list[float]] | None:
    """The input scaler in ``meta`` (written by ``train --save``), checked, or None."""
    sc = meta.get("scaler")
    if sc is None:
        return None
    ok = (isinstance(sc, dict) and all(
        isinstance(sc.get(k), list) and len(sc[k]) == nin
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in sc[k]) for k in ("mean", "scale")))
    if not ok or not all(s > 0 for s in sc["scale"]):
        raise ModelFileError(f"{where}: its input scaler (meta.scaler) must hold {nin} finite "
                             "means and positive scales; the file is damaged")
    return [float(v) for v in sc["mean"]], [float(v) for v in sc["scale"]]


def load(path: PathLike) -> Module:
    """Rebuild a model saved with :func:`save` (or ``model.save``), or a ``fit`` checkpoint.

    Args:
        path: the model file.

    Returns:
        A new model with the saved architecture and weights. A file that holds
        an input scaler (``meta["scaler"]``, as ``chainrule train --save``
        writes) loads as a :class:`Standardized` model, which scales raw inputs
        as training did before the network sees them.

    Raises:
        ModelFileError: (a ``ValueError``) if the file cannot be read, is over
            :data:`MAX_FILE_BYTES`, is not strict JSON, is not a chainrule
            model file, has an unknown version, fails its checksum, has an
            entry of the wrong type, an architecture over
            :data:`MAX_PARAMETERS`, or weights that are not finite or do not
            fit its architecture. No model is returned half-loaded.
    """
    doc = read_model_file(path, "load", check_weights=False)
    model = _build(doc["architecture"], f"load: {str(path)!r}")
    _check_weights(doc["weights"], f"load: {str(path)!r}")
    try:
        model.load_state_dict({k: float(v) for k, v in doc["weights"].items()}, strict=True)
    except (KeyError, TypeError, ValueError) as exc:
        msg = exc.args[0] if exc.args else exc
        raise ModelFileError(f"load: the weights in {str(path)!r} do not fit: {msg}") from exc
    scaler = _scaler(doc["meta"], getattr(model, "nin", None), f"load: {str(path)!r}")
    return model if scaler is None else Standardized(model, *scaler)


def load_meta(path: PathLike) -> dict[str, Any]:
    """Return the ``meta`` entry of a model file (a checkpoint's epoch and history).

    Raises:
        ModelFileError: as :func:`load`.
    """
    meta: dict[str, Any] = read_model_file(path, "load_meta")["meta"]
    return meta
