"""CUPED: variance reduction with a pre-period covariate (Deng, Xu, Kohavi, Walker 2013).

As in gbstats 0.8.0 (``compute_theta``, ``RegressionAdjustedStatistic``):

- theta = Cov(Y, X) / Var(X), computed on the *pooled* sums of the two arms being compared, so
  the adjustment is the same in both arms and the effect stays unbiased;
- adjusted mean = mean(Y) - theta * mean(X); per-unit variance
  Var(Y) + theta^2 Var(X) - 2 theta Cov(Y, X);
- the unadjusted mean is kept, because relative effects divide by the *unadjusted* control mean;
- theta = 0 (no variance in the pooled pre- or post-period) falls back to the plain estimate.

The variance falls by about rho^2, rho being the correlation of Y and X.

Deliberate difference: gbstats lets a binary covariate use p(1 - p) as its variance; here the
covariate always uses the unbiased sample variance (the difference is a factor n / (n - 1)).
"""

from __future__ import annotations

from prodml.errors import InvalidInputError
from prodml.experiments.estimates import Estimate, MetricKind, check_kind, estimate
from prodml.experiments.summaries import MetricSummary


def cuped_theta(control: MetricSummary, treatment: MetricSummary, kind: MetricKind) -> float:
    """Pooled regression coefficient of the metric on its pre-period covariate.

    Returns 0 when either pooled variance is zero (CUPED then changes nothing).
    """
    pooled = _require_covariate(control, "control") + _require_covariate(treatment, "treatment")
    if pooled.covariate is None:  # pragma: no cover - _require_covariate guarantees it
        raise InvalidInputError("covariate missing")
    post_variance = estimate(pooled, kind).variance
    pre_variance = pooled.covariate.variance
    if pre_variance <= 0 or post_variance <= 0:
        return 0.0
    return pooled.value_covariate_covariance / pre_variance


def cuped_estimates(
    control: MetricSummary, treatment: MetricSummary, kind: MetricKind
) -> tuple[Estimate, Estimate, float]:
    """CUPED-adjusted estimates of both arms and the theta used.

    >>> c = MetricSummary.from_arrays([1.0, 2.0, 3.0], covariate=[1.0, 2.0, 3.0])
    >>> t = MetricSummary.from_arrays([2.0, 3.0, 4.5], covariate=[1.0, 2.0, 3.0])
    >>> ec, et, theta = cuped_estimates(c, t, "mean")
    >>> round(theta, 4), round(et.mean - ec.mean, 4)
    (1.125, 1.1667)
    """
    if check_kind(kind) == "ratio":
        raise InvalidInputError(
            "CUPED here supports proportion and mean metrics; ratio metrics need the "
            "numerator and denominator pre-period cross-products, which are not collected"
        )
    theta = cuped_theta(control, treatment, kind)
    return _adjusted(control, kind, theta), _adjusted(treatment, kind, theta), theta


def _adjusted(summary: MetricSummary, kind: MetricKind, theta: float) -> Estimate:
    plain = estimate(summary, kind)
    if theta == 0.0 or summary.covariate is None:
        return plain
    x = summary.covariate
    variance = (
        plain.variance + theta**2 * x.variance - 2 * theta * summary.value_covariate_covariance
    )
    return Estimate(
        n=plain.n,
        mean=plain.mean - theta * x.mean,
        variance=max(variance, 0.0),
        unadjusted_mean=plain.mean,
    )


def _require_covariate(summary: MetricSummary, arm: str) -> MetricSummary:
    if summary.covariate is None:
        raise InvalidInputError(
            f"CUPED needs a pre-period covariate in the {arm} summary; build it with "
            "MetricSummary.from_arrays(values, covariate=...)"
        )
    return summary
