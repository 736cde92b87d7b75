"""Drift tests on numeric samples: two-sample KS, normed Wasserstein, and binned distances.

- KS: ``scipy.stats.ks_2samp`` (two-sided, exact or asymptotic as scipy chooses).
- Wasserstein (normed): ``wasserstein_distance(ref, cur) / max(std(ref), 0.001)``, so 0.1 means
  about a tenth of a reference standard deviation of shift.
- Binned distances (PSI, Jensen-Shannon, Hellinger) use Evidently's binning: Sturges bins over
  both samples together when the reference has more than 20 distinct values, otherwise one bin
  per distinct value.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

from prodml.monitoring.drift import distances

Values = npt.NDArray[np.float64]


def ks(reference: Values, current: Values) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov; returns (D, p-value)."""
    from scipy.stats import ks_2samp

    with warnings.catch_warnings():
        # scipy warns when the exact p-value fails and it falls back to the asymptotic one;
        # that fallback is the answer we want, not a problem to surface.
        warnings.simplefilter("ignore", RuntimeWarning)
        res = ks_2samp(reference, current)
    return float(res.statistic), float(res.pvalue)


def wasserstein_normed(reference: Values, current: Values) -> float:
    from scipy.stats import wasserstein_distance

    scale = max(float(np.std(reference)), 0.001)
    return float(wasserstein_distance(reference, current)) / scale


def binned(reference: Values, current: Values) -> tuple[Values, Values]:
    """Proportions of each sample per bin (see the module docstring for the bins)."""
    if np.unique(reference).size > 20:
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        ref = np.histogram(reference, edges)[0].astype(np.float64)
        cur = np.histogram(current, edges)[0].astype(np.float64)
    else:
        keys = np.union1d(reference, current)
        ref = np.array([np.sum(reference == k) for k in keys], dtype=np.float64)
        cur = np.array([np.sum(current == k) for k in keys], dtype=np.float64)
    return ref / reference.size, cur / current.size


def psi(reference: Values, current: Values) -> float:
    return distances.psi(*binned(reference, current))


def jensen_shannon(reference: Values, current: Values) -> float:
    return distances.jensen_shannon(*binned(reference, current))


def hellinger(reference: Values, current: Values) -> float:
    return distances.hellinger(*binned(reference, current))
