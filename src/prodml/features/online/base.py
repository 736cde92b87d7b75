"""The online store seam: async writes that never let an older row replace a newer one.

A store holds, per feature view and entity key, one ``OnlineRow``: the row's event time and
created time (microseconds since the epoch, UTC) and its feature values as an opaque payload
(encoded by ``prodml.features.online.codec``). Stores compare only the times, so every store
keeps the same row whatever order writes arrive in: the newest event time wins, then the newest
created time; a write that ties on both replaces the stored row, so re-running is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# Stands in for a missing created time: ranks below every real one, and is exact in a double
# (Redis' Lua compares times as doubles).
NO_CREATED = -(2**52)


@dataclass(frozen=True, slots=True)
class OnlineRow:
    """One entity's latest features of one view, as stored."""

    key: str
    event_us: int
    created_us: int
    payload: bytes

    def is_newer_or_same(self, other: OnlineRow) -> bool:
        """True when this row may replace ``other`` (the ordering every store implements)."""
        return (self.event_us, self.created_us) >= (other.event_us, other.created_us)


class OnlineStore(Protocol):
    """Latest rows per (feature view, entity key), read and written asynchronously."""

    async def write(self, view: str, rows: Sequence[OnlineRow]) -> int:
        """Store each row unless the stored one is newer; return how many rows were applied.

        Rows with the same key in one call are applied in order, under the same rule.
        """
        ...

    async def read(self, view: str, keys: Sequence[str]) -> list[OnlineRow | None]:
        """The stored row for each key, in order; None where the key has none."""
        ...

    async def drop(self, view: str) -> None:
        """Forget every row of ``view``."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
