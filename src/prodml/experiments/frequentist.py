"""Fixed-horizon Welch t-test on the absolute or relative effect.

Formulas as in gbstats 0.8.0 (``frequentist/tests.py``) and GrowthBook's docs:

- absolute: d = m_B - m_A, Var(d) = v_A / n_A + v_B / n_B;
- relative: d = (m_B - m_A) / u_A with u the *unadjusted* control mean (differs from m_A only
  under CUPED), and the delta-method variance
  Var(d) = v_B / (u_A^2 n_B) + v_A u_B^2 / (u_A^4 n_A);
- Welch-Satterthwaite degrees of freedom from the per-arm variances (for both differences);
- t = (d - null) / se, Student-t p-value and CI d +/- t_{1-alpha/2, dof} se.

For the absolute difference this is exactly ``scipy.stats.ttest_ind(equal_var=False)``.

Deliberate differences from gbstats: degenerate inputs (an arm with fewer than 2 units, zero
variance, a zero control mean for a relative effect) raise :class:`InvalidInputError` instead of
returning gbstats' placeholder (p = 1, CI [0, 0]); and the ``less`` one-sided interval is
(-inf, d + t se], where gbstats 0.8.0's ``OneSidedTreatmentLesserTTest`` returns d - t se.

    >>> from prodml.experiments.estimates import Estimate
    >>> a, b = Estimate(100, 1.0, 4.0, 1.0), Estimate(100, 1.5, 4.0, 1.5)
    >>> r = welch_test(a, b)
    >>> round(r.estimate, 3), round(r.p_value, 4)
    (0.5, 0.0786)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments.estimates import Estimate

Difference = Literal["absolute", "relative"]
Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class EffectTest:
    """Result of a test of treatment against control.

    ``ci_low``/``ci_high`` are infinite on the open side of a one-sided test.
    """

    difference: Difference
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    dof: float
    statistic: float


def check_alpha(alpha: float) -> float:
    """Validate a significance level (0 < alpha < 1)."""
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    return alpha


def effect(control: Estimate, treatment: Estimate, difference: Difference) -> tuple[float, float]:
    """Point estimate and sampling variance of the effect of treatment over control.

    Raises:
        InvalidInputError: an arm has no units, or a relative effect has a zero control mean.
    """
    if control.n == 0 or treatment.n == 0:
        raise InvalidInputError(
            f"both arms need units to compare; got n_control={control.n}, n_treatment={treatment.n}"
        )
    if difference == "absolute":
        return (
            treatment.mean - control.mean,
            control.variance / control.n + treatment.variance / treatment.n,
        )
    if difference != "relative":
        raise ConfigError(f"difference must be 'absolute' or 'relative', got {difference!r}")
    base = control.unadjusted_mean
    if base == 0:
        raise InvalidInputError(
            "the relative effect is undefined because the control mean is 0; use the absolute one"
        )
    estimate = (treatment.mean - control.mean) / base
    variance = treatment.variance / (base**2 * treatment.n) + (
        control.variance * treatment.unadjusted_mean**2 / (base**4 * control.n)
    )
    return estimate, variance


def welch_dof(control: Estimate, treatment: Estimate) -> float:
    """Welch-Satterthwaite degrees of freedom; needs at least 2 units per arm."""
    if control.n < 2 or treatment.n < 2:
        raise InvalidInputError(
            f"a t-test needs at least 2 units per arm; got n_control={control.n}, "
            f"n_treatment={treatment.n}"
        )
    va, vb = control.variance / control.n, treatment.variance / treatment.n
    denominator = va**2 / (control.n - 1) + vb**2 / (treatment.n - 1)
    if denominator == 0:
        raise InvalidInputError("both arms have zero variance; there is nothing to test")
    return float((va + vb) ** 2 / denominator)


def welch_test(
    control: Estimate,
    treatment: Estimate,
    *,
    difference: Difference = "absolute",
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    null: float = 0.0,
) -> EffectTest:
    """Welch's unequal-variance t-test of treatment against control.

    Args:
        control: control arm estimate.
        treatment: treatment arm estimate.
        difference: test the absolute difference or the relative lift.
        alpha: significance level; the CI has coverage 1 - alpha.
        alternative: ``greater`` tests effect > null (CI [low, inf)), ``less`` effect < null.
        null: the effect under the null hypothesis.

    Raises:
        InvalidInputError: fewer than 2 units in an arm, zero variance, or a relative effect
            with a zero control mean.
    """
    check_alpha(alpha)
    est, var = effect(control, treatment, difference)
    dof = welch_dof(control, treatment)
    if var <= 0:
        raise InvalidInputError("the effect has zero variance; there is nothing to test")
    se = math.sqrt(var)
    t = (est - null) / se
    if alternative == "two-sided":
        p = 2.0 * float(stats.t.sf(abs(t), dof))
        half = float(stats.t.ppf(1 - alpha / 2, dof)) * se
        low, high = est - half, est + half
    elif alternative == "greater":
        p = float(stats.t.sf(t, dof))
        low, high = est - float(stats.t.ppf(1 - alpha, dof)) * se, math.inf
    elif alternative == "less":
        p = float(stats.t.cdf(t, dof))
        low, high = -math.inf, est + float(stats.t.ppf(1 - alpha, dof)) * se
    else:
        raise ConfigError(
            f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}"
        )
    return EffectTest(difference, est, se, low, high, min(p, 1.0), dof, t)
