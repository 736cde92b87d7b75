from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments import Estimate, MetricSummary, estimate, welch_test


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_absolute_welch_matches_scipy_ttest_ind(rng: np.random.Generator, alternative: str) -> None:
    a, b = rng.normal(10, 3, 300), rng.normal(10.4, 5, 250)
    got = welch_test(
        estimate(MetricSummary.from_arrays(a), "mean"),
        estimate(MetricSummary.from_arrays(b), "mean"),
        alternative=alternative,  # type: ignore[arg-type]
    )
    want = stats.ttest_ind(b, a, equal_var=False, alternative=alternative)
    assert got.statistic == pytest.approx(want.statistic, abs=1e-10)
    assert got.p_value == pytest.approx(want.pvalue, abs=1e-10)
    assert got.dof == pytest.approx(want.df, abs=1e-8)
    ci = want.confidence_interval(0.95)
    assert got.ci_low == pytest.approx(ci.low, abs=1e-10)
    assert got.ci_high == pytest.approx(ci.high, abs=1e-10)


@given(
    n_a=st.integers(2, 10_000),
    n_b=st.integers(2, 10_000),
    m_a=st.floats(-100, 100),
    m_b=st.floats(-100, 100),
    s_a=st.floats(0.01, 50),
    s_b=st.floats(0.01, 50),
)
@settings(max_examples=80, deadline=None)
def test_matches_scipy_from_stats_and_ci_contains_estimate(
    n_a: int, n_b: int, m_a: float, m_b: float, s_a: float, s_b: float
) -> None:
    got = welch_test(Estimate(n_a, m_a, s_a**2, m_a), Estimate(n_b, m_b, s_b**2, m_b))
    want = stats.ttest_ind_from_stats(m_b, s_b, n_b, m_a, s_a, n_a, equal_var=False)
    assert got.p_value == pytest.approx(want.pvalue, abs=1e-4)
    assert got.ci_low <= got.estimate <= got.ci_high


def test_proportion_uses_gbstats_variance_without_n_minus_one() -> None:
    e = estimate(MetricSummary.from_arrays([1, 1, 0, 0]), "proportion")
    assert e.variance == 0.25


def test_relative_effect_uses_delta_method() -> None:
    a, b = Estimate(1000, 2.0, 4.0, 2.0), Estimate(1000, 2.2, 9.0, 2.2)
    got = welch_test(a, b, difference="relative")
    assert got.estimate == pytest.approx(0.1)
    var = 9.0 / (4.0 * 1000) + 4.0 * 2.2**2 / (16.0 * 1000)
    assert got.std_error == pytest.approx(math.sqrt(var))


def test_one_sided_interval_is_open_on_one_side() -> None:
    a, b = Estimate(100, 1.0, 1.0, 1.0), Estimate(100, 1.2, 1.0, 1.2)
    less = welch_test(a, b, alternative="less")
    greater = welch_test(a, b, alternative="greater")
    assert less.ci_low == -math.inf and less.ci_high > less.estimate
    assert greater.ci_high == math.inf and greater.ci_low < greater.estimate
    assert less.p_value + greater.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("a", "b", "difference", "message"),
    [
        (Estimate(1, 1.0, 1.0, 1.0), Estimate(10, 1.0, 1.0, 1.0), "absolute", "at least 2 units"),
        (Estimate(0, 0.0, 0.0, 0.0), Estimate(10, 1.0, 1.0, 1.0), "absolute", "need units"),
        (Estimate(10, 0.0, 1.0, 0.0), Estimate(10, 1.0, 1.0, 1.0), "relative", "control mean is 0"),
        (Estimate(10, 1.0, 0.0, 1.0), Estimate(10, 1.0, 0.0, 1.0), "absolute", "zero variance"),
    ],
)
def test_degenerate_data_raises(a: Estimate, b: Estimate, difference: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        welch_test(a, b, difference=difference)  # type: ignore[arg-type]


def test_bad_settings_raise_config_errors() -> None:
    a = Estimate(10, 1.0, 1.0, 1.0)
    with pytest.raises(ConfigError, match="alpha"):
        welch_test(a, a, alpha=1.5)
    with pytest.raises(ConfigError, match="alternative"):
        welch_test(a, a, alternative="sideways")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="difference"):
        welch_test(a, a, difference="ratio")  # type: ignore[arg-type]
