"""Distances between two discrete distributions given as proportions over the same bins.

Definitions follow Evidently 0.7's so that numbers can be compared one to one:

- PSI = sum((r - c) * ln(r / c)) after replacing zero proportions on each side by 0.0001, or
  by the smallest non-zero proportion / 10**6 when that is at most 0.0001;
- Jensen-Shannon *distance* (square root of the divergence), natural log, range 0..sqrt(ln 2);
- Hellinger distance sqrt(1 - sum(sqrt(r * c))), range 0..1.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Proportions = npt.NDArray[np.float64]


def fill_zeros(p: Proportions) -> Proportions:
    """Evidently's zero filling for PSI (see the module docstring)."""
    out = p.copy()
    nonzero = out[out != 0]
    if nonzero.size == 0:
        return out
    smallest = float(nonzero.min())
    out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


def psi(reference: Proportions, current: Proportions) -> float:
    r, c = fill_zeros(reference), fill_zeros(current)
    return float(np.sum((r - c) * np.log(r / c)))


def jensen_shannon(reference: Proportions, current: Proportions) -> float:
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(reference, current))


def hellinger(reference: Proportions, current: Proportions) -> float:
    bc = float(np.clip(np.sum(np.sqrt(reference * current)), 0.0, 1.0))
    return float(np.sqrt(1.0 - bc))
