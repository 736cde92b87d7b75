"""Alembic migrations of the metadata database (applied by prodml._internal.db.upgrade)."""
