"""Online lookup latency: one entity x 10 features, and 1,000 entities x 10 features.

Targets (issue 6): p99 under 1 ms for one entity on SQLite and on Redis; a 1,000-entity batch
under 20 ms. Measures the public path (``FeatureStore.online_lookup``: key encoding, the store
read, JSON decoding, statuses), not the store alone.

    python benchmarks/online_features.py                     # SQLite, and Redis if reachable
    python benchmarks/online_features.py --redis-url redis://127.0.0.1:6379/15 --iterations 5000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prodml.features import Entity, FeatureStore, FeatureView, Field, ParquetSource

ENTITIES = 10_000
FEATURES = [f"f{i}" for i in range(10)]


def build(folder: Path, online: dict[str, Any]) -> FeatureStore:
    rng = np.random.default_rng(0)
    now = datetime.now(UTC)
    frame = pd.DataFrame({"user_id": np.arange(ENTITIES), "event_timestamp": now})
    for name in FEATURES:
        frame[name] = rng.normal(size=ENTITIES)
    frame.to_parquet(folder / "users.parquet", index=False)
    user = Entity("user", ("user_id",))
    view = FeatureView(
        "user_stats",
        entities=(user,),
        schema=tuple(Field(n, "float64") for n in FEATURES),
        source=ParquetSource(str(folder / "users.parquet")),
        ttl=timedelta(days=1),
    )
    store = FeatureStore(
        path=folder / "store", metadata_url=f"sqlite:///{folder / 'meta.db'}", online=online
    )
    store.apply([user, view])
    store.materialize(None, now + timedelta(seconds=1), progress=False)
    return store


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return (
        f"p50 {np.percentile(ms, 50):.3f} ms  p99 {np.percentile(ms, 99):.3f} ms  "
        f"mean {statistics.fmean(ms):.3f} ms  (n={len(ms)})"
    )


async def measure(store: FeatureStore, iterations: int, batches: int) -> tuple[str, str]:
    refs = [f"user_stats:{n}" for n in FEATURES]
    lookup = store.online_lookup(refs)
    rng = np.random.default_rng(1)
    for _ in range(200):  # warm-up: connections, caches
        await lookup([{"user_id": int(rng.integers(ENTITIES))}])
    single = []
    for _ in range(iterations):
        row = [{"user_id": int(rng.integers(ENTITIES))}]
        start = time.perf_counter()
        result = await lookup(row)
        single.append(time.perf_counter() - start)
    if result.missing_entities:
        raise SystemExit("benchmark data missing from the online store")
    batch = []
    for _ in range(batches):
        rows = [{"user_id": int(i)} for i in rng.choice(ENTITIES, 1000, replace=False)]
        start = time.perf_counter()
        await lookup(rows)
        batch.append(time.perf_counter() - start)
    await store.aclose()
    return percentiles(single), percentiles(batch)


def run(name: str, online: dict[str, Any], iterations: int, batches: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(tmp), online)
        try:
            single, batch = asyncio.run(measure(store, iterations, batches))
        finally:
            store.close()
    print(f"{name:7s} 1 entity x 10 features:     {single}")
    print(f"{name:7s} 1000 entities x 10 features: {batch}")


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def drop_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=5000))
    for start in range(0, len(keys), 5000):
        client.delete(*keys[start : start + 5000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    run("sqlite", {"kind": "sqlite"}, args.iterations, args.batches)
    if redis_reachable(args.redis_url):
        prefix = f"prodml-bench:{uuid.uuid4().hex}:"
        try:
            run(
                "redis",
                {"kind": "redis", "url": args.redis_url, "key_prefix": prefix},
                args.iterations,
                args.batches,
            )
        finally:
            drop_prefix(args.redis_url, prefix)
    else:
        print(f"redis   skipped: {args.redis_url} is not reachable")


if __name__ == "__main__":
    main()
