"""The playground in Jupyter: an anywidget whose front-end is the server page's ``playground.js``.

``Playground(data="moons", hidden=[4, 2])`` shows the same page as ``chainrule
playground`` inside a notebook (JupyterLab, Notebook 7, VS Code, Colab: any
host anywidget supports). The front-end talks the same protocol
(:mod:`~visualize.app.playground.protocol`) over the widget's custom
messages; training runs in a background thread of the kernel, so the run is
readable from Python while it trains: ``pg.state`` (the whole
:class:`PlaygroundState`), ``pg.epoch``, ``pg.history``, and ``pg.model``
(the live ``nn.MLP``). Every setting is a trait: ``pg.lr = 0.1`` changes the
page, changing the page changes ``pg.lr``; a bad value raises
``traitlets.TraitError`` naming the field and what it allows.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import anywidget
import traitlets

import nn
from visualize.app.playground import assets, protocol
from visualize.app.playground.session import Session
from visualize.app.playground.state import FEATURES, PlaygroundState, StateError

__all__ = ["SETTINGS", "Playground"]

#: the state fields mirrored as traits (the points, weights and history are read via .state)
SETTINGS: tuple[str, ...] = (
    "dataset", "n_points", "noise", "train_ratio", "data_seed", "features", "hidden",
    "activation", "optimizer", "lr", "batch_size", "regularization", "reg_rate", "seed",
    "show_test", "log_scale", "hidden_controls",
)
#: the longest the training thread waits for the page to draw a frame
ACK_TIMEOUT = 0.5


class Playground(anywidget.AnyWidget):
    """The live playground as a Jupyter widget.

    Args:
        model: an ``nn.MLP`` with one output to start from (its architecture
            and weights; its inputs are the first ``model.nin`` features), or None.
        data: the data set (see :data:`~visualize.app.playground.state.DATASETS`).
        state: a whole :class:`PlaygroundState` (or its dict) to start from.
        **settings: any other setting of :data:`SETTINGS` (``hidden=[4, 2]``, ``lr=0.1``).

    Attributes:
        model: the live ``nn.MLP`` the playground trains.
        state: the whole state now (a copy), readable while it trains.
        epoch, playing: traits; history: the loss after each epoch (train, test).
        last_error: the message of the last refused request from the page, or "".

    Raises:
        traitlets.TraitError: for a bad setting (the message names it).
    """

    _esm = assets.esm()
    _css = assets.css()
    epoch = traitlets.Int(0).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    last_error = traitlets.Unicode("")

    dataset = traitlets.Unicode("circles")
    n_points = traitlets.Int(200)
    noise = traitlets.Float(0.1)
    train_ratio = traitlets.Float(0.5)
    data_seed = traitlets.Int(0)
    features = traitlets.List(["x1", "x2"])
    hidden = traitlets.List([4, 2])
    activation = traitlets.Unicode("tanh")
    optimizer = traitlets.Unicode("sgd")
    lr = traitlets.Float(0.03)
    batch_size = traitlets.Int(10)
    regularization = traitlets.Unicode("none")
    reg_rate = traitlets.Float(0.0)
    seed = traitlets.Int(0)
    show_test = traitlets.Bool(False)
    log_scale = traitlets.Bool(False)
    hidden_controls: traitlets.List[str] = traitlets.List([])

    def __init__(self, model: nn.MLP | None = None, data: str | None = None, *,
                 state: PlaygroundState | dict[str, Any] | None = None,
                 **settings: Any) -> None:
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise traitlets.TraitError(f"Playground: unknown setting(s) {sorted(unknown)}; "
                                       f"the settings are {', '.join(SETTINGS)}")
        base = state if isinstance(state, PlaygroundState) else PlaygroundState.from_dict(
            state or {})
        d = base.to_dict()
        if data is not None:
            d["dataset"] = data
        d.update(settings)
        if model is not None:
            d.update(_from_model(model))
        try:
            st = PlaygroundState.from_dict(d)
        except StateError as exc:
            raise traitlets.TraitError(f"Playground: {exc}") from None
        self._mirroring = True
        super().__init__()
        self._controller = protocol.Controller(Session(st))
        self._drawn = threading.Event()
        self._drawn.set()
        self._thread: threading.Thread | None = None
        self._page_seen = False
        self._mirror(self._controller.session.state)
        self._mirroring = False
        self.on_msg(self._on_custom)
        self.observe(self._on_setting, names=list(SETTINGS))

    # -- reading ---------------------------------------------------------------
    @property
    def model(self) -> nn.MLP:
        """The live model (``nn.MLP``): the weights the page shows."""
        return self._controller.session.model

    @property
    def state(self) -> PlaygroundState:
        """A copy of the whole state now (settings, points, weights, history)."""
        with self._controller.lock:
            return self._controller.session.state

    @property
    def history(self) -> dict[str, list[float | None]]:
        """The training and test loss after each epoch (epoch 0 first)."""
        st = self.state
        return {"train": st.history_train, "test": st.history_test}

    # -- driving from Python -------------------------------------------------------
    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` epochs now (in this thread) and update the page."""
        self._request({"type": "step", "steps": epochs}, raise_errors=True)

    def play(self) -> None:
        """Start training in the background (as the page's play button does)."""
        self._request({"type": "play"})

    def pause(self) -> None:
        """Stop training in the background; returns when the current epoch is done."""
        self._request({"type": "pause"})
        if self._thread is not None:
            self._thread.join(5)

    def reset(self) -> None:
        """New weights from the seed, epoch 0."""
        self._request({"type": "reset"})

    def export_script(self) -> str:
        """The script reproducing the current run segment with ``nn.fit``."""
        return self._controller.session.export_script()

    # -- plumbing ------------------------------------------------------------------
    def _request(self, msg: dict[str, Any], raise_errors: bool = False) -> None:
        mine, everyone = self._controller.handle(msg)
        for m in mine + everyone:
            if m["type"] == "error" and raise_errors:
                raise ValueError(m["message"])
        self._deliver(mine, everyone)

    def _on_custom(self, widget: Any, content: Any, buffers: Any) -> None:
        self._page_seen = True  # a front-end is drawing: wait for its acks while training
        if isinstance(content, dict) and content.get("type") == "ack":
            self._drawn.set()
            return
        mine, everyone = self._controller.handle(content)
        self._deliver(mine, everyone)

    def _deliver(self, mine: list[dict[str, Any]], everyone: list[dict[str, Any]]) -> None:
        for m in mine + everyone:
            if m["type"] == "error":
                self.last_error = m["message"]
            elif m["type"] == "state":
                self._mirror(PlaygroundState.from_dict(m["state"]))
            elif m["type"] == "status":
                self.playing = m["playing"]
            elif m["type"] == "frame":
                self.epoch = m["epoch"]
            self.send(_plain(m))
        if self._controller.playing and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(target=self._train, daemon=True,
                                            name="chainrule-playground")
            self._thread.start()

    def _train(self) -> None:
        c = self._controller
        while c.playing:
            msgs = c.tick()  # the next epoch, while the page draws the last one
            if self._page_seen:
                self._drawn.wait(ACK_TIMEOUT)
                self._drawn.clear()
            for m in msgs:
                if m["type"] == "frame":
                    self.epoch = m["epoch"]
                elif m["type"] == "status":
                    self.playing = m["playing"]
                elif m["type"] == "error":
                    self.last_error = m["message"]
                self.send(_plain(m))
            time.sleep(0.001)
        self.playing = False

    def _mirror(self, st: PlaygroundState) -> None:
        was, self._mirroring = self._mirroring, True
        try:
            with self.hold_trait_notifications():
                for name in SETTINGS:
                    setattr(self, name, getattr(st, name))
                self.epoch = st.epoch
        finally:
            self._mirroring = was

    def _on_setting(self, change: dict[str, Any]) -> None:
        if self._mirroring:
            return
        mine, everyone = self._controller.handle(
            {"type": "set", "changes": {change["name"]: change["new"]}})
        errors = [m["message"] for m in mine if m["type"] == "error"]
        if errors:
            self._mirror(self._controller.session.state)  # put the trait back
            raise traitlets.TraitError(f"Playground: {errors[0]}")
        self._deliver(mine, everyone)


def _from_model(model: nn.MLP) -> dict[str, Any]:
    """The settings and weights that reproduce ``model`` in the playground."""
    if not isinstance(model, nn.MLP) or model.nouts[-1] != 1 or model.nin > len(FEATURES) \
            or model.output_activation not in (None, "linear"):
        raise traitlets.TraitError("Playground: model must be an nn.MLP with at most 7 inputs "
                                   "and 1 linear output, e.g. nn.MLP(2, [4, 2, 1])")
    return {"features": list(FEATURES[:model.nin]), "hidden": model.nouts[:-1],
            "activation": model.activation,
            "weights": [[[*(w.data for w in n.w), n.b.data] for n in layer.neurons]
                        for layer in model.layers]}


def _plain(m: dict[str, Any]) -> Any:
    """A message as the front-end receives it (JSON: nan and inf as null)."""
    import json

    return json.loads(protocol.encode(m))
