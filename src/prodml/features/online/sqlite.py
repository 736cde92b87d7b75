"""The embedded online store: one SQLite file (WAL), one row per (view, entity key).

Point reads take microseconds, so small reads run on the event loop: a thread hop would cost
more than the read. Large reads and all writes run in a worker thread so they do not stall it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from prodml.features.online.base import OnlineRow

# Up to this many keys a read runs inline (tens of microseconds); beyond, in a thread.
_INLINE_KEYS = 64
# Stay under SQLite's bound-parameter limit, with room for the view name.
_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_rows (
    view TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    event_us INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (view, entity_key)
) WITHOUT ROWID
"""

# The WHERE clause is the whole ordering rule: only a row at least as new replaces the stored one.
_UPSERT = """
INSERT INTO online_rows (view, entity_key, event_us, created_us, payload)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (view, entity_key) DO UPDATE SET
    event_us = excluded.event_us, created_us = excluded.created_us, payload = excluded.payload
WHERE (excluded.event_us, excluded.created_us) >= (online_rows.event_us, online_rows.created_us)
"""


class SqliteOnlineStore:
    """``OnlineStore`` in a SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute(_SCHEMA)

    def _write(self, view: str, rows: Sequence[OnlineRow]) -> int:
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    _UPSERT,
                    [(view, r.key, r.event_us, r.created_us, r.payload) for r in rows],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return self._db.total_changes - before

    def _read(self, view: str, keys: Sequence[str]) -> list[OnlineRow | None]:
        found: dict[str, OnlineRow] = {}
        with self._lock:
            if len(keys) == 1:
                cursor = self._db.execute(
                    "SELECT entity_key, event_us, created_us, payload FROM online_rows "
                    "WHERE view = ? AND entity_key = ?",
                    (view, keys[0]),
                )
                rows = cursor.fetchall()
            else:
                rows = []
                for start in range(0, len(keys), _CHUNK):
                    chunk = keys[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows.extend(
                        self._db.execute(
                            "SELECT entity_key, event_us, created_us, payload FROM online_rows "
                            f"WHERE view = ? AND entity_key IN ({marks})",
                            (view, *chunk),
                        ).fetchall()
                    )
        for key, event_us, created_us, payload in rows:
            found[key] = OnlineRow(key, event_us, created_us, payload)
        return [found.get(key) for key in keys]

    async def write(self, view: str, rows: Sequence[OnlineRow]) -> int:
        if not rows:
            return 0
        return await asyncio.to_thread(self._write, view, rows)

    async def read(self, view: str, keys: Sequence[str]) -> list[OnlineRow | None]:
        if len(keys) <= _INLINE_KEYS:
            return self._read(view, keys)
        return await asyncio.to_thread(self._read, view, keys)

    async def drop(self, view: str) -> None:
        def run() -> None:
            with self._lock:
                self._db.execute("DELETE FROM online_rows WHERE view = ?", (view,))

        await asyncio.to_thread(run)

    async def close(self) -> None:
        with self._lock:
            self._db.close()
