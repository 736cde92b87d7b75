"""Open Inference Protocol V2 over REST: JSON bodies plus the binary tensor extension.

A binary request is the JSON header followed by raw tensors in input order; the
``Inference-Header-Content-Length`` HTTP header says where the JSON ends, and each binary input
carries ``parameters.binary_data_size``. Binary outputs are asked for per output
(``parameters.binary_data: true``) or for all (``parameters.binary_data_output: true``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from prodml.errors import InvalidInputError
from prodml.serving.codecs.tensors import (
    array_from_bytes,
    array_from_json,
    array_to_bytes,
    array_to_json,
    check_shape,
)
from prodml.serving.datatypes import NUMPY_DTYPES
from prodml.serving.inference import (
    InferenceRequest,
    InferenceResponse,
    InferTensor,
    RequestedOutput,
)

_DUMPS_OPTS = orjson.OPT_SERIALIZE_NUMPY


def _loads(body: bytes | memoryview) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"request body is not valid JSON: {exc}") from None


def _parameters(value: Any, where: str | Callable[[], str]) -> dict[str, Any]:
    # ``where`` may be a callable so the hot path does not format a message it never shows.
    if value is None:
        return {}
    if not isinstance(value, dict):
        place = where if isinstance(where, str) else where()
        raise InvalidInputError(f"{place}: 'parameters' must be a JSON object, got {value!r}")
    return value


def decode_request(
    body: bytes,
    model_name: str,
    model_version: str | None = None,
    header_length: int | None = None,
) -> InferenceRequest:
    """Decode a V2 REST inference request (JSON, or JSON header + binary tensors).

    Example:
        >>> req = decode_request(b'{"id": "7", "inputs": [{"name": "x", "shape": [2],'
        ...                      b' "datatype": "INT32", "data": [1, 2]}]}', "m")
        >>> req.id, req.inputs[0].data.tolist()
        ('7', [1, 2])
    """
    if header_length is not None:
        if header_length == 0:
            raise InvalidInputError(
                "raw binary requests (Inference-Header-Content-Length: 0) are not supported; "
                "send a JSON header with binary_data_size on each input"
            )
        if header_length < 0 or header_length > len(body):
            raise InvalidInputError(
                f"Inference-Header-Content-Length is {header_length} but the body has "
                f"{len(body)} bytes"
            )
        view = memoryview(body)
        doc = _loads(view[:header_length])
        blob: memoryview | None = view[header_length:]
    else:
        doc = _loads(body)
        blob = None
    if not isinstance(doc, dict):
        raise InvalidInputError("request body must be a JSON object with 'inputs'")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidInputError("request needs 'inputs': a non-empty list of tensors")
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInputError(f"'id' must be a string, got {request_id!r}")
    params = _parameters(doc.get("parameters"), "request")
    inputs: list[InferTensor] = []
    offset = 0
    for raw in raw_inputs:
        tensor, used = _decode_input(raw, blob, offset)
        offset += used
        inputs.append(tensor)
    if blob is not None and offset != len(blob):
        raise InvalidInputError(
            f"binary tensors use {offset} bytes but {len(blob)} followed the JSON header"
        )
    binary_default = bool(params.get("binary_data_output", False))
    return InferenceRequest(
        model_name=model_name,
        model_version=model_version,
        inputs=inputs,
        id=request_id,
        parameters=params,
        outputs=_decode_outputs(doc.get("outputs"), binary_default),
        binary_outputs=binary_default,
    )


def _decode_input(raw: Any, blob: memoryview | None, offset: int) -> tuple[InferTensor, int]:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"each input must be a JSON object, got {raw!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInputError("each input needs a non-empty string 'name'")
    datatype = raw.get("datatype")
    if datatype not in NUMPY_DTYPES:
        raise InvalidInputError(
            f"input {name!r}: unknown datatype {datatype!r}; use one of {', '.join(NUMPY_DTYPES)}"
        )
    shape = check_shape(name, raw.get("shape"))
    params = _parameters(raw.get("parameters"), lambda: f"input {name!r}")
    size = params.get("binary_data_size")
    if size is not None:
        if blob is None:
            raise InvalidInputError(
                f"input {name!r}: binary_data_size given but the request has no "
                "Inference-Header-Content-Length header"
            )
        if not isinstance(size, int) or size < 0 or offset + size > len(blob):
            raise InvalidInputError(
                f"input {name!r}: binary_data_size {size!r} does not fit the "
                f"{len(blob) - offset} remaining body bytes"
            )
        data = array_from_bytes(name, datatype, shape, blob[offset : offset + size])
        return InferTensor(name, datatype, shape, data, params), size
    if "data" not in raw:
        raise InvalidInputError(f"input {name!r}: needs 'data' (or binary_data_size)")
    return InferTensor(
        name, datatype, shape, array_from_json(name, datatype, shape, raw["data"]), params
    ), 0


def _decode_outputs(raw: Any, binary_default: bool) -> list[RequestedOutput] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidInputError("'outputs' must be a list of {\"name\": ...} objects")
    outputs = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInputError(f"each requested output needs a string 'name', got {item!r}")
        params = _parameters(item.get("parameters"), f"output {item['name']!r}")
        binary = bool(params.get("binary_data", binary_default))
        outputs.append(RequestedOutput(item["name"], binary, params))
    return outputs


def encode_response(response: InferenceResponse) -> tuple[bytes, int | None]:
    """Encode a response; returns the body and, when outputs went binary, the JSON length."""
    outputs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for out in response.outputs:
        doc: dict[str, Any] = {"name": out.name, "datatype": out.datatype, "shape": out.shape}
        if out.name in response.binary:
            raw = array_to_bytes(out.data, out.datatype)
            blobs.append(raw)
            doc["parameters"] = {**out.parameters, "binary_data_size": len(raw)}
        else:
            if out.parameters:
                doc["parameters"] = out.parameters
            doc["data"] = array_to_json(out.data)
        outputs.append(doc)
    head: dict[str, Any] = {"model_name": response.model_name}
    if response.model_version is not None:
        head["model_version"] = response.model_version
    if response.id is not None:
        head["id"] = response.id
    if response.parameters:
        head["parameters"] = response.parameters
    head["outputs"] = outputs
    header = orjson.dumps(head, option=_DUMPS_OPTS)
    if not blobs:
        return header, None
    return b"".join([header, *blobs]), len(header)


def encode_error(message: str) -> bytes:
    """The V2 error body: ``{"error": "..."}``."""
    return orjson.dumps({"error": message})
