"""The point-in-time join: property tests against a brute-force reference, and edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodml.errors import ConfigError, InvalidInputError, NotFoundError
from prodml.features import CsvSource, DuckDBSource, Entity, FeatureView, Field, ParquetSource
from prodml.features.catalog import Catalog
from prodml.features.duckdb_offline import DuckDBOfflineStore
from prodml.features.historical import historical_job

from .reference import brute_force_join

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DRIVER = Entity("driver", ("driver_id",))


def view(source: Any, ttl: timedelta | None = None, name: str = "stats") -> FeatureView:
    return FeatureView(name, (DRIVER,), (Field("value", "float64"),), source, ttl=ttl)


def join(entity_df: pd.DataFrame, *views: FeatureView, full: bool = False) -> pd.DataFrame:
    refs = [f"{v.name}:value" for v in views]
    resolved = Catalog(views).resolve(refs, full_feature_names=full)
    return historical_job(DuckDBOfflineStore(), entity_df, resolved, None, None).to_pandas()


rows_strategy = st.lists(
    st.tuples(
        st.integers(1, 3),  # driver
        st.integers(0, 20),  # event minute
        st.one_of(st.none(), st.integers(0, 5)),  # created minute, or missing
        st.one_of(st.none(), st.floats(-100, 100, allow_nan=False)),  # value, or null
    ),
    min_size=0,
    max_size=25,
)
entities_strategy = st.lists(
    st.tuples(st.integers(1, 4), st.integers(0, 25)), min_size=1, max_size=15
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy, entities=entities_strategy, ttl_minutes=st.sampled_from([0, 1, 3, 10]))
def test_join_equals_brute_force_and_respects_time_bounds(
    tmp_path: Path,
    rows: list[tuple[int, int, int | None, float | None]],
    entities: list[tuple[int, int]],
    ttl_minutes: int,
) -> None:
    minute = timedelta(minutes=1)
    source = pd.DataFrame(
        {
            "driver_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "event_timestamp": pd.Series(
                [T0 + r[1] * minute for r in rows], dtype="datetime64[us, UTC]"
            ),
            "created": pd.Series(
                [None if r[2] is None else T0 + r[2] * minute for r in rows],
                dtype="datetime64[us, UTC]",
            ),
            "value": pd.Series([r[3] for r in rows], dtype="float64"),
        }
    )
    path = tmp_path / f"src-{abs(hash((tuple(rows), ttl_minutes)))}.parquet"
    source.to_parquet(path, index=False)
    ttl = timedelta(minutes=ttl_minutes)
    entity_df = pd.DataFrame(
        {
            "driver_id": [e[0] for e in entities],
            "event_timestamp": [T0 + e[1] * minute for e in entities],
            "label": range(len(entities)),
        }
    )
    fv = view(ParquetSource(str(path), created_timestamp_field="created"), ttl)
    result = join(entity_df, fv)
    expected = brute_force_join(entity_df, source, ["driver_id"], ["value"], ttl, "created")

    assert result["label"].tolist() == list(range(len(entities)))  # 1:1, input order
    got = [None if pd.isna(v) else v for v in result["value"]]
    assert got == [e["value"] for e in expected]
    for entity, winner in zip(entities, expected, strict=True):
        event = winner["__event"]
        if event is not None:  # the invariant, stated on its own
            t = T0 + entity[1] * minute
            assert event <= t
            assert ttl_minutes == 0 or event >= t - ttl


def test_rows_at_both_window_ends_are_visible_and_one_second_past_is_not(tmp_path: Path) -> None:
    second = timedelta(seconds=1)
    pd.DataFrame({"driver_id": [1], "event_timestamp": [T0], "value": [7.0]}).to_parquet(
        tmp_path / "s.parquet"
    )
    ttl = timedelta(hours=1)
    times = [T0 - second, T0, T0 + ttl, T0 + ttl + second]
    entity_df = pd.DataFrame({"driver_id": [1] * 4, "event_timestamp": times})
    result = join(entity_df, view(ParquetSource(str(tmp_path / "s.parquet")), ttl))
    assert [None if pd.isna(v) else v for v in result["value"]] == [None, 7.0, 7.0, None]


def test_full_ties_go_to_the_last_row_in_source_order(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    tie = {"driver_id": [1, 1], "event_timestamp": [T0, T0], "created": [T0, T0]}
    pd.DataFrame({**tie, "value": [1.0, 2.0]}).to_parquet(folder / "a.parquet")
    pd.DataFrame({**tie, "value": [3.0, 4.0]}).to_parquet(folder / "b.parquet")
    entity_df = pd.DataFrame({"driver_id": [1], "event_timestamp": [T0]})
    source = ParquetSource(str(folder), created_timestamp_field="created")
    assert join(entity_df, view(source))["value"].tolist() == [4.0]


def test_nulls_in_the_winning_row_stay_null(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "driver_id": [1, 1],
            "event_timestamp": [T0, T0 + timedelta(hours=1)],
            "value": [5.0, None],
        }
    ).to_parquet(tmp_path / "s.parquet")
    entity_df = pd.DataFrame({"driver_id": [1], "event_timestamp": [T0 + timedelta(hours=2)]})
    assert join(entity_df, view(ParquetSource(str(tmp_path / "s.parquet"))))["value"].isna().all()


def test_csv_and_duckdb_sources_give_the_parquet_answer(tmp_path: Path) -> None:
    import duckdb

    source = pd.DataFrame(
        {
            "driver_id": [1, 1, 2],
            "event_timestamp": [T0, T0 + timedelta(hours=1), T0],
            "value": [1.0, 2.0, 3.0],
        }
    )
    source.to_parquet(tmp_path / "s.parquet")
    source.to_csv(tmp_path / "s.csv", index=False)
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        con.register("frame", source)
        con.execute("CREATE TABLE stats AS SELECT * FROM frame")
    entity_df = pd.DataFrame(
        {"driver_id": [1, 2, 1, 9], "event_timestamp": [T0 + timedelta(hours=2), T0, T0, T0]}
    )
    answers = [
        join(entity_df, view(s))["value"].tolist()
        for s in (
            ParquetSource(str(tmp_path / "s.parquet")),
            CsvSource(str(tmp_path / "s.csv")),
            DuckDBSource(str(tmp_path / "s.duckdb"), table="stats"),
            DuckDBSource(str(tmp_path / "s.duckdb"), query="SELECT * FROM source_db.stats"),
        )
    ]
    assert all(np.allclose(a, [2.0, 3.0, 1.0, np.nan], equal_nan=True) for a in answers)


def test_two_views_with_the_same_feature_name_need_full_names(tmp_path: Path) -> None:
    pd.DataFrame({"driver_id": [1], "event_timestamp": [T0], "value": [1.0]}).to_parquet(
        tmp_path / "s.parquet"
    )
    a = view(ParquetSource(str(tmp_path / "s.parquet")), name="a")
    b = view(ParquetSource(str(tmp_path / "s.parquet")), name="b")
    entity_df = pd.DataFrame({"driver_id": [1], "event_timestamp": [T0]})
    with pytest.raises(ConfigError, match="full_feature_names"):
        join(entity_df, a, b)
    assert list(join(entity_df, a, b, full=True).columns[-2:]) == ["a__value", "b__value"]


def test_bad_requests_say_what_is_wrong(tmp_path: Path) -> None:
    pd.DataFrame({"driver_id": [1], "event_timestamp": [T0], "value": [1.0]}).to_parquet(
        tmp_path / "s.parquet"
    )
    fv = view(ParquetSource(str(tmp_path / "s.parquet")))
    with pytest.raises(InvalidInputError, match="join key column"):
        join(pd.DataFrame({"event_timestamp": [T0]}), fv)
    with pytest.raises(NotFoundError, match="no feature 'nope'"):
        Catalog([fv]).resolve(["stats:nope"])
    missing = view(ParquetSource(str(tmp_path / "absent.parquet")))
    with pytest.raises(InvalidInputError, match="stats"):
        join(pd.DataFrame({"driver_id": [1], "event_timestamp": [T0]}), missing)


def test_empty_entity_frame_gives_an_empty_result(tmp_path: Path) -> None:
    pd.DataFrame({"driver_id": [1], "event_timestamp": [T0], "value": [1.0]}).to_parquet(
        tmp_path / "s.parquet"
    )
    entity_df = pd.DataFrame(
        {
            "driver_id": pd.Series([], dtype="int64"),
            "event_timestamp": pd.Series([], dtype="datetime64[us, UTC]"),
        }
    )
    result = join(entity_df, view(ParquetSource(str(tmp_path / "s.parquet"))))
    assert len(result) == 0
    assert "value" in result.columns
