"""The production online store: Redis, one string per (view, entity key).

A value is ``"<event_us> <created_us> <payload>"``. Writes go through a Lua script that compares
the times with the stored ones on the server, so concurrent writers (materialization, pushes)
cannot make an older row win. A read of any number of keys is one ``MGET``: one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prodml.errors import missing_extra
from prodml.features.online.base import OnlineRow

_WRITE_IF_NEWER = """
local applied = 0
for i = 1, #KEYS do
  local new = ARGV[i]
  local ne, nc = string.match(new, "^(%-?%d+) (%-?%d+) ")
  ne = tonumber(ne)
  nc = tonumber(nc)
  local old = redis.call('GET', KEYS[i])
  local newer = true
  if old then
    local oe, oc = string.match(old, "^(%-?%d+) (%-?%d+) ")
    oe = tonumber(oe)
    oc = tonumber(oc)
    if ne < oe or (ne == oe and nc < oc) then newer = false end
  end
  if newer then
    redis.call('SET', KEYS[i], new)
    applied = applied + 1
  end
end
return applied
"""
# Keys per script call: big enough to amortise the round trip, small enough not to block Redis.
_WRITE_CHUNK = 500


class RedisOnlineStore:
    """``OnlineStore`` on a Redis server; ``key_prefix`` keeps several stores apart in one DB."""

    def __init__(self, url: str, key_prefix: str = "prodml:features:") -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError as exc:
            raise missing_extra("redis", "redis") from exc
        self.url = url
        self.key_prefix = key_prefix
        self._client: Any = aioredis.Redis.from_url(url)
        self._script: Any = self._client.register_script(_WRITE_IF_NEWER)

    def _key(self, view: str, key: str) -> str:
        return f"{self.key_prefix}{view}:{key}"

    async def write(self, view: str, rows: Sequence[OnlineRow]) -> int:
        applied = 0
        for start in range(0, len(rows), _WRITE_CHUNK):
            chunk = rows[start : start + _WRITE_CHUNK]
            keys = [self._key(view, r.key) for r in chunk]
            values = [f"{r.event_us} {r.created_us} ".encode() + r.payload for r in chunk]
            applied += int(await self._script(keys=keys, args=values))
        return applied

    async def read(self, view: str, keys: Sequence[str]) -> list[OnlineRow | None]:
        if not keys:
            return []
        raw = await self._client.mget([self._key(view, k) for k in keys])
        rows: list[OnlineRow | None] = []
        for key, value in zip(keys, raw, strict=True):
            if value is None:
                rows.append(None)
                continue
            event_us, created_us, payload = value.split(b" ", 2)
            rows.append(OnlineRow(key, int(event_us), int(created_us), payload))
        return rows

    async def drop(self, view: str) -> None:
        pattern = f"{self.key_prefix}{view}:*"
        batch: list[bytes] = []
        async for key in self._client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await self._client.unlink(*batch)
                batch.clear()
        if batch:
            await self._client.unlink(*batch)

    async def close(self) -> None:
        await self._client.aclose()
