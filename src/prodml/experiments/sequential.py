"""Always-valid (sequential) inference: peeking at any time keeps the error rate at alpha.

Both methods here are the same normal-mixture martingale (Robbins 1970), parameterised two ways.
For an effect estimate d with sampling variance V and a N(null, tau^2) mixing distribution, the
mixture likelihood ratio is

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 (d - null)^2 / (2 V (V + tau^2)))

and by Ville's inequality P(Lambda ever exceeds 1/alpha) <= alpha. Hence the always-valid
p-value min(1, 1/Lambda) and the confidence sequence d +/- sqrt(V (V + tau^2) / tau^2 *
(ln((V + tau^2) / V) - 2 ln alpha)).

- :func:`msprt`: tau fixed on the effect scale (Johari, Pekelis, Walsh, "Always Valid Inference",
  2017; Optimizely's Stats Engine).
- :func:`confidence_sequence`: GrowthBook's asymptotic confidence sequence (Waudby-Smith et al.
  2023, arXiv 2103.06476 eq. 9, 155, 161; gbstats ``SequentialTwoSidedTTest``). With N units in
  total and s^2 = V N it sets tau^2 = rho^2 s^2, where rho is tuned so the sequence is tightest
  at N = ``tuning`` (GrowthBook's default 5,000).

Both are stateless: each call gives the bound at the current look. A caller that keeps history
may take the running intersection of intervals and running minimum of p-values; both stay valid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments.estimates import Estimate
from prodml.experiments.frequentist import Difference, check_alpha, effect

DEFAULT_TUNING = 5000.0  # GrowthBook's default sequential tuning parameter N*


@dataclass(frozen=True)
class SequentialResult:
    """An always-valid confidence interval and p-value for the effect at the current look."""

    difference: Difference
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float


def normal_mixture(
    estimate: float, variance: float, *, tau2: float, alpha: float = 0.05, null: float = 0.0
) -> tuple[float, float]:
    """Half-width of the confidence sequence and always-valid p-value at one look.

    Args:
        estimate: the effect estimate.
        variance: its sampling variance (squared standard error).
        tau2: variance of the normal mixing distribution, on the effect's scale.
        alpha: level; the sequence covers the effect at all looks with probability 1 - alpha.
        null: the effect under the null hypothesis.

    >>> hw, p = normal_mixture(0.0, 1.0, tau2=1.0)
    >>> round(hw, 4), p
    (3.6564, 1.0)
    """
    check_alpha(alpha)
    if not variance > 0:
        raise InvalidInputError("the effect has zero variance; a confidence sequence needs some")
    if not tau2 > 0:
        raise ConfigError(f"the mixing variance tau2 must be > 0, got {tau2!r}")
    ratio = tau2 / variance
    half_width = math.sqrt(variance * (1 + 1 / ratio) * (math.log1p(ratio) - 2 * math.log(alpha)))
    log_lambda = -0.5 * math.log1p(ratio) + ratio * (estimate - null) ** 2 / (2 * (variance + tau2))
    p_value = 1.0 if log_lambda <= 0 else math.exp(-log_lambda)
    return half_width, p_value


def growthbook_rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """GrowthBook's mixing scale rho (Waudby-Smith et al. eq. 161) for a tuning N*."""
    check_alpha(alpha)
    if not tuning > 0:
        raise ConfigError(f"the sequential tuning parameter must be > 0, got {tuning!r}")
    return math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)


def confidence_sequence(
    control: Estimate,
    treatment: Estimate,
    *,
    difference: Difference = "absolute",
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
    null: float = 0.0,
) -> SequentialResult:
    """GrowthBook's always-valid interval and p-value for treatment vs control.

    Args:
        control: control arm estimate.
        treatment: treatment arm estimate.
        difference: absolute difference or relative lift (delta method).
        alpha: level of the two-sided sequence.
        tuning: N*, the total sample size at which the interval is tightest.
        null: the effect under the null hypothesis.
    """
    est, var = effect(control, treatment, difference)
    n_total = control.n + treatment.n
    rho = growthbook_rho(alpha, tuning)
    # s^2 = var * N is the per-unit variance; tau^2 = rho^2 s^2 (so tau^2 / var = N rho^2).
    half, p = normal_mixture(est, var, tau2=rho**2 * var * n_total, alpha=alpha, null=null)
    return SequentialResult(difference, est, est - half, est + half, p)


def msprt(
    control: Estimate,
    treatment: Estimate,
    *,
    tau: float,
    difference: Difference = "absolute",
    alpha: float = 0.05,
    null: float = 0.0,
) -> SequentialResult:
    """Mixture SPRT (Johari et al.) with a N(null, tau^2) mixture on the effect.

    Args:
        tau: standard deviation of plausible effects, on the effect's scale (e.g. 0.05 for a
            relative lift); tune it from past experiments.
    """
    if not tau > 0:
        raise ConfigError(f"tau must be > 0, got {tau!r}")
    est, var = effect(control, treatment, difference)
    half, p = normal_mixture(est, var, tau2=tau**2, alpha=alpha, null=null)
    return SequentialResult(difference, est, est - half, est + half, p)
