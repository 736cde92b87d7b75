"""Signature inference: tensor specs read from a sample input or from a model's outputs.

Inputs are inferred from the sample's own structure:

- a pandas DataFrame or an Arrow table gives one ``(-1,)`` spec per column;
- a 2-D numpy array gives one input named ``input`` with shape ``(-1, d)``;
- a mapping of arrays gives one spec per key.

A column holding NaN or None in the sample is marked ``nullable``::

    >>> import numpy as np
    >>> infer_input_specs(np.array([[1.0, np.nan]]))
    (TensorSpec(name='input', dtype='float64', shape=(-1, 2), nullable=True),)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from prodml.errors import ConfigError
from prodml.runtimes.base import Array
from prodml.types import DTYPES, Signature, TensorSpec

INPUT_NAME = "input"


def dtype_name(array: Array) -> str:
    """The signature dtype name of a numpy array (``string`` for text).

    Raises:
        ConfigError: the dtype has no signature equivalent (dates, complex numbers, ...).
    """
    kind = array.dtype.kind
    if kind in "USO":
        return "string"
    name = array.dtype.name
    if name in DTYPES:
        return name
    raise ConfigError(
        f"dtype {array.dtype} has no signature equivalent; convert it to a number or a string "
        f"(supported: {', '.join(DTYPES)})"
    )


def has_missing(array: Array) -> bool:
    """True when ``array`` holds NaN (floats) or None / NaN (objects)."""
    kind = array.dtype.kind
    if kind == "f":
        return bool(np.isnan(array).any())
    if kind == "O":
        return any(v is None or (isinstance(v, float) and np.isnan(v)) for v in array.ravel())
    return False


def spec_for(name: str, array: Array, *, nullable: bool | None = None) -> TensorSpec:
    """The spec of one named array: its dtype, shape with a free batch dimension, nullability."""
    if array.ndim == 0:
        raise ConfigError(f"sample column {name!r} is a scalar; give one value per row")
    dtype = dtype_name(array)
    if dtype == "string" and array.dtype.kind == "O" and array.size and _all_numbers(array):
        # An object column of plain numbers (a pandas column with None, say) is numeric.
        dtype = "float64"
    missing = has_missing(array) if nullable is None else nullable
    return TensorSpec(name, dtype, (-1, *array.shape[1:]), nullable=missing)


def _all_numbers(array: Array) -> bool:
    return all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in array.ravel()
    )


def sample_arrays(sample: object) -> dict[str, Array]:
    """The sample as named arrays, following the rules in this module's docstring.

    Raises:
        ConfigError: the sample is of a type that inference does not know.
    """
    if isinstance(sample, np.ndarray):
        return {INPUT_NAME: sample}
    if isinstance(sample, Mapping):
        return {str(k): np.asarray(v) for k, v in sample.items()}
    module = type(sample).__module__
    if module.startswith("pandas"):
        import pandas as pd

        if isinstance(sample, pd.DataFrame):
            return {str(c): _pandas_column(sample[c]) for c in sample.columns}
    if module.startswith("pyarrow"):
        import pyarrow as pa

        if isinstance(sample, pa.Table | pa.RecordBatch):
            return {n: sample.column(n).to_numpy(zero_copy_only=False) for n in sample.column_names}
    if isinstance(sample, list) and sample and isinstance(sample[0], list | tuple):
        return {INPUT_NAME: np.asarray(sample)}
    raise ConfigError(
        f"cannot infer a signature from a {type(sample).__name__}; pass a pandas DataFrame, "
        "an Arrow table, a numpy array or a mapping of arrays as sample=, or pass signature="
    )


def _pandas_column(series: Any) -> Array:
    # Nullable extension dtypes (Int64, boolean) become float so NA turns into NaN.
    if series.dtype.kind in "iub" and getattr(series, "hasnans", False):
        return np.asarray(series.to_numpy(dtype="float64", na_value=np.nan))
    return np.asarray(series.to_numpy())


def infer_input_specs(sample: object, *, numeric_nullable: bool = False) -> tuple[TensorSpec, ...]:
    """Input specs from a sample input.

    Args:
        sample: DataFrame, Arrow table, numpy array or mapping of arrays.
        numeric_nullable: mark every numeric input nullable (for libraries that take NaN).

    Raises:
        ConfigError: the sample's type or a column's dtype cannot be described.
    """
    specs = []
    for name, array in sample_arrays(sample).items():
        spec = spec_for(name, array)
        if numeric_nullable and spec.dtype not in ("string", "bool"):
            spec = TensorSpec(spec.name, spec.dtype, spec.shape, nullable=True)
        specs.append(spec)
    return tuple(specs)


def infer_output_specs(outputs: Mapping[str, Array]) -> tuple[TensorSpec, ...]:
    """Output specs from one prediction's outputs (never nullable)."""
    return tuple(spec_for(name, np.asarray(a), nullable=False) for name, a in outputs.items())


def synthetic_columns(signature: Signature, rows: int = 2) -> dict[str, Array]:
    """Placeholder inputs (zeros, empty strings) matching ``signature``, for warm-up and output
    inference when no real sample is at hand."""
    columns: dict[str, Array] = {}
    for spec in signature.inputs:
        shape = (rows, *(d if d > 0 else 1 for d in spec.shape[1:]))
        if spec.dtype == "string":
            columns[spec.name] = np.full(shape, "", dtype=object)
        else:
            columns[spec.name] = np.zeros(shape, dtype=spec.dtype)
    return columns
