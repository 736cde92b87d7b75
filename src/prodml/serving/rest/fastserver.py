"""A lean HTTP/1.1 server for the REST app: an asyncio ``Protocol`` over ``httptools``.

Why not uvicorn: for a one-row V2 request, its per-request machinery (a ``RequestResponseCycle``,
the ASGI scope and message dicts, header normalisation, default headers, flow-control objects) is
a large share of all the work. Counted with callgrind in one worker on the bench model (1-row V2
JSON, 16 keep-alive connections, user-space instructions per request): uvicorn 375-379k; this
server through the same ASGI app 324k; with ``infer`` called directly 284-290k, a quarter less.

What this server does: keep-alive (HTTP/1.1 by default, HTTP/1.0 on request), pipelined requests
answered strictly in order (one handler at a time per connection, reading pauses when too many
queue), ``Expect: 100-continue``, a body size limit (413 and close), malformed requests (400 and
close), ``Connection: close``, an idle timeout, and a graceful drain on stop. ``POST
/v2/models/{m}[/versions/{v}]/infer`` can go straight to an ``infer`` handler, skipping the ASGI
message dicts; every other request goes through the ASGI app unchanged (lifespan included).

Example:
    >>> import asyncio, socket
    >>> async def app(scope, receive, send):
    ...     if scope["type"] != "http":
    ...         return
    ...     headers = [(b"content-length", b"2")]
    ...     await send({"type": "http.response.start", "status": 200, "headers": headers})
    ...     await send({"type": "http.response.body", "body": b"hi"})
    >>> async def main():
    ...     sock = socket.create_server(("127.0.0.1", 0))
    ...     server = FastServer(app)
    ...     await server.start([sock])
    ...     r, w = await asyncio.open_connection(*sock.getsockname())
    ...     w.write(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    ...     head = await r.readuntil(b"\\r\\n\\r\\n")
    ...     body = await r.readexactly(2)
    ...     w.close()
    ...     await server.stop()
    ...     return head.split(b"\\r\\n")[0], body
    >>> asyncio.run(main())
    (b'HTTP/1.1 200 OK', b'hi')
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prodml.serving.rest.connection import ASGIApp, Connection, InferHandler

log = logging.getLogger("prodml.serving")


@dataclass(frozen=True)
class HttpLimits:
    """Limits of the HTTP layer.

    Attributes:
        max_body_bytes: larger request bodies get 413 and the connection closes.
        keep_alive_s: an idle keep-alive connection closes after this long.
        drain_s: on stop, how long in-flight requests may take before connections are cut.
        max_pipelined: parsed requests queued on one connection before it stops reading.
    """

    max_body_bytes: int = 64 * 1024 * 1024
    keep_alive_s: float = 5.0
    drain_s: float = 30.0
    max_pipelined: int = 32


class FastServer:
    """Serves an ASGI app (and optionally a direct ``infer`` handler) on listening sockets.

    ``should_exit = True`` (from any thread) asks it to drain and stop, as with uvicorn.
    """

    def __init__(
        self, app: ASGIApp, *, infer: InferHandler | None = None, limits: HttpLimits | None = None
    ) -> None:
        self.app = app
        self.infer = infer
        self.limits = limits or HttpLimits()
        self.started = False
        self.connections: set[Connection] = set()
        self._servers: list[asyncio.AbstractServer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit: asyncio.Event | None = None
        self._lifespan: _Lifespan | None = None

    @property
    def should_exit(self) -> bool:
        return self._exit is not None and self._exit.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        loop, event = self._loop, self._exit
        if not value or loop is None or event is None or loop.is_closed():
            return
        if _running(loop):
            event.set()
        else:  # from another thread (a test harness, a supervisor)
            loop.call_soon_threadsafe(event.set)

    async def start(self, sockets: list[socket.socket]) -> None:
        """Run the app's lifespan startup, then listen on ``sockets``."""
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        self._lifespan = _Lifespan(self.app)
        await self._lifespan.startup()
        for sock in sockets:
            server = await self._loop.create_server(
                lambda: Connection(self), sock=sock, backlog=2048
            )
            self._servers.append(server)
        self.started = True

    async def wait(self) -> None:
        """Until ``should_exit`` is set."""
        if self._exit is not None:
            await self._exit.wait()

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to ``drain_s``), then shut down."""
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.drain_s
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.connections):
            conn.abort()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        if self._lifespan is not None:
            await self._lifespan.shutdown()
            self._lifespan = None


async def serve_asgi(
    app: ASGIApp,
    sockets: list[socket.socket],
    *,
    infer: InferHandler | None = None,
    limits: HttpLimits | None = None,
    started: Callable[[FastServer], None] | None = None,
) -> None:
    """Serve ``app`` on ``sockets`` until SIGTERM/SIGINT (or ``should_exit``), then drain.

    ``infer(request, model, version)`` answers ``POST .../infer`` directly when given;
    ``started(server)`` is called once the sockets listen.
    """
    server = FastServer(app, infer=infer, limits=limits)
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, setattr, server, "should_exit", True)
                installed.append(sig)
    try:
        await server.start(sockets)
        if started is not None:
            started(server)
        await server.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await server.stop()


class _Lifespan:
    """The ASGI lifespan protocol; an app that does not speak it is served anyway."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._supported = True

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        try:
            await self.app(scope, self._inbox.get, self._replies.put)
        except Exception as exc:
            self._supported = False
            log.debug("the app does not support lifespan: %r", exc)
        finally:
            # Wake anyone waiting for a reply the app will never send.
            self._replies.put_nowait({"type": "lifespan.unsupported"})

    async def startup(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        reply = await self._replies.get()
        if reply["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"application startup failed: {reply.get('message', '')}")

    async def shutdown(self) -> None:
        if self._task is None:
            return
        if self._supported and not self._task.done():
            await self._inbox.put({"type": "lifespan.shutdown"})
            await self._replies.get()
        await asyncio.gather(self._task, return_exceptions=True)


def _running(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


__all__ = ["FastServer", "HttpLimits", "InferHandler", "serve_asgi"]
