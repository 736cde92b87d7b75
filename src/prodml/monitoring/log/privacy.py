"""Which records are kept and what of them is stored: sampling, exclusion and hashing.

Sampling is by request id (a CRC32 of it against the rate), so the decision is the same in
every process and replica, and feedback for a sampled request always finds its row.
Hashed columns store ``sha256(salt + str(value))`` in hex: equal values stay joinable and
countable, the raw value is never written. Use a secret salt so short values cannot be
recovered by hashing every candidate.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from prodml.errors import ConfigError
from prodml.monitoring.log.base import INPUT_PREFIX, OUTPUT_PREFIX, PredictionRecord

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

    def hash_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return hashlib.sha256((self.hash_salt + str(value)).encode()).hexdigest()

    def apply(self, values: Mapping[str, Any], prefix: str, row: dict[str, Any]) -> None:
        """Copy ``values`` into ``row`` as ``prefix + name``, excluding and hashing."""
        for name, value in values.items():
            if name in self.exclude_columns:
                continue
            hashed = name in self.hash_columns
            row[prefix + name] = self.hash_value(value) if hashed else _scalar(value)

    def row(self, record: PredictionRecord, now: datetime) -> dict[str, Any]:
        """The stored row of ``record``: fixed columns, then ``in_*`` and ``out_*``."""
        row: dict[str, Any] = {
            "request_id": str(record.request_id),
            "time": record.time or now,
            "variant": record.variant,
            "model_name": record.model_name,
            "model_version": str(record.model_version),
            "latency_ms": float(record.latency_ms),
            "status": record.status,
        }
        if record.shadow_of is not None:
            row["shadow_of"] = record.shadow_of
        self.apply(record.inputs, INPUT_PREFIX, row)
        self.apply(record.outputs, OUTPUT_PREFIX, row)
        return row


def _scalar(value: Any) -> Any:
    # numpy scalars and 0-d arrays become Python values so Arrow infers one type per column.
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", 1) == 0:
        return item()
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None else value
