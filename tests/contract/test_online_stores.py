"""Every online store passes the same contract (``prodml.testing.online_store_contract``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from prodml.features.online.base import OnlineStore
from prodml.features.online.memory import InMemoryOnlineStore
from prodml.features.online.redis import RedisOnlineStore
from prodml.features.online.sqlite import SqliteOnlineStore
from prodml.testing.online_store_contract import OnlineStoreContract


class TestInMemoryOnlineStore(OnlineStoreContract):
    def open_store(self) -> OnlineStore:
        return InMemoryOnlineStore()


class TestSqliteOnlineStore(OnlineStoreContract):
    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.path = tmp_path / "online.db"

    def open_store(self) -> OnlineStore:
        return SqliteOnlineStore(self.path)


@pytest.mark.redis
class TestRedisOnlineStore(OnlineStoreContract):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_url: str) -> Iterator[None]:
        self.url = redis_url
        self.prefix = f"prodml-test:{uuid.uuid4().hex}:"
        yield
        asyncio.run(_delete_prefix(redis_url, self.prefix))

    def open_store(self) -> OnlineStore:
        return RedisOnlineStore(self.url, self.prefix)


async def _delete_prefix(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
