"""Per-variant mean and per-unit variance of a metric, by metric kind.

Three kinds, with gbstats 0.8.0's formulas (GrowthBook "Statistical details" docs):

- ``proportion``: p = sum / n, variance p(1 - p) (no n - 1 correction, as gbstats).
- ``mean``: sample mean, unbiased sample variance.
- ``ratio``: sum(value) / sum(denominator), per-unit variance by the delta method
  (Deng et al. 2018, "Applying the Delta Method in Metric Analytics", eq. 4):
  Var(M)/mu_D^2 - 2 Cov(M, D) mu_M / mu_D^3 + mu_M^2 Var(D) / mu_D^4.

The variance is *per unit*: the squared standard error of the mean is ``variance / n``.

    >>> from prodml.experiments.summaries import MetricSummary
    >>> e = estimate(MetricSummary.from_arrays([0, 1, 1, 1]), "proportion")
    >>> e.mean, e.variance
    (0.75, 0.1875)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments.summaries import MetricSummary

MetricKind = Literal["proportion", "mean", "ratio"]
METRIC_KINDS: tuple[str, ...] = get_args(MetricKind)


@dataclass(frozen=True)
class Estimate:
    """What the tests need from one variant: n, mean, per-unit variance.

    ``unadjusted_mean`` differs from ``mean`` only under CUPED; relative effects divide by the
    unadjusted control mean, as GrowthBook does.
    """

    n: int
    mean: float
    variance: float
    unadjusted_mean: float

    @property
    def std_error(self) -> float:
        """Standard error of the mean; infinite with no units."""
        return (self.variance / self.n) ** 0.5 if self.n else float("inf")


def check_kind(kind: str) -> MetricKind:
    """Validate a metric kind name and return it typed."""
    if kind not in METRIC_KINDS:
        raise ConfigError(f"unknown metric kind {kind!r}; use one of {', '.join(METRIC_KINDS)}")
    return kind  # type: ignore[return-value]


def estimate(summary: MetricSummary, kind: MetricKind) -> Estimate:
    """Mean and per-unit variance of one variant's metric (no CUPED; see :mod:`.cuped`)."""
    check_kind(kind)
    n = summary.n
    if kind == "proportion":
        p = summary.value.mean
        if summary.value.sum < 0 or summary.value.sum > n:
            raise InvalidInputError(
                f"a proportion needs 0 <= sum <= n, got sum={summary.value.sum} with n={n}; "
                "use kind='mean' for non-binary values"
            )
        return Estimate(n, p, p * (1.0 - p), p)
    if kind == "mean":
        m = summary.value.mean
        return Estimate(n, m, summary.value.variance, m)
    return _ratio_estimate(summary)


def _ratio_estimate(summary: MetricSummary) -> Estimate:
    den = summary.denominator
    if den is None:
        raise InvalidInputError(
            "a ratio metric needs a denominator; build the summary with "
            "MetricSummary.from_arrays(values, denominator=...)"
        )
    num = summary.value
    n = summary.n
    ratio = num.sum / den.sum if den.sum != 0 else 0.0
    mu_m, mu_d = num.mean, den.mean
    if mu_d == 0 or n <= 1:
        return Estimate(n, ratio, 0.0, ratio)
    cov = summary.value_denominator_covariance
    variance = num.variance / mu_d**2 - 2 * cov * mu_m / mu_d**3 + mu_m**2 * den.variance / mu_d**4
    return Estimate(n, ratio, max(variance, 0.0), ratio)
