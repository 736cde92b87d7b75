"""One client connection of the lean HTTP server: parsing, ordering, and answering requests.

``Connection`` is the asyncio ``Protocol``: httptools parses bytes into ``Exchange``s, which are
answered strictly in arrival order, one at a time, either by the direct ``infer`` handler or
through the ASGI app (``_AsgiCycle``). See ``prodml.serving.rest.fastserver`` for why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

import httptools

from prodml.serving.codecs.v2 import encode_error
from prodml.serving.rest.app import error_response
from prodml.serving.rest.http import JSON, Request, Response

log = logging.getLogger("prodml.serving")

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
InferHandler = Callable[[Any, str, str | None], Awaitable[Response]]

if TYPE_CHECKING:
    from prodml.serving.rest.fastserver import FastServer


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_OK_JSON = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
_STATUS = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}


def _status_line(status: int) -> bytes:
    return _STATUS.get(status) or f"HTTP/1.1 {status} Unknown\r\n".encode()


class _Clock:
    """The ``date`` header, formatted at most once a second."""

    second = -1
    line = b""

    @classmethod
    def date(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            from email.utils import formatdate

            cls.second, cls.line = now, f"date: {formatdate(now, usegmt=True)}\r\n".encode()
        return cls.line


class Exchange:
    """One parsed request (or a refusal to send in its place, ``error``)."""

    __slots__ = (
        "body",
        "error",
        "headers",
        "http10",
        "keep_alive",
        "method",
        "path",
        "query",
        "raw_path",
    )

    def __init__(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        keep_alive: bool,
        http10: bool,
        error: Response | None = None,
    ) -> None:
        self.method = method
        self.raw_path = raw_path
        path = raw_path.decode("latin-1")
        self.path = unquote(path) if "%" in path else path
        self.query = query
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        self.http10 = http10
        self.error = error


class Connection(asyncio.Protocol):
    """One client connection: parses requests and answers them one at a time, in order."""

    def __init__(self, server: FastServer) -> None:
        self.server = server
        self.limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Exchange] = deque()
        self.busy = False  # an exchange is being answered
        self.closing = False  # answer what is queued, then close
        self.failed = False  # a 400/413 is queued: read nothing more
        self.gone: asyncio.Future[None] = self.loop.create_future()
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._paused_reading = False
        self._writable: asyncio.Future[None] | None = None

    # -- transport events ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)
        self._last = self.loop.time()
        self._timer = self.loop.call_later(self.limits.keep_alive_s, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.queue.clear()
        if not self.gone.done():
            self.gone.set_result(None)
        if self._timer is not None:
            self._timer.cancel()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.failed:
            return
        self._last = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            if not self.failed:  # else a callback refused the request (413) and said why
                self._fail(400, f"malformed HTTP request: {exc}")

    def pause_writing(self) -> None:
        self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def _check_idle(self) -> None:
        # One timer per connection, re-armed lazily: cheaper than a new timer per request.
        idle_for = self.loop.time() - self._last
        if not self.busy and idle_for >= self.limits.keep_alive_s and self.transport is not None:
            self.transport.close()
            return
        wait = self.limits.keep_alive_s - idle_for if not self.busy else self.limits.keep_alive_s
        self._timer = self.loop.call_later(max(wait, 0.05), self._check_idle)

    def shutdown(self) -> None:
        """Finish the requests already received, then close."""
        self.closing = True
        if not self.busy and self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # -- parser callbacks ------------------------------------------------------------------
    # No on_message_begin / on_headers_complete: each callback from the parser is a Python call,
    # so the per-message state is reset in on_message_complete and the header checks are made
    # as each header arrives (about a third of the parsing cost of a one-row request).
    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.lower()
        self._headers.append((key, value))
        if key == b"content-length":
            limit = self.limits.max_body_bytes
            if value.isdigit() and int(value) > limit:
                self._fail(
                    413, f"request body of {int(value)} bytes is over the {limit}-byte limit"
                )
                raise _Refused
        elif key == b"expect" and value.lower() == b"100-continue" and self.transport:
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self.limits.max_body_bytes:
            self._fail(413, f"request body is over the {self.limits.max_body_bytes}-byte limit")
            raise _Refused
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser, url = self.parser, self._url
        if url[:1] == b"/":  # origin form, nearly every request: cheaper than parse_url
            path, _, query = url.partition(b"?")
        else:
            parsed = httptools.parse_url(url)
            path, query = parsed.path or b"/", parsed.query or b""
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        exchange = Exchange(
            parser.get_method().decode("ascii"),
            path,
            query,
            self._headers,
            body,
            parser.should_keep_alive(),
            parser.get_http_version() == "1.0",
        )
        self._url, self._headers, self._body, self._size = b"", [], [], 0
        self._enqueue(exchange)

    def _fail(self, status: int, message: str) -> None:
        self.failed = True
        error = Response(status, encode_error(message))
        self._enqueue(Exchange("GET", b"/", b"", [], b"", False, False, error))
        if self.transport is not None:
            self.transport.pause_reading()

    # -- answering -------------------------------------------------------------------------
    def _enqueue(self, exchange: Exchange) -> None:
        if self.busy:
            self.queue.append(exchange)
            if len(self.queue) >= self.limits.max_pipelined and self.transport is not None:
                self._paused_reading = True
                self.transport.pause_reading()
            return
        self.busy = True
        self.loop.create_task(self._answer(exchange))

    async def _answer(self, exchange: Exchange) -> None:
        while True:
            try:
                if exchange.error is not None:
                    self.write(exchange, exchange.error)
                elif self.server.infer is not None and _is_infer(exchange):
                    await self._infer(exchange, self.server.infer)
                else:
                    await _AsgiCycle(self, exchange).run(self.server.app)
            except Exception:
                log.exception("answering %s %s failed", exchange.method, exchange.path)
                self.abort()
            if self._writable is not None:
                await self._writable
            if not self.queue or self.transport is None or self.transport.is_closing():
                break
            exchange = self.queue.popleft()
            if self._paused_reading and self.transport is not None:
                self._paused_reading = False
                self.transport.resume_reading()
        self.busy = False
        self._last = self.loop.time()

    async def _infer(self, exchange: Exchange, infer: InferHandler) -> None:
        # The same semantics as RestApp's own infer fast path, minus the ASGI dicts.
        path = exchange.path
        name, _, version = path[11:-6].partition("/versions/")
        request = Request(
            exchange.method, path, exchange.headers, exchange.body, query=exchange.query
        )
        try:
            response = await infer(request, name, version or None)
        except Exception as exc:
            response = error_response(exc)
        self.write(exchange, response)

    def write(self, exchange: Exchange, response: Response, head_only: bool = False) -> None:
        """Send one complete response (``Connection: close`` and close when it is the last)."""
        if self.transport is None or self.transport.is_closing():
            return
        close = not exchange.keep_alive or (self.closing and not self.queue)
        body = response.body
        if response.status == 200 and response.content_type == JSON:
            head = [_OK_JSON, b"%d\r\n" % len(body)]
        else:
            head = [
                _status_line(response.status),
                b"content-type: %s\r\ncontent-length: %d\r\n" % (response.content_type, len(body)),
            ]
        for key, value in response.headers:
            head.append(b"%s: %s\r\n" % (key, value))
        if close:
            head.append(b"connection: close\r\n")
        elif exchange.http10:
            head.append(b"connection: keep-alive\r\n")
        head += (_Clock.date(), b"\r\n", b"" if head_only else body)
        self.transport.write(b"".join(head))
        if close:
            self.transport.close()


class _AsgiCycle:
    """One request through the ASGI app: the scope, ``receive`` and ``send``."""

    __slots__ = (
        "_pending_head",
        "chunked",
        "close",
        "conn",
        "done",
        "exchange",
        "started",
        "status",
    )

    def __init__(self, conn: Connection, exchange: Exchange) -> None:
        self.conn = conn
        self.exchange = exchange
        self.started = False
        self.done = False
        self.chunked = False
        self.close = False
        self.status = 0
        self._pending_head = b""

    async def run(self, app: ASGIApp) -> None:
        ex, transport = self.exchange, self.conn.transport
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.0" if ex.http10 else "1.1",
            "server": transport.get_extra_info("sockname") if transport else None,
            "client": transport.get_extra_info("peername") if transport else None,
            "scheme": "http",
            "method": ex.method,
            "root_path": "",
            "path": ex.path,
            "raw_path": ex.raw_path,
            "query_string": ex.query,
            "headers": ex.headers,
        }
        try:
            await app(scope, self.receive, self.send)
        except Exception:
            log.exception("the app failed on %s %s", ex.method, ex.path)
            if not self.started:
                self.conn.write(ex, Response(500, encode_error("internal server error")))
            else:
                self.conn.abort()
            return
        if not self.started:
            self.conn.write(ex, Response(500, encode_error("the app sent no response")))
        elif not self.done:
            self.conn.abort()  # a response cut short cannot be framed

    async def receive(self) -> dict[str, Any]:
        if not self.started and self.exchange.body is not None:
            body, self.exchange.body = self.exchange.body, None  # type: ignore[assignment]
            return {"type": "http.request", "body": body, "more_body": False}
        await self.conn.gone
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self._start(int(message["status"]), message.get("headers", []))
        elif message["type"] == "http.response.body" and not self.done:
            await self._body(message.get("body", b""), bool(message.get("more_body", False)))

    def _start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        conn, ex = self.conn, self.exchange
        self.status, self.started = status, True
        self.close = not ex.keep_alive or (conn.closing and not conn.queue)
        parts = [_status_line(status)]
        framed = False
        for name, value in headers:
            key = name.lower()
            framed = framed or key == b"content-length"
            if key == b"connection" and value.lower() == b"close":
                self.close = True
                continue
            parts += (key, b": ", value, b"\r\n")
        if not framed and status >= 200 and status not in (204, 304):
            if ex.http10:
                self.close = True  # the end of the body is the end of the connection
            else:
                self.chunked = True
                parts.append(b"transfer-encoding: chunked\r\n")
        if self.close:
            parts.append(b"connection: close\r\n")
        elif ex.http10:
            parts.append(b"connection: keep-alive\r\n")
        parts += (_Clock.date(), b"\r\n")
        self._pending_head = b"".join(parts)

    async def _body(self, body: bytes, more: bool) -> None:
        conn, transport = self.conn, self.conn.transport
        if self.exchange.method == "HEAD":
            body = b""
        if self.chunked:
            body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + (
                b"" if more else b"0\r\n\r\n"
            )
        head, self._pending_head = self._pending_head, b""
        if transport is not None and not transport.is_closing():
            transport.write(head + body)
            if conn._writable is not None:
                await conn._writable
        if not more:
            self.done = True
            if self.close and transport is not None:
                transport.close()


class _Refused(Exception):  # noqa: N818 - control flow out of a parser callback
    """Raised in a parser callback to stop parsing a refused request."""


def _is_infer(exchange: Exchange) -> bool:
    path = exchange.path
    return exchange.method == "POST" and path.startswith("/v2/models/") and path.endswith("/infer")
