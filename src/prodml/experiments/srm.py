"""Sample-ratio mismatch: are units split as the configured weights say?

Pearson's chi-squared goodness-of-fit test of observed unit counts against weights w_i / sum(w)
times the total (GrowthBook ``check_srm``; Fabijan et al. 2019, "Diagnosing Sample Ratio
Mismatch"). The industry threshold is p < 0.001 (GrowthBook, Microsoft ExP, Eppo), not 0.05:
the check runs on every experiment, and a real SRM gives tiny p-values.

Deliberate difference from gbstats: an arm with weight 0 is left out of the test *and* of the
degrees of freedom (gbstats counts it in df), and any unit seen in such an arm is a "leak"
(bucketeer #2654) which is flagged on its own, since chi-squared cannot express it.

    >>> r = srm_check([5000, 5200], [0.5, 0.5])
    >>> round(r.p_value, 4), r.mismatch
    (0.0477, False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from prodml.errors import ConfigError, InvalidInputError

DEFAULT_SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SrmResult:
    """Outcome of the sample-ratio-mismatch check (arms in the order given)."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    statistic: float
    dof: int
    p_value: float
    threshold: float
    leaked_arms: tuple[int, ...]

    @property
    def mismatch(self) -> bool:
        """True when the split is suspect: p < threshold, or units in a zero-weight arm."""
        return self.p_value < self.threshold or bool(self.leaked_arms)


def srm_check(
    observed: Sequence[int],
    weights: Sequence[float],
    *,
    threshold: float = DEFAULT_SRM_THRESHOLD,
) -> SrmResult:
    """Chi-squared test of observed counts per arm against configured weights.

    Args:
        observed: units assigned to each arm.
        weights: configured traffic weights, any positive scale (normalised here).
        threshold: flag a mismatch when the p-value is below this.

    Raises:
        InvalidInputError: negative or non-integer counts, or lengths that differ.
        ConfigError: negative or non-finite weights, or weights that sum to 0.
    """
    if len(observed) != len(weights):
        raise InvalidInputError(
            f"got {len(observed)} observed counts but {len(weights)} weights; give one per arm"
        )
    if len(observed) < 2:
        raise InvalidInputError("an SRM check needs at least two arms")
    if not 0 < threshold < 1:
        raise ConfigError(f"threshold must be between 0 and 1, got {threshold!r}")
    counts = []
    for c in observed:
        if isinstance(c, bool) or int(c) != c or c < 0:
            raise InvalidInputError(f"observed counts must be non-negative integers, got {c!r}")
        counts.append(int(c))
    w = [float(x) for x in weights]
    if any(not math.isfinite(x) or x < 0 for x in w) or sum(w) <= 0:
        raise ConfigError(f"weights must be finite, >= 0 and sum to more than 0; got {w}")
    total, total_weight = sum(counts), sum(w)
    expected = tuple(x / total_weight * total for x in w)
    leaked = tuple(i for i, (c, x) in enumerate(zip(counts, w, strict=True)) if x == 0 and c > 0)
    live = [i for i, x in enumerate(w) if x > 0]
    dof = len(live) - 1
    if total == 0 or dof == 0:
        return SrmResult(tuple(counts), expected, 0.0, dof, 1.0, threshold, leaked)
    # Expected counts use the live arms only, so units leaked to zero-weight arms do not inflate
    # the statistic twice.
    live_total = sum(counts[i] for i in live)
    statistic = 0.0
    for i in live:
        e = w[i] / total_weight * live_total
        statistic += (counts[i] - e) ** 2 / e
    p_value = float(stats.chi2.sf(statistic, dof))
    return SrmResult(tuple(counts), expected, statistic, dof, p_value, threshold, leaked)
