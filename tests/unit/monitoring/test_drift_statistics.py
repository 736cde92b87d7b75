"""Drift statistics agree with scipy's on the same samples; method choice and edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, chisquare, ks_2samp, wasserstein_distance

from prodml.errors import ConfigError
from prodml.monitoring import column_drift, data_drift, prediction_drift
from prodml.monitoring.drift import default_method
from prodml.profiles import DatasetProfile

RNG = np.random.default_rng(7)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-100, 100), min_size=6, max_size=80),
    st.lists(st.floats(-100, 100), min_size=6, max_size=80),
)
def test_ks_and_wasserstein_equal_scipy(a: list[float], b: list[float]) -> None:
    x, y = np.array(a), np.array(b)
    ks = column_drift(x, y, method="ks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exact p-value fallback, as ours
        ref = ks_2samp(x, y)
    assert ks.statistic == pytest.approx(ref.statistic)
    assert ks.p_value == pytest.approx(ref.pvalue)
    wd = column_drift(x, y, method="wasserstein")
    expected = wasserstein_distance(x, y) / max(float(np.std(x)), 0.001)
    assert wd.statistic == pytest.approx(expected)


def test_chi_square_is_the_contingency_test() -> None:
    ref = RNG.choice(["a", "b", "c"], 400, p=[0.5, 0.3, 0.2])
    cur = RNG.choice(["a", "b", "c"], 250, p=[0.4, 0.35, 0.25])
    r = column_drift(ref, cur, method="chisquare")
    table = np.array([[np.sum(ref == k) for k in "abc"], [np.sum(cur == k) for k in "abc"]])
    expected = chi2_contingency(table, correction=False)
    assert r.statistic == pytest.approx(expected.statistic)
    assert r.p_value == pytest.approx(expected.pvalue)
    # The goodness-of-fit version (reference taken as truth) is over-confident.
    gof = chisquare(table[1], table[0] * table[1].sum() / table[0].sum())
    assert r.p_value > gof.pvalue


def test_jensen_shannon_on_categories_equals_scipy() -> None:
    ref = RNG.choice(["a", "b", "c", "d"], 3000, p=[0.4, 0.3, 0.2, 0.1])
    cur = RNG.choice(["a", "b", "c"], 2000, p=[0.2, 0.3, 0.5])
    r = column_drift(ref, cur)
    assert r.method == "jensenshannon"
    p = np.array([np.mean(ref == k) for k in "abcd"])
    q = np.array([np.mean(cur == k) for k in "abcd"])
    assert r.statistic == pytest.approx(jensenshannon(p, q))
    assert r.drifted


def test_false_alarm_rate_of_chi_square_is_nominal() -> None:
    # Same distribution on both sides: a 5% test should flag about 5% of 400 repetitions.
    p = [0.5, 0.3, 0.15, 0.05]
    keys = np.array(list("abcd"))
    flags = [
        column_drift(RNG.choice(keys, 300, p=p), RNG.choice(keys, 200, p=p)).drifted
        for _ in range(400)
    ]
    assert 0.02 <= np.mean(flags) <= 0.09


@pytest.mark.parametrize(
    ("kind", "n_ref", "n_cur", "distinct", "expected"),
    [
        ("numeric", 1000, 5000, 50, "ks"),
        ("numeric", 5000, 300, 50, "ks"),
        ("numeric", 1001, 1001, 50, "wasserstein"),
        ("numeric", 500, 500, 4, "chisquare"),
        ("numeric", 500, 500, 2, "z"),
        ("numeric", 5000, 2000, 4, "jensenshannon"),
        ("categorical", 500, 500, 3, "chisquare"),
        ("categorical", 500, 500, 2, "z"),
        ("categorical", 5000, 2000, 40, "jensenshannon"),
        ("categorical", 5000, 300, 40, "chisquare"),
    ],
)
def test_default_method_table(
    kind: str, n_ref: int, n_cur: int, distinct: int, expected: str
) -> None:
    assert default_method(kind, n_ref, n_cur, distinct) == expected


def test_profile_reference_gives_the_same_verdicts_as_raw_data() -> None:
    ref = {"x": RNG.normal(0, 1, 800), "c": RNG.choice(["u", "v", "w"], 800)}
    cur = {"x": RNG.normal(0.6, 1, 300), "c": RNG.choice(["u", "v", "w"], 300)}
    profile = DatasetProfile.from_data(ref, sample_size=1000)
    raw, prof = data_drift(ref, cur), data_drift(profile, cur)
    assert [c.to_dict() for c in raw.columns] == [c.to_dict() for c in prof.columns]
    assert prof.drifted_columns == ["x"]


def test_profile_with_pooled_categories_pools_current_alike() -> None:
    ref = np.array([f"k{i % 40}" for i in range(4000)], dtype=object)
    profile = DatasetProfile.from_data({"c": ref}, max_categories=10)
    cur = np.array([f"k{i % 40}" for i in range(1000)] + ["new"] * 5, dtype=object)
    r = column_drift(profile.columns["c"], cur, method="chisquare")
    assert not r.drifted


def test_missing_values_are_dropped_and_counted() -> None:
    x = RNG.normal(0, 1, 200)
    y = np.concatenate([RNG.normal(0, 1, 150), [np.nan] * 10, [np.inf]])
    r = column_drift(x, y)
    assert (r.n_current, r.dropped_current) == (150, 11)


def test_prediction_drift_on_scores() -> None:
    ref = RNG.beta(2, 5, 3000)
    r = prediction_drift(ref, RNG.beta(5, 2, 2000))
    assert (r.column, r.method, r.drifted) == ("prediction", "wasserstein", True)
    assert not prediction_drift(ref, RNG.beta(2, 5, 2000)).drifted
    small = prediction_drift(ref, RNG.beta(2, 5, 300))
    assert small.method == "ks" and small.p_value is not None


def test_configurable_thresholds_and_share() -> None:
    ref = {"a": RNG.normal(0, 1, 3000), "b": RNG.normal(0, 1, 3000)}
    cur = {"a": RNG.normal(0.15, 1, 2000), "b": RNG.normal(0, 1, 2000)}
    default = data_drift(ref, cur)
    assert default.drifted_columns == ["a"] and default.dataset_drift
    strict = data_drift(ref, cur, thresholds={"a": 0.3}, drift_share=0.5)
    assert not strict.drifted_columns and not strict.dataset_drift
    assert not data_drift(ref, cur, drift_share=0.75).dataset_drift
    d = default.to_dict()
    assert d["drifted_columns"] == ["a"] and d["columns"][0]["method"] == "wasserstein"


def test_bad_requests_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown drift method"):
        column_drift(np.zeros(5), np.zeros(5), method="magic")
    with pytest.raises(ConfigError, match="needs numbers"):
        column_drift(np.array(["a", "b"]), np.array(["a", "a"]), method="ks")
    with pytest.raises(ConfigError, match="no values"):
        column_drift(np.array([np.nan, np.nan]), np.zeros(3))
    with pytest.raises(ConfigError, match="not in both"):
        data_drift({"a": np.zeros(3)}, {"b": np.zeros(3)}, columns=["a"])
    with pytest.raises(ConfigError, match="numeric in the reference"):
        column_drift(np.zeros(3), np.array(["a", "b", "c"]))
