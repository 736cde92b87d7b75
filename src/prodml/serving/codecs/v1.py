"""V1 / TF-Serving style JSON: ``{"instances": [...]}`` (rows) or ``{"inputs": ...}`` (columns).

Also the JSON body of SageMaker-style ``/invocations``, which additionally takes a bare list of
rows. Rows are lists (one matrix for the model) or objects keyed by input name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from prodml.errors import InvalidInputError
from prodml.serving.columns import to_columns
from prodml.serving.inference import InferTensor
from prodml.serving.predictor import Array
from prodml.types import Signature


def _array(name: str, data: Any) -> Array:
    try:
        arr = np.array(data)
    except ValueError as exc:
        raise InvalidInputError(f"{name}: ragged or malformed data ({exc})") from None
    if arr.dtype.kind not in "biufUS":
        raise InvalidInputError(f"{name}: values must be numbers, booleans or strings")
    return arr.astype(object) if arr.dtype.kind in "US" else arr


def _tensor(name: str, data: Any) -> InferTensor:
    arr = _array(name, data)
    return InferTensor(name, "", tuple(arr.shape), arr)


def decode_rows(signature: Signature, rows: Any) -> tuple[dict[str, Array], int]:
    """Columns from a list of rows (lists, or objects keyed by input name)."""
    if not isinstance(rows, list) or not rows:
        raise InvalidInputError("'instances' must be a non-empty list of rows")
    if isinstance(rows[0], dict):
        names = signature.input_names
        try:
            inputs = [_tensor(n, [r[n] for r in rows]) for n in names]
        except (KeyError, TypeError):
            raise InvalidInputError(
                f"every instance must be an object with the keys {names}"
            ) from None
        return to_columns(signature, inputs)
    first = signature.inputs[0].name
    return to_columns(signature, [_tensor(first, rows)])


def decode_columns(signature: Signature, inputs: Any) -> tuple[dict[str, Array], int]:
    """Columns from TF-Serving's columnar ``inputs`` (an object by name, or one tensor)."""
    if isinstance(inputs, dict):
        return to_columns(signature, [_tensor(n, v) for n, v in inputs.items()])
    return to_columns(signature, [_tensor(signature.inputs[0].name, inputs)])


def decode(
    signature: Signature, body: bytes, *, bare_rows: bool = False
) -> tuple[dict[str, Array], int, str]:
    """Decode a V1 body; returns columns, rows, and ``instances`` or ``inputs`` (answer style)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"request body is not valid JSON: {exc}") from None
    if bare_rows and isinstance(doc, list):
        return (*decode_rows(signature, doc), "instances")
    if not isinstance(doc, dict) or ("instances" in doc) == ("inputs" in doc):
        raise InvalidInputError("send exactly one of 'instances' (rows) or 'inputs' (columns)")
    if "instances" in doc:
        return (*decode_rows(signature, doc["instances"]), "instances")
    return (*decode_columns(signature, doc["inputs"]), "inputs")


def encode(outputs: dict[str, Array], style: str) -> bytes:
    """``{"predictions": ...}`` for row requests, ``{"outputs": ...}`` for columnar ones."""
    opts = orjson.OPT_SERIALIZE_NUMPY
    safe = {k: (v if v.dtype.kind in "biuf" else v.astype(str)) for k, v in outputs.items()}
    if style == "inputs":
        body = next(iter(safe.values())) if len(safe) == 1 else safe
        return orjson.dumps({"outputs": body}, option=opts)
    if len(safe) == 1:
        return orjson.dumps({"predictions": next(iter(safe.values()))}, option=opts)
    rows = len(next(iter(safe.values())))
    preds = [{k: v[i] for k, v in safe.items()} for i in range(rows)]
    return orjson.dumps({"predictions": preds}, option=opts)
