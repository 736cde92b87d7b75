"""V2 REST codecs: round trips for all 13 datatypes, and the spec's rules."""

from __future__ import annotations

import math
import struct

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from prodml.errors import InvalidInputError
from prodml.serving.codecs import decode_request, encode_response
from prodml.serving.datatypes import DATATYPES, NUMPY_DTYPES
from prodml.serving.inference import InferenceResponse, InferTensor

NUMERIC = [d for d in DATATYPES if d != "BYTES"]


def _arrays(datatype: str) -> st.SearchStrategy[np.ndarray]:
    shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)
    if datatype == "BYTES":
        return shapes.flatmap(
            lambda s: st.lists(
                st.text(max_size=5), min_size=math.prod(s), max_size=math.prod(s)
            ).map(lambda xs: np.array(xs, dtype=object).reshape(s))
        )
    dtype = NUMPY_DTYPES[datatype]
    elements = None
    if dtype.kind == "f":
        # JSON has no NaN/Inf; FP16 values must survive the float round trip.
        width = {2: 16, 4: 32, 8: 64}[dtype.itemsize]
        elements = st.floats(allow_nan=False, allow_infinity=False, width=width)  # type: ignore[arg-type]
    return hnp.arrays(dtype, shapes, elements=elements)


def _json_body(name: str, datatype: str, arr: np.ndarray, nested: bool) -> bytes:
    data = arr.tolist() if nested else arr.reshape(-1).tolist()
    return orjson.dumps(
        {
            "id": "req-1",
            "inputs": [
                {"name": name, "shape": list(arr.shape), "datatype": datatype, "data": data}
            ],
        }
    )


@pytest.mark.parametrize("datatype", DATATYPES)
@settings(max_examples=25, deadline=None)
@given(data=st.data(), nested=st.booleans())
def test_json_request_round_trips_every_datatype(
    datatype: str, data: st.DataObject, nested: bool
) -> None:
    arr = data.draw(_arrays(datatype))
    req = decode_request(_json_body("t", datatype, arr, nested), "m")
    got = req.inputs[0].data
    assert req.id == "req-1"
    assert got.shape == arr.shape
    assert got.dtype == NUMPY_DTYPES[datatype]
    assert got.tolist() == arr.tolist()


@pytest.mark.parametrize("datatype", DATATYPES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_binary_request_and_response_round_trip(datatype: str, data: st.DataObject) -> None:
    arr = data.draw(_arrays(datatype))
    if datatype == "BYTES":
        arr = (
            np.array([s.encode() for s in arr.reshape(-1)], dtype=object).reshape(arr.shape)
            if arr.size
            else arr
        )
    response = InferenceResponse(
        "m", [InferTensor("out", datatype, arr.shape, arr)], binary=frozenset({"out"})
    )
    body, json_length = encode_response(response)
    assert json_length is not None
    header = orjson.loads(body[:json_length])
    size = header["outputs"][0]["parameters"]["binary_data_size"]
    request = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "out",
                    "shape": list(arr.shape),
                    "datatype": datatype,
                    "parameters": {"binary_data_size": size},
                }
            ]
        }
    )
    decoded = decode_request(request + body[json_length:], "m", header_length=len(request))
    assert decoded.inputs[0].data.shape == arr.shape
    assert decoded.inputs[0].data.tolist() == arr.tolist()


@pytest.mark.parametrize("datatype", NUMERIC)
def test_json_response_carries_numbers_for_numeric_outputs(datatype: str) -> None:
    arr = np.arange(6).reshape(2, 3).astype(NUMPY_DTYPES[datatype])
    body, json_length = encode_response(
        InferenceResponse("m", [InferTensor("o", datatype, (2, 3), arr)], "2", "abc")
    )
    doc = orjson.loads(body)
    assert json_length is None
    assert doc["model_name"] == "m" and doc["model_version"] == "2" and doc["id"] == "abc"
    assert doc["outputs"][0]["shape"] == [2, 3]
    assert doc["outputs"][0]["data"] == arr.reshape(-1).tolist()


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"name": "x", "shape": [3], "datatype": "BOOL", "data": [True]}, "holds 3 elements"),
        ({"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3]]}, "ragged"),
        ({"name": "x", "shape": [1], "datatype": "INT8", "data": [300]}, "out of range"),
        ({"name": "x", "shape": [1], "datatype": "INT32", "data": [1.5]}, "cannot hold"),
        ({"name": "x", "shape": [1], "datatype": "FP32", "data": ["1"]}, "cannot hold"),
        ({"name": "x", "shape": [1], "datatype": "BOOL", "data": [1]}, "cannot hold"),
        ({"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}, "unknown datatype"),
        ({"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}, "non-negative"),
        ({"name": "x", "shape": [True], "datatype": "FP32", "data": [1]}, "non-negative"),
        ({"name": "x", "shape": ["1"], "datatype": "FP32", "data": [1]}, "non-negative"),
        ({"name": "x", "shape": 1, "datatype": "FP32", "data": [1]}, "non-negative"),
        (
            {"name": "x", "shape": [1], "datatype": "FP32", "data": [1], "parameters": [1]},
            "input 'x': 'parameters' must be a JSON object",
        ),
        ({"name": "x", "shape": [1], "datatype": "FP32"}, "needs 'data'"),
    ],
)
def test_bad_tensors_are_rejected_with_a_message(tensor: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        decode_request(orjson.dumps({"inputs": [tensor]}), "m")


def test_spec_example_with_inconsistent_shape_is_rejected() -> None:
    # The V2 spec's own example sends shape [3] with one element; a server must refuse it.
    body = b'{"inputs":[{"name":"input1","shape":[3],"datatype":"BOOL","data":[true]}]}'
    with pytest.raises(InvalidInputError):
        decode_request(body, "m")


def test_requested_outputs_and_parameters_are_decoded() -> None:
    body = orjson.dumps(
        {
            "parameters": {"binary_data_output": True, "timeout": 5},
            "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}],
            "outputs": [{"name": "a"}, {"name": "b", "parameters": {"binary_data": False}}],
        }
    )
    req = decode_request(body, "m", "3")
    assert req.model_version == "3"
    assert req.parameters["timeout"] == 5
    assert [(o.name, o.binary) for o in req.outputs or []] == [("a", True), ("b", False)]


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        (b"not json", None, "not valid JSON"),
        (b"[1]", None, "JSON object"),
        (b'{"inputs": []}', None, "non-empty"),
        (
            b'{"id": 5, "inputs": [{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}',
            None,
            "'id' must be a string",
        ),
        (b"{}", 0, "raw binary"),
        (b"{}", 99, "Inference-Header-Content-Length"),
    ],
)
def test_malformed_requests(body: bytes, header: int | None, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        decode_request(body, "m", header_length=header)


def test_binary_sizes_must_add_up() -> None:
    head = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": 8},
                }
            ]
        }
    )
    raw = np.array([1, 2], dtype="<f4").tobytes()
    with pytest.raises(InvalidInputError, match="followed the JSON header"):
        decode_request(head + raw + b"xx", "m", header_length=len(head))
    bad = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [3],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": 8},
                }
            ]
        }
    )
    with pytest.raises(InvalidInputError, match="needs 12 bytes"):
        decode_request(bad + raw, "m", header_length=len(bad))


def test_binary_bytes_elements_are_length_prefixed() -> None:
    raw = struct.pack("<I", 2) + b"hi" + struct.pack("<I", 0)
    head = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "s",
                    "shape": [2],
                    "datatype": "BYTES",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ]
        }
    )
    req = decode_request(head + raw, "m", header_length=len(head))
    assert req.inputs[0].data.tolist() == [b"hi", b""]
    with pytest.raises(InvalidInputError, match="runs past"):
        decode_request(head + raw[:-3] + b"\x09\x00\x00", "m", header_length=len(head))
