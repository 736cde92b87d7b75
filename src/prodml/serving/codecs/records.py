"""Named-feature records: ``{"feature": value, ...}`` (or a list of them) in, one prediction
object per record out, for people who do not think in tensors.

Example:
    >>> import numpy as np
    >>> encode_predictions({"probability": np.array([0.9, 0.2]), "label": np.array([1, 0])})
    b'[{"probability":0.9,"label":1},{"probability":0.2,"label":0}]'
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


def decode_records(signature: Signature, body: bytes) -> tuple[dict[str, Array], int, bool]:
    """Columns from records; the flag says whether one record (not a list) arrived."""
    records, single = parse_records(body)
    return (*records_to_columns(signature, records), single)


def parse_records(body: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The record objects of a body; the flag says whether one record (not a list) arrived."""
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"request body is not valid JSON: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("records"), list):
        doc = doc["records"]
    single = isinstance(doc, dict)
    records = [doc] if single else doc
    if (
        not isinstance(records, list)
        or not records
        or not all(isinstance(r, dict) for r in records)
    ):
        raise InvalidInputError("send a record object or a non-empty list of record objects")
    return records, single


def records_to_columns(
    signature: Signature, records: list[dict[str, Any]]
) -> tuple[dict[str, Array], int]:
    """Columns keyed by the signature's inputs, and the row count."""
    inputs = []
    for spec in signature.inputs:
        try:
            values = [r[spec.name] for r in records]
        except KeyError:
            missing = sorted({spec.name} - set().union(*records))
            raise InvalidInputError(
                f"records miss feature {spec.name!r} (missing: {missing}); the model needs "
                f"{signature.input_names}"
            ) from None
        arr = np.array([np.nan if v is None else v for v in values])
        if arr.dtype.kind in "US":
            arr = arr.astype(object)
        inputs.append(InferTensor(spec.name, "", tuple(arr.shape), arr))
    unknown = sorted(set().union(*records) - set(signature.input_names))
    if unknown:
        raise InvalidInputError(f"records have unknown features {unknown}")
    return to_columns(signature, inputs)


def encode_predictions(outputs: dict[str, Array]) -> bytes:
    """One JSON object per row, keyed by output name."""
    lists = {k: v.tolist() for k, v in outputs.items()}
    rows = len(next(iter(lists.values()))) if lists else 0
    return orjson.dumps([{k: v[i] for k, v in lists.items()} for i in range(rows)])
