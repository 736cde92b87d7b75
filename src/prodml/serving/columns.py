"""Protocol tensors to model columns: matching names, shapes and dtypes to the signature.

Two layouts are accepted:

- **by name**: one tensor per signature input, cast to the input's dtype when the cast is safe
  (ints to floats yes, floats to ints no); a ``(-1,)`` input also takes an ``(n, 1)`` tensor;
- **one matrix**: a single 2-D tensor ``(rows, k)`` for a signature of ``k`` one-value-per-row
  inputs, split by position (what V1 ``instances``, SageMaker CSV and most V2 clients send).

These are the structural checks batching needs (every request's columns must concatenate);
value checks stay with the runtime's ``predict_columns(validate=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from prodml.errors import InvalidInputError
from prodml.serving.inference import InferTensor
from prodml.serving.predictor import Array
from prodml.types import Signature, TensorSpec


def _cast(spec: TensorSpec, name: str, data: Array) -> Array:
    if spec.dtype == "string":
        if data.dtype.kind not in "OUS":
            raise InvalidInputError(f"input {name!r}: expected strings (BYTES), got {data.dtype}")
        return data if data.dtype == object else data.astype(object)
    target = np.dtype(spec.dtype)
    if data.dtype == target:
        return data
    if data.dtype.kind in "OUS" or not np.can_cast(data.dtype, target, "same_kind"):
        raise InvalidInputError(
            f"input {name!r}: cannot use {data.dtype} data for a {spec.dtype} input"
        )
    return data.astype(target)


def _fit_shape(spec: TensorSpec, name: str, data: Array) -> Array:
    want = spec.shape[1:]
    got = data.shape[1:]
    if want == got:
        return data
    if data.ndim == 0:
        data, got = data.reshape(1), ()
    if not want and got == (1,):
        return data.reshape(-1)
    if len(want) != len(got) or any(w not in (-1, g) for w, g in zip(want, got, strict=True)):
        raise InvalidInputError(
            f"input {name!r}: expected shape {[-1, *want]}, got {list(data.shape)}"
        )
    return data


def to_columns(signature: Signature, inputs: Sequence[InferTensor]) -> tuple[dict[str, Array], int]:
    """Columns keyed by signature input name, and the row count."""
    specs = signature.inputs
    by_name = {t.name: t for t in inputs}
    if len(by_name) != len(inputs):
        raise InvalidInputError("two inputs share one name")
    if all(s.name in by_name for s in specs) and len(inputs) == len(specs):
        columns = {
            s.name: _fit_shape(s, s.name, _cast(s, s.name, by_name[s.name].data)) for s in specs
        }
    elif (
        len(inputs) == 1
        and inputs[0].data.ndim == 2
        and all(s.is_column for s in specs)
        and inputs[0].data.shape[1] == len(specs)
    ):
        matrix = inputs[0].data
        columns = {s.name: _cast(s, s.name, matrix[:, i]) for i, s in enumerate(specs)}
    else:
        expected = ", ".join(f"{s.name} {[-1, *s.shape[1:]]} {s.dtype}" for s in specs)
        got = ", ".join(f"{t.name} {list(t.shape)}" for t in inputs)
        raise InvalidInputError(
            f"inputs do not match the model: expected {expected} (or one matrix with one "
            f"column per input); got {got}"
        )
    rows = {int(c.shape[0]) for c in columns.values()}
    if len(rows) != 1:
        raise InvalidInputError(f"inputs disagree on the number of rows: {sorted(rows)}")
    return columns, rows.pop()
