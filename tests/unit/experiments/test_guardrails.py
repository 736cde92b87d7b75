from __future__ import annotations

import numpy as np
import pytest

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments import (
    Decision,
    MetricSummary,
    SampleStats,
    proportion_threshold_test,
    regression_test,
)


def _rate(errors: int, n: int) -> MetricSummary:
    return MetricSummary(SampleStats(n, float(errors), float(errors)))


def test_no_data_is_never_a_pass() -> None:
    empty = MetricSummary.from_arrays([])
    assert regression_test(empty, empty, "proportion").decision is Decision.NOT_YET
    assert regression_test(_rate(5, 1000), empty, "proportion").decision is Decision.NOT_YET
    assert proportion_threshold_test(0, 0, 0.01).decision is Decision.NOT_YET


def test_zero_variance_waits_instead_of_passing() -> None:
    r = regression_test(_rate(0, 5000), _rate(0, 5000), "proportion", tolerance=0.01)
    assert r.decision is Decision.NOT_YET
    assert "variance" in r.reason


def test_much_higher_error_rate_fails() -> None:
    r = regression_test(_rate(10, 5000), _rate(200, 5000), "proportion", tolerance=0.005)
    assert r.decision is Decision.FAIL
    assert r.ci_low > 0.005


def test_equal_error_rate_passes_within_tolerance_and_waits_without_one() -> None:
    base, cand = _rate(100, 20_000), _rate(100, 20_000)
    assert regression_test(base, cand, "proportion", tolerance=0.005).decision is Decision.PASS
    assert regression_test(base, cand, "proportion").decision is Decision.NOT_YET


def test_relative_latency_tolerance(rng: np.random.Generator) -> None:
    base = MetricSummary.from_arrays(rng.gamma(4, 25, 5000))
    slower = MetricSummary.from_arrays(rng.gamma(4, 25, 5000) * 1.3)
    same = MetricSummary.from_arrays(rng.gamma(4, 25, 5000))
    kw = {"tolerance": 0.1, "relative": True}
    assert regression_test(base, slower, "mean", **kw).decision is Decision.FAIL  # type: ignore[arg-type]
    assert regression_test(base, same, "mean", **kw).decision is Decision.PASS  # type: ignore[arg-type]


def test_lower_quality_fails_when_higher_is_better(rng: np.random.Generator) -> None:
    base = MetricSummary.from_arrays(rng.normal(0.9, 0.05, 3000))
    worse = MetricSummary.from_arrays(rng.normal(0.8, 0.05, 3000))
    r = regression_test(base, worse, "mean", tolerance=0.02, higher_is_worse=False)
    assert r.decision is Decision.FAIL
    assert r.estimate == pytest.approx(0.1, abs=0.01)


def test_repeated_checks_of_an_equal_candidate_rarely_fail() -> None:
    # Always valid: a candidate exactly at the tolerance boundary is checked after every batch;
    # the chance that any check says FAIL must stay below alpha.
    rng = np.random.default_rng(11)
    fails = 0
    sims = 200
    for _ in range(sims):
        base = rng.random((40, 250)) < 0.02
        cand = rng.random((40, 250)) < 0.02
        nb, sb = np.cumsum(np.full(40, 250)), np.cumsum(base.sum(axis=1))
        sc = np.cumsum(cand.sum(axis=1))
        fails += any(
            regression_test(_rate(int(b), int(n)), _rate(int(c), int(n)), "proportion").decision
            is Decision.FAIL
            for n, b, c in zip(nb, sb, sc, strict=True)
        )
    assert fails / sims <= 0.05


def test_proportion_threshold_gate() -> None:
    assert proportion_threshold_test(2, 1000, 0.01).decision is Decision.PASS
    assert proportion_threshold_test(40, 1000, 0.01).decision is Decision.FAIL
    assert proportion_threshold_test(9, 1000, 0.01).decision is Decision.NOT_YET
    # A success rate that must stay above 99%.
    assert (
        proportion_threshold_test(950, 1000, 0.99, higher_is_worse=False).decision is Decision.FAIL
    )
    assert (
        proportion_threshold_test(999, 1000, 0.99, higher_is_worse=False).decision is Decision.PASS
    )


def test_proportion_gate_is_always_valid_at_the_threshold() -> None:
    rng = np.random.default_rng(5)
    draws = rng.random((2000, 2000)) < 0.01
    running = np.cumsum(draws, axis=1)
    looks = range(49, 2000, 50)
    wrong = sum(
        any(
            proportion_threshold_test(int(row[k]), k + 1, 0.01).decision is not Decision.NOT_YET
            for k in looks
        )
        for row in running
    )
    assert wrong / len(running) <= 0.05


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: regression_test(_rate(1, 9), _rate(1, 9), "proportion", tolerance=-1),
            ConfigError,
            "tolerance",
        ),
        (
            lambda: regression_test(_rate(1, 9), _rate(1, 9), "proportion", min_units=1),
            ConfigError,
            "min_units",
        ),
        (lambda: proportion_threshold_test(1, 10, 1.0), ConfigError, "threshold"),
        (lambda: proportion_threshold_test(11, 10, 0.1), InvalidInputError, "successes"),
        (lambda: proportion_threshold_test(1, 10, 0.1, prior=(0, 1)), ConfigError, "prior"),
    ],
)
def test_bad_settings(call: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()  # type: ignore[operator]
