"""What the feature store remembers besides definitions: materialized intervals, training sets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prodml.features.tables import feature_materializations, feature_training_sets


@dataclass(frozen=True)
class MaterializedInterval:
    """One finished materialization of one view."""

    feature_view: str
    start: datetime | None
    end: datetime
    rows_written: int
    finished_at: datetime


@dataclass(frozen=True)
class TrainingSetRecord:
    """A training set, named by the fingerprint of its rows (what model lineage cites)."""

    fingerprint: str
    features: tuple[str, ...]
    feature_service: str | None
    row_count: int
    created_at: datetime


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone-aware columns; they were stored as UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def record_materialization(engine: Engine, interval: MaterializedInterval) -> None:
    with engine.begin() as connection:
        connection.execute(
            feature_materializations.insert().values(
                feature_view=interval.feature_view,
                start_at=interval.start,
                end_at=interval.end,
                rows_written=interval.rows_written,
                finished_at=interval.finished_at,
            )
        )


def last_materialized_end(engine: Engine, view: str) -> datetime | None:
    """Where ``materialize_incremental`` resumes: the latest end recorded for ``view``."""
    table = feature_materializations
    with engine.connect() as connection:
        value = connection.execute(
            sa.select(sa.func.max(table.c.end_at)).where(table.c.feature_view == view)
        ).scalar()
    return _utc(value)


def materializations(engine: Engine, view: str | None = None) -> list[MaterializedInterval]:
    table = feature_materializations
    query = sa.select(table).order_by(table.c.id)
    if view is not None:
        query = query.where(table.c.feature_view == view)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        MaterializedInterval(
            r.feature_view,
            _utc(r.start_at),
            _utc(r.end_at) or r.end_at,
            r.rows_written,
            _utc(r.finished_at) or r.finished_at,
        )
        for r in rows
    ]


def record_training_set(engine: Engine, record: TrainingSetRecord) -> None:
    with engine.begin() as connection:
        connection.execute(
            feature_training_sets.insert().values(
                fingerprint=record.fingerprint,
                features=list(record.features),
                feature_service=record.feature_service,
                row_count=record.row_count,
                created_at=record.created_at,
            )
        )


def training_sets(engine: Engine, fingerprint: str | None = None) -> Sequence[TrainingSetRecord]:
    table = feature_training_sets
    query = sa.select(table).order_by(table.c.id)
    if fingerprint is not None:
        query = query.where(table.c.fingerprint == fingerprint)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        TrainingSetRecord(
            r.fingerprint,
            tuple(r.features),
            r.feature_service,
            r.row_count,
            _utc(r.created_at) or r.created_at,
        )
        for r in rows
    ]
