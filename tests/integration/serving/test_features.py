"""Features at serving time: entity keys in, online features (and on-demand ones) into the
model, predictions equal to the model's on the offline point-in-time features."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from prodml.features import FeatureStore
from prodml.features.loading import load_definitions
from prodml.serving import InMemoryLoader, ServerConfig, TestServer
from prodml.serving.config import FeatureStoreConfig, ModelConfig, PredictionLogConfig
from prodml.testing.fakes import FakeModel
from prodml.types import Signature, TensorSpec

DEFS = """
from datetime import timedelta
import pandas as pd
from prodml.features import (
    Entity, FeatureService, FeatureView, Field, ParquetSource, RequestSource,
    on_demand_feature_view,
)

driver = Entity("driver", join_keys=("driver_id",))
driver_stats = FeatureView(
    "driver_stats",
    entities=(driver,),
    schema=(Field("trips", "int64"), Field("rating", "float64")),
    source=ParquetSource({source!r}),
    ttl=timedelta(days=2),
)
trip = RequestSource("trip", schema=(Field("distance_km", "float64"),))


@on_demand_feature_view(sources=(driver_stats, trip), schema=(Field("km_per_trip", "float64"),))
def km_per_trip(inputs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({{"km_per_trip": inputs["distance_km"] / inputs["trips"]}})


pricing = FeatureService("pricing", [driver_stats, km_per_trip])
"""

SIG = Signature(
    inputs=tuple(TensorSpec(n, "float64", (-1,)) for n in ("trips", "rating", "km_per_trip")),
    outputs=(TensorSpec("price", "float64", (-1,)),),
)


def price(cols: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"price": cols["trips"] * 0.5 + cols["rating"] * 2.0 + cols["km_per_trip"]}


@pytest.fixture
def feature_repo(tmp_path: Path) -> tuple[Path, Path, datetime]:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = pd.DataFrame(
        {
            "driver_id": [1, 1, 2, 3],
            "event_timestamp": [
                now - timedelta(hours=5),
                now - timedelta(hours=1),  # the latest row of driver 1
                now - timedelta(hours=3),
                now - timedelta(hours=2),
            ],
            "trips": [10, 12, 20, 8],
            "rating": [4.0, 4.5, 3.0, None],
        }
    )
    source = tmp_path / "driver_stats.parquet"
    rows.to_parquet(source)
    defs = tmp_path / "defs.py"
    defs.write_text(DEFS.format(source=str(source)))
    store = FeatureStore(tmp_path / "fs")
    store.apply(load_definitions(defs))
    store.materialize(None, now)
    store.close()
    return tmp_path / "fs", defs, now


def _server(fs: Path, defs: Path, log: Path | None = None, **model: object) -> TestServer:
    loader = InMemoryLoader({"pricer": FakeModel(signature=SIG, fn=price)})
    config = ServerConfig(
        models=(ModelConfig(ref="pricer", feature_service="pricing", **model),),  # type: ignore[arg-type]
        feature_store=FeatureStoreConfig(path=fs, definitions=defs),
        prediction_log=None if log is None else PredictionLogConfig(path=str(log)),
    )
    return TestServer(loader, config, grpc=False)


def test_served_predictions_equal_the_model_on_offline_point_in_time_features(
    feature_repo: tuple[Path, Path, datetime], tmp_path: Path
) -> None:
    fs, defs, now = feature_repo
    requests = [{"driver_id": 1, "distance_km": 6.0}, {"driver_id": 2, "distance_km": 5.0}]
    with _server(fs, defs, log=tmp_path / "log") as server:
        records = httpx.post(f"{server.url}/predict/pricer", json=requests)
        v2 = httpx.post(
            f"{server.url}/v2/models/pricer/infer",
            json={
                "id": "v2-req",
                "inputs": [
                    {"name": "driver_id", "shape": [2], "datatype": "INT64", "data": [1, 2]},
                    {"name": "distance_km", "shape": [2], "datatype": "FP64", "data": [6, 5]},
                ],
            },
        )
    assert records.status_code == 200, records.text
    assert v2.status_code == 200, v2.text

    store = FeatureStore(fs, definitions=load_definitions(defs))
    entity_df = pd.DataFrame(
        {"driver_id": [1, 2], "event_timestamp": [now, now], "distance_km": [6.0, 5.0]}
    )
    offline = store.get_historical_features(entity_df, store.catalog.feature_service("pricing"))
    frame = offline.to_pandas()
    store.close()
    expected = price({n: frame[n].to_numpy(np.float64) for n in SIG.input_names})["price"]
    assert [r["price"] for r in records.json()] == pytest.approx(expected.tolist())
    assert v2.json()["outputs"][0]["data"] == pytest.approx(expected.tolist())
    assert v2.json()["id"] == "v2-req"

    # The looked-up features (and the request's keys) are in the prediction log.
    table = pq.ParquetDataset(tmp_path / "log").read().to_pandas()
    row = table[table["request_id"] == "v2-req/0"].iloc[0]
    assert row["in_driver_id"] == 1 and row["in_trips"] == 12 and row["in_rating"] == 4.5
    assert row["in_km_per_trip"] == pytest.approx(0.5)
    assert len(table) == 4


def test_missing_entity_gives_nan_and_a_counter_or_a_400_naming_it(
    feature_repo: tuple[Path, Path, datetime],
) -> None:
    fs, defs, _ = feature_repo
    body = [{"driver_id": 99, "distance_km": 1.0}, {"driver_id": 1, "distance_km": 6.0}]
    with _server(fs, defs) as server:
        r = httpx.post(f"{server.url}/predict/pricer", json=body)
        metrics = httpx.get(f"{server.url}/metrics").text
    assert r.status_code == 200
    first, second = r.json()
    assert first["price"] is None or np.isnan(first["price"])
    assert second["price"] == pytest.approx(12 * 0.5 + 4.5 * 2 + 0.5)
    assert 'prodml_feature_missing_entities_total{model="pricer"} 1.0' in metrics

    with _server(fs, defs, missing_entities="reject") as server:
        r = httpx.post(f"{server.url}/predict/pricer", json=body)
    assert r.status_code == 400
    assert "driver_id=99" in r.json()["error"] and "driver_stats" in r.json()["error"]


def test_request_values_override_looked_up_ones_only_when_configured(
    feature_repo: tuple[Path, Path, datetime],
) -> None:
    fs, defs, _ = feature_repo
    body = {"driver_id": 1, "distance_km": 6.0, "rating": 1.0}
    with _server(fs, defs, feature_overrides=True) as server:
        overridden = httpx.post(f"{server.url}/predict/pricer", json=body).json()
    with _server(fs, defs) as server:
        looked_up = httpx.post(f"{server.url}/predict/pricer", json=body).json()
    assert overridden["price"] == pytest.approx(12 * 0.5 + 1.0 * 2 + 0.5)
    assert looked_up["price"] == pytest.approx(12 * 0.5 + 4.5 * 2 + 0.5)
