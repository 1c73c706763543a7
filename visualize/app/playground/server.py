"""``chainrule playground``: the playground served on 127.0.0.1 (Starlette + uvicorn + WebSockets).

:func:`make_app` builds the Starlette application: ``/`` the page,
``/static/playground.js`` and ``.css`` the front-end (the same module the
Jupyter widget loads), ``/ws`` the WebSocket every open tab talks to. One
:class:`~visualize.app.playground.protocol.Controller` serves all tabs: they
show the same run, and a change in one appears in all. The training loop
trains one epoch while the tabs draw the previous frame, waits (at most
:data:`ACK_TIMEOUT` seconds) until each tab has drawn it, and sends the new one.

Safety: the server binds to 127.0.0.1 unless a host is given; it answers
only requests whose ``Host`` is that address (against DNS rebinding) and
WebSockets whose ``Origin``, when present, is the page itself (against other
sites' pages); requests are checked by the protocol's schema; every text the
page shows goes through its one escaping helper. With a state file, the state
is saved there (atomically) after every change, every few seconds while
training, and on exit; it is read back at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import sys
import time
import webbrowser
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from visualize.app.playground import assets, protocol
from visualize.app.playground.session import Session
from visualize.app.playground.state import PlaygroundState, load_state, save_state

__all__ = ["ACK_TIMEOUT", "make_app", "page_html", "serve"]

#: how long the training loop waits for a tab to draw a frame before going on
ACK_TIMEOUT = 0.5
#: seconds between state-file saves while training
SAVE_EVERY = 5.0


def page_html() -> str:
    """The server's page: the front-end module mounted on an empty element (no inline script)."""
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chainrule playground</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/playground.css">
</head><body>
<div id="chainrule-playground" data-socket="/ws"></div>
<script type="module" src="/static/playground.js"></script>
</body></html>
"""


class _Client:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.drawn = asyncio.Event()
        self.drawn.set()


class _Hub:
    """The open tabs, the controller and the training loop."""

    def __init__(self, controller: protocol.Controller, state_file: Path | None) -> None:
        self.controller = controller
        self.clients: list[_Client] = []
        self.state_file = state_file
        self.pristine = True
        self.last_save = 0.0

    async def send(self, client: _Client, msgs: list[dict[str, Any]]) -> None:
        for m in msgs:
            if m.get("type") == "state":
                m = {**m, "pristine": self.pristine}
            try:
                await client.ws.send_text(protocol.encode(m))
            except Exception:  # a tab that went away: the receive loop removes it
                return

    async def broadcast(self, msgs: list[dict[str, Any]]) -> None:
        for c in list(self.clients):
            if any(m.get("type") == "frame" for m in msgs):
                c.drawn.clear()
            await self.send(c, msgs)

    def save(self, force: bool = False) -> None:
        if self.state_file is None:
            return
        now = time.monotonic()
        if force or now - self.last_save >= SAVE_EVERY:
            with self.controller.lock:
                st = self.controller.session.state
            try:
                save_state(st, self.state_file)
            except OSError as exc:
                print(f"chainrule playground: cannot save the state to {self.state_file}: "
                      f"{exc}", file=sys.stderr)
            self.last_save = now

    async def train(self) -> None:
        while True:
            c = self.controller
            if not c.playing or not self.clients:
                await asyncio.sleep(0.05)
                continue
            msgs = c.tick()  # the next epoch, while the tabs draw the last one
            waits = [cl.drawn.wait() for cl in self.clients]
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), ACK_TIMEOUT)
            if msgs:
                self.pristine = False
                await self.broadcast(msgs)
                self.save()
            await asyncio.sleep(0)

    async def receive(self, client: _Client, raw: str) -> None:
        """Answer one message of a tab: to it, and what changes the run to every tab."""
        if len(raw) > protocol.MAX_MESSAGE_BYTES:
            await self.send(client, [{"type": "error", "request": None, "message":
                                      f"a message is at most "
                                      f"{protocol.MAX_MESSAGE_BYTES} bytes"}])
            return
        mine, everyone = self.controller.handle(raw)
        if not mine and not everyone:  # an "ack": this tab has drawn its frame
            client.drawn.set()
            return
        await self.send(client, mine)
        if everyone:
            if any(m["type"] == "state" for m in everyone):
                self.pristine = False
                self.save(force=True)
            await self.broadcast(everyone)

    async def serve_socket(self, ws: Any) -> None:
        """Serve one tab's WebSocket until it closes (another site's page is refused)."""
        from starlette.websockets import WebSocketDisconnect

        origin = ws.headers.get("origin")
        host = ws.headers.get("host", "")
        if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
            await ws.close(code=1008)  # another site's page: refused
            return
        await ws.accept()
        client = _Client(ws)
        self.clients.append(client)
        try:
            while True:
                await self.receive(client, await ws.receive_text())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            client.drawn.set()
            if client in self.clients:
                self.clients.remove(client)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """Train in the background while the app runs; save the state when it stops."""
        task = asyncio.create_task(self.train())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.save(force=True)


def make_app(session: Session | None = None, *, state_file: str | Path | None = None,
             allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Any:
    """Build the Starlette application serving one playground.

    Args:
        session: the run to serve (default: a new :class:`Session`).
        state_file: where to save the state after every change (None: nowhere).
        allowed_hosts: the ``Host`` names accepted (the address bound to).

    Returns:
        The Starlette app (``app.state.hub`` holds the controller and the tabs).
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route, WebSocketRoute

    hub = _Hub(protocol.Controller(session), Path(state_file) if state_file else None)
    headers = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
               "style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; "
               "base-uri 'none'", "X-Content-Type-Options": "nosniff",
               "Cache-Control": "no-store"}

    async def index(request: Any) -> Any:
        return HTMLResponse(page_html(), headers=headers)

    def static(text: Callable[[], str], media: str) -> Callable[[Any], Any]:
        async def serve_file(request: Any) -> Any:
            return Response(text(), media_type=media, headers=headers)
        return serve_file

    app = Starlette(routes=[
        Route("/", index),
        Route("/static/playground.js", static(assets.esm, "text/javascript")),
        Route("/static/playground.css", static(assets.css, "text/css")),
        WebSocketRoute("/ws", hub.serve_socket),
    ], middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))],
        lifespan=hub.lifespan)
    app.state.hub = hub
    return app


def serve(*, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True,
          state_file: str | None = None, echo: Callable[[str], None] | None = None) -> int:
    """Run ``chainrule playground`` until Ctrl-C; returns the exit status.

    Args:
        host: the address to bind (127.0.0.1 unless the user asks otherwise).
        port: the port (0: any free one).
        open_browser: open the page in the default browser.
        state_file: load the state from this file if it exists, and save it there.
        echo: prints the URL and the closing line (default: stdout, flushed);
            errors go to stderr.

    Returns:
        0 after Ctrl-C, 2 for a bad state file, 1 if the port is taken.
    """
    if echo is None:
        echo = functools.partial(print, flush=True)

    def fail(msg: str) -> None:
        print(f"chainrule playground: {msg}", file=sys.stderr, flush=True)

    try:
        import uvicorn
    except ImportError:
        fail("needs the playground extra: pip install 'chainrule[playground]'")
        return 2
    state = None
    if state_file is not None and Path(state_file).exists():
        try:
            state = load_state(state_file)
        except (ValueError, OSError) as exc:
            fail(f"--state {state_file}: {exc}")
            return 2
    session = Session(state if state is not None else PlaygroundState())
    if state_file is not None and not Path(state_file).resolve().parent.is_dir():
        fail(f"--state {state_file}: its folder does not exist; create it first")
        return 2
    # Host names the server answers: its loopback names, and with --host the address asked
    # for (any name for 0.0.0.0 / ::, which the user chose to open to the network)
    names = ("*",) if host in ("0.0.0.0", "::") else (host, "127.0.0.1", "localhost")
    app = make_app(session, state_file=state_file, allowed_hosts=names)
    config = uvicorn.Config(app, log_level="warning", ws="websockets-sansio", lifespan="on")
    server = uvicorn.Server(config)
    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}); try another --port, "
             "or --port 0 for any free one")
        return 1
    bound = sock.getsockname()[1]
    url_host = "127.0.0.1" if host in ("127.0.0.1", "0.0.0.0") else host
    url = f"http://{url_host}:{bound}/"
    echo(f"chainrule playground: {url}  (Ctrl-C stops it"
         + (f"; the state is saved to {state_file}" if state_file else "") + ")")
    if open_browser:
        with contextlib.suppress(Exception):
            webbrowser.open(url)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    echo("chainrule playground: stopped" + (f"; state saved to {state_file}" if state_file
                                            else ""))
    return 0
