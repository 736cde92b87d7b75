"""Feature store: applied definitions, materialization intervals and recorded training sets.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_definitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        # entity | feature_view | on_demand_feature_view | feature_service
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        # sha256 of the canonical JSON spec: plan compares digests, not documents.
        sa.Column("spec_sha256", sa.String(64), nullable=False),
        # Bumped on every change, so a reader can tell that a definition moved under it.
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "name", name="uq_feature_definition"),
    )
    op.create_table(
        "feature_materializations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("feature_view", sa.String(255), nullable=False, index=True),
        # NULL start: from the beginning of the source (a view without TTL).
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_written", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "feature_training_sets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("feature_service", sa.String(255), nullable=True),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feature_training_sets")
    op.drop_table("feature_materializations")
    op.drop_table("feature_definitions")
