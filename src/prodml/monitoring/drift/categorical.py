"""Drift tests on category counts: chi-square homogeneity, two-proportion z, and distances.

Both sides are samples, so the chi-square test is the two-sample homogeneity test on the
2 x K contingency table (``scipy.stats.chi2_contingency``, no continuity correction), as Alibi
Detect and NannyML do. Evidently 0.7 instead runs a goodness-of-fit test that treats the
reference counts as the true distribution; that ignores the reference's own sampling noise and
gives p-values that are too small (more false alarms), so our p-values are larger than its.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from prodml.monitoring.drift import distances

Counts = Mapping[Any, int]


def aligned(
    reference: Counts, current: Counts
) -> tuple[list[str], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Both sides' counts over the sorted union of categories."""
    keys = sorted(set(reference) | set(current))
    ref = np.array([reference.get(k, 0) for k in keys], dtype=np.float64)
    cur = np.array([current.get(k, 0) for k in keys], dtype=np.float64)
    return keys, ref, cur


def chi_square(reference: Counts, current: Counts) -> tuple[float, float]:
    """Chi-square test of homogeneity; returns (statistic, p-value)."""
    from scipy.stats import chi2_contingency

    _, ref, cur = aligned(reference, current)
    keep = (ref + cur) > 0
    table = np.vstack([ref[keep], cur[keep]])
    if table.shape[1] < 2:
        return 0.0, 1.0
    res = chi2_contingency(table, correction=False)
    return float(res.statistic), float(res.pvalue)


def z_test(reference: Counts, current: Counts) -> tuple[float, float]:
    """Pooled two-proportion z-test of the share of the first category (sorted) vs the rest.

    Evidently's convention: the first sorted category is 0, all others 1. Returns
    (z, two-sided p-value); identical constant columns give (0, 1).
    """
    from scipy.stats import norm

    keys, ref, cur = aligned(reference, current)
    n1, n2 = float(ref.sum()), float(cur.sum())
    if not keys or n1 == 0 or n2 == 0:
        return 0.0, 1.0
    p1 = (n1 - ref[0]) / n1
    p2 = (n2 - cur[0]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if var == 0:
        return 0.0, 1.0
    z = (p1 - p2) / math.sqrt(var)
    return float(z), float(2.0 * (1.0 - norm.cdf(abs(z))))


def proportions(
    reference: Counts, current: Counts
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    _, ref, cur = aligned(reference, current)
    return ref / max(ref.sum(), 1.0), cur / max(cur.sum(), 1.0)


def psi(reference: Counts, current: Counts) -> float:
    return distances.psi(*proportions(reference, current))


def jensen_shannon(reference: Counts, current: Counts) -> float:
    return distances.jensen_shannon(*proportions(reference, current))


def hellinger(reference: Counts, current: Counts) -> float:
    return distances.hellinger(*proportions(reference, current))
