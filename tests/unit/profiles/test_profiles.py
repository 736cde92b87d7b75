"""Dataset profiles: input formats, JSON round-trip, and merge equal to profiling the union."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodml.errors import ConfigError
from prodml.profiles import CategoricalProfile, DatasetProfile, NumericProfile


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, n)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "k": rng.integers(0, 1000, n),
            "flag": rng.integers(0, 2, n),
            "city": rng.choice(["oslo", "rome", "lima"], n),
            "ok": rng.random(n) < 0.3,
        }
    )


def _numeric(p: DatasetProfile, name: str) -> NumericProfile:
    col = p.columns[name]
    assert isinstance(col, NumericProfile)
    return col


def _categorical(p: DatasetProfile, name: str) -> CategoricalProfile:
    col = p.columns[name]
    assert isinstance(col, CategoricalProfile)
    return col


def test_summaries_match_numpy() -> None:
    df = _frame(5000, 1)
    p = DatasetProfile.from_data(df)
    assert p.row_count == 5000
    x = _numeric(p, "x")
    finite = df["x"].dropna().to_numpy()
    assert x.count == finite.size
    assert x.missing == int(df["x"].isna().sum())
    assert x.min == finite.min()
    assert x.max == finite.max()
    assert x.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert x.variance == pytest.approx(finite.var(ddof=1), rel=1e-12)
    assert x.dtype == "float64"
    assert _numeric(p, "k").dtype == "int64"
    assert _numeric(p, "flag").value_counts == {
        0.0: int((df["flag"] == 0).sum()),
        1.0: int((df["flag"] == 1).sum()),
    }
    assert _numeric(p, "k").value_counts is None
    city = _categorical(p, "city")
    assert city.counts == df["city"].value_counts().to_dict()
    assert city.dtype == "string"
    ok = _categorical(p, "ok")
    assert ok.dtype == "bool"
    assert ok.counts["True"] == int(df["ok"].sum())


def test_sketch_quantiles_are_within_relative_error() -> None:
    df = _frame(20_000, 2)
    x = _numeric(DatasetProfile.from_data(df), "x")
    finite = np.sort(df["x"].dropna().to_numpy())
    for q in (0.01, 0.25, 0.5, 0.75, 0.99):
        true = finite[int(q * (finite.size - 1))]
        assert abs(x.quantile(q) - true) <= 0.011 * abs(true) + 1e-12


def test_sample_is_bounded_and_drawn_from_the_data() -> None:
    df = _frame(5000, 3)
    p = DatasetProfile.from_data(df, sample_size=250)
    x = _numeric(p, "x")
    assert len(x.sample.values) == 250
    assert set(x.sample.values) <= set(df["x"].dropna().tolist())
    small = DatasetProfile.from_data(df.head(100), sample_size=250)
    assert len(_numeric(small, "x").sample.values) == _numeric(small, "x").count


def test_json_round_trip_is_exact() -> None:
    df = _frame(3000, 4)
    df.loc[5, "x"] = np.inf
    p = DatasetProfile.from_data(df, sample_size=100)
    text = json.dumps(p.to_dict(), allow_nan=False)
    back = DatasetProfile.from_dict(json.loads(text))
    assert back == p
    assert _numeric(back, "x").infinite == 1


def test_merge_equals_profile_of_concatenation() -> None:
    a, b = _frame(3000, 5), _frame(1700, 6)
    merged = DatasetProfile.from_data(a).merge(DatasetProfile.from_data(b))
    whole = DatasetProfile.from_data(pd.concat([a, b], ignore_index=True))
    assert merged.row_count == whole.row_count
    for name in ("x", "k", "flag"):
        m, w = _numeric(merged, name), _numeric(whole, name)
        assert (m.count, m.missing, m.min, m.max) == (w.count, w.missing, w.min, w.max)
        assert m.mean == pytest.approx(w.mean, rel=1e-12)
        assert m.variance == pytest.approx(w.variance, rel=1e-10)
        assert m.sketch == w.sketch
        assert m.value_counts == w.value_counts
        assert len(m.sample.values) == 1000
        assert m.sample.seen == w.count
    for name in ("city", "ok"):
        assert _categorical(merged, name) == _categorical(whole, name)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=60),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=60),
)
def test_merge_moments_property(xs: list[float], ys: list[float]) -> None:
    a = DatasetProfile.from_data({"v": np.array(xs, dtype=np.float64)}, sample_size=10)
    b = DatasetProfile.from_data({"v": np.array(ys, dtype=np.float64)}, sample_size=10)
    m = _numeric(a.merge(b), "v")
    allv = np.array(xs + ys, dtype=np.float64)
    assert m.count == allv.size
    assert len(m.sample.values) == min(10, allv.size)
    if allv.size:
        assert m.mean == pytest.approx(allv.mean(), rel=1e-9, abs=1e-6)
        assert m.min == allv.min()
    if allv.size > 1:
        assert m.variance == pytest.approx(allv.var(ddof=1), rel=1e-7, abs=1e-4)
    else:
        assert math.isnan(m.variance)


def test_merged_sample_is_uniform_over_both_parts() -> None:
    # 1000 rows of 0 and 3000 rows of 1: a uniform merged sample holds about 75% ones.
    a = DatasetProfile.from_data({"v": np.zeros(1000)}, sample_size=200)
    b = DatasetProfile.from_data({"v": np.ones(3000)}, sample_size=200)
    shares = [np.mean(_numeric(a.merge(b, seed=s), "v").sample.values) for s in range(200)]
    assert np.mean(shares) == pytest.approx(0.75, abs=0.01)


def test_categories_are_capped_with_other() -> None:
    values = np.array([f"c{i % 30}" for i in range(300)] + ["c0"] * 50, dtype=object)
    p = DatasetProfile.from_data({"c": values}, max_categories=5)
    c = _categorical(p, "c")
    assert len(c.counts) == 5
    assert c.counts["c0"] == 60
    assert c.count == 350
    assert c.other == 350 - sum(c.counts.values())
    assert not c.complete


def test_inputs_arrow_numpy_and_dict_agree() -> None:
    df = _frame(500, 7)
    from_pandas = DatasetProfile.from_data(df)
    from_arrow = DatasetProfile.from_data(pa.Table.from_pandas(df, preserve_index=False))
    from_dict = DatasetProfile.from_data({c: df[c].to_numpy() for c in df.columns})
    assert from_arrow == from_pandas
    assert from_dict == from_pandas
    arr = DatasetProfile.from_data(np.arange(12.0).reshape(4, 3))
    assert list(arr.columns) == ["input_0", "input_1", "input_2"]
    assert _numeric(arr, "input_1").mean == 5.5


def test_missing_values_in_nullable_and_object_columns() -> None:
    df = pd.DataFrame(
        {
            "i": pd.array([1, None, 3, None], dtype="Int64"),
            "s": ["a", None, "b", np.nan],
            "b": pd.array([True, None, False, True], dtype="boolean"),
        }
    )
    p = DatasetProfile.from_data(df)
    assert (_numeric(p, "i").count, _numeric(p, "i").missing) == (2, 2)
    assert (_categorical(p, "s").count, _categorical(p, "s").missing) == (2, 2)
    assert _categorical(p, "b").counts == {"True": 2, "False": 1}
    assert _categorical(p, "b").missing == 1
    arrow = DatasetProfile.from_data(pa.table({"i": [1, None, 3], "s": ["x", None, "x"]}))
    assert _numeric(arrow, "i").missing == 1
    assert _categorical(arrow, "s").counts == {"x": 2}


def test_all_missing_column_round_trips() -> None:
    p = DatasetProfile.from_data({"x": np.full(4, np.nan)})
    x = _numeric(p, "x")
    assert (x.count, x.missing, x.min, x.mean) == (0, 4, None, None)
    assert DatasetProfile.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_bad_inputs_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="different lengths"):
        DatasetProfile.from_data({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(ConfigError, match="cannot read columns"):
        DatasetProfile.from_data([1, 2, 3])
    with pytest.raises(ConfigError, match="format"):
        DatasetProfile.from_dict({"columns": {}})
    a = DatasetProfile.from_data({"a": np.zeros(3)})
    with pytest.raises(ConfigError, match="different columns"):
        a.merge(DatasetProfile.from_data({"b": np.zeros(3)}))
    with pytest.raises(ConfigError, match="numeric in one profile"):
        a.merge(DatasetProfile.from_data({"a": np.array(["x", "y", "z"])}))
