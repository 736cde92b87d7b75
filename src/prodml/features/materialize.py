"""Materialization: copy the latest row per entity key from the offline source to the online store.

Rows stream from DuckDB in Arrow batches and are written batch by batch, so a view of any size
fits in memory. The online store keeps the newest row whatever arrives, so re-running a window,
or running overlapping windows, changes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prodml.features.definitions import FeatureView
from prodml.features.offline import OfflineStore
from prodml.features.online.base import NO_CREATED, OnlineRow
from prodml.features.online.codec import encode_key, encode_values

if TYPE_CHECKING:
    import pyarrow as pa

# Below this many keys a progress bar is noise.
PROGRESS_MIN_ROWS = 50_000


@dataclass(frozen=True)
class MaterializeResult:
    """What one view's materialization did: rows read and rows that replaced stored ones."""

    feature_view: str
    start: datetime | None
    end: datetime
    rows_read: int
    rows_written: int


def _micros(column: pa.ChunkedArray | pa.Array) -> list[int | None]:
    import pyarrow as pa

    as_int = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    values: list[int | None] = as_int.to_pylist()
    return values


def online_rows(view: FeatureView, batch: pa.RecordBatch | pa.Table) -> list[OnlineRow]:
    """A batch with join keys, ``event_timestamp``, optional ``created_timestamp`` and features."""
    names = batch.schema.names
    key_columns = [batch.column(names.index(k)).to_pylist() for k in view.join_keys]
    events = _micros(batch.column(names.index("event_timestamp")))
    if "created_timestamp" in names:
        created = _micros(batch.column(names.index("created_timestamp")))
    else:
        created = [None] * batch.num_rows
    features = [(f, batch.column(names.index(f)).to_pylist()) for f in view.feature_names]
    rows: list[OnlineRow] = []
    for i in range(batch.num_rows):
        event = events[i]
        if event is None:
            continue
        key = encode_key([column[i] for column in key_columns])
        stamp = created[i]
        payload = encode_values({name: column[i] for name, column in features})
        rows.append(OnlineRow(key, event, NO_CREATED if stamp is None else stamp, payload))
    return rows


def materialize_view(
    offline: OfflineStore,
    write: Callable[[str, Sequence[OnlineRow]], int],
    view: FeatureView,
    start: datetime | None,
    end: datetime,
    *,
    progress: bool | None = None,
) -> MaterializeResult:
    """Stream ``view``'s latest rows in ``[start, end]`` into the online store via ``write``."""
    total = offline.count_keys(view, start, end) if progress is not False else 0
    show = progress is True or (
        progress is None and total >= PROGRESS_MIN_ROWS and sys.stderr.isatty()
    )
    read = written = 0
    with _Progress(show, view.name, total) as advance:
        for batch in offline.latest_rows(view, start, end):
            rows = online_rows(view, batch)
            read += batch.num_rows
            written += write(view.name, rows)
            advance(batch.num_rows)
    return MaterializeResult(view.name, start, end, read, written)


class _Progress:
    """A Rich progress bar on stderr when ``show``, else nothing (context manager)."""

    def __init__(self, show: bool, name: str, total: int) -> None:
        self._bar: Any = None
        if show:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=False)
            self._task = self._bar.add_task(f"materializing {name}", total=total or None)

    def __enter__(self) -> Callable[[int], None]:
        if self._bar is None:
            return lambda _n: None
        self._bar.start()
        return lambda n: self._bar.advance(self._task, n)

    def __exit__(self, *_exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def batches_of(table: pa.Table, size: int = 10_000) -> Iterator[pa.RecordBatch]:
    yield from table.to_batches(max_chunksize=size)
