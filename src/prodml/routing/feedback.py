"""Served requests and their feedback (ground truth or reward), by request id.

Serving calls :meth:`FeedbackStore.record_served` (or ``record_served_many``, batched) with the
variant and phase that answered; clients later send feedback by request id. Feedback is
all-or-nothing per batch: an unknown id refuses the whole batch (naming the ids) and writes
nothing. Sending the same feedback again changes nothing; sending *different* feedback for an id
that already has some is refused, because a reward must reach the bandit state exactly once.

Rewards reach the bandit state of the endpoint (``routing_bandit_arms``) in the same
transaction as the feedback, with ``SET x = x + :delta`` updates, so several workers and
feedback senders never lose a count.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prodml._internal.clock import Clock, SystemClock
from prodml.errors import ConflictError, InvalidInputError, NotFoundError
from prodml.routing.tables import routing_bandit_arms, routing_requests
from prodml.settings import Settings

_CHUNK = 500  # ids per IN (...) query: SQLite allows 32,766 parameters, PostgreSQL 65,535
_SHOWN = 10  # ids quoted in an error message


@dataclass(frozen=True, slots=True)
class Served:
    """One answered request: which variant answered it, in which phase, for which unit."""

    request_id: str
    endpoint: str
    variant: str
    phase: int
    unit: str | None = None
    served_at: datetime | None = None
    latency_ms: float | None = None
    error: bool = False


@dataclass(frozen=True)
class Feedback:
    """Feedback for one request: a numeric ``value`` (reward, correctness) and/or a ``label``."""

    request_id: str
    value: float | None = None
    label: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.request_id, str) or not self.request_id:
            raise InvalidInputError(f"feedback needs a request_id string, got {self.request_id!r}")
        if self.value is None and self.label is None:
            raise InvalidInputError(
                f"feedback for {self.request_id!r} has neither a value nor a label"
            )
        if self.value is not None and (
            isinstance(self.value, bool) or not math.isfinite(float(self.value))
        ):
            raise InvalidInputError(
                f"feedback value for {self.request_id!r} must be a finite number, "
                f"got {self.value!r}"
            )


@dataclass(frozen=True)
class FeedbackResult:
    """How a batch was taken: newly recorded ids and repeats that changed nothing."""

    recorded: int
    unchanged: int


class FeedbackStore(Protocol):
    """Where served requests and their feedback are kept (the prediction log will implement it)."""

    def record_served(
        self,
        request_id: str,
        endpoint: str,
        variant: str,
        *,
        phase: int,
        unit: str | None = None,
        served_at: datetime | None = None,
        latency_ms: float | None = None,
        error: bool = False,
    ) -> None: ...

    def record_served_many(self, records: Sequence[Served]) -> None: ...

    def record_feedback(
        self, items: Feedback | Iterable[Feedback], *, endpoint: str | None = None
    ) -> FeedbackResult: ...


class SqlFeedbackStore:
    """:class:`FeedbackStore` on the metadata database."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()

    @classmethod
    def open(
        cls,
        *,
        home: Path | None = None,
        metadata_url: str | None = None,
        clock: Clock | None = None,
    ) -> SqlFeedbackStore:
        return cls(Settings.at(home).metadata_engine(metadata_url), clock)

    def record_served(
        self,
        request_id: str,
        endpoint: str,
        variant: str,
        *,
        phase: int,
        unit: str | None = None,
        served_at: datetime | None = None,
        latency_ms: float | None = None,
        error: bool = False,
    ) -> None:
        self.record_served_many(
            [Served(request_id, endpoint, variant, phase, unit, served_at, latency_ms, error)]
        )

    def record_served_many(self, records: Sequence[Served]) -> None:
        """Record answered requests (one transaction).

        Raises:
            ConflictError: a request id was recorded before (nothing is written).
        """
        if not records:
            return
        now = self.clock.now()
        served: dict[tuple[str, str], int] = defaultdict(int)
        for r in records:
            served[r.endpoint, r.variant] += 1
        try:
            with self.engine.begin() as conn:
                _insert_served(conn, records, now)
                _bump_arms(conn, {k: (n, 0, 0.0, 0.0) for k, n in served.items()}, now)
        except sa.exc.IntegrityError as exc:
            raise ConflictError(
                "a request id in this batch was already recorded as served; request ids must be "
                "unique (nothing was written)"
            ) from exc

    def record_feedback(
        self, items: Feedback | Iterable[Feedback], *, endpoint: str | None = None
    ) -> FeedbackResult:
        """Attach feedback to served requests, all or nothing.

        Args:
            items: one feedback or many.
            endpoint: when given, ids served by another endpoint count as unknown.

        Raises:
            NotFoundError: some request ids were never served (listed; nothing is written).
            ConflictError: an id already has different feedback, or the batch gives one id two
                different answers (nothing is written).
        """
        batch = _dedupe([items] if isinstance(items, Feedback) else list(items))
        now = self.clock.now()
        with self.engine.begin() as conn:
            existing = {row.request_id: row for row in _fetch(conn, list(batch))}
            unknown = [
                i
                for i in batch
                if i not in existing or endpoint not in (None, existing[i].endpoint)
            ]
            if unknown:
                where = "" if endpoint is None else f" by endpoint {endpoint!r}"
                raise NotFoundError(
                    f"{len(unknown)} request id(s) were never served{where}: {_quote(unknown)}; "
                    "nothing in this batch was recorded"
                )
            fresh, same, changed = [], 0, []
            for request_id, item in batch.items():
                row = existing[request_id]
                if row.received_at is None:
                    fresh.append(item)
                elif row.value == item.value and row.label == item.label:
                    same += 1
                else:
                    changed.append(request_id)
            if changed:
                raise ConflictError(
                    f"{len(changed)} request id(s) already have different feedback: "
                    f"{_quote(changed)}; nothing in this batch was recorded"
                )
            rewards: dict[tuple[str, str], tuple[int, int, float, float]] = {}
            for item in fresh:
                conn.execute(
                    sa.update(routing_requests)
                    .where(routing_requests.c.request_id == item.request_id)
                    .values(value=item.value, label=item.label, received_at=now)
                )
                if item.value is not None:
                    row = existing[item.request_id]
                    key = (row.endpoint, row.variant)
                    _, n, total, squares = rewards.get(key, (0, 0, 0.0, 0.0))
                    v = float(item.value)
                    rewards[key] = (0, n + 1, total + v, squares + v * v)
            _bump_arms(conn, rewards, now)
        return FeedbackResult(recorded=len(fresh), unchanged=same)


# Why served records are not inserted with ``conn.execute(sa.insert(table), dicts)``: a server
# answering 100-row requests produces ~130k records a second, and SQLAlchemy's per-row parameter
# processing (a dict per row, the None label JSON-encoded each time, every datetime formatted)
# made that insert ~65k records/s on SQLite and ~40k on PostgreSQL, so the writer thread took
# the CPU from serving. Tuples through the driver's executemany (SQLite) and COPY (psycopg)
# reach ~270k and ~180k (benchmarks/served_records.py: 20,000 records, 2 cores, empty table;
# ~200k and ~120-200k into a growing one). What is stored does not change: values go through
# the bind processors SQLAlchemy applies (once per batch for the shared ``now``), the label is
# JSON null as before, and value and received_at keep their NULL default.

# What SQLAlchemy's JSON type writes for the (always None) label; both drivers take the text.
_JSON_NULL = "null"


def _insert_served(conn: sa.Connection, records: Sequence[Served], now: datetime) -> None:
    """Insert served records in the bulk way of the driver (SQLAlchemy's insert for others)."""
    dialect = conn.dialect
    values = _served_columns(records, now)
    names = ", ".join(values)
    driver = conn.connection.driver_connection
    if dialect.name == "sqlite" and dialect.paramstyle == "qmark":
        marks = ", ".join("?" * len(values))
        conn.exec_driver_sql(
            f"INSERT INTO {routing_requests.name} ({names}) VALUES ({marks})",
            _bound_rows(dialect, values, now),
        )
    elif dialect.name == "postgresql" and dialect.driver == "psycopg" and driver is not None:
        statement = f"COPY {routing_requests.name} ({names}) FROM STDIN"
        rows = _bound_rows(dialect, values, now)
        dbapi_error = dialect.loaded_dbapi.Error
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except dbapi_error as exc:
            # What SQLAlchemy raises for the same failure of an INSERT (IntegrityError, ...).
            raise sa.exc.DBAPIError.instance(
                statement, None, exc, dbapi_error, dialect=dialect
            ) from exc
    else:  # another driver: SQLAlchemy's own insert
        conn.execute(
            sa.insert(routing_requests),
            [dict(zip(values, row, strict=True)) for row in zip(*values.values(), strict=True)],
        )


def _served_columns(records: Sequence[Served], now: datetime) -> dict[str, list[Any]]:
    """The inserted columns, one value per record (columns, not rows: fewer objects to make)."""
    return {
        "request_id": [r.request_id for r in records],
        "endpoint": [r.endpoint for r in records],
        "variant": [r.variant for r in records],
        "phase": [r.phase for r in records],
        "unit": [r.unit for r in records],
        "served_at": [now if r.served_at is None else r.served_at for r in records],
        "latency_ms": [r.latency_ms for r in records],
        "error": [r.error for r in records],
        "label": [None] * len(records),
    }


def _bound_rows(
    dialect: sa.Dialect, columns: dict[str, list[Any]], now: datetime
) -> list[tuple[Any, ...]]:
    """The rows as SQLAlchemy hands them to the driver: each value through its bind processor."""
    bound: list[Iterable[Any]] = []
    for name, values in columns.items():
        process = routing_requests.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if name == "label":
            bound.append(repeat(_JSON_NULL))
        elif process is None:
            bound.append(values)
        elif name == "served_at":
            now_value = process(now)  # SQLite: SQLAlchemy's own text format
            bound.append([now_value if v is now else process(v) for v in values])
        else:
            bound.append(map(process, values))
    return list(zip(*bound, strict=False))  # the label repeats without end


def _dedupe(items: list[Feedback]) -> dict[str, Feedback]:
    batch: dict[str, Feedback] = {}
    for item in items:
        if not isinstance(item, Feedback):
            raise InvalidInputError(f"expected Feedback items, got {type(item).__name__}")
        seen = batch.get(item.request_id)
        if seen is not None and seen != item:
            raise ConflictError(
                f"request id {item.request_id!r} appears twice in the batch with different "
                "feedback; nothing was recorded"
            )
        batch[item.request_id] = item
    if not batch:
        raise InvalidInputError("no feedback given")
    return batch


def _fetch(conn: sa.Connection, ids: list[str]) -> Iterator[Any]:
    columns = (
        routing_requests.c.request_id,
        routing_requests.c.endpoint,
        routing_requests.c.variant,
        routing_requests.c.value,
        routing_requests.c.label,
        routing_requests.c.received_at,
    )
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        yield from conn.execute(
            sa.select(*columns).where(routing_requests.c.request_id.in_(chunk))
        ).all()


def _bump_arms(
    conn: sa.Connection, deltas: dict[tuple[str, str], tuple[int, int, float, float]], now: datetime
) -> None:
    # Arms exist only for bandit endpoints; for any other endpoint the UPDATE matches no row.
    arms = routing_bandit_arms.c
    for (endpoint, arm), (served, rewarded, total, squares) in deltas.items():
        conn.execute(
            sa.update(routing_bandit_arms)
            .where(arms.endpoint == endpoint, arms.arm == arm)
            .values(
                served=arms.served + served,
                rewarded=arms.rewarded + rewarded,
                reward_sum=arms.reward_sum + total,
                reward_sum_squares=arms.reward_sum_squares + squares,
                updated_at=now,
            )
        )


def _quote(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_SHOWN])
    return shown + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")
