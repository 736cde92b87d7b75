"""SQLAlchemy Core tables of routing (the schema itself is created by migration 0003)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row: the last generation handed out. Every change to any endpoint takes the next number,
# so a worker polls ``max(generation)`` once to learn whether anything moved.
routing_generation = sa.Table(
    "routing_generation",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

routing_endpoints = sa.Table(
    "routing_endpoints",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("spec_sha256", sa.String(64), nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

routing_revisions = sa.Table(
    "routing_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(128), nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

routing_phases = sa.Table(
    "routing_phases",
    metadata,
    sa.Column("endpoint", sa.String(128), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("weights", sa.JSON, nullable=False),
    sa.Column("salt", sa.String(255), nullable=False),
    sa.Column("keep_assignments", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
)

routing_canary_decisions = sa.Table(
    "routing_canary_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(128), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("traffic_percent", sa.Float, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

routing_bandit_arms = sa.Table(
    "routing_bandit_arms",
    metadata,
    sa.Column("endpoint", sa.String(128), primary_key=True),
    sa.Column("arm", sa.String(128), primary_key=True),
    sa.Column("served", sa.BigInteger, nullable=False),
    sa.Column("rewarded", sa.BigInteger, nullable=False),
    sa.Column("reward_sum", sa.Float, nullable=False),
    sa.Column("reward_sum_squares", sa.Float, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

routing_requests = sa.Table(
    "routing_requests",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("endpoint", sa.String(128), nullable=False),
    sa.Column("variant", sa.String(128), nullable=False),
    sa.Column("phase", sa.Integer, nullable=False),
    sa.Column("unit", sa.String(255), nullable=True),
    sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=True),
    sa.Column("error", sa.Boolean, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("label", sa.JSON, nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
)
