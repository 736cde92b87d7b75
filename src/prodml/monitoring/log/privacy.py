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
from collections.abc import Collection
from typing import Any

from prodml.errors import ConfigError
from prodml.monitoring.log.base import PredictionBatch

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

    def hash_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return hashlib.sha256((self.hash_salt + str(value)).encode()).hexdigest()

    def hash_values(self, values: list[Any]) -> list[str | None]:
        """``hash_value`` of each value (None stays None)."""
        salt = self.hash_salt
        sha256 = hashlib.sha256
        return [None if v is None else sha256((salt + str(v)).encode()).hexdigest() for v in values]
