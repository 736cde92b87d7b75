"""The V2 gRPC service (``inference.GRPCInferenceService``) over the same DataPlane as REST.

Errors travel as gRPC status codes from ``prodml.serving.status`` (RESOURCE_EXHAUSTED,
UNAVAILABLE, DEADLINE_EXCEEDED, INVALID_ARGUMENT, NOT_FOUND, ...); a ``retry-after`` trailer
carries the back-off for load errors. The client's gRPC deadline becomes the request deadline.
"""

from __future__ import annotations

import math
from typing import Any

import grpc

from prodml.errors import ModelNotFoundError
from prodml.serving.dataplane import DataPlane
from prodml.serving.grpc._generated import inference_pb2 as pb
from prodml.serving.grpc._generated import inference_pb2_grpc as pb_grpc
from prodml.serving.grpc.codec import request_from_pb, response_to_pb
from prodml.serving.inference import RequestContext
from prodml.serving.predictions import new_request_id
from prodml.serving.status import message_of, status_of


async def _abort(context: Any, exc: BaseException) -> None:
    status = status_of(exc)
    if status.retry_after_s is not None:
        context.set_trailing_metadata(
            (("retry-after", str(max(1, math.ceil(status.retry_after_s)))),)
        )
    await context.abort(grpc.StatusCode[status.grpc], message_of(exc))


def _context(context: Any, request_id: str | None, params: dict[str, Any]) -> RequestContext:
    """The request id is the request's ``id``, else ``x-request-id`` metadata, else new."""
    headers = {str(k).lower(): str(v) for k, v in (context.invocation_metadata() or ())}
    rid = request_id or headers.get("x-request-id") or new_request_id()
    return RequestContext(rid, headers, params)


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, dataplane: DataPlane) -> None:
        self.dp = dataplane

    async def ServerLive(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC names
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: Any) -> Any:  # noqa: N802
        return pb.ServerReadyResponse(ready=self.dp.ready)

    async def ModelReady(self, request: Any, context: Any) -> Any:  # noqa: N802
        if request.name not in {e.name for e in self.dp.repository.entries()}:
            await _abort(context, ModelNotFoundError(f"no model named {request.name!r}"))
        return pb.ModelReadyResponse(
            ready=self.dp.repository.is_ready(request.name, request.version or None)
        )

    async def ServerMetadata(self, request: Any, context: Any) -> Any:  # noqa: N802
        return pb.ServerMetadataResponse(**self.dp.server_metadata())

    async def ModelMetadata(self, request: Any, context: Any) -> Any:  # noqa: N802
        try:
            meta = self.dp.model_metadata(request.name, request.version or None)
        except Exception as exc:
            await _abort(context, exc)
        return pb.ModelMetadataResponse(
            name=meta["name"],
            versions=meta["versions"],
            platform=meta["platform"],
            inputs=[pb.ModelMetadataResponse.TensorMetadata(**t) for t in meta["inputs"]],
            outputs=[pb.ModelMetadataResponse.TensorMetadata(**t) for t in meta["outputs"]],
        )

    async def ModelInfer(self, request: Any, context: Any) -> Any:  # noqa: N802
        try:
            decoded = request_from_pb(request)
            remaining = context.time_remaining()
            tracked = None
            if self.dp.tracking:
                tracked = _context(context, decoded.id, decoded.parameters)
                context.set_trailing_metadata((("x-request-id", tracked.request_id),))
            response = await self.dp.infer(
                decoded, protocol="grpc", timeout_s=remaining, context=tracked
            )
        except Exception as exc:
            await _abort(context, exc)
        return response_to_pb(response)

    async def RepositoryIndex(self, request: Any, context: Any) -> Any:  # noqa: N802
        rows = self.dp.repository_index(ready_only=request.ready)
        return pb.RepositoryIndexResponse(
            models=[
                pb.RepositoryIndexResponse.ModelIndex(
                    name=r["name"],
                    version=r.get("version", ""),
                    state=r["state"],
                    reason=r["reason"],
                )
                for r in rows
            ]
        )

    async def RepositoryModelLoad(self, request: Any, context: Any) -> Any:  # noqa: N802
        try:
            await self.dp.load(request.model_name)
        except Exception as exc:
            await _abort(context, exc)
        return pb.RepositoryModelLoadResponse()

    async def RepositoryModelUnload(self, request: Any, context: Any) -> Any:  # noqa: N802
        try:
            await self.dp.unload(request.model_name)
        except Exception as exc:
            await _abort(context, exc)
        return pb.RepositoryModelUnloadResponse()


def build_grpc_server(dataplane: DataPlane, host: str, port: int) -> tuple[Any, int]:
    """An aio gRPC server bound to ``host:port`` (0 = any free port); returns it and its port.

    gRPC sets SO_REUSEPORT by default, so every worker process binds the same port.
    """
    limit = dataplane.config.max_body_bytes
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            ("grpc.so_reuseport", 1),
        ]
    )
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(  # type: ignore[no-untyped-call]
        InferenceServicer(dataplane), server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    return server, bound
