"""A real playground server for tests: uvicorn on an ephemeral port, in a thread."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from visualize.app.playground.server import make_app
from visualize.app.playground.session import Session


@contextmanager
def running(session: Session | None = None, state_file: Any = None) -> Iterator[tuple[str, Any]]:
    """Serve a playground; yields ``(base URL, app)`` and stops the server afterwards."""
    import uvicorn

    app = make_app(session, state_file=state_file)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="websockets-sansio",
                                           lifespan="on"))
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class Tab:
    """One WebSocket client, as a tab of the page is."""

    def __init__(self, base: str, **kw: Any) -> None:
        from websockets.sync.client import connect

        self._conn = connect(f"ws://{base}/ws", max_size=2**24, **kw)
        self.ws = self._conn.__enter__()

    def send(self, msg: Any) -> None:
        self.ws.send(msg if isinstance(msg, str) else json.dumps(msg))

    def until(self, kind: str, timeout: float = 10.0, **want: Any) -> dict[str, Any]:
        """Read messages until one of type ``kind`` (with the ``want`` entries) arrives.

        Frames are acknowledged as the page does.
        """
        deadline = time.monotonic() + timeout
        while True:
            m = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if m["type"] == "frame":
                self.send({"type": "ack"})
            if m["type"] == kind and all(m.get(k) == v for k, v in want.items()):
                return m

    def close(self) -> None:
        self._conn.__exit__(None, None, None)
