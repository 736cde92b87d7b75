"""Buffered prediction blocks to one Arrow table, column by column (the writer's work).

Requests arrive as ``PredictionBlock``s of columns (one per model batch, or one per request
logged on its own); this module expands them into rows (row ids, repeated fixed values) and
applies exclusion and hashing, with numpy and pyarrow doing the per-row work wherever the
columns allow:

- numeric and boolean numpy columns are concatenated and handed to Arrow whole, in the dtype
  the model got (a float32 tensor is stored as ``float``; requests of one kind but different
  widths share the wider type); a 2-D column ``x`` (one vector per row) becomes the columns
  ``x_0 .. x_{k-1}`` (``matrix_columns``, the names a profile of the training matrix gives)
  when it is at most ``FLAT_MAX_WIDTH`` wide, and a list column ``x`` when wider (an
  embedding). Flat columns are what a person queries, and Parquet writes them 3x faster than
  a list column, whose repetition levels cost more than its values;
- other columns (strings, lists from feature lookups, hashed columns) go through Python lists;
- a column whose values have types Arrow cannot put in one column (41 in one request, "41"
  in another) is stored as text for that segment rather than losing its rows; data quality
  checks report the type change.

The writer runs in the serving process and holds the GIL while it works, so its speed is
serving's: per-batch work is kept to a few list comprehensions and C-level passes over the batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np

from prodml.monitoring.log.base import (
    INPUT_PREFIX,
    OUTPUT_PREFIX,
    PredictionBlock,
    column_length,
)
from prodml.monitoring.log.privacy import RecordPolicy
from prodml.profiles.columns import matrix_columns

FLAT_MAX_WIDTH = 64

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NUMERIC_KINDS = frozenset("fiub")
_dtype = attrgetter("dtype")
_ndim = attrgetter("ndim")
_size = attrgetter("size")


def micros(times: Iterable[datetime]) -> np.ndarray:
    """Microseconds since the epoch of timezone-aware datetimes."""
    return np.array([(t - _EPOCH) // _MICROSECOND for t in times], np.int64)


def build_table(blocks: Sequence[PredictionBlock], times: np.ndarray, policy: RecordPolicy) -> Any:
    """The stored rows of ``blocks`` served at ``times`` (epoch microseconds, one per block):
    fixed columns, then ``in_*``, then ``out_*``."""
    import pyarrow as pa

    # One list per field, by attribute: ``zip(*blocks)`` is far slower on long lists.
    request_rows = list(chain.from_iterable(b.rows for b in blocks))
    counts = [sum(b.rows) for b in blocks]  # rows per block
    total = sum(counts)
    single = counts.count(1) == len(counts)  # one row per block: the columns' cheapest case
    # Per-block values become one value per row by taking block i counts[i] times, and
    # per-request values by taking request j request_rows[j] times.
    per_block = None if single else pa.array(np.repeat(np.arange(len(counts)), counts))
    one_row_each = request_rows.count(1) == len(request_rows)
    per_request = (
        None if one_row_each else pa.array(np.repeat(np.arange(len(request_rows)), request_rows))
    )

    def per_row(values: list[Any], kind: Any) -> Any:
        if values and values.count(values[0]) == len(values):
            return pa.repeat(pa.scalar(values[0], kind), total)  # one model, one status: cheap
        array = pa.array(values, kind)
        return array if per_block is None else array.take(per_block)

    def ids_of(values: list[Any]) -> Any:
        array = pa.array(values, pa.string())  # a null stays null
        return array if per_request is None else _row_ids(array, request_rows, per_request)

    latencies = list(chain.from_iterable(b.latency_ms for b in blocks))
    columns: dict[str, Any] = {
        "request_id": ids_of(list(chain.from_iterable(b.request_ids for b in blocks))),
        "time": pa.array(
            times if single else np.repeat(times, counts), pa.timestamp("us", tz="UTC")
        ),
        "variant": per_row([b.variant for b in blocks], pa.string()),
        "model_name": per_row([b.model_name for b in blocks], pa.string()),
        "model_version": per_row([b.model_version for b in blocks], pa.string()),
        "latency_ms": pa.array(
            latencies if one_row_each else np.repeat(latencies, request_rows), pa.float64()
        ),
        "status": per_row([b.status for b in blocks], pa.string()),
    }
    if any(b.shadow_of is not None for b in blocks):
        columns["shadow_of"] = ids_of(
            [primary for b in blocks for primary in (b.shadow_of or [None] * len(b.request_ids))]
        )
    inputs = [b.inputs for b in blocks]
    outputs = [b.outputs for b in blocks]
    for prefix, maps in ((INPUT_PREFIX, inputs), (OUTPUT_PREFIX, outputs)):
        names = _names(maps)
        for name in names:
            if name in policy.exclude_columns:
                continue
            pieces = [m.get(name) for m in maps]
            column = _column(pieces, counts, single, policy, name in policy.hash_columns)
            if isinstance(column, np.ndarray):  # a narrow matrix: one column per entry
                flat = matrix_columns(name, column.shape[1])
                if set(flat).isdisjoint(names):  # no input is already called x_0
                    by_column = np.ascontiguousarray(column.T)  # one copy, not one per column
                    columns.update((prefix + n, pa.array(by_column[j])) for j, n in enumerate(flat))
                    continue
                column = _list_column(column)
            if column is not None:
                columns[prefix + name] = column
    return pa.table(columns)


def _row_ids(ids: Any, counts: Sequence[int], spread: Any) -> Any:
    """``row_ids`` of every request, built by Arrow: ``"<id>/<i>"``, or the id for one row.

    Each row's id is its request's id joined to a suffix taken from ``_suffixes`` ("" for a
    one-row request, else ``"/<i>"``): half the time of formatting each row's index.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = np.asarray(counts)
    starts = np.cumsum(sizes) - sizes
    suffix = np.arange(int(sizes.sum())) - np.repeat(starts, sizes) + 1
    suffix[np.repeat(sizes == 1, sizes)] = 0
    table = _suffixes(int(sizes.max()))
    return pc.binary_join_element_wise(ids.take(spread), table.take(pa.array(suffix)), "")


_SUFFIXES: list[Any] = []


def _suffixes(rows: int) -> Any:
    """``["", "/0", "/1", ...]`` for requests of up to ``rows`` rows (grown when needed)."""
    import pyarrow as pa

    if not _SUFFIXES or len(_SUFFIXES[0]) <= rows:
        size = max(4096, 2 * rows)
        _SUFFIXES[:] = [pa.array(["", *(f"/{i}" for i in range(size))], pa.string())]
    return _SUFFIXES[0]


def _names(maps: Sequence[Any]) -> list[str]:
    """Column names in order of first appearance (most flushes have one name set)."""
    first = list(maps[0])
    if not set().union(*maps).difference(first):
        return first
    names: dict[str, None] = {}
    for keys in dict.fromkeys(map(tuple, maps)):
        names.update(dict.fromkeys(keys))
    return list(names)


def _column(
    pieces: list[Any], counts: list[int], single: bool, policy: RecordPolicy, hashed: bool
) -> Any:
    """One stored column from each block's piece (None: not there); None when never there; a
    2-D numpy array for a matrix of at most ``FLAT_MAX_WIDTH`` columns."""
    import pyarrow as pa

    if not hashed and set(map(type, pieces)) == {np.ndarray}:
        fast = _numeric(pieces, counts, single)
        if fast is not None:
            return fast
    values: list[Any] = []
    present = False
    for piece, count in zip(pieces, counts, strict=True):
        if piece is not None and column_length(piece) == count:
            values.extend(piece.tolist() if isinstance(piece, np.ndarray) else piece)
            present = True
        else:
            values.extend([None] * count)  # missing, or not one value per row: not stored
    if not present:
        return None
    if hashed:
        return pa.array(policy.hash_values(values), pa.string())
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    return _matrix(array)


def _matrix(array: Any) -> Any:
    """A list column of numbers, each row as wide, as a 2-D array (stored like a tensor's
    rows); else the column as it is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if not pa.types.is_list(kind) or array.null_count or not len(array):
        return array
    if not (pa.types.is_integer(kind.value_type) or pa.types.is_floating(kind.value_type)):
        return array
    widths = pc.list_value_length(array)
    width = widths[0].as_py()
    if not 0 < width <= FLAT_MAX_WIDTH or pc.min_max(widths)["max"].as_py() != width:
        return array
    values = pc.list_flatten(array)
    if values.null_count:
        return array
    return values.to_numpy().reshape(len(array), width)


def _numeric(pieces: list[np.ndarray], counts: list[int], single: bool) -> Any:
    """Numeric or boolean 1-D/2-D arrays of one kind as one Arrow array; None when not that."""
    import pyarrow as pa

    dtypes = set(map(_dtype, pieces))
    # One kind only (ints in one request and floats in another: Arrow decides, as for lists);
    # widths differ when clients send different datatypes: the widest is kept.
    if len({d.kind for d in dtypes}) != 1 or next(iter(dtypes)).kind not in _NUMERIC_KINDS:
        return None
    dtype = np.result_type(*dtypes)
    if single and set(map(_ndim, pieces)) == {1} and set(map(_size, pieces)) == {1}:
        # One value per request (the common case): far cheaper than concatenating tiny arrays.
        return pa.array(list(map(np.ndarray.item, pieces)), pa.from_numpy_dtype(dtype))
    return _concatenated(pieces, counts, dtype)


def _concatenated(pieces: list[np.ndarray], counts: list[int], dtype: np.dtype[Any]) -> Any:
    import pyarrow as pa

    if list(map(len, pieces)) != counts:
        return None
    try:
        values = np.concatenate(pieces).astype(dtype, copy=False)
    except ValueError:  # 0-d pieces, or 2-D pieces of different widths
        return None
    if values.ndim == 1:
        return pa.array(values)
    if values.ndim > 2 or values.shape[1] == 0:
        return None
    return values if values.shape[1] <= FLAT_MAX_WIDTH else _list_column(values)


def _list_column(values: np.ndarray) -> Any:
    """A 2-D array as a list column (one list per row)."""
    import pyarrow as pa

    rows, width = values.shape
    offsets = pa.array(np.arange(0, rows * width + 1, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1)))
