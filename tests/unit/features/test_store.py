"""FeatureStore end to end: apply, training sets, materialization, push and online lookups."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from prodml.errors import ConfigError, InvalidInputError
from prodml.features import FeatureStatus, FeatureStore, PushMode, RedisOnlineConfig
from prodml.features.catalog import Definition

from .conftest import T0, FixedClock, definitions, driver_rows, service_of

Repo = tuple[FeatureStore, list[Definition]]
REFS = ["driver_stats:trips", "driver_stats:rating"]


def cells(values: Any) -> list[Any]:
    return [None if pd.isna(v) else v for v in values]


def test_training_set_is_point_in_time_and_its_fingerprint_is_recorded(repo: Repo) -> None:
    store, defs = repo
    entity_df = pd.DataFrame(
        {
            "driver_id": [1, 1, 2, 3, 1],
            "event_timestamp": [
                T0,
                T0 + timedelta(hours=2),
                T0 + timedelta(hours=4),
                T0,
                T0 + timedelta(hours=2),
            ],
            "distance_km": [10.0, 22.0, 5.0, 1.0, 22.0],
            "label": [0, 1, 0, 1, 1],
        }
    )
    job = store.get_historical_features(entity_df, service_of(defs))
    frame = job.to_pandas()
    # Driver 1 at +2h: two rows at +1h tie on event time; the later created one (trips 11) wins.
    assert cells(frame["trips"]) == [10, 11, 20, None, 11]
    assert cells(frame["rating"]) == [4.0, 4.1, 3.0, None, 4.1]
    assert cells(frame["km_per_trip"]) == [1.0, 2.0, 0.25, None, 2.0]
    assert frame["label"].tolist() == [0, 1, 0, 1, 1]
    assert job.fingerprint is not None
    [record] = store.training_sets(job.fingerprint)
    assert record.row_count == 5
    assert record.feature_service == "pricing_model"


def test_materialize_then_online_equals_offline_at_that_time_for_every_entity(repo: Repo) -> None:
    store, _ = repo
    at = T0 + timedelta(hours=6)
    store.materialize(None, at)
    drivers = [1, 2, 3, 4]
    online = store.get_online_features([{"driver_id": d} for d in drivers], REFS, drop_stale=True)
    offline = store.get_historical_features(
        pd.DataFrame({"driver_id": drivers, "event_timestamp": [at] * 4}), REFS
    ).to_pandas()
    for name in ("trips", "rating"):
        assert online.values[name] == cells(offline[name]), name
    # Driver 3's only row is 36 hours old, past the 24-hour TTL: flagged, not silently served.
    assert online.statuses["trips"][2] == FeatureStatus.STALE
    assert online.statuses["trips"][3] == FeatureStatus.NOT_FOUND
    assert online.statuses["rating"][0] == FeatureStatus.PRESENT
    assert online.missing_entities == 1
    assert online.stale_values == 1
    assert store.counters.snapshot()["driver_stats"] == {
        "lookups": 4,
        "missing_entities": 1,
        "stale_values": 1,
    }


def test_materialize_is_idempotent_and_never_goes_back_in_time(repo: Repo) -> None:
    store, _ = repo
    [first] = store.materialize(None, T0 + timedelta(hours=6))
    assert first.rows_written == 3
    [again] = store.materialize(None, T0 + timedelta(hours=6))
    assert again.rows_written == 3  # same rows rewritten: allowed, and nothing changes
    # An older window would bring older rows: they must not replace the newer ones.
    [older] = store.materialize(None, T0)
    assert older.rows_written == 1  # only driver 3's identical row; 1 and 2 keep newer rows
    values = store.get_online_features([{"driver_id": 1}, {"driver_id": 2}], REFS).values
    assert values["trips"] == [11, 21]


def test_materialize_incremental_resumes_where_the_last_run_ended(repo: Repo) -> None:
    store, _ = repo
    clock = store.clock
    assert isinstance(clock, FixedClock)
    clock.at = T0 + timedelta(hours=2)
    [first] = store.materialize_incremental()
    assert first.start == T0 + timedelta(hours=2) - timedelta(hours=24)
    clock.at = T0 + timedelta(hours=6)
    [second] = store.materialize_incremental()
    assert second.start == T0 + timedelta(hours=2)
    assert second.rows_read == 1  # only driver 2's row at +5h is new
    assert [m.end for m in store.materializations("driver_stats")] == [
        T0 + timedelta(hours=2),
        T0 + timedelta(hours=6),
    ]


def test_push_online_and_offline(repo: Repo, tmp_path: Path) -> None:
    store, _ = repo
    fresh = pd.DataFrame(
        {
            "driver_id": [7],
            "event_timestamp": [T0 + timedelta(hours=5)],
            "created": [T0 + timedelta(hours=5)],
            "trips": [70],
            "rating": [4.9],
        }
    )
    assert store.push("driver_stats", fresh, to=PushMode.ONLINE_AND_OFFLINE) == 1
    assert store.get_online_features([{"driver_id": 7}], REFS).values["trips"] == [70]
    late = fresh.assign(event_timestamp=[T0], trips=[1])
    assert store.push("driver_stats", late) == 0  # older than what is online
    training = store.get_historical_features(
        pd.DataFrame({"driver_id": [7], "event_timestamp": [T0 + timedelta(hours=6)]}), REFS
    ).to_pandas()
    assert training["trips"].tolist() == [70]
    with pytest.raises(InvalidInputError, match="lack column"):
        store.push("driver_stats", fresh.drop(columns=["rating"]))


def test_async_lookup_runs_on_demand_features_like_training(repo: Repo) -> None:
    store, defs = repo
    store.materialize(None, T0 + timedelta(hours=6))

    async def main() -> Any:
        lookup = store.online_lookup(service_of(defs))
        try:
            return await lookup(
                [{"driver_id": 1, "distance_km": 22.0}, {"driver_id": 5, "distance_km": 1.0}]
            )
        finally:
            await store.aclose()

    result = asyncio.run(main())
    assert result.values["km_per_trip"] == [2.0, None]
    assert result.values["trips"] == [11, None]
    assert result.statuses["trips"] == [FeatureStatus.PRESENT, FeatureStatus.NOT_FOUND]
    with pytest.raises(InvalidInputError, match="distance_km"):
        store.get_online_features([{"driver_id": 1}], service_of(defs))


def test_plan_shows_changes_and_apply_records_them(repo: Repo, tmp_path: Path) -> None:
    store, defs = repo
    assert not store.plan(defs).has_changes
    changed = definitions(tmp_path / "elsewhere")
    plan = store.plan(changed[:2])
    actions = {(c.kind, c.name): (c.action, c.fields) for c in plan.changes}
    assert actions[("feature_view", "driver_stats")] == ("update", ("source",))
    assert actions[("feature_service", "pricing_model")][0] == "remove"
    assert plan.summary() == "0 to add, 1 to update, 2 to remove"
    store.apply(changed[:2])
    assert sorted(store.catalog.feature_views) == ["driver_stats"]
    assert not store.catalog.feature_services


def test_offline_only_views_cannot_be_materialized(repo: Repo) -> None:
    store, _ = repo
    view = replace(store.catalog.feature_view("driver_stats"), online=False)
    store.apply([view])
    with pytest.raises(ConfigError, match="online=False"):
        store.materialize(None, T0, ["driver_stats"])


@pytest.mark.redis
def test_redis_online_store_serves_the_same_values(
    repo: Repo, redis_url: str, tmp_path: Path
) -> None:
    import uuid

    sqlite_store, defs = repo
    prefix = f"prodml-test:{uuid.uuid4().hex}:"
    store = FeatureStore(
        path=tmp_path / "redis-store",
        metadata_url=sqlite_store.metadata_url,
        online={"kind": "redis", "url": redis_url, "key_prefix": prefix},
        definitions=defs,
        clock=sqlite_store.clock,
    )
    try:
        store.materialize(None, T0 + timedelta(hours=6))
        sqlite_store.materialize(None, T0 + timedelta(hours=6))
        rows = [{"driver_id": d} for d in (1, 2, 3, 4)]
        assert store.get_online_features(rows, REFS) == sqlite_store.get_online_features(rows, REFS)
        asyncio.run(_drop(store))
    finally:
        store.close()


async def _drop(store: FeatureStore) -> None:
    from prodml.features.online.redis import RedisOnlineStore

    config = store.online_config
    assert isinstance(config, RedisOnlineConfig)
    online = RedisOnlineStore(config.url, config.key_prefix)
    await online.drop("driver_stats")
    await online.close()


def test_source_rows_fixture_has_the_documented_tie() -> None:
    rows = driver_rows()
    assert rows.duplicated(["driver_id", "event_timestamp"]).sum() == 1
