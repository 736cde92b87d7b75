"""Routing: endpoints, their revisions and phases, canary decisions, bandit arms, feedback.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A single counter row: every endpoint change takes the next generation, so serving workers
    # learn whether anything changed from one cheap read.
    op.create_table(
        "routing_generation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        sa.table("routing_generation", sa.column("id", sa.Integer), sa.column("value")),
        [{"id": 1, "value": 0}],
    )
    op.create_table(
        "routing_endpoints",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("spec", sa.JSON, nullable=False),
        # sha256 of the canonical JSON spec: apply compares digests to skip no-op changes.
        sa.Column("spec_sha256", sa.String(64), nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False, index=True),
        # Controller state (canary step and status), changed without a new spec revision.
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "routing_revisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(128), nullable=False, index=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "routing_phases",
        sa.Column("endpoint", sa.String(128), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("weights", sa.JSON, nullable=False),
        sa.Column("salt", sa.String(255), nullable=False),
        sa.Column("keep_assignments", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "routing_canary_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(128), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("traffic_percent", sa.Float, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_table(
        "routing_bandit_arms",
        sa.Column("endpoint", sa.String(128), primary_key=True),
        sa.Column("arm", sa.String(128), primary_key=True),
        # Updated with "SET x = x + :d" in one statement, so concurrent workers never lose counts.
        sa.Column("served", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rewarded", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("reward_sum", sa.Float, nullable=False, server_default="0"),
        sa.Column("reward_sum_squares", sa.Float, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "routing_requests",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("variant", sa.String(128), nullable=False),
        sa.Column("phase", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(255), nullable=True),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("error", sa.Boolean, nullable=False),
        # Feedback: a numeric value (reward, correctness) and/or a ground-truth label.
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("label", sa.JSON, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_routing_requests_endpoint_phase", "routing_requests", ["endpoint", "phase", "variant"]
    )


def downgrade() -> None:
    op.drop_index("ix_routing_requests_endpoint_phase", table_name="routing_requests")
    for table in (
        "routing_requests",
        "routing_bandit_arms",
        "routing_canary_decisions",
        "routing_phases",
        "routing_revisions",
        "routing_endpoints",
        "routing_generation",
    ):
        op.drop_table(table)
