"""An in-memory prediction log: the same policy and the same read results, no files.

For tests and demos; it holds every block until it is garbage-collected, and builds the table
the Parquet log would write when read.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from prodml._internal.clock import Clock, SystemClock
from prodml.monitoring.log.base import LogStats, PredictionBatch, PredictionBlock, PredictionRecord
from prodml.monitoring.log.privacy import RecordPolicy
from prodml.monitoring.log.query import empty_table
from prodml.monitoring.log.tables import build_table, micros


class MemoryPredictionLog:
    """Batches kept in a list; ``read`` filters and sorts rows like the Parquet log does."""

    def __init__(
        self,
        *,
        sample_rate: float = 1.0,
        exclude_columns: Collection[str] = (),
        hash_columns: Collection[str] = (),
        hash_salt: str = "",
        clock: Clock | None = None,
    ) -> None:
        self.policy = RecordPolicy(
            sample_rate=sample_rate,
            exclude_columns=exclude_columns,
            hash_columns=hash_columns,
            hash_salt=hash_salt,
        )
        self.clock = clock or SystemClock()
        self._blocks: list[tuple[PredictionBlock, datetime]] = []
        self._lock = threading.Lock()
        self._accepted = 0
        self._sampled_out = 0

    def log_columns(self, batch: PredictionBatch) -> bool:
        return self.log_block(batch.block())

    def log_block(self, block: PredictionBlock) -> bool:
        stamp = block.time or self.clock.now()
        kept, skipped = self.policy.sample_block(block)
        with self._lock:
            if kept is not None:
                self._blocks.append((kept, stamp))
                self._accepted += sum(kept.rows)
            self._sampled_out += skipped
        return True

    def log(self, record: PredictionRecord) -> bool:
        return self.log_columns(PredictionBatch.of_record(record))

    def log_batch(self, records: Iterable[PredictionRecord]) -> int:
        return sum(self.log(r) for r in records)

    def flush(self) -> None:
        """Nothing to do: rows are readable as soon as they are logged."""

    def close(self) -> None:
        """Nothing to do."""

    def stats(self) -> LogStats:
        n = self._accepted
        return LogStats(accepted=n, sampled_out=self._sampled_out, written=n)

    def read(
        self,
        endpoint: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Any:
        import pyarrow as pa

        with self._lock:
            kept = [
                (b, t)
                for b, t in self._blocks
                if (endpoint is None or b.endpoint == endpoint)
                and (start is None or t >= start)
                and (end is None or t < end)
            ]
        if not kept:
            return empty_table()
        blocks = [b for b, _ in kept]
        table = build_table(blocks, micros(t for _, t in kept), self.policy)
        endpoints = [b.endpoint for b in blocks for _ in range(sum(b.rows))]
        table = table.append_column("endpoint", pa.array(endpoints, pa.string()))
        return table.sort_by([("time", "ascending"), ("request_id", "ascending")])
