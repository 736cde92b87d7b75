"""An online store in a dict: for tests and notebooks (nothing survives the process)."""

from __future__ import annotations

from collections.abc import Sequence

from prodml.features.online.base import OnlineRow


class InMemoryOnlineStore:
    """``OnlineStore`` over a dict of dicts."""

    def __init__(self) -> None:
        self._views: dict[str, dict[str, OnlineRow]] = {}

    async def write(self, view: str, rows: Sequence[OnlineRow]) -> int:
        stored = self._views.setdefault(view, {})
        applied = 0
        for row in rows:
            current = stored.get(row.key)
            if current is None or row.is_newer_or_same(current):
                stored[row.key] = row
                applied += 1
        return applied

    async def read(self, view: str, keys: Sequence[str]) -> list[OnlineRow | None]:
        stored = self._views.get(view, {})
        return [stored.get(key) for key in keys]

    async def drop(self, view: str) -> None:
        self._views.pop(view, None)

    async def close(self) -> None:
        self._views.clear()
