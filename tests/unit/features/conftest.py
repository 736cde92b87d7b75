"""Fixtures for feature store tests: a small driver repository on disk and a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from prodml.features import (
    Entity,
    FeatureService,
    FeatureStore,
    FeatureView,
    Field,
    ParquetSource,
    RequestSource,
    on_demand_feature_view,
)
from prodml.features.catalog import Definition

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return 0.0


def driver_rows() -> pd.DataFrame:
    hours = pd.to_timedelta
    return pd.DataFrame(
        {
            "driver_id": [1, 1, 1, 2, 2, 3],
            "event_timestamp": [
                T0,
                T0 + hours("1h"),
                T0 + hours("1h"),
                T0,
                T0 + hours("5h"),
                T0 - hours("30h"),
            ],
            "created": [
                T0,
                T0 + hours("3h"),
                T0 + hours("2h"),
                T0,
                T0 + hours("5h"),
                T0 - hours("30h"),
            ],
            "trips": [10, 11, 12, 20, 21, 30],
            "rating": [4.0, 4.1, None, 3.0, 3.5, 2.0],
        }
    )


def definitions(data_dir: Path) -> list[Definition]:
    driver = Entity("driver", ("driver_id",))
    stats = FeatureView(
        "driver_stats",
        entities=(driver,),
        schema=(Field("trips", "int64"), Field("rating", "float64")),
        source=ParquetSource(str(data_dir), created_timestamp_field="created"),
        ttl=timedelta(hours=24),
        owner="ml-team",
        tags={"team": "pricing"},
    )
    trip = RequestSource("trip", schema=(Field("distance_km", "float64"),))

    @on_demand_feature_view(sources=(stats, trip), schema=(Field("km_per_trip", "float64"),))
    def km_per_trip(inputs: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"km_per_trip": inputs["distance_km"] / inputs["trips"]})

    service = FeatureService("pricing_model", [stats, km_per_trip])
    return [driver, stats, km_per_trip, service]


def service_of(defs: list[Definition]) -> FeatureService:
    [service] = [d for d in defs if isinstance(d, FeatureService)]
    return service


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[tuple[FeatureStore, list[Definition]]]:
    data = tmp_path / "driver_stats"
    data.mkdir()
    driver_rows().to_parquet(data / "part-0.parquet", index=False)
    defs = definitions(data)
    store = FeatureStore(
        path=tmp_path / "store",
        metadata_url=f"sqlite:///{tmp_path / 'meta.db'}",
        clock=FixedClock(T0 + timedelta(hours=6)),
    )
    store.apply(defs)
    yield store, defs
    store.close()
