"""``ParquetPredictionLog``: a bounded buffer in memory, a background thread that writes it to
Parquet segments in batches.

What can be lost, and when:

- **Graceful stop** (``close()``, or leaving the ``with`` block): nothing. ``close`` stops the
  writer and writes every buffered row before it returns.
- **Crash** (kill -9, power loss): the rows still in memory. The writer converts buffered
  requests to Arrow every 0.25 s and writes everything every ``flush_interval_s``
  seconds, and sooner when ``flush_rows`` rows are waiting, so a crash loses at most the rows
  accepted in the last ``flush_interval_s`` seconds plus those of the segment being written
  at that moment (its temporary file is never renamed into place, so no partial segment is
  ever read). Segments are closed files: there is no torn write to repair. On a local disk a
  segment is on disk before it is named (``segments._write_local``), so a power loss loses no
  more than a crash.
- **Store down**: a failed segment write keeps its rows (as Arrow tables) for the next write;
  they count against ``max_buffer_rows``, so memory stays bounded and new rows are dropped.
- **Overload**: the buffer holds at most ``max_buffer_rows`` rows. When a request's rows do
  not fit, ``log_columns`` (or ``log``) drops them, counts them in ``stats().dropped`` and
  returns False at once: serving is never blocked by a slow disk or object store.

Serving hands over each model batch's requests as one ``PredictionBlock`` of the merged
columns the model saw (``log_block``), and a request logged on its own (a failure, a shadow
copy, a feature-served model's) as one ``PredictionBatch`` (``log_columns``); the writer
thread turns them into Arrow tables per endpoint and day (see ``tables``), so the request path
never builds a row.

A row's ``time`` is when the log accepted it: the request path records ``clock.monotonic()``
(cheaper than a datetime) and the writer stores its own ``clock.now()`` minus the batch's age,
so a step of the wall clock during one flush interval shifts that interval's times with it.

>>> from prodml.monitoring.log import ParquetPredictionLog, PredictionRecord
>>> with ParquetPredictionLog(tmp_dir) as log:                          # doctest: +SKIP
...     log.log(PredictionRecord("r1", "churn", {"age": 41}, {"label": 1}))
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any

import numpy as np

from prodml._internal.clock import Clock, SystemClock
from prodml.errors import ConfigError
from prodml.monitoring.log import segments
from prodml.monitoring.log.base import (
    LogStats,
    PredictionBatch,
    PredictionBlock,
    PredictionRecord,
)
from prodml.monitoring.log.privacy import RecordPolicy
from prodml.monitoring.log.query import join_feedback, read_log
from prodml.monitoring.log.tables import build_table, micros

logger = logging.getLogger(__name__)

_DAY_US = 86_400_000_000
_CONVERT_EVERY_S = 0.25
_EPOCH_DAY = date(1970, 1, 1)


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
        compression: the Parquet codec of the writer's segments: none (the default: fastest
            to write; ``compact`` rewrites finished days with zstd), snappy, lz4 or zstd.
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
        compression: str = "none",
        clock: Clock | None = None,
    ) -> None:
        if compression not in segments.COMPRESSIONS:
            raise ConfigError(
                f"compression must be one of {', '.join(segments.COMPRESSIONS)}; "
                f"got {compression!r}"
            )
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
        self.compression = compression
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.max_buffer_rows = max_buffer_rows
        self.clock = clock or SystemClock()
        self._monotonic = self.clock.monotonic  # bound once: log_columns runs per request
        self._sampling = sample_rate < 1.0
        # Import the writer's libraries and run one conversion now: a first flush that spends
        # a second importing pyarrow (whose first Python-to-Arrow conversion also loads pandas)
        # would stretch the crash window by that second.
        import pyarrow.parquet  # noqa: F401

        build_table(
            [PredictionBatch("-", "-", 1, {"x": ["a"]}).block()], np.zeros(1, np.int64), self.policy
        )

        self.fs, self.root = segments.open_root(str(url_or_path))
        # (batch or block, clock.monotonic() when accepted): cheaper to take than a datetime,
        # and turned into a time by the writer (its now minus the batch's age).
        self._buffer: list[tuple[PredictionBatch | PredictionBlock, float]] = []
        self._buffered = 0  # rows in the buffer
        # Converted to Arrow, not yet written: (endpoint, day) -> tables, and their rows.
        self._pending: dict[tuple[str, int], list[Any]] = {}
        self._held = 0
        self._last_write = self._last_convert = time.monotonic()
        self._convert_every_s = min(flush_interval_s, _CONVERT_EVERY_S)
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

    def log_columns(self, batch: PredictionBatch) -> bool:
        """Queue every row of one request (``batch``); never blocks on I/O and never raises.

        The request path's whole cost: a sampling decision, a time stamp and an append. Rows,
        ids, hashing and Arrow conversion happen on the writer thread. All of the batch's rows
        are queued or none: False when they were dropped (buffer full, log closed, or an
        endpoint name that cannot name a partition); True when queued or sampled out.
        """
        if self._sampling and not self.policy.keeps_batch(batch):
            with self._lock:
                self._counts["sampled_out"] += batch.rows
            return True
        return self._queue(batch, batch.endpoint, batch.rows)

    def log_block(self, block: PredictionBlock) -> bool:
        """Queue every row of the requests one model batch answered; like ``log_columns``.

        Sampling keeps or skips each request whole; the block's rows are queued or dropped
        together.
        """
        if self._sampling:
            kept, skipped = self.policy.sample_block(block)
            if skipped:
                with self._lock:
                    self._counts["sampled_out"] += skipped
            if kept is None:
                return True
            block = kept
        return self._queue(block, block.endpoint, sum(block.rows))

    def _queue(self, item: PredictionBatch | PredictionBlock, endpoint: str, rows: int) -> bool:
        known = endpoint in self._endpoints or self._known(endpoint)
        # Stamped now, not when written: the writer may run up to flush_interval_s later.
        stamp = self._monotonic()
        with self._lock:
            full = self._buffered + self._held + rows > self.max_buffer_rows
            if not known or self._closed or full:
                self._counts["dropped"] += rows
                return False
            self._buffer.append((item, stamp))
            self._buffered = waiting = self._buffered + rows
        if waiting >= self.flush_rows:
            self._wake.set()
        return True

    def log(self, record: PredictionRecord) -> bool:
        """Queue one ``record`` (a one-row batch); same guarantees as ``log_columns``."""
        return self.log_columns(PredictionBatch.of_record(record))

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
            due = min(
                self._last_write + self.flush_interval_s,
                self._last_convert + self._convert_every_s,
            )
            self._wake.wait(max(0.0, due - time.monotonic()))
            self._wake.clear()
            if self._closed:
                return
            try:
                self._step(force=False)
            except Exception:  # never let the writer die: later steps may still succeed
                logger.exception("prediction log writer step failed")
                self._errors += 1

    def _step(self, *, force: bool) -> None:
        """Convert what is buffered when due; write segments when due (or ``force``)."""
        with self._write_lock:
            now = time.monotonic()
            write = force or self._last_write + self.flush_interval_s <= now
            if (
                write
                or self._buffered >= self.flush_rows
                or (self._last_convert + self._convert_every_s <= now)
            ):
                self._convert()
            if write or self._held >= self.flush_rows:
                self._write_held()

    def _convert(self) -> None:
        """Buffered requests to Arrow tables, one per endpoint and day, held until written.

        Done every 0.25 s (and before each write). Each conversion hands the GIL back and
        forth with the serving thread dozens of times (pyarrow releases it in its calls), and
        every hand-over under load costs both threads CPU: converting whenever 2048 rows
        waited (35 times a second at 100-row requests) took the writer 1.2 us per row, once
        per second 0.7 us. Every 0.25 s bounds how long one conversion holds the GIL (a few
        milliseconds at 70k rows/s) as well as how often it runs.
        """
        self._last_convert = time.monotonic()
        with self._lock:
            buffered, self._buffer = self._buffer, []
            rows = self._buffered
            self._counts["accepted"] += rows  # counted here, not per request
            self._held += rows
            self._buffered = 0
        if not buffered:
            return
        try:
            tables = list(self._tables(buffered))  # all or none: the counts stay exact
        except Exception:  # a bug or a value no column can hold: retrying would fail again
            logger.exception("prediction log could not convert %d rows; dropped", rows)
            with self._lock:
                self._counts["dropped"] += rows
                self._held -= rows
            self._errors += 1
            return
        for key, table in tables:
            self._pending.setdefault(key, []).append(table)

    def _tables(
        self, buffered: list[tuple[PredictionBatch | PredictionBlock, float]]
    ) -> Iterator[tuple[tuple[str, int], Any]]:
        now = self.clock.now()
        ages = self.clock.monotonic() - np.array([stamp for _, stamp in buffered])
        blocks = [b if isinstance(b, PredictionBlock) else b.block() for b, _ in buffered]
        times = micros([now]) - np.rint(ages * 1e6).astype(np.int64)
        given = [i for i, b in enumerate(blocks) if b.time is not None]
        if given:
            times[given] = micros(b.time for b in blocks if b.time is not None)
        days = times // _DAY_US
        endpoints = [b.endpoint for b in blocks]
        if endpoints.count(endpoints[0]) == len(endpoints) and days.min() == days.max():
            yield (endpoints[0], int(days[0])), build_table(blocks, times, self.policy)
            return
        groups: dict[tuple[str, int], list[int]] = {}
        for i, key in enumerate(zip(endpoints, days.tolist(), strict=True)):
            groups.setdefault(key, []).append(i)
        for key, rows in groups.items():
            yield key, build_table([blocks[i] for i in rows], times[rows], self.policy)

    def _write_held(self) -> None:
        """One segment per endpoint and day from the held tables; a failed one is kept."""
        self._last_write = time.monotonic()
        now = self.clock.now()
        for (endpoint, day), tables in list(self._pending.items()):
            partition_day = _EPOCH_DAY + timedelta(days=day)
            failed = []
            for table in segments.merge(tables):
                try:
                    segments.write_segment(
                        self.fs, self.root, endpoint, partition_day, table, now, self.compression
                    )
                except Exception:
                    # Kept for the next write; while held rows fill max_buffer_rows, new rows
                    # are dropped.
                    logger.exception(
                        "prediction log could not write %d rows; will retry", table.num_rows
                    )
                    self._errors += 1
                    failed.append(table)
                    continue
                with self._lock:
                    self._held -= table.num_rows
                self._written += table.num_rows
                self._segments += 1
            if failed:
                self._pending[(endpoint, day)] = failed
            else:
                del self._pending[(endpoint, day)]

    # ------------------------------------------------------------------ lifecycle

    def flush(self) -> None:
        """Write everything buffered now; returns when it is on storage."""
        self._step(force=True)

    def close(self) -> None:
        """Stop accepting, write every buffered row, stop the writer. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        self._thread.join()
        self._step(force=True)
        if self._buffered or self._held:
            logger.error(
                "prediction log closed with %d unwritten rows", self._buffered + self._held
            )

    def __enter__(self) -> ParquetPredictionLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def stats(self) -> LogStats:
        return LogStats(
            accepted=self._counts["accepted"] + self._buffered,
            sampled_out=self._counts["sampled_out"],
            dropped=self._counts["dropped"],
            written=self._written,
            segments=self._segments,
            write_errors=self._errors,
            buffered=self._buffered + self._held,
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
