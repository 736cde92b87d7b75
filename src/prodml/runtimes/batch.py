"""Turning what a caller hands to ``predict`` into columns: one numpy array per signature input.

Accepted shapes of input, checked in this order:

- a mapping of name to array-like (the serving hot path already decodes to this);
- a pandas DataFrame: its columns by name, or, for a model with a single 2-D input whose name is
  not a column, the whole frame as a matrix;
- an Arrow table or record batch, by the same rules;
- a numpy array: the single input, or split into 1-D columns in signature order when the model
  takes several ``(-1,)`` inputs and the array is 2-D with that many columns;
- a list of records (dicts), or a list of rows (lists).

Columns not in the signature are dropped here (ignored, not an error), so callers may send more
fields than the model uses. Validation of dtypes, shapes and missing values happens afterwards in
``prodml.runtimes.validation``.

    >>> import numpy as np
    >>> from prodml.types import Signature, TensorSpec
    >>> sig = Signature(inputs=(TensorSpec("a", "float64"), TensorSpec("b", "float64")))
    >>> sorted(to_columns([{"a": 1.0, "b": 2.0, "note": "x"}], sig))
    ['a', 'b']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from prodml.errors import InvalidInputError
from prodml.runtimes.base import Array
from prodml.types import Signature

_MISSING = object()


def to_columns(data: object, signature: Signature) -> dict[str, Array]:
    """Convert a batch to one array per signature input (see the module docstring).

    Raises:
        InvalidInputError: the input's type is not supported.
    """
    if isinstance(data, Mapping):
        names = signature.input_names
        return {k: np.asarray(v) for k, v in data.items() if k in names}
    if isinstance(data, np.ndarray):
        return _from_matrix(data, signature)
    module = type(data).__module__
    if module.startswith("pandas"):
        return _from_pandas(data, signature)
    if module.startswith("pyarrow"):
        return _from_arrow(data, signature)
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if data and all(isinstance(r, Mapping) for r in data):
            return _from_records(data, signature)
        return _from_matrix(np.asarray(data), signature)
    raise InvalidInputError(
        f"cannot predict on a {type(data).__name__}; pass a numpy array, a pandas DataFrame, an "
        "Arrow table, a mapping of input name to array, or a list of records"
    )


def _single_matrix_input(signature: Signature) -> str | None:
    if len(signature.inputs) == 1 and not signature.inputs[0].is_column:
        return signature.inputs[0].name
    return None


def _from_matrix(array: Array, signature: Signature) -> dict[str, Array]:
    if array.dtype.names:  # structured array: one field per input
        fields: Any = array
        return {n: fields[n] for n in array.dtype.names if n in signature.input_names}
    if len(signature.inputs) == 1:
        return {signature.inputs[0].name: array}
    if array.ndim == 2 and all(s.is_column for s in signature.inputs):
        if array.shape[1] != len(signature.inputs):
            raise InvalidInputError(
                f"a 2-D array needs one column per input ({len(signature.inputs)}: "
                f"{', '.join(signature.input_names)}); it has {array.shape[1]}"
            )
        return {name: array[:, i] for i, name in enumerate(signature.input_names)}
    raise InvalidInputError(
        f"the model takes {len(signature.inputs)} inputs ({', '.join(signature.input_names)}); "
        f"pass a mapping of name to array, a DataFrame or an Arrow table instead of an array of "
        f"shape {list(array.shape)}"
    )


def _from_pandas(frame: Any, signature: Signature) -> dict[str, Array]:
    import pandas as pd

    if isinstance(frame, pd.Series):
        return _from_matrix(_pandas_values(frame), signature)
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(f"cannot predict on a {type(frame).__name__}")
    matrix_name = _single_matrix_input(signature)
    if matrix_name is not None and matrix_name not in frame.columns:
        return {matrix_name: frame.to_numpy()}
    present = set(frame.columns)
    return {n: _pandas_values(frame[n]) for n in signature.input_names if n in present}


def _pandas_values(series: Any) -> Array:
    # Nullable integer / boolean columns with NA become float64 so that NA reads as NaN and
    # validation reports it against the column's nullability.
    if series.dtype.kind in "iub" and series.hasnans:
        return np.asarray(series.to_numpy(dtype="float64", na_value=np.nan))
    return np.asarray(series.to_numpy())


def _from_arrow(table: Any, signature: Signature) -> dict[str, Array]:
    import pyarrow as pa

    if not isinstance(table, pa.Table | pa.RecordBatch):
        raise InvalidInputError(f"cannot predict on a {type(table).__name__}")
    names = table.column_names
    matrix_name = _single_matrix_input(signature)
    if matrix_name is not None and matrix_name not in names:
        columns = [table.column(n).to_numpy(zero_copy_only=False) for n in names]
        return {matrix_name: np.column_stack(columns) if columns else np.empty((0, 0))}
    return {n: _arrow_values(table.column(n)) for n in signature.input_names if n in names}


def _arrow_values(column: Any) -> Array:
    import pyarrow as pa

    if pa.types.is_fixed_size_list(column.type):
        # A tensor input stored as a fixed-size list column: one row per list.
        width = column.type.list_size
        flat = (
            column.combine_chunks().flatten()
            if hasattr(column, "combine_chunks")
            else (column.flatten())
        )
        return np.asarray(flat.to_numpy(zero_copy_only=False)).reshape(-1, width)
    return np.asarray(column.to_numpy(zero_copy_only=False))


def _from_records(records: Sequence[Any], signature: Signature) -> dict[str, Array]:
    columns: dict[str, Array] = {}
    for name in signature.input_names:
        values = [r.get(name, _MISSING) for r in records]
        if all(v is _MISSING for v in values):
            continue  # reported as a missing column by validation
        columns[name] = np.asarray([None if v is _MISSING else v for v in values])
    return columns
