"""The metadata database: engine set-up and automatic, safe schema migrations.

SQLite (WAL) is the embedded default; PostgreSQL is selected by URL. Both go through
SQLAlchemy 2. Every process that opens the database brings the schema to the newest Alembic
revision first, under a lock, so that several processes starting at once migrate exactly once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from prodml.errors import ConfigError

_MIGRATIONS = "prodml._internal:migrations"
# Arbitrary but fixed: the PostgreSQL advisory lock key that serialises migrations.
_PG_MIGRATION_LOCK = 0x70726F646D6C  # "prodml"
_migrated: set[str] = set()
_migrated_lock = threading.Lock()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def connect(url: str, *, migrate: bool = True) -> Engine:
    """An engine for ``url`` with the schema migrated to the newest revision.

    Raises:
        ConfigError: the URL is malformed or names a database driver that is not installed.
    """
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(
            f"metadata URL {url!r} is not a database URL; use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user@host/db"
        ) from exc
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            # One shared connection, so every session sees the same in-memory database.
            kwargs["poolclass"] = sa.pool.StaticPool
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 60}
    elif parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the driver for {parsed.drivername} is not installed ({exc.name}); for PostgreSQL "
            "install it with: pip install 'prodml[postgres]'"
        ) from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    if migrate:
        upgrade(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write, so two writers
    # can both read "the next version is 7" before either takes the lock. We turn it off and
    # emit BEGIN IMMEDIATE ourselves: a transaction takes the write lock when it starts, and
    # waits (busy_timeout) for it rather than failing.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(engine: Engine) -> None:
    """Apply every pending migration, once per process and database, under a cross-process lock."""
    key = engine.url.render_as_string(hide_password=False)
    with _migrated_lock:
        if key in _migrated and engine.url.database != ":memory:":
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", _MIGRATIONS)
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # Transaction-scoped: released on commit, also if this process dies.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK}
                )
            # On SQLite, BEGIN IMMEDIATE above already holds the database's write lock.
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        _migrated.add(key)
