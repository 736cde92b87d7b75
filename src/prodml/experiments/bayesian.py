"""Bayesian chance to beat control, credible interval and expected loss.

:func:`gaussian_bayes` follows gbstats 0.8.0's ``EffectBayesianABTest``: the likelihood of the
effect is normal with the frequentist estimate and (delta-method) variance; the prior is flat
unless a proper N(mean, std^2) prior is given (GrowthBook's metric default, when enabled, is
N(0, 0.1^2) on the relative scale, rescaled by the control mean for absolute effects). Posterior
precision = 1/V + 1/std^2, posterior mean = (d/V + mean/std^2) / precision.

Chance to win is P(effect > 0) (P(effect < 0) when lower is better). Risk, as in GrowthBook, is
the expected loss of each choice: choosing control loses E[max(effect, 0)], choosing treatment
loses E[max(-effect, 0)] (swapped when lower is better). For a normal N(mu, s^2) these have the
closed forms mu Phi(mu/s) + s phi(mu/s) and s phi(mu/s) - mu Phi(-mu/s).

:func:`beta_binomial` is the exact conjugate alternative for proportions (Beta(1, 1) priors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import integrate, special, stats

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments.estimates import Estimate
from prodml.experiments.frequentist import Difference, check_alpha, effect


@dataclass(frozen=True)
class GaussianPrior:
    """A proper normal prior on the effect; ``scale`` says whether it is on the relative lift."""

    mean: float = 0.0
    std: float = 0.1
    scale: Literal["relative", "absolute"] = "relative"

    def __post_init__(self) -> None:
        if not self.std > 0 or not math.isfinite(self.std):
            raise ConfigError(f"prior std must be a positive number, got {self.std!r}")
        if self.scale not in ("relative", "absolute"):
            raise ConfigError(f"prior scale must be 'relative' or 'absolute', got {self.scale!r}")


@dataclass(frozen=True)
class BayesianResult:
    """Posterior summary of the effect of treatment over control."""

    difference: Difference
    mean: float
    std: float
    ci_low: float
    ci_high: float
    chance_to_win: float
    risk_control: float
    risk_treatment: float

    @property
    def expected_loss(self) -> float:
        """Expected loss of shipping the treatment (GrowthBook's "risk" of the variation)."""
        return self.risk_treatment


def gaussian_bayes(
    control: Estimate,
    treatment: Estimate,
    *,
    difference: Difference = "relative",
    alpha: float = 0.05,
    prior: GaussianPrior | None = None,
    higher_is_better: bool = True,
) -> BayesianResult:
    """Normal-approximation Bayesian comparison (flat prior unless ``prior`` is given).

    >>> a, b = Estimate(1000, 0.10, 0.09, 0.10), Estimate(1000, 0.12, 0.1056, 0.12)
    >>> r = gaussian_bayes(a, b, difference="absolute")
    >>> round(r.chance_to_win, 4)
    0.9236
    """
    check_alpha(alpha)
    est, var = effect(control, treatment, difference)
    if not var > 0:
        raise InvalidInputError("the effect has zero variance; there is nothing to compare")
    mean, post_var = est, var
    if prior is not None:
        prior_mean, prior_var = prior.mean, prior.std**2
        base = control.unadjusted_mean
        if prior.scale == "relative" and difference == "absolute":
            prior_mean, prior_var = prior_mean * abs(base), prior_var * base**2
        elif prior.scale == "absolute" and difference == "relative":
            if base == 0:
                raise InvalidInputError("cannot rescale an absolute prior: control mean is 0")
            prior_mean, prior_var = prior_mean / abs(base), prior_var / base**2
        precision = 1 / var + 1 / prior_var
        mean, post_var = (est / var + prior_mean / prior_var) / precision, 1 / precision
    std = math.sqrt(post_var)
    z = float(stats.norm.ppf(1 - alpha / 2))
    p_positive = float(stats.norm.sf(0.0, mean, std))
    pdf = float(stats.norm.pdf(mean / std))
    gain = mean * float(stats.norm.cdf(mean / std)) + std * pdf  # E[max(effect, 0)]
    loss = std * pdf - mean * float(stats.norm.cdf(-mean / std))  # E[max(-effect, 0)]
    if higher_is_better:
        ctw, risk_control, risk_treatment = p_positive, gain, loss
    else:
        ctw, risk_control, risk_treatment = 1 - p_positive, loss, gain
    return BayesianResult(
        difference, mean, std, mean - z * std, mean + z * std, ctw, risk_control, risk_treatment
    )


@dataclass(frozen=True)
class BetaBinomialResult:
    """Exact Beta-posterior comparison of two proportions (absolute scale)."""

    chance_to_win: float
    risk_control: float
    risk_treatment: float


def beta_binomial(
    control_successes: float,
    control_n: int,
    treatment_successes: float,
    treatment_n: int,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
) -> BetaBinomialResult:
    """P(p_B > p_A) and expected losses under independent Beta posteriors.

    Integrates over p_B numerically: P(p_B > p_A) = integral of f_B(x) F_A(x), and
    E[max(p_A - p_B, 0)] = integral of f_B(x) (m_A (1 - I_x(a_A + 1, b_A)) - x (1 - I_x(a_A, b_A)))
    where I is the regularised incomplete beta function.

    >>> r = beta_binomial(100, 1000, 120, 1000)
    >>> round(r.chance_to_win, 3)
    0.923
    """
    a0, b0 = prior
    if not (a0 > 0 and b0 > 0):
        raise ConfigError(f"Beta prior parameters must be > 0, got {prior!r}")
    for name, s, n in (
        ("control", control_successes, control_n),
        ("treatment", treatment_successes, treatment_n),
    ):
        if n < 0 or not 0 <= s <= n:
            raise InvalidInputError(f"{name}: need 0 <= successes <= n, got {s} of {n}")
    aa, ba = a0 + control_successes, b0 + control_n - control_successes
    ab, bb = a0 + treatment_successes, b0 + treatment_n - treatment_successes
    ma, mb = aa / (aa + ba), ab / (ab + bb)
    lo, hi = _support(aa, ba, ab, bb)

    def f_b(x: float) -> float:
        return float(stats.beta.pdf(x, ab, bb))

    def excess_a(x: float) -> float:  # E[max(p_A - x, 0)]
        return float(ma * special.betaincc(aa + 1, ba, x) - x * special.betaincc(aa, ba, x))

    def excess_b(x: float) -> float:  # E[max(p_B - x, 0)], used with f_A
        return float(mb * special.betaincc(ab + 1, bb, x) - x * special.betaincc(ab, bb, x))

    points = [ma, mb]
    ctw = _quad(lambda x: f_b(x) * float(special.betainc(aa, ba, x)), lo, hi, points)
    risk_treatment = _quad(lambda x: f_b(x) * excess_a(x), lo, hi, points)
    risk_control = _quad(lambda x: float(stats.beta.pdf(x, aa, ba)) * excess_b(x), lo, hi, points)
    return BetaBinomialResult(min(max(ctw, 0.0), 1.0), risk_control, risk_treatment)


def _support(aa: float, ba: float, ab: float, bb: float) -> tuple[float, float]:
    # Integrate only where either posterior has mass: quad misses narrow peaks on [0, 1].
    q = np.array([1e-12, 1 - 1e-12])
    lo = min(float(stats.beta.ppf(q[0], aa, ba)), float(stats.beta.ppf(q[0], ab, bb)))
    hi = max(float(stats.beta.ppf(q[1], aa, ba)), float(stats.beta.ppf(q[1], ab, bb)))
    return lo, hi


def _quad(f: object, lo: float, hi: float, points: list[float]) -> float:
    inside = [p for p in points if lo < p < hi]
    value, _ = integrate.quad(f, lo, hi, points=inside or None, limit=200)
    return float(value)
