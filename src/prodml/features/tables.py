"""SQLAlchemy Core tables of the feature store (the schema itself is created by migration 0002)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

feature_definitions = sa.Table(
    "feature_definitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("spec_sha256", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

feature_materializations = sa.Table(
    "feature_materializations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feature_view", sa.String(255), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rows_written", sa.BigInteger, nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
)

feature_training_sets = sa.Table(
    "feature_training_sets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("feature_service", sa.String(255), nullable=True),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
