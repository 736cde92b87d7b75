"""Open Inference Protocol V2 REST routes (plus repository, model list, metrics)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from prodml.errors import InvalidInputError, ModelNotFoundError
from prodml.serving.codecs.v2 import decode_request, encode_error, encode_response
from prodml.serving.dataplane import DataPlane
from prodml.serving.metrics import CONTENT_TYPE
from prodml.serving.rest.app import Route, route
from prodml.serving.rest.http import (
    Request,
    Response,
    json_response,
    request_context,
    tracking_headers,
)
from prodml.serving.status import status_of

_OCTETS = b"application/octet-stream"


def _health(ok: bool, what: str) -> Response:
    # Status codes are the normative answer; the body is informative only.
    if ok:
        return Response(200, orjson.dumps({what: True}))
    return Response(503, encode_error(f"server is not {what}"))


class V2Routes:
    """Handlers bound to one DataPlane."""

    def __init__(self, dataplane: DataPlane) -> None:
        self.dp = dataplane

    async def infer(self, request: Request, name: str, version: str | None) -> Response:
        start = time.monotonic()
        metrics = self.dp.metrics
        metrics.enter("rest")
        try:
            header = request.header(b"inference-header-content-length")
            try:
                header_length = None if header is None else int(header)
            except ValueError:
                raise InvalidInputError(
                    f"Inference-Header-Content-Length must be an integer, got {header!r}"
                ) from None
            try:
                decoded = decode_request(request.body, name, version, header_length)
            except Exception as exc:
                self.dp.metrics.request_done(
                    name, "", "rest", status_of(exc).http, time.monotonic() - start
                )
                raise
            if not self.dp.tracking:
                response = await self.dp.infer(decoded, protocol="rest")
                headers = []
            else:  # one coroutine fewer than a tracked helper: this is the logged hot path
                context = request_context(request, decoded.id, decoded.parameters)
                response = await self.dp.infer_tracked(decoded, context, "rest")
                variant = response.parameters.get("variant")
                headers = tracking_headers(context, variant if isinstance(variant, str) else None)
        finally:
            metrics.leave("rest")
        body, json_length = encode_response(response)
        if json_length is None:
            return Response(200, body, headers=headers)
        headers.append((b"inference-header-content-length", str(json_length).encode()))
        return Response(200, body, _OCTETS, headers)

    async def live(self, request: Request) -> Response:
        return _health(True, "live")

    async def ready(self, request: Request) -> Response:
        return _health(self.dp.ready, "ready")

    async def model_ready(self, request: Request) -> Response:
        name, version = request.params["name"], request.params.get("version")
        if name not in {e.name for e in self.dp.repository.entries()}:
            raise ModelNotFoundError(f"no model named {name!r} is served")
        ok = self.dp.repository.is_ready(name, version)
        if ok:
            return Response(200, orjson.dumps({"name": name, "ready": True}))
        return Response(503, encode_error(f"model {name!r} is not ready"))

    async def server_metadata(self, request: Request) -> Response:
        return json_response(self.dp.server_metadata())

    async def model_metadata(self, request: Request) -> Response:
        return json_response(
            self.dp.model_metadata(request.params["name"], request.params.get("version"))
        )

    async def model_list(self, request: Request) -> Response:
        return json_response({"models": [e.name for e in self.dp.repository.entries()]})

    async def repository_index(self, request: Request) -> Response:
        ready_only = False
        if request.body:
            doc: Any = _json(request.body)
            ready_only = bool(doc.get("ready", False)) if isinstance(doc, dict) else False
        return json_response(self.dp.repository_index(ready_only))

    async def repository_load(self, request: Request) -> Response:
        await self.dp.load(request.params["name"])
        return Response(200, b"")

    async def repository_unload(self, request: Request) -> Response:
        await self.dp.unload(request.params["name"])
        return Response(200, b"")

    async def metrics(self, request: Request) -> Response:
        return Response(200, self.dp.metrics.render(), CONTENT_TYPE.encode())

    def routes(self) -> list[Route]:
        m = "/v2/models/{name}"
        v = "/v2/models/{name}/versions/{version}"
        return [
            route("GET", "/v2/health/live", self.live),
            route("GET", "/v2/health/ready", self.ready),
            route("GET", "/v2", self.server_metadata),
            route("GET", "/v2/models", self.model_list),
            route("GET", f"{m}/ready", self.model_ready),
            route("GET", f"{v}/ready", self.model_ready),
            route("GET", m, self.model_metadata),
            route("GET", v, self.model_metadata),
            route("POST", "/v2/repository/index", self.repository_index),
            route("POST", "/v2/repository/models/{name}/load", self.repository_load),
            route("POST", "/v2/repository/models/{name}/unload", self.repository_unload),
            route("GET", "/metrics", self.metrics),
        ]


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"request body is not valid JSON: {exc}") from None
