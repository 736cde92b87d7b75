"""Codecs: turn a protocol's bytes into an ``InferenceRequest`` and a response back into bytes.

One module per wire format. Every decoder goes straight from bytes to numpy (orjson for JSON,
``np.frombuffer`` for binary tensors) and raises ``InvalidInputError`` with a message that says
which tensor was wrong, what arrived and what was expected.
"""

from prodml.serving.codecs.tensors import (
    array_from_bytes,
    array_from_json,
    array_to_bytes,
    array_to_json,
)
from prodml.serving.codecs.v2 import decode_request, encode_error, encode_response

__all__ = [
    "array_from_bytes",
    "array_from_json",
    "array_to_bytes",
    "array_to_json",
    "decode_request",
    "encode_error",
    "encode_response",
]
