"""Sequential gates for a canary controller: PASS, FAIL or NOT_YET.

Both gates are always valid: the controller may call them after every scrape, and the chance
that any call ever returns a wrong PASS or FAIL stays below alpha.

- :func:`regression_test` compares a candidate with the baseline on an error rate, latency or
  quality metric. It builds GrowthBook's two-sided confidence sequence (:mod:`.sequential`) for
  "how much worse the candidate is" and returns FAIL when the whole sequence lies above the
  tolerance (worse by more than allowed), PASS when it lies below (not worse by more than the
  tolerance: a non-inferiority result), NOT_YET otherwise. Using the two-sided sequence for both
  one-sided calls keeps P(any wrong call) <= alpha (Ville's inequality), at a small cost in speed.
  Like GrowthBook Safe Rollouts and LaunchDarkly guarded rollouts, the bound is on the effect,
  not on the raw metric.
- :func:`proportion_threshold_test` checks a single rate (e.g. candidate error rate <= 1%) with
  Robbins' Beta-binomial mixture martingale: exact for any n, no normal approximation.

No data, too few units or zero variance gives NOT_YET, never PASS (Flagger's "no values found"
lesson: silence must not promote a canary).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from scipy import special

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments.estimates import MetricKind, estimate
from prodml.experiments.frequentist import Difference, check_alpha, effect
from prodml.experiments.sequential import DEFAULT_TUNING, confidence_sequence
from prodml.experiments.summaries import MetricSummary


class Decision(enum.StrEnum):
    """What a canary controller should do with the gate's answer."""

    PASS = "pass"  # noqa: S105 - a decision name, not a password
    FAIL = "fail"
    NOT_YET = "not_yet"


@dataclass(frozen=True)
class GateResult:
    """A gate's decision with the evidence behind it.

    For :func:`regression_test`, ``estimate``, ``ci_low`` and ``ci_high`` are on the "how much
    worse" scale (positive = the candidate is worse). For :func:`proportion_threshold_test`,
    ``estimate`` is the observed rate and ``tolerance`` the threshold. NaN marks what a gate
    could not compute. ``reason`` is for people.
    """

    decision: Decision
    estimate: float
    ci_low: float
    ci_high: float
    tolerance: float
    reason: str


def _not_yet(reason: str, tolerance: float) -> GateResult:
    return GateResult(Decision.NOT_YET, math.nan, math.nan, math.nan, tolerance, reason)


def regression_test(
    baseline: MetricSummary,
    candidate: MetricSummary,
    kind: MetricKind,
    *,
    tolerance: float = 0.0,
    relative: bool = False,
    higher_is_worse: bool = True,
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
    min_units: int = 30,
) -> GateResult:
    """Is the candidate worse than the baseline by more than ``tolerance``?

    Args:
        baseline: summary of the stable version's metric.
        candidate: summary of the canary's metric.
        kind: ``proportion`` (error rate), ``mean`` (latency) or ``ratio``.
        tolerance: allowed degradation, >= 0; absolute, or a fraction of the baseline mean
            when ``relative`` (0.05 = 5% worse is acceptable).
        relative: measure the degradation relative to the baseline mean.
        higher_is_worse: True for errors and latency, False for accuracy or conversion.
        alpha: bound on the probability of ever returning a wrong PASS or FAIL.
        tuning: N* of the confidence sequence (total units where it is tightest).
        min_units: both arms need at least this many units before any decision.

    >>> import numpy as np
    >>> base = MetricSummary.from_arrays(np.r_[np.ones(10), np.zeros(990)])
    >>> bad = MetricSummary.from_arrays(np.r_[np.ones(80), np.zeros(920)])
    >>> regression_test(base, bad, "proportion", tolerance=0.01).decision
    <Decision.FAIL: 'fail'>
    """
    check_alpha(alpha)
    if not tolerance >= 0 or not math.isfinite(tolerance):
        raise ConfigError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    if min_units < 2:
        raise ConfigError(f"min_units must be at least 2, got {min_units!r}")
    if baseline.n < min_units or candidate.n < min_units:
        return _not_yet(
            f"need {min_units} units per arm, have baseline={baseline.n}, candidate={candidate.n}",
            tolerance,
        )
    est_base, est_cand = estimate(baseline, kind), estimate(candidate, kind)
    difference: Difference = "relative" if relative else "absolute"
    try:
        _, variance = effect(est_base, est_cand, difference)
        if not variance > 0:
            return _not_yet("no variance in the data yet", tolerance)
        seq = confidence_sequence(
            est_base, est_cand, difference=difference, alpha=alpha, tuning=tuning
        )
    except InvalidInputError as exc:
        return _not_yet(str(exc), tolerance)
    sign = 1.0 if higher_is_worse else -1.0
    worse, low, high = sign * seq.estimate, *sorted((sign * seq.ci_low, sign * seq.ci_high))
    if low > tolerance:
        decision, reason = Decision.FAIL, "the candidate is worse by more than the tolerance"
    elif high < tolerance:
        decision, reason = Decision.PASS, "the candidate is not worse by more than the tolerance"
    else:
        decision, reason = Decision.NOT_YET, "the interval still straddles the tolerance"
    return GateResult(decision, worse, low, high, tolerance, reason)


def proportion_threshold_test(
    successes: int,
    n: int,
    threshold: float,
    *,
    higher_is_worse: bool = True,
    alpha: float = 0.05,
    prior: tuple[float, float] | None = None,
) -> GateResult:
    """Is a single rate on the wrong side of ``threshold`` (e.g. error rate above 1%)?

    The Beta(a, b) mixture of Bernoulli likelihood ratios against p = threshold,
    B(a + s, b + f) / (B(a, b) threshold^s (1 - threshold)^f), is a martingale under the null;
    by Ville's inequality it exceeds 1/alpha with probability at most alpha, at any n. When it
    does, the rate is decided to be on the side its estimate is on.

    Args:
        successes: count of events (errors, timeouts...) among ``n`` trials.
        n: number of trials.
        threshold: the limit, strictly between 0 and 1.
        higher_is_worse: True when a rate above the threshold is bad (error rates).
        alpha: bound on the probability of ever returning a wrong PASS or FAIL.
        prior: Beta(a, b) mixing prior. By default its mean is the threshold and it holds one
            pseudo-event (Beta(1, (1 - t) / t) for t <= 0.5), which spends the evidence near the
            threshold: with 2 errors in 1,000 a 1% limit passes, where Beta(1, 1) would wait.

    >>> proportion_threshold_test(2, 1000, 0.01).decision
    <Decision.PASS: 'pass'>
    >>> proportion_threshold_test(0, 0, 0.01).decision
    <Decision.NOT_YET: 'not_yet'>
    """
    check_alpha(alpha)
    if not 0 < threshold < 1:
        raise ConfigError(f"threshold must be strictly between 0 and 1, got {threshold!r}")
    if prior is None:
        ratio = (1 - threshold) / threshold
        prior = (1.0, ratio) if threshold <= 0.5 else (1 / ratio, 1.0)
    a, b = prior
    if not (a > 0 and b > 0):
        raise ConfigError(f"Beta prior parameters must be > 0, got {prior!r}")
    if n < 0 or not 0 <= successes <= n:
        raise InvalidInputError(f"need 0 <= successes <= n, got {successes} of {n}")
    tolerance = threshold
    if n == 0:
        return _not_yet("no data", tolerance)
    failures = n - successes
    log_evidence = (
        special.betaln(a + successes, b + failures)
        - special.betaln(a, b)
        - successes * math.log(threshold)
        - failures * math.log1p(-threshold)
    )
    rate = successes / n
    if log_evidence < -math.log(alpha) or rate == threshold:
        return GateResult(
            Decision.NOT_YET, rate, math.nan, math.nan, tolerance, "not enough evidence yet"
        )
    above = rate > threshold
    if above == higher_is_worse:
        return GateResult(
            Decision.FAIL, rate, math.nan, math.nan, tolerance, "the rate is past the threshold"
        )
    return GateResult(
        Decision.PASS, rate, math.nan, math.nan, tolerance, "the rate is within the threshold"
    )
