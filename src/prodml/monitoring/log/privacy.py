"""Which records are kept and what of them is stored: sampling, exclusion and hashing.

Sampling is by request id (a CRC32 of it against the rate), so the decision is the same in
every process and replica, and feedback for a sampled request always finds its rows. A request
of several rows is kept or skipped whole; a shadow variant's copy follows its primary.
Hashed columns store ``sha256(salt + str(value))`` in hex: equal values stay joinable and
countable, the raw value is never written. Use a secret salt so short values cannot be
recovered by hashing every candidate.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from prodml.errors import ConfigError
from prodml.monitoring.log.base import PredictionBatch, PredictionBlock, column_length

_SCALE = float(2**32)


class RecordPolicy:
    """Sampling rate, excluded columns and hashed columns, applied to inputs and outputs."""

    def __init__(
        self,
        *,
        sample_rate: float = 1.0,
        exclude_columns: Collection[str] = (),
        hash_columns: Collection[str] = (),
        hash_salt: str = "",
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise ConfigError(f"sample_rate must be in [0, 1]; got {sample_rate}")
        both = set(exclude_columns) & set(hash_columns)
        if both:
            raise ConfigError(f"columns {sorted(both)} are both excluded and hashed; pick one")
        self.sample_rate = sample_rate
        self.exclude_columns = frozenset(exclude_columns)
        self.hash_columns = frozenset(hash_columns)
        self.hash_salt = hash_salt

    def keeps(self, request_id: str) -> bool:
        """Whether the request is in the sample."""
        if self.sample_rate >= 1.0:
            return True
        return zlib.crc32(request_id.encode()) / _SCALE < self.sample_rate

    def keeps_batch(self, batch: PredictionBatch) -> bool:
        """Whether a request's rows are in the sample (a shadow copy: its primary's decision)."""
        if self.sample_rate >= 1.0:
            return True
        return self.keeps(batch.shadow_of or batch.request_id)

    def sample_block(self, block: PredictionBlock) -> tuple[PredictionBlock | None, int]:
        """The requests of ``block`` in the sample (None: none is) and how many rows were not."""
        if self.sample_rate >= 1.0:
            return block, 0
        primaries = block.shadow_of or block.request_ids
        keep = [self.keeps(p or r) for p, r in zip(primaries, block.request_ids, strict=True)]
        if all(keep):
            return block, 0
        skipped = sum(n for n, k in zip(block.rows, keep, strict=True) if not k)
        if not any(keep):
            return None, skipped
        ends = np.cumsum(block.rows)
        rows = np.concatenate(
            [np.arange(end - n, end) for n, end, k in zip(block.rows, ends, keep, strict=True) if k]
        )
        total = int(ends[-1])

        def kept(values: Sequence[Any]) -> list[Any]:
            return [v for v, k in zip(values, keep, strict=True) if k]

        def rows_of(columns: Any) -> dict[str, Any]:
            # A column without one value per row is not stored anyway: it is left out.
            return {
                name: column[rows] if isinstance(column, np.ndarray) else [column[i] for i in rows]
                for name, column in columns.items()
                if column_length(column) == total
            }

        return (
            block._replace(
                request_ids=kept(block.request_ids),
                rows=kept(block.rows),
                latency_ms=kept(block.latency_ms),
                inputs=rows_of(block.inputs),
                outputs=rows_of(block.outputs),
                shadow_of=None if block.shadow_of is None else kept(block.shadow_of),
            ),
            skipped,
        )

    def hash_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return hashlib.sha256((self.hash_salt + str(value)).encode()).hexdigest()

    def hash_values(self, values: list[Any]) -> list[str | None]:
        """``hash_value`` of each value (None stays None)."""
        salt = self.hash_salt
        sha256 = hashlib.sha256
        return [None if v is None else sha256((salt + str(v)).encode()).hexdigest() for v in values]
