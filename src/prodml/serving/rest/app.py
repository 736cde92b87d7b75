"""The REST app: a raw ASGI callable with a fast path for V2 ``infer`` and a small router.

Every error a handler raises becomes ``{"error": "..."}`` with the status from
``prodml.serving.status`` (plus ``Retry-After`` for 429/503 from load).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prodml.serving.codecs.v2 import encode_error
from prodml.serving.dataplane import DataPlane
from prodml.serving.rest.http import (
    ClientGone,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    read_body,
    send_response,
)
from prodml.serving.status import message_of, status_of

log = logging.getLogger("prodml.serving")

Handler = Callable[[Request], Awaitable[Response]]
Hook = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, template: str, handler: Handler) -> Route:
    """A route from a template like ``/v2/models/{name}/ready`` (segments are ``[^/]+``)."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/:]+)", template)
    return Route(method, re.compile(f"^{regex}$"), handler)


def error_response(exc: BaseException) -> Response:
    status = status_of(exc)
    if status.http == 500:
        log.error("request failed: %s", message_of(exc), exc_info=exc)
    headers = []
    if status.retry_after_s is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(status.retry_after_s))).encode()))
    return Response(status.http, encode_error(message_of(exc)), headers=headers)


class RestApp:
    """ASGI app serving one DataPlane; lifespan starts model loading in the background."""

    def __init__(
        self,
        dataplane: DataPlane,
        routes: list[Route],
        infer: Callable[[Request, str, str | None], Awaitable[Response]],
        *,
        on_startup: list[Hook] | None = None,
        on_shutdown: list[Hook] | None = None,
    ) -> None:
        self.dataplane = dataplane
        self.routes = routes
        self.infer = infer
        """The V2 infer handler: the fast HTTP server calls it directly, skipping ASGI."""
        self._limit = dataplane.config.max_body_bytes
        self._on_startup = on_startup or []
        self._on_shutdown = on_shutdown or []
        self._loading: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        try:
            body = (
                b"" if method in ("GET", "HEAD") else await read_body(receive, headers, self._limit)
            )
            request = Request(method, path, headers, body, query=scope.get("query_string", b""))
            # Fast path: V2 infer skips the router (it is most of the traffic).
            if method == "POST" and path.startswith("/v2/models/") and path.endswith("/infer"):
                name, _, version = path[11:-6].partition("/versions/")
                response = await self.infer(request, name, version or None)
            else:
                response = await self._route(request)
        except ClientGone:
            return
        except Exception as exc:
            response = error_response(exc)
        await send_response(send, response)

    async def _route(self, request: Request) -> Response:
        allowed = False
        for r in self.routes:
            match = r.pattern.match(request.path)
            if match is None:
                continue
            if r.method != request.method and not (r.method == "GET" and request.method == "HEAD"):
                allowed = True
                continue
            request.params = match.groupdict()
            return await r.handler(request)
        if allowed:
            return Response(405, encode_error(f"{request.method} is not allowed on {request.path}"))
        return Response(404, encode_error(f"no route {request.method} {request.path}"))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for hook in self._on_startup:
                        await hook()
                    # Load in the background: liveness answers while a slow model loads.
                    self._loading = asyncio.get_running_loop().create_task(self.dataplane.start())
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._loading is not None and not self._loading.done():
                    self._loading.cancel()
                await self.dataplane.stop()
                for hook in self._on_shutdown:
                    await hook()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def wait_loaded(self) -> None:
        """Wait for the background model loading (tests and the in-process server use this)."""
        if self._loading is not None:
            await asyncio.shield(self._loading)
