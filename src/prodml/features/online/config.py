"""Which online store to use, chosen by the ``kind`` field of a validated config.

>>> parse_online_config({"kind": "redis", "url": "redis://cache:6379/0"}).kind
'redis'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from prodml.errors import ConfigError
from prodml.features.online.base import OnlineStore


class SqliteOnlineConfig(BaseModel):
    """The embedded default; ``path`` defaults to ``online.db`` in the feature store's folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["sqlite"] = "sqlite"
    path: Path | None = None


class RedisOnlineConfig(BaseModel):
    """A Redis server; ``key_prefix`` separates several stores sharing one database."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["redis"] = "redis"
    url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "prodml:features:"


class MemoryOnlineConfig(BaseModel):
    """A dict in this process (tests and notebooks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["memory"] = "memory"


OnlineStoreConfig = Annotated[
    SqliteOnlineConfig | RedisOnlineConfig | MemoryOnlineConfig, Field(discriminator="kind")
]
_ADAPTER: TypeAdapter[SqliteOnlineConfig | RedisOnlineConfig | MemoryOnlineConfig] = TypeAdapter(
    OnlineStoreConfig
)


def parse_online_config(
    data: dict[str, Any] | SqliteOnlineConfig | RedisOnlineConfig | MemoryOnlineConfig,
) -> SqliteOnlineConfig | RedisOnlineConfig | MemoryOnlineConfig:
    """Validate a config mapping (for example from YAML); errors name the field."""
    if isinstance(data, SqliteOnlineConfig | RedisOnlineConfig | MemoryOnlineConfig):
        return data
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "kind"
        raise ConfigError(
            f"online store config: field {where!r}: {first['msg']}; kind is one of sqlite, "
            "redis, memory"
        ) from None


def open_online_store(
    config: SqliteOnlineConfig | RedisOnlineConfig | MemoryOnlineConfig, *, folder: Path
) -> OnlineStore:
    """The one factory: an online store for ``config`` (SQLite files default into ``folder``)."""
    if isinstance(config, SqliteOnlineConfig):
        from prodml.features.online.sqlite import SqliteOnlineStore

        return SqliteOnlineStore(config.path or folder / "online.db")
    if isinstance(config, RedisOnlineConfig):
        from prodml.features.online.redis import RedisOnlineStore

        return RedisOnlineStore(config.url, config.key_prefix)
    from prodml.features.online.memory import InMemoryOnlineStore

    return InMemoryOnlineStore()
