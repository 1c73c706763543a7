"""The playground's messages: one JSON protocol, checked against a schema, for both hosts.

The page sends requests ``{"type": ..., ...}``; :class:`Controller` checks
each one against :data:`REQUESTS` (the type, then every key and its kind;
anything else gets an ``error`` reply naming what is wrong) and runs it on its
:class:`~visualize.app.playground.session.Session`. It answers with messages
for the sender and messages for every view (``state``, ``frame``, ``status``,
``inspect``, ``export``, ``error``). Nothing a client sends is ever evaluated:
values are only compared, stored and passed to the session's checked methods.

The server (WebSocket) and the Jupyter widget (anywidget custom messages) both
drive a Controller; the training loop calls :meth:`Controller.tick`.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

from visualize.app.playground import state as S
from visualize.app.playground.session import PlaygroundError, Session, dumps
from visualize.app.playground.state import PlaygroundState, StateError

__all__ = ["MAX_MESSAGE_BYTES", "REQUESTS", "Controller", "ProtocolError"]

#: the largest request accepted (a state with 2000 points fits easily)
MAX_MESSAGE_BYTES = 1_000_000

_NUM, _INT, _STR, _DICT, _BOOL = "number", "integer", "string", "object", "boolean"

#: request type -> {key: (kind, required)}
REQUESTS: dict[str, dict[str, tuple[str, bool]]] = {
    "hello": {},
    "get_state": {},
    "play": {},
    "pause": {},
    "ack": {},
    "reset": {},
    "regenerate": {},
    "step": {"steps": (_INT, False)},
    "set": {"changes": (_DICT, True)},
    "add_point": {"x1": (_NUM, True), "x2": (_NUM, True), "label": (_NUM, True),
                  "split": (_STR, False)},
    "delete_point": {"split": (_STR, True), "index": (_INT, True)},
    "set_weight": {"layer": (_INT, True), "neuron": (_INT, True), "index": (_INT, True),
                   "value": (_NUM, True)},
    "inspect": {"split": (_STR, True), "index": (_INT, True), "frames": (_BOOL, False)},
    "load_state": {"state": (_DICT, False), "fragment": (_STR, False)},
    "export": {"what": (_STR, True)},
}

_EXPORTS = ("model", "script", "state", "page")


class ProtocolError(ValueError):
    """A request that does not follow the protocol (the message says what is wrong)."""


def _kind_ok(kind: str, v: Any) -> bool:
    if kind == _NUM:
        return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
    if kind == _INT:
        return not isinstance(v, bool) and isinstance(v, int)
    if kind == _STR:
        return isinstance(v, str)
    if kind == _BOOL:
        return isinstance(v, bool)
    return isinstance(v, dict)


def parse(raw: Any) -> dict[str, Any]:
    """Decode and check one request (a JSON text or an already decoded object).

    Raises:
        ProtocolError: for a message that is too large, not JSON, not an
            object, of an unknown type, or with a missing, unknown or
            wrongly typed key.
    """
    msg = raw
    if isinstance(raw, (str, bytes)):
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ProtocolError(f"a message is at most {MAX_MESSAGE_BYTES} bytes, got {len(raw)}")
        try:
            msg = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"the message is not JSON ({str(exc)[:80]})") from None
    if not isinstance(msg, dict):
        raise ProtocolError("a message must be a JSON object with a 'type'")
    kind = msg.get("type")
    if not isinstance(kind, str) or kind not in REQUESTS:
        raise ProtocolError(f"unknown message type {str(kind)[:40]!r}; the types are "
                            + ", ".join(REQUESTS))
    schema = REQUESTS[kind]
    for key, value in msg.items():
        if key == "type":
            continue
        if key not in schema:
            allowed = ", ".join(schema) or "no other keys"
            raise ProtocolError(f"{kind}: unknown key {str(key)[:40]!r} (allowed: {allowed})")
        want = schema[key][0]
        if not _kind_ok(want, value):
            raise ProtocolError(f"{kind}: {key} must be a{'n' if want[0] in 'aeiou' else ''} "
                                f"{want}, got {str(value)[:40]!r}")
    for key, (_, required) in schema.items():
        if required and key not in msg:
            raise ProtocolError(f"{kind}: the key {key!r} is missing")
    return msg


class Controller:
    """Runs checked requests on a :class:`Session`; shared by the server and the widget.

    Args:
        session: the session to drive (default: a new one).
        on_change: called with the new state after every change (the
            server saves it to the state file; the widget updates its traits).

    Attributes:
        session: the session.
        playing: True while the training loop should run.
    """

    def __init__(self, session: Session | None = None, on_change: Any = None) -> None:
        self.session = session if session is not None else Session()
        self.playing = False
        self.lock = threading.RLock()
        self.on_change = on_change

    def state_message(self) -> dict[str, Any]:
        """The ``state`` message: the whole state, whether it trains, its URL fragment."""
        st = self.session.state
        return {"type": "state", "state": st.to_dict(), "playing": self.playing,
                "fragment": S.to_fragment(st), "path": self.session.path}

    def handle(self, raw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Run one request; returns ``(replies to the sender, messages for every view)``.

        Never raises for a bad request: it becomes an ``error`` reply, and the
        session is left as it was.
        """
        try:
            msg = parse(raw)
            with self.lock:
                return self._run(msg)
        except (ProtocolError, StateError, PlaygroundError) as exc:
            kind = raw.get("type") if isinstance(raw, dict) else None
            return [{"type": "error", "message": str(exc),
                     "request": kind if isinstance(kind, str) else None}], []

    def _changed(self) -> list[dict[str, Any]]:
        if self.on_change is not None:
            self.on_change(self.session.state)
        return [self.state_message(), self.session.frame()]

    def _run(self, msg: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        kind, s = msg["type"], self.session
        if kind == "hello" or kind == "get_state":
            return [self.state_message(), *([s.frame()] if kind == "hello" else [])], []
        if kind == "ack":
            return [], []
        if kind in ("play", "pause"):
            self.playing = kind == "play"
            return [], [{"type": "status", "playing": self.playing}]
        if kind == "step":
            self.playing = False
            try:
                s.step(msg.get("steps", 1))
            finally:
                out = self._changed()
            return [], [{"type": "status", "playing": False}, *out]
        if kind == "inspect":
            return [s.inspect(msg["split"], msg["index"], frames=msg.get("frames", True))], []
        if kind == "export":
            return [self._export(msg["what"])], []
        if kind == "set":
            s.apply(msg["changes"])
        elif kind == "reset":
            s.reset()
        elif kind == "regenerate":
            s.regenerate()
        elif kind == "add_point":
            s.add_point(msg["x1"], msg["x2"], msg["label"], msg.get("split", "train"))
        elif kind == "delete_point":
            s.delete_point(msg["split"], msg["index"])
        elif kind == "set_weight":
            s.set_weight(msg["layer"], msg["neuron"], msg["index"], msg["value"])
        elif kind == "load_state":
            self._load(msg)
        return [], self._changed()

    def _load(self, msg: dict[str, Any]) -> None:
        if ("state" in msg) == ("fragment" in msg):
            raise ProtocolError("load_state: give exactly one of 'state' and 'fragment'")
        st = S.from_fragment(msg["fragment"]) if "fragment" in msg \
            else PlaygroundState.from_dict(msg["state"])
        self.playing = False
        self.session.load(st)

    def _export(self, what: str) -> dict[str, Any]:
        if what not in _EXPORTS:
            raise ProtocolError(f"export: what must be one of {', '.join(_EXPORTS)}, "
                                f"got {what[:40]!r}")
        s = self.session
        if what == "model":
            text, name = s.export_model(), "playground-model.json"
        elif what == "script":
            text, name = s.export_script(), "playground_run.py"
        elif what == "page":
            text, name = s.export_page(), "playground-replay.html"
        else:
            text, name = json.dumps(s.state.to_dict(), indent=1) + "\n", "playground-state.json"
        return {"type": "export", "what": what, "filename": name, "text": text}

    def tick(self) -> list[dict[str, Any]]:
        """One step of the training loop: train an epoch and return the frame for every view.

        Returns ``[]`` when not playing. A diverging run stops playing and
        returns an ``error`` and a ``status`` message instead.
        """
        with self.lock:
            if not self.playing:
                return []
            try:
                self.session.step(1)
            except PlaygroundError as exc:
                self.playing = False
                return [{"type": "error", "message": str(exc), "request": "play"},
                        {"type": "status", "playing": False}, *self._changed()]
            return [self.session.frame()]


def encode(msg: dict[str, Any]) -> str:
    """A message as the JSON text sent to the page (nan/inf as null)."""
    return dumps(msg)
