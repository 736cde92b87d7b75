"""prodml's point-in-time join gives Feast's answers, cell for cell.

The expected output was produced by Feast 0.67's DuckDB offline store from the same inputs, by
``fixtures/make_feast_fixtures.py`` (see its docstring for the cases the data covers and the one
case it leaves out on purpose).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from prodml.features import Entity, FeatureView, Field, ParquetSource
from prodml.features.catalog import Catalog
from prodml.features.duckdb_offline import DuckDBOfflineStore
from prodml.features.historical import historical_job

FIXTURES = Path(__file__).parent / "fixtures" / "feast"


def _views() -> list[FeatureView]:
    spec: dict[str, Any] = json.loads((FIXTURES / "views.json").read_text())["views"]
    entities = {
        "driver_id": Entity("driver", ("driver_id",)),
        "customer_id": Entity("customer", ("customer_id",)),
    }
    return [
        FeatureView(
            name,
            entities=tuple(entities[k] for k in view["keys"]),
            schema=tuple(Field(f, t) for f, t in view["features"].items()),
            source=ParquetSource(
                str(FIXTURES / "sources" / f"{name}.parquet"),
                created_timestamp_field=view["created"],
            ),
            ttl=timedelta(seconds=view["ttl_seconds"]),
        )
        for name, view in spec.items()
    ]


def _cells(column: pd.Series[Any]) -> list[object]:
    return [None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v) for v in column]


def test_point_in_time_join_matches_feast_duckdb_cell_for_cell() -> None:
    entity_df = pd.read_parquet(FIXTURES / "entity_df.parquet")
    expected = pd.read_parquet(FIXTURES / "expected.parquet")
    views = _views()
    refs = [f"{v.name}:{f}" for v in views for f in v.feature_names]

    job = historical_job(DuckDBOfflineStore(), entity_df, Catalog(views).resolve(refs), None, None)
    result = job.to_pandas()

    assert len(result) == len(entity_df) == len(expected)
    assert result["row_id"].tolist() == entity_df["row_id"].tolist()  # input order kept
    result = result.sort_values("row_id").reset_index(drop=True)
    for column in expected.columns:
        assert _cells(result[column]) == _cells(expected[column]), column


@pytest.mark.parametrize("column", ["trips", "spend", "rides_together"])
def test_feast_fixture_exercises_both_matches_and_misses(column: str) -> None:
    # Guards the fixture itself: a comparison where every value is null would prove nothing.
    expected = pd.read_parquet(FIXTURES / "expected.parquet")
    assert 0 < expected[column].isna().sum() < len(expected)
