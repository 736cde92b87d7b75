"""V2 gRPC messages to and from the transport-free request and response.

Tensor data arrives either in ``raw_input_contents`` (one little-endian buffer per input, the
fast path, and the only one for FP16) or in typed ``contents`` fields. Answers always use
``raw_output_contents``: one buffer per output, no per-element protobuf objects.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from prodml.errors import InvalidInputError
from prodml.serving.codecs.tensors import array_from_bytes, array_to_bytes, check_shape
from prodml.serving.datatypes import NUMPY_DTYPES
from prodml.serving.grpc._generated import inference_pb2 as pb
from prodml.serving.inference import (
    InferenceRequest,
    InferenceResponse,
    InferTensor,
    RequestedOutput,
)

_CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def parameters_from_pb(params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        which = value.WhichOneof("parameter_choice")
        if which is not None:
            out[key] = getattr(value, which)
    return out


def parameters_to_pb(target: Any, params: dict[str, Any]) -> None:
    for key, value in params.items():
        slot = target[key]
        if isinstance(value, bool):
            slot.bool_param = value
        elif isinstance(value, int):
            slot.int64_param = value
        elif isinstance(value, float):
            slot.double_param = value
        else:
            slot.string_param = str(value)


def _from_contents(name: str, datatype: str, shape: tuple[int, ...], contents: Any) -> np.ndarray:
    field = _CONTENTS_FIELD.get(datatype)
    if field is None:
        raise InvalidInputError(f"input {name!r}: {datatype} must be sent in raw_input_contents")
    values = getattr(contents, field)
    if len(values) != math.prod(shape):
        raise InvalidInputError(
            f"input {name!r}: shape {list(shape)} holds {math.prod(shape)} elements "
            f"but {field} has {len(values)}"
        )
    if datatype == "BYTES":
        arr = np.empty(len(values), dtype=object)
        arr[:] = list(values)
        return arr.reshape(shape)
    target = NUMPY_DTYPES[datatype]
    wide = np.array(values, dtype=np.int64 if target.kind == "i" else None)
    if target.kind in "iu" and wide.size:
        info = np.iinfo(target)  # type: ignore[type-var]
        if int(wide.min()) < info.min or int(wide.max()) > info.max:
            raise InvalidInputError(f"input {name!r}: values out of range for {datatype}")
    return wide.astype(target).reshape(shape)


def request_from_pb(msg: Any) -> InferenceRequest:
    raw = msg.raw_input_contents
    if raw and len(raw) != len(msg.inputs):
        raise InvalidInputError(
            f"raw_input_contents has {len(raw)} entries for {len(msg.inputs)} inputs"
        )
    if not msg.inputs:
        raise InvalidInputError("request needs at least one input")
    inputs = []
    for i, tensor in enumerate(msg.inputs):
        name, datatype = tensor.name, tensor.datatype
        if datatype not in NUMPY_DTYPES:
            raise InvalidInputError(f"input {name!r}: unknown datatype {datatype!r}")
        shape = check_shape(name, list(tensor.shape))
        if raw:
            if tensor.HasField("contents"):
                raise InvalidInputError(
                    f"input {name!r}: typed contents and raw_input_contents cannot be mixed"
                )
            data = array_from_bytes(name, datatype, shape, raw[i])
        else:
            data = _from_contents(name, datatype, shape, tensor.contents)
        inputs.append(
            InferTensor(name, datatype, shape, data, parameters_from_pb(tensor.parameters))
        )
    outputs = [
        RequestedOutput(o.name, True, parameters_from_pb(o.parameters)) for o in msg.outputs
    ] or None
    return InferenceRequest(
        model_name=msg.model_name,
        model_version=msg.model_version or None,
        inputs=inputs,
        id=msg.id or None,
        parameters=parameters_from_pb(msg.parameters),
        outputs=outputs,
    )


def response_to_pb(response: InferenceResponse) -> Any:
    msg = pb.ModelInferResponse(
        model_name=response.model_name,
        model_version=response.model_version or "",
        id=response.id or "",
    )
    parameters_to_pb(msg.parameters, response.parameters)
    for out in response.outputs:
        tensor = msg.outputs.add(name=out.name, datatype=out.datatype, shape=list(out.shape))
        parameters_to_pb(tensor.parameters, out.parameters)
        msg.raw_output_contents.append(array_to_bytes(out.data, out.datatype))
    return msg
