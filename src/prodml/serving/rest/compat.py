"""Routes for clients that do not speak V2: V1/TF-Serving, SageMaker, and named-feature records."""

from __future__ import annotations

from prodml.errors import InvalidInputError, ModelNotFoundError
from prodml.serving.codecs import csv, records, v1
from prodml.serving.columns import to_columns
from prodml.serving.dataplane import DataPlane
from prodml.serving.endpoints import Target
from prodml.serving.inference import InferTensor, RequestContext
from prodml.serving.rest.app import Route, route
from prodml.serving.rest.http import Request, Response, request_context, tracking_headers

_CSV = b"text/csv"


class CompatRoutes:
    def __init__(self, dataplane: DataPlane) -> None:
        self.dp = dataplane

    def _context(self, request: Request) -> RequestContext | None:
        return request_context(request) if self.dp.tracking else None

    def _headers(self, context: RequestContext | None, target: Target) -> list[tuple[bytes, bytes]]:
        if context is None:
            return []
        assignment = target.assignment
        return tracking_headers(context, None if assignment is None else assignment.variant)

    async def v1_predict(self, request: Request) -> Response:
        name, version = request.params["name"], request.params.get("version")
        context = self._context(request)
        target = await self.dp.target(name, version, context)
        columns, _, style = v1.decode(target.served.model.signature, request.body)
        outputs = await self.dp.predict(target, columns, protocol="v1", context=context)
        return Response(200, v1.encode(outputs, style), headers=self._headers(context, target))

    def _sagemaker_model(self, request: Request) -> str:
        target = request.header(b"x-amzn-sagemaker-target-model")
        if target is not None:
            return target.decode()
        names = [e.name for e in self.dp.repository.entries()]
        if len(names) != 1:
            raise ModelNotFoundError(
                f"this server serves {len(names)} models; name one with the "
                "X-Amzn-SageMaker-Target-Model header"
            )
        return names[0]

    async def ping(self, request: Request) -> Response:
        if self.dp.ready:
            return Response(200, b"")
        return Response(503, b"")

    async def invocations(self, request: Request) -> Response:
        name = self._sagemaker_model(request)
        context = self._context(request)
        target = await self.dp.target(name, None, context)
        served = target.served
        content_type = (request.header(b"content-type") or b"application/json").split(b";")[0]
        sig = served.model.signature
        if content_type == _CSV:
            matrix = csv.decode_matrix(request.body)
            columns, _ = to_columns(
                sig, [InferTensor(sig.inputs[0].name, "FP64", matrix.shape, matrix)]
            )
            style = "instances"
        elif content_type == b"application/json":
            columns, _, style = v1.decode(sig, request.body, bare_rows=True)
        else:
            raise InvalidInputError(
                f"unsupported Content-Type {content_type.decode()!r}; "
                "send application/json or text/csv"
            )
        outputs = await self.dp.predict(target, columns, protocol="sagemaker", context=context)
        headers = self._headers(context, target)
        accept = request.header(b"accept") or b""
        if accept.startswith(_CSV):
            body = csv.encode_column(next(iter(outputs.values())))
            return Response(200, body, _CSV, headers=headers)
        return Response(200, v1.encode(outputs, style), headers=headers)

    async def predict_records(self, request: Request) -> Response:
        name = request.params["name"]
        context = self._context(request)
        rows, single = records.parse_records(request.body)
        target = await self.dp.target(name, None, context, lambda: rows[0])
        served = target.served
        if served.features is None:
            columns, _ = records.records_to_columns(served.model.signature, rows)
            outputs = await self.dp.predict(target, columns, protocol="records", context=context)
        else:
            outputs = await self.dp.predict(
                target, None, rows=rows, protocol="records", context=context
            )
        body = records.encode_predictions(outputs)
        if single:
            body = body[1:-1]  # one record in, one object out
        headers = [(b"x-model-version", served.version.encode()), *self._headers(context, target)]
        return Response(200, body, headers=headers)

    def routes(self) -> list[Route]:
        return [
            route("POST", "/v1/models/{name}:predict", self.v1_predict),
            route("POST", "/v1/models/{name}/versions/{version}:predict", self.v1_predict),
            route("GET", "/ping", self.ping),
            route("POST", "/invocations", self.invocations),
            route("POST", "/predict/{name}", self.predict_records),
        ]
