"""A clock that tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Starts at ``start`` (default 2026-01-01 UTC) and moves only when told to.

    >>> clock = FakeClock()
    >>> clock.advance(seconds=90)
    >>> clock.now().isoformat()
    '2026-01-01T00:01:30+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._monotonic = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, *, seconds: float = 0.0) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds
