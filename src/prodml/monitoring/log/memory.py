"""An in-memory prediction log: the same policy and the same read results, no files.

For tests and demos; it holds every row until it is garbage-collected.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from prodml._internal.clock import Clock, SystemClock
from prodml.monitoring.log.base import LogStats, PredictionRecord
from prodml.monitoring.log.privacy import RecordPolicy
from prodml.monitoring.log.query import empty_table


class MemoryPredictionLog:
    """Rows kept in a list; ``read`` filters and sorts them like the Parquet log does."""

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
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._sampled_out = 0

    def log(self, record: PredictionRecord) -> bool:
        with self._lock:
            if self.policy.keeps(record.request_id):
                row = self.policy.row(record, self.clock.now())
                row["endpoint"] = record.endpoint
                self._rows.append(row)
            else:
                self._sampled_out += 1
        return True

    def log_batch(self, records: Iterable[PredictionRecord]) -> int:
        return sum(self.log(r) for r in records)

    def flush(self) -> None:
        """Nothing to do: rows are readable as soon as they are logged."""

    def close(self) -> None:
        """Nothing to do."""

    def stats(self) -> LogStats:
        n = len(self._rows)
        return LogStats(accepted=n, sampled_out=self._sampled_out, written=n)

    def read(
        self,
        endpoint: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Any:
        from prodml.monitoring.log.parquet import to_table

        with self._lock:
            rows = [
                r
                for r in self._rows
                if (endpoint is None or r["endpoint"] == endpoint)
                and (start is None or r["time"] >= start)
                and (end is None or r["time"] < end)
            ]
        if not rows:
            return empty_table()
        rows.sort(key=lambda r: (r["time"], r["request_id"]))
        return to_table(rows)
