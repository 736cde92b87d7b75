"""Definitions validate once, and every error names the definition and the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from prodml.errors import ConfigError, InvalidInputError
from prodml.features import (
    DuckDBSource,
    Entity,
    FeatureService,
    FeatureView,
    Field,
    ParquetSource,
    RequestSource,
    on_demand_feature_view,
)
from prodml.features.catalog import Catalog
from prodml.features.on_demand import run_on_demand
from prodml.features.online.config import parse_online_config

DRIVER = Entity("driver", ("driver_id",))
SOURCE = ParquetSource("data.parquet")


def view(**changes: Any) -> FeatureView:
    fields: dict[str, Any] = {
        "name": "stats",
        "entities": (DRIVER,),
        "schema": (Field("trips", "int64"),),
        "source": SOURCE,
        "ttl": timedelta(hours=1),
    }
    fields.update(changes)
    return FeatureView(**fields)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "bad name"}, "feature view 'bad name': field 'name'"),
        ({"entities": ()}, "feature view 'stats': field 'entities'"),
        (
            {"schema": (Field("trips", "int"),)},
            "feature view 'stats': field 'schema' column 'trips'",
        ),
        ({"schema": (Field("driver_id", "int64"),)}, "feature view 'stats': field 'schema'"),
        ({"ttl": timedelta(seconds=-1)}, "feature view 'stats': field 'ttl'"),
        ({"source": "data.parquet"}, "feature view 'stats': field 'source'"),
    ],
)
def test_feature_view_errors_name_the_view_and_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        view(**changes)


def test_other_definitions_validate_too() -> None:
    with pytest.raises(ConfigError, match="entity 'driver': field 'join_keys'"):
        Entity("driver", ("id", "id"))
    with pytest.raises(ConfigError, match="fields 'table' and 'query'"):
        DuckDBSource("db.duckdb")
    with pytest.raises(ConfigError, match="feature service 'svc': feature reference 'stats'"):
        FeatureService("svc", ["stats"])
    with pytest.raises(ConfigError, match="field 'kind'"):
        parse_online_config({"kind": "cassandra"})


def test_an_unlimited_ttl_is_none_or_zero() -> None:
    assert view(ttl=None).ttl_unlimited and view(ttl=timedelta(0)).ttl_unlimited
    assert not view().ttl_unlimited


def test_definitions_round_trip_through_their_stored_form() -> None:
    original = view(tags={"team": "pricing"}, owner="ana")
    rebuilt = FeatureView.from_dict(original.to_dict(), {"driver": DRIVER})
    assert rebuilt == original


def test_on_demand_output_is_checked_against_its_schema() -> None:
    request = RequestSource("trip", schema=(Field("km", "float64"),))

    @on_demand_feature_view(sources=(request,), schema=(Field("metres", "float64"),))
    def wrong(inputs: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"other": inputs["km"]})

    with pytest.raises(InvalidInputError, match="on-demand feature view 'wrong'"):
        run_on_demand(wrong, pd.DataFrame({"km": [1.0]}))
    with pytest.raises(InvalidInputError, match="needs input"):
        run_on_demand(wrong, pd.DataFrame({"miles": [1.0]}))


def test_catalog_rejects_a_name_used_by_two_kinds_of_view(tmp_path: Path) -> None:
    request = RequestSource("r", schema=(Field("x", "float64"),))

    @on_demand_feature_view(sources=(request,), schema=(Field("y", "float64"),), name="stats")
    def clash(inputs: pd.DataFrame) -> pd.DataFrame:
        return inputs

    with pytest.raises(ConfigError, match="feature view 'stats': field 'name'"):
        Catalog([view(), clash]).validate()
