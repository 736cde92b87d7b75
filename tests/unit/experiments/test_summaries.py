from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from prodml.errors import InvalidInputError
from prodml.experiments import MetricSummary, SampleStats, estimate, merge

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


def _columns(n: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, n, elements=finite)


@st.composite
def split_data(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    n = draw(st.integers(2, 30))
    y, d, x = draw(_columns(n)), draw(_columns(n)), draw(_columns(n))
    return y, d, x, draw(st.integers(1, n - 1))


@given(split_data())
@settings(max_examples=60, deadline=None)
def test_merging_summaries_equals_summarising_the_concatenation(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, int],
) -> None:
    y, d, x, cut = data
    whole = MetricSummary.from_arrays(y, denominator=d, covariate=x)
    left = MetricSummary.from_arrays(y[:cut], denominator=d[:cut], covariate=x[:cut])
    right = MetricSummary.from_arrays(y[cut:], denominator=d[cut:], covariate=x[cut:])
    merged = left + right
    assert merged.n == whole.n
    for got, want in (
        (merged.value, whole.value),
        (merged.denominator, whole.denominator),
        (merged.covariate, whole.covariate),
    ):
        assert got is not None and want is not None
        assert got.sum == pytest.approx(want.sum, rel=1e-9, abs=1e-6)
        assert got.sum_squares == pytest.approx(want.sum_squares, rel=1e-9, abs=1e-6)
    assert merged.value_covariate_covariance == pytest.approx(
        whole.value_covariate_covariance, rel=1e-6, abs=1e-6
    )
    assert estimate(merged, "mean").variance == pytest.approx(
        estimate(whole, "mean").variance, rel=1e-6, abs=1e-6
    )


def test_summary_statistics_match_numpy(rng: np.random.Generator) -> None:
    y, x = rng.normal(3, 2, 500), rng.normal(1, 1, 500)
    s = MetricSummary.from_arrays(y, covariate=x)
    assert s.mean == pytest.approx(y.mean())
    assert s.value.variance == pytest.approx(y.var(ddof=1))
    assert s.value_covariate_covariance == pytest.approx(np.cov(y, x)[0, 1])


def test_merge_of_daily_partitions() -> None:
    days = [MetricSummary.from_arrays([float(i), float(i + 1)]) for i in range(3)]
    assert merge(days) == MetricSummary.from_arrays([0.0, 1.0, 1.0, 2.0, 2.0, 3.0])


def test_empty_summary_has_zero_mean_and_variance() -> None:
    s = MetricSummary.from_arrays([])
    assert (s.n, s.mean, s.value.variance) == (0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SampleStats(-1, 0.0, 0.0), "non-negative integer"),
        (lambda: SampleStats(2, float("nan"), 0.0), "finite"),
        (lambda: SampleStats(2, 1.0, -1.0), "sum_squares"),
        (lambda: MetricSummary.from_arrays([1.0, float("nan")]), "NaN"),
        (lambda: MetricSummary.from_arrays([[1.0]]), "1-D"),
        (lambda: MetricSummary.from_arrays([1.0, 2.0], covariate=[1.0]), "has 1 values"),
        (
            lambda: MetricSummary(SampleStats(2, 1.0, 1.0), covariate=SampleStats(2, 1.0, 1.0)),
            "given together",
        ),
        (
            lambda: MetricSummary(SampleStats(2, 1.0, 1.0), SampleStats(3, 1.0, 1.0), 1.0),
            "same units",
        ),
        (lambda: merge([]), "at least one"),
        (
            lambda: (
                MetricSummary.from_arrays([1.0]) + MetricSummary.from_arrays([1.0], covariate=[1.0])
            ),
            "only one has a covariate",
        ),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(build: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        build()  # type: ignore[operator]


def test_ratio_variance_matches_delta_method_by_hand(rng: np.random.Generator) -> None:
    d = rng.poisson(4, 2000) + 1.0
    m = rng.binomial(d.astype(int), 0.3).astype(float)
    e = estimate(MetricSummary.from_arrays(m, denominator=d), "ratio")
    mu_m, mu_d = m.mean(), d.mean()
    cov = np.cov(m, d)
    want = cov[0, 0] / mu_d**2 - 2 * cov[0, 1] * mu_m / mu_d**3 + mu_m**2 * cov[1, 1] / mu_d**4
    assert e.mean == pytest.approx(m.sum() / d.sum())
    assert e.variance == pytest.approx(want)


def test_ratio_without_denominator_and_bad_proportion_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="denominator"):
        estimate(MetricSummary.from_arrays([1.0, 2.0]), "ratio")
    with pytest.raises(InvalidInputError, match="kind='mean'"):
        estimate(MetricSummary.from_arrays([3.0, 2.0]), "proportion")
