"""Power and sample size for a two-sided two-sample test, proportions or means.

Normal approximation with unpooled variances, matching the Welch test the analysis runs:
for treatment share r of N units, se^2 = s_A^2 / ((1 - r) N) + s_B^2 / (r N), and

    N = (z_{1-alpha/2} + z_{power})^2 (s_A^2 / (1 - r) + s_B^2 / r) / mde^2

(e.g. Chow, Shao & Wang, "Sample Size Calculations in Clinical Research", ch. 4). Power counts
both rejection tails: Phi(|mde|/se - z) + Phi(-|mde|/se - z). Per-arm sizes are rounded up.

    >>> s = sample_size_proportions(0.10, 0.02)
    >>> s.control, s.treatment
    (3839, 3839)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from prodml.errors import ConfigError
from prodml.experiments.frequentist import check_alpha


@dataclass(frozen=True)
class SampleSize:
    """Units needed per arm (and in total) to reach the requested power."""

    control: int
    treatment: int

    @property
    def total(self) -> int:
        return self.control + self.treatment


def _check_common(power: float, treatment_share: float, alpha: float) -> None:
    check_alpha(alpha)
    if not 0 < power < 1:
        raise ConfigError(f"power must be between 0 and 1 (exclusive), got {power!r}")
    if not 0 < treatment_share < 1:
        raise ConfigError(f"treatment_share must be between 0 and 1, got {treatment_share!r}")


def _absolute_mde(baseline: float, mde: float, relative: bool) -> float:
    delta = mde * baseline if relative else mde
    if delta == 0 or not math.isfinite(delta):
        raise ConfigError(
            f"the minimum detectable effect must be a non-zero number, got {mde!r}"
            + (f" relative to baseline {baseline!r}" if relative else "")
        )
    return delta


def _mean_delta(mde: float, baseline_mean: float | None, relative: bool) -> float:
    if not relative:
        return _absolute_mde(1.0, mde, False)
    if baseline_mean is None:
        raise ConfigError("a relative mde needs baseline_mean")
    return _absolute_mde(baseline_mean, mde, True)


def _proportion_variances(baseline: float, delta: float) -> tuple[float, float]:
    treated = baseline + delta
    if not 0 < baseline < 1 or not 0 < treated < 1:
        raise ConfigError(
            f"proportions must lie strictly between 0 and 1; baseline {baseline!r} with "
            f"effect {delta!r} gives {treated!r}"
        )
    return baseline * (1 - baseline), treated * (1 - treated)


def _size(
    var_a: float, var_b: float, delta: float, alpha: float, power: float, share: float
) -> SampleSize:
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    total = z**2 * (var_a / (1 - share) + var_b / share) / delta**2
    # Round after the multiplication so 0.5 * 7677.2 -> 3839, and guard float noise (x.0000001).
    return SampleSize(
        control=math.ceil(round((1 - share) * total, 6)),
        treatment=math.ceil(round(share * total, 6)),
    )


def _power(var_a: float, var_b: float, delta: float, n_a: int, n_b: int, alpha: float) -> float:
    if n_a <= 0 or n_b <= 0:
        raise ConfigError(f"both arms need units, got control={n_a}, treatment={n_b}")
    se = math.sqrt(var_a / n_a + var_b / n_b)
    z = float(stats.norm.ppf(1 - alpha / 2))
    shift = abs(delta) / se
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))


def sample_size_proportions(
    baseline: float,
    mde: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    treatment_share: float = 0.5,
) -> SampleSize:
    """Units per arm to detect a change of ``mde`` in a conversion rate.

    Args:
        baseline: control proportion, e.g. 0.10.
        mde: minimum detectable effect, absolute (0.02 = 10% -> 12%) or relative (0.2).
        relative: read ``mde`` as a fraction of the baseline.
        alpha: two-sided significance level.
        power: probability of detecting an effect of size ``mde``.
        treatment_share: fraction of units in the treatment arm.
    """
    _check_common(power, treatment_share, alpha)
    delta = _absolute_mde(baseline, mde, relative)
    var_a, var_b = _proportion_variances(baseline, delta)
    return _size(var_a, var_b, delta, alpha, power, treatment_share)


def sample_size_means(
    std: float,
    mde: float,
    *,
    baseline_mean: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    treatment_share: float = 0.5,
) -> SampleSize:
    """Units per arm to detect a change of ``mde`` in a mean (same std in both arms).

    Args:
        std: per-unit standard deviation of the metric.
        mde: minimum detectable effect, absolute or (with ``relative``) a fraction of
            ``baseline_mean``.
        baseline_mean: control mean; needed only for a relative ``mde``.
    """
    _check_common(power, treatment_share, alpha)
    if not std > 0:
        raise ConfigError(f"std must be > 0, got {std!r}")
    delta = _mean_delta(mde, baseline_mean, relative)
    return _size(std**2, std**2, delta, alpha, power, treatment_share)


def power_proportions(
    baseline: float,
    mde: float,
    control_n: int,
    treatment_n: int,
    *,
    relative: bool = False,
    alpha: float = 0.05,
) -> float:
    """Power of the two-sided test with these arm sizes (see :func:`sample_size_proportions`)."""
    check_alpha(alpha)
    delta = _absolute_mde(baseline, mde, relative)
    var_a, var_b = _proportion_variances(baseline, delta)
    return _power(var_a, var_b, delta, control_n, treatment_n, alpha)


def power_means(
    std: float,
    mde: float,
    control_n: int,
    treatment_n: int,
    *,
    baseline_mean: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
) -> float:
    """Power of the two-sided test with the given arm sizes (see :func:`sample_size_means`)."""
    check_alpha(alpha)
    if not std > 0:
        raise ConfigError(f"std must be > 0, got {std!r}")
    delta = _mean_delta(mde, baseline_mean, relative)
    return _power(std**2, std**2, delta, control_n, treatment_n, alpha)
