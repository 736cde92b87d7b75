from __future__ import annotations

import numpy as np
import pytest

from prodml.errors import InvalidInputError
from prodml.experiments import MetricSummary, cuped_estimates, cuped_theta, estimate, welch_test


def _arms(rng: np.random.Generator, n: int = 4000, lift: float = 0.3) -> tuple[MetricSummary, ...]:
    xa, xb = rng.normal(10, 3, n), rng.normal(10, 3, n)
    ya = 2 + 0.9 * xa + rng.normal(0, 2, n)
    yb = 2 + 0.9 * xb + rng.normal(lift, 2, n)
    return MetricSummary.from_arrays(ya, covariate=xa), MetricSummary.from_arrays(yb, covariate=xb)


def test_theta_is_pooled_ols_slope(rng: np.random.Generator) -> None:
    a, b = _arms(rng)
    pooled = a + b
    assert pooled.covariate is not None
    want = pooled.value_covariate_covariance / pooled.covariate.variance
    assert cuped_theta(a, b, "mean") == pytest.approx(want)
    assert want == pytest.approx(0.9, abs=0.03)


def test_cuped_reduces_variance_by_about_rho_squared(rng: np.random.Generator) -> None:
    a, b = _arms(rng)
    plain = welch_test(estimate(a, "mean"), estimate(b, "mean"))
    ea, eb, _ = cuped_estimates(a, b, "mean")
    adjusted = welch_test(ea, eb)
    rho2 = 0.9**2 * 9 / (0.9**2 * 9 + 4)
    assert adjusted.std_error**2 / plain.std_error**2 == pytest.approx(1 - rho2, abs=0.03)
    assert adjusted.ci_low <= 0.3 <= adjusted.ci_high


def test_relative_lift_divides_by_unadjusted_control_mean(rng: np.random.Generator) -> None:
    a, b = _arms(rng)
    ea, eb, theta = cuped_estimates(a, b, "mean")
    assert ea.unadjusted_mean == a.mean
    rel = welch_test(ea, eb, difference="relative")
    assert rel.estimate == pytest.approx((eb.mean - ea.mean) / a.mean)
    assert theta != 0


def test_constant_covariate_falls_back_to_plain_estimates() -> None:
    a = MetricSummary.from_arrays([1.0, 2.0, 3.0], covariate=[5.0, 5.0, 5.0])
    b = MetricSummary.from_arrays([2.0, 3.0, 5.0], covariate=[5.0, 5.0, 5.0])
    ea, eb, theta = cuped_estimates(a, b, "mean")
    assert theta == 0.0
    assert (ea, eb) == (estimate(a, "mean"), estimate(b, "mean"))


def test_cuped_needs_a_covariate_and_no_ratio() -> None:
    a = MetricSummary.from_arrays([1.0, 2.0])
    with pytest.raises(InvalidInputError, match="pre-period covariate"):
        cuped_estimates(a, a, "mean")
    with pytest.raises(InvalidInputError, match="ratio"):
        cuped_estimates(a, a, "ratio")
