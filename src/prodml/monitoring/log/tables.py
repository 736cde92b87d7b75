"""Buffered prediction batches to one Arrow table, column by column (the writer's work).

Each request arrives as a ``PredictionBatch`` of columns; this module expands them into rows
(row ids, repeated fixed values) and applies exclusion and hashing, with numpy and pyarrow
doing the per-row work wherever the columns allow:

- numeric and boolean numpy columns are concatenated and handed to Arrow whole, in the dtype
  the model got (a float32 tensor is stored as ``float``; requests of one kind but different
  widths share the wider type); a 2-D column (one vector per row) becomes a list column;
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
from operator import attrgetter
from typing import Any

import numpy as np

from prodml.monitoring.log.base import INPUT_PREFIX, OUTPUT_PREFIX, PredictionBatch
from prodml.monitoring.log.privacy import RecordPolicy

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NUMERIC_KINDS = frozenset("fiub")
_dtype = attrgetter("dtype")
_ndim = attrgetter("ndim")
_size = attrgetter("size")


def micros(times: Iterable[datetime]) -> np.ndarray:
    """Microseconds since the epoch of timezone-aware datetimes."""
    return np.array([(t - _EPOCH) // _MICROSECOND for t in times], np.int64)


def build_table(batches: Sequence[PredictionBatch], times: np.ndarray, policy: RecordPolicy) -> Any:
    """The stored rows of ``batches`` served at ``times`` (epoch microseconds, one per batch):
    fixed columns, then ``in_*``, then ``out_*``."""
    import pyarrow as pa

    # One list per field, by attribute: ``zip(*batches)`` is far slower on long lists.
    counts = [b.rows for b in batches]
    total = sum(counts)
    single = total == len(counts) and counts.count(1) == total
    # Per-request values become one value per row by taking request i counts[i] times.
    spread = None if single else pa.array(np.repeat(np.arange(len(counts)), counts))

    def per_row(values: Any, kind: Any) -> Any:
        if len(values) and values.count(values[0]) == len(values):
            return pa.repeat(pa.scalar(values[0], kind), total)  # one model, one status: cheap
        array = pa.array(values, kind)
        return array if spread is None else array.take(spread)

    ids = pa.array([b.request_id for b in batches], pa.string())
    latencies = [b.latency_ms for b in batches]
    columns: dict[str, Any] = {
        "request_id": ids if spread is None else _row_ids(ids, counts, spread),
        "time": pa.array(
            times if spread is None else np.repeat(times, counts), pa.timestamp("us", tz="UTC")
        ),
        "variant": per_row([b.variant for b in batches], pa.string()),
        "model_name": per_row([b.model_name for b in batches], pa.string()),
        "model_version": per_row([b.model_version for b in batches], pa.string()),
        "latency_ms": pa.array(
            latencies if spread is None else np.repeat(latencies, counts), pa.float64()
        ),
        "status": per_row([b.status for b in batches], pa.string()),
    }
    shadows = [b.shadow_of for b in batches]
    if shadows.count(None) != len(shadows):
        primaries = pa.array(shadows, pa.string())  # a null stays null
        columns["shadow_of"] = primaries if spread is None else _row_ids(primaries, counts, spread)
    inputs = [b.inputs for b in batches]
    outputs = [b.outputs for b in batches]
    for prefix, maps in ((INPUT_PREFIX, inputs), (OUTPUT_PREFIX, outputs)):
        for name in _names(maps):
            if name in policy.exclude_columns:
                continue
            pieces = [m.get(name) for m in maps]
            column = _column(pieces, counts, single, policy, name in policy.hash_columns)
            if column is not None:
                columns[prefix + name] = column
    return pa.table(columns)


def _row_ids(ids: Any, counts: list[int], spread: Any) -> Any:
    """``row_ids`` of every request, built by Arrow: ``"<id>/<i>"``, or the id for one row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = np.asarray(counts)
    starts = np.cumsum(sizes) - sizes
    index = np.arange(int(sizes.sum())) - np.repeat(starts, sizes)
    repeated = ids.take(spread)
    numbered = pc.binary_join_element_wise(repeated, pc.cast(pa.array(index), pa.string()), "/")
    return pc.if_else(pa.array(np.repeat(sizes == 1, sizes)), repeated, numbered)


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
    """One stored column from each batch's piece (None: not there); None when never there."""
    import pyarrow as pa

    if not hashed and set(map(type, pieces)) == {np.ndarray}:
        fast = _numeric(pieces, counts, single)
        if fast is not None:
            return fast
    values: list[Any] = []
    present = False
    for piece, count in zip(pieces, counts, strict=True):
        if piece is not None and _length(piece) == count:
            values.extend(piece.tolist() if isinstance(piece, np.ndarray) else piece)
            present = True
        else:
            values.extend([None] * count)  # missing, or not one value per row: not stored
    if not present:
        return None
    if hashed:
        return pa.array(policy.hash_values(values), pa.string())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _length(piece: Any) -> int | None:
    if isinstance(piece, np.ndarray) and piece.ndim == 0:
        return None
    try:
        return len(piece)
    except TypeError:
        return None


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
    rows, width = values.shape[0], int(np.prod(values.shape[1:]))
    if values.ndim > 2 or width == 0:
        return None
    offsets = pa.array(np.arange(0, rows * width + 1, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1)))
