"""Served records written by the hand-written bulk insert read back exactly as SQLAlchemy's own
insert wrote them, on SQLite, on PostgreSQL (COPY) and through the generic path; a reused request
id writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prodml._internal.db import connect
from prodml.errors import ConflictError
from prodml.routing import EndpointSpec, EndpointStore, Feedback, Served, SqlFeedbackStore
from prodml.routing.tables import routing_requests
from prodml.settings import Settings
from prodml.testing.clock import FakeClock

RECORDS = [
    Served("plain", "ep", "a", 1),  # served_at: the clock's now
    Served("r/0", "ep", "b", 2, unit="user-1", latency_ms=3.25, error=True),
    Served("r/1", "ep", "b", 2, unit="ü\ttab\nnewline\\back'quote\"", latency_ms=0.0),
    Served("utc", "ep2", "a", 1, served_at=datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)),
    Served(
        "offset",
        "ep2",
        "a",
        1,
        served_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        latency_ms=1e-9,
    ),
    Served("naive", "ep2", "a", 1, served_at=datetime(2024, 1, 2, 3, 4, 5), latency_ms=7),
]


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite-named"]
)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """SQLite and PostgreSQL (their bulk paths) and SQLite under a ``named`` paramstyle, which
    no bulk path takes (what any other driver gets: SQLAlchemy's own insert)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
    else:
        url = Settings().resolved_metadata_url()
    engine = connect(url)
    if request.param == "sqlite-named":
        engine.dispose()
        engine = sa.create_engine(url, paramstyle="named")
    yield engine
    engine.dispose()


def _insert_as_before(engine: Engine, records: list[Served], now: datetime) -> None:
    """What ``record_served_many`` ran before the bulk insert (its arm counts aside)."""
    rows = [
        {
            "request_id": r.request_id,
            "endpoint": r.endpoint,
            "variant": r.variant,
            "phase": r.phase,
            "unit": r.unit,
            "served_at": r.served_at or now,
            "latency_ms": r.latency_ms,
            "error": r.error,
            "value": None,
            "label": None,
            "received_at": None,
        }
        for r in records
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(routing_requests), rows)


def _read_back(engine: Engine) -> tuple[list[Any], list[Any]]:
    """The rows as stored (the driver's values, text of every column) and as SQLAlchemy reads."""
    columns = [c.name for c in routing_requests.c]
    stored = ", ".join(
        [*columns, *(f"CAST({c} AS TEXT)" for c in columns), *(f"{c} IS NULL" for c in columns)]
    )
    with engine.connect() as conn:
        raw = conn.exec_driver_sql(f"SELECT {stored} FROM routing_requests ORDER BY 1").all()
        typed = conn.execute(
            sa.select(routing_requests).order_by(routing_requests.c.request_id)
        ).all()
    return [tuple(r) for r in raw], list(typed)


def test_bulk_insert_stores_what_sqlalchemy_stored(engine: Engine) -> None:
    clock = FakeClock(datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC))
    _insert_as_before(engine, RECORDS, clock.now())
    before = _read_back(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(routing_requests))

    feedback = SqlFeedbackStore(engine, clock)
    feedback.record_served_many(RECORDS)

    after = _read_back(engine)
    assert after == before
    _, typed = after
    assert len(typed) == len(RECORDS)
    row = {r.request_id: r for r in typed}["r/1"]
    assert (row.unit, row.latency_ms, row.error, row.label, row.value) == (
        RECORDS[2].unit,
        0.0,
        False,
        None,
        None,
    )
    # The rows take feedback as rows written by SQLAlchemy did.
    result = feedback.record_feedback([Feedback("r/0", 1.0, label="yes"), Feedback("plain", 0.0)])
    assert (result.recorded, result.unchanged) == (2, 0)


def test_a_reused_request_id_writes_nothing(engine: Engine) -> None:
    store = EndpointStore(engine, FakeClock(), actor="tester")
    store.apply(
        EndpointSpec.parse(
            {
                "name": "ep",
                "variants": [{"name": "a", "model": "m/1"}, {"name": "b", "model": "m/2"}],
                "strategy": {"kind": "bandit"},
            }
        )
    )
    feedback = SqlFeedbackStore(engine, FakeClock())
    feedback.record_served_many([Served("seen", "ep", "a", 1)])
    fresh = [Served(f"new/{i}", "ep", "b", 1) for i in range(50)]

    with pytest.raises(ConflictError, match=r"already recorded.*nothing was written"):
        feedback.record_served_many([*fresh, Served("seen", "ep", "a", 1)])
    with pytest.raises(ConflictError, match=r"already recorded.*nothing was written"):
        feedback.record_served_many([*fresh, fresh[7]])  # the same id twice in one batch

    _, typed = _read_back(engine)
    assert [r.request_id for r in typed] == ["seen"]
    arms = store.bandit_arms("ep")
    assert (arms["a"].served, arms["b"].served) == (1, 0)
    feedback.record_served_many(fresh)  # the connection is usable and the ids still free
    assert store.bandit_arms("ep")["b"].served == 50


@pytest.mark.postgres
def test_other_database_errors_keep_their_sqlalchemy_type(postgres_url: str) -> None:
    engine = connect(postgres_url)
    try:
        with pytest.raises(sa.exc.DataError, match="too long"):  # VARCHAR(128)
            SqlFeedbackStore(engine, FakeClock()).record_served_many(
                [Served("x" * 129, "e", "a", 1)]
            )
    finally:
        engine.dispose()
