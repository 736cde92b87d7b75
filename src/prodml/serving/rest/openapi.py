"""The OpenAPI 3 description of the REST API, and a self-contained HTML page that browses it."""

from __future__ import annotations

import html
from typing import Any

import orjson

from prodml.serving.rest.app import Route, route
from prodml.serving.rest.http import Request, Response

_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {
            "type": "string",
            "enum": [
                "BOOL",
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "INT8",
                "INT16",
                "INT32",
                "INT64",
                "FP16",
                "FP32",
                "FP64",
                "BYTES",
            ],
        },
        "parameters": {"$ref": "#/components/schemas/Parameters"},
        "data": {"type": "array", "items": {}},
    },
}
_SCHEMAS: dict[str, Any] = {
    "Parameters": {
        "type": "object",
        "additionalProperties": {
            "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]
        },
    },
    "Tensor": _TENSOR,
    "InferenceRequest": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "parameters": {"$ref": "#/components/schemas/Parameters"},
            "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}},
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                },
            },
        },
    },
    "InferenceResponse": {
        "type": "object",
        "required": ["model_name", "outputs"],
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}},
        },
    },
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
}
_ERRORS = {
    "400": "bad input",
    "404": "unknown model or version",
    "413": "body too large",
    "429": "over the concurrency cap (Retry-After)",
    "500": "the model failed",
    "503": "not ready, or shedding load (Retry-After)",
    "504": "past the request deadline",
}


def _op(
    summary: str, request: str | None = None, response: str | None = None, errors: bool = True
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": {"description": "OK"}}}
    if request:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}
            },
        }
    if response:
        op["responses"]["200"]["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{response}"}}
        }
    if errors:
        for code, text in _ERRORS.items():
            op["responses"][code] = {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
    return op


def openapi_document() -> dict[str, Any]:
    """The OpenAPI description served at ``/openapi.json``."""
    paths: dict[str, Any] = {
        "/v2/health/live": {"get": _op("Server live (200 = live)", errors=False)},
        "/v2/health/ready": {
            "get": _op("Server ready: every model loaded and warmed", errors=False)
        },
        "/v2": {"get": _op("Server metadata")},
        "/v2/models": {"get": _op("Names of served models")},
        "/v2/models/{name}": {"get": _op("Model metadata")},
        "/v2/models/{name}/versions/{version}": {"get": _op("Model metadata of one version")},
        "/v2/models/{name}/ready": {"get": _op("Model ready (200 = ready)")},
        "/v2/models/{name}/versions/{version}/ready": {"get": _op("Model version ready")},
        "/v2/models/{name}/infer": {
            "post": _op(
                "Inference (JSON, or JSON header + binary tensors with "
                "Inference-Header-Content-Length)",
                "InferenceRequest",
                "InferenceResponse",
            )
        },
        "/v2/models/{name}/versions/{version}/infer": {
            "post": _op("Inference on one version", "InferenceRequest", "InferenceResponse")
        },
        "/v2/repository/index": {"post": _op("Models and their states")},
        "/v2/repository/models/{name}/load": {
            "post": _op(
                "Load (or reload) a configured model beside the current version, then switch"
            )
        },
        "/v2/repository/models/{name}/unload": {"post": _op("Unload after draining")},
        "/v1/models/{name}:predict": {
            "post": _op('V1 / TF-Serving predict: {"instances": rows} or {"inputs": columns}')
        },
        "/ping": {"get": _op("SageMaker health", errors=False)},
        "/invocations": {"post": _op("SageMaker invocation (application/json or text/csv)")},
        "/predict/{name}": {
            "post": _op(
                "Named features: a record {feature: value} or a list of them; one prediction "
                "object per record"
            )
        },
        "/metrics": {"get": _op("Prometheus metrics", errors=False)},
    }
    for path, item in paths.items():
        names = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        for p in ("{name}:predict",):
            if p in path:
                names = ["name"]
        for op in item.values():
            op["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in names
            ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "prodml serving",
            "version": "2.0",
            "description": "Open Inference Protocol V2 plus V1, SageMaker and records.",
        },
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }


def docs_page(doc: dict[str, Any]) -> str:
    """A browsable page listing every operation, with no external scripts."""
    rows = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = ", ".join(sorted(op["responses"]))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}"
                f"</code></td><td>{html.escape(op['summary'])}</td><td>{codes}</td></tr>"
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>prodml serving API</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;"
        "border-bottom:1px solid #ddd;text-align:left}</style></head><body>"
        "<h1>prodml serving API</h1><p>Machine-readable: <a href='/openapi.json'>"
        '/openapi.json</a>. Errors are <code>{"error": "..."}</code>.</p>'
        "<table><tr><th>Method</th><th>Path</th><th>What</th><th>Statuses</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )


class DocsRoutes:
    def __init__(self) -> None:
        doc = openapi_document()
        self._json = orjson.dumps(doc)
        self._html = docs_page(doc).encode()

    async def openapi(self, request: Request) -> Response:
        return Response(200, self._json)

    async def docs(self, request: Request) -> Response:
        return Response(200, self._html, b"text/html; charset=utf-8")

    def routes(self) -> list[Route]:
        return [
            route("GET", "/openapi.json", self.openapi),
            route("GET", "/docs", self.docs),
            route("GET", "/v2/docs", self.docs),
        ]
