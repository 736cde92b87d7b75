"""Turning tabular input into named 1-D numpy columns, and deciding what kind each column is.

Accepted inputs: a pandas DataFrame, a pyarrow Table, a mapping of column name to array-like,
or a 2-D numpy array (columns named ``input_0``, ``input_1``, ...). pandas and pyarrow are
recognised by duck typing so that importing this module imports neither.

Each column comes out as one of two kinds:

- ``numeric``: float64 values with NaN for missing (ints, floats, datetimes as epoch seconds);
- ``categorical``: an object array of ``str`` with ``None`` for missing (strings, bools,
  pandas categoricals, mixed objects).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from prodml.errors import ConfigError

ColumnKind = Literal["numeric", "categorical"]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Column:
    """One column: its kind, the dtype name it arrived with, and its values.

    ``values`` is float64 (NaN = missing) for numeric columns and an object array of ``str``
    (``None`` = missing) for categorical ones.
    """

    kind: ColumnKind
    dtype: str
    values: npt.NDArray[Any]

    def __len__(self) -> int:
        return int(self.values.shape[0])


def to_columns(data: object) -> dict[str, Column]:
    """Split tabular ``data`` into named, typed columns (see the module docstring)."""
    raw = _raw_columns(data)
    lengths = {name: len(values) for name, values in raw.items()}
    if len(set(lengths.values())) > 1:
        raise ConfigError(
            f"columns have different lengths {lengths}; give columns of one row count"
        )
    return {name: to_column(values) for name, values in raw.items()}


def to_column(values: object) -> Column:
    """Classify one 1-D array-like and normalise its values."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ConfigError(f"a column must be one value per row; got an array of shape {arr.shape}")
    kind = arr.dtype.kind
    if kind == "b":
        return Column("categorical", "bool", _as_strings(arr))
    if kind in "iuf":
        return Column("numeric", str(arr.dtype), arr.astype(np.float64))
    if kind == "M":
        seconds = arr.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9
        seconds[np.isnat(arr)] = np.nan
        return Column("numeric", str(arr.dtype), seconds)
    if kind in "US":
        return Column("categorical", "string", _as_strings(arr))
    return _classify_objects(arr)


def is_missing(value: object) -> bool:
    """True for None, NaN, pandas NA/NaT and numpy NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, np.floating | np.datetime64 | np.timedelta64):
        return bool(np.isnan(value))
    return type(value).__name__ in ("NAType", "NaTType")


def _classify_objects(arr: npt.NDArray[Any]) -> Column:
    present = [v for v in arr.tolist() if not is_missing(v)]
    if present and all(isinstance(v, bool | np.bool_) for v in present):
        return Column("categorical", "bool", _as_strings(arr))
    if present and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        for v in present
    ):
        out = np.array([np.nan if is_missing(v) else float(v) for v in arr.tolist()])
        return Column("numeric", "float64", out.astype(np.float64))
    return Column("categorical", "string", _as_strings(arr))


def _as_strings(arr: npt.NDArray[Any]) -> ObjectArray:
    out = np.empty(arr.shape[0], dtype=object)
    for i, v in enumerate(arr.tolist()):
        out[i] = None if is_missing(v) else str(v)
    return out


def matrix_columns(name: str, width: int) -> list[str]:
    """The columns of a matrix ``name`` (one vector of ``width`` per row): ``<name>_0, ...``.

    A 2-D numpy array is profiled as the matrix ``input``, the name matrix models give their
    one input tensor, so a logged tensor and its training matrix name their columns alike.
    """
    return [f"{name}_{j}" for j in range(width)]


def _raw_columns(data: object) -> dict[str, Any]:
    module = type(data).__module__
    if module.startswith("pandas"):
        return _pandas_columns(data)
    if module.startswith("pyarrow"):
        return _arrow_columns(data)
    if isinstance(data, np.ndarray):
        if data.ndim == 1:
            return {"input_0": data}
        if data.ndim != 2:
            raise ConfigError(f"a numpy input must be 2-D (rows x columns); got shape {data.shape}")
        names = matrix_columns("input", data.shape[1])
        return {name: data[:, j] for j, name in enumerate(names)}
    if isinstance(data, Mapping):
        return {str(k): v for k, v in data.items()}
    raise ConfigError(
        f"cannot read columns from {type(data).__name__}; give a pandas DataFrame, a pyarrow "
        "Table, a dict of column name to array, or a 2-D numpy array"
    )


def _pandas_columns(frame: Any) -> dict[str, Any]:
    if not hasattr(frame, "columns"):
        return {str(getattr(frame, "name", None) or "input_0"): _pandas_values(frame)}
    return {str(name): _pandas_values(frame[name]) for name in frame.columns}


def _pandas_values(series: Any) -> Any:
    dtype = series.dtype
    kind = getattr(dtype, "kind", "O")
    if str(dtype) == "category":
        return series.astype(object).to_numpy()
    if kind in "iuf":
        # Nullable extension dtypes (Int64, Float32) carry pd.NA; NaN is the numeric hole here.
        return (
            series.to_numpy(dtype=np.float64, na_value=np.nan)
            if series.hasnans
            else (series.to_numpy())
        )
    if kind == "b" and series.hasnans:
        return series.astype(object).to_numpy()
    return series.to_numpy()


def _arrow_columns(table: Any) -> dict[str, Any]:
    import pyarrow as pa

    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if not isinstance(table, pa.Table):
        raise ConfigError(f"cannot read columns from pyarrow {type(table).__name__}")
    out: dict[str, Any] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_boolean(col.type) and col.null_count:
            out[name] = np.array(col.to_pylist(), dtype=object)
        else:
            out[name] = col.to_numpy()
    return out
