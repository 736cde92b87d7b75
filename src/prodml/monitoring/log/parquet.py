"""``ParquetPredictionLog``: a bounded buffer in memory, a background thread that writes it to
Parquet segments in batches.

What can be lost, and when:

- **Graceful stop** (``close()``, or leaving the ``with`` block): nothing. ``close`` stops the
  writer and writes every buffered row before it returns.
- **Crash** (kill -9, power loss): the rows still in memory. The writer wakes every
  ``flush_interval_s`` seconds, and sooner when ``flush_rows`` rows are waiting, and writes all
  of them, so a crash loses at most the rows accepted in the last ``flush_interval_s`` seconds
  plus those of the segment being written at that moment (its temporary file is never
  renamed into place, so no partial segment is ever read). Segments are closed files: there
  is no torn write to repair.
- **Overload**: the buffer holds at most ``max_buffer_rows`` rows. When it is full, ``log``
  drops the record, counts it in ``stats().dropped`` and returns False at once: serving is
  never blocked by a slow disk or object store.

>>> from prodml.monitoring.log import ParquetPredictionLog, PredictionRecord
>>> with ParquetPredictionLog(tmp_dir) as log:                          # doctest: +SKIP
...     log.log(PredictionRecord("r1", "churn", {"age": 41}, {"label": 1}))
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable
from datetime import date, datetime
from types import TracebackType
from typing import Any

from prodml._internal.clock import Clock, SystemClock
from prodml.errors import ConfigError
from prodml.monitoring.log import segments
from prodml.monitoring.log.base import LogStats, PredictionRecord
from prodml.monitoring.log.privacy import RecordPolicy
from prodml.monitoring.log.query import join_feedback, read_log

logger = logging.getLogger(__name__)


class ParquetPredictionLog:
    """A prediction log of Parquet segments under a local directory or any fsspec URL.

    Args:
        url_or_path: the root (``/var/prodml/log``, ``s3://bucket/log``, ``memory://log``).
        flush_rows: write as soon as this many rows are waiting.
        flush_interval_s: write at least this often (the crash window, see the module doc).
        max_buffer_rows: rows held in memory at most; beyond, records are dropped and counted.
        sample_rate: share of requests kept, decided by request id.
        exclude_columns: input or output names never written.
        hash_columns: input or output names written as ``sha256(hash_salt + str(value))``.
        clock: for record times, segment names and retention (default: the system clock).
    """

    def __init__(
        self,
        url_or_path: str | Any,
        *,
        flush_rows: int = 10_000,
        flush_interval_s: float = 1.0,
        max_buffer_rows: int = 200_000,
        sample_rate: float = 1.0,
        exclude_columns: Collection[str] = (),
        hash_columns: Collection[str] = (),
        hash_salt: str = "",
        clock: Clock | None = None,
    ) -> None:
        if flush_rows < 1 or max_buffer_rows < flush_rows:
            raise ConfigError(
                f"need 1 <= flush_rows <= max_buffer_rows; got {flush_rows}, {max_buffer_rows}"
            )
        if flush_interval_s <= 0:
            raise ConfigError(f"flush_interval_s must be > 0; got {flush_interval_s}")
        self.policy = RecordPolicy(
            sample_rate=sample_rate,
            exclude_columns=exclude_columns,
            hash_columns=hash_columns,
            hash_salt=hash_salt,
        )
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.max_buffer_rows = max_buffer_rows
        self.clock = clock or SystemClock()
        # Import the writer's libraries now: a first flush that spends a second importing
        # pyarrow would stretch the crash window by that second.
        import pyarrow.parquet  # noqa: F401

        self.fs, self.root = segments.open_root(str(url_or_path))
        self._buffer: list[tuple[PredictionRecord, datetime]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._endpoints: set[str] = set()
        self._counts = {"accepted": 0, "sampled_out": 0, "dropped": 0}
        self._written = self._segments = self._errors = 0
        self._thread = threading.Thread(target=self._run, name="prodml-prediction-log", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ writing (hot path)

    def log(self, record: PredictionRecord) -> bool:
        """Queue ``record`` for writing; never blocks on I/O and never raises.

        Returns False when the record was dropped (buffer full, log closed, or an endpoint name
        that cannot name a partition); True when it was queued or sampled out.
        """
        if not self.policy.keeps(record.request_id):
            with self._lock:
                self._counts["sampled_out"] += 1
            return True
        known = record.endpoint in self._endpoints or self._known(record.endpoint)
        with self._lock:
            if not known:
                self._counts["dropped"] += 1
                return False
            if self._closed or len(self._buffer) >= self.max_buffer_rows:
                self._counts["dropped"] += 1
                return False
            # Stamped now, not when written: the writer may run up to flush_interval_s later.
            self._buffer.append((record, record.time or self.clock.now()))
            self._counts["accepted"] += 1
            waiting = len(self._buffer)
        if waiting >= self.flush_rows:
            self._wake.set()
        return True

    def log_batch(self, records: Iterable[PredictionRecord]) -> int:
        """Queue several records; returns how many were queued or sampled out."""
        return sum(self.log(r) for r in records)

    def _known(self, endpoint: str) -> bool:
        try:
            segments.check_endpoint(endpoint)
        except ConfigError as exc:
            logger.warning("prediction log drops records: %s", exc)
            return False
        self._endpoints.add(endpoint)
        return True

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            if self._closed:
                return
            self._write_buffered()

    def _write_buffered(self) -> None:
        with self._write_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if not batch:
                return
            try:
                self._write(batch)
            except Exception:
                logger.exception("prediction log could not write %d rows; will retry", len(batch))
                self._errors += 1
                with self._lock:
                    room = self.max_buffer_rows - len(self._buffer)
                    keep = batch[:room] if room > 0 else []
                    self._counts["dropped"] += len(batch) - len(keep)
                    self._buffer[:0] = keep

    def _write(self, batch: list[tuple[PredictionRecord, datetime]]) -> None:
        now = self.clock.now()
        groups: dict[tuple[str, date], list[dict[str, Any]]] = {}
        for record, stamp in batch:
            row = self.policy.row(record, stamp)
            groups.setdefault((record.endpoint, row["time"].date()), []).append(row)
        for (endpoint, day), rows in groups.items():
            segments.write_segment(self.fs, self.root, endpoint, day, to_table(rows), now)
            self._written += len(rows)
            self._segments += 1

    # ------------------------------------------------------------------ lifecycle

    def flush(self) -> None:
        """Write everything buffered now; returns when it is on storage."""
        self._write_buffered()

    def close(self) -> None:
        """Stop accepting, write every buffered row, stop the writer. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        self._thread.join()
        self._write_buffered()
        if self._buffer:
            logger.error("prediction log closed with %d unwritten rows", len(self._buffer))

    def __enter__(self) -> ParquetPredictionLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def stats(self) -> LogStats:
        return LogStats(
            accepted=self._counts["accepted"],
            sampled_out=self._counts["sampled_out"],
            dropped=self._counts["dropped"],
            written=self._written,
            segments=self._segments,
            write_errors=self._errors,
            buffered=len(self._buffer),
        )

    # ------------------------------------------------------------------ maintenance and reading

    def read(
        self,
        endpoint: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Any:
        """Written rows with ``start <= time < end`` (a ``pyarrow.Table``), oldest first."""
        return read_log(self.fs, self.root, endpoint=endpoint, start=start, end=end)

    def join_feedback(self, table: Any, feedback: Any) -> Any:
        """``table`` with ``feedback`` (keyed by ``request_id``) left-joined onto it."""
        return join_feedback(table, feedback)

    def compact(self, endpoint: str, day: date) -> int:
        """Merge the small segments of one endpoint and day; returns how many were merged."""
        return segments.compact(self.fs, self.root, endpoint, day, self.clock.now())

    def apply_retention(self, days: int) -> list[str]:
        """Delete day partitions older than ``days`` days (by the clock); returns their paths."""
        return segments.apply_retention(self.fs, self.root, self.clock.now().date(), days)


def to_table(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    # Arrow takes the columns of the first row only; rows of one batch may differ (variants with
    # other inputs, shadow rows), so give every row every column.
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r))
    if rows and any(len(r) != len(names) for r in rows):
        rows = [{k: r.get(k) for k in names} for r in rows]
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # A column mixed types across requests (41 and "41"): store that batch's values as text
        # rather than lose the rows; quality checks report the type change.
        fixed = {"request_id", "time", "latency_ms"}
        text = [{k: (v if k in fixed or v is None else str(v)) for k, v in r.items()} for r in rows]
        return pa.Table.from_pylist(text)
