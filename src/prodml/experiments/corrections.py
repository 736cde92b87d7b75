"""Multiple-testing corrections across metrics and variants.

GrowthBook offers both (frequentist results only) and, like it, :func:`prodml.experiments.analyze`
leaves guardrail metrics out of the family and never widens confidence intervals.

- Holm (1979) step-down, controls the family-wise error rate:
  adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)) over ascending p-values (statsmodels'
  ``multipletests(method="holm")``).
- Benjamini-Hochberg (1995) step-up, controls the false discovery rate:
  adj_(i) = min_{j >= i} min(1, m p_(j) / j) (``scipy.stats.false_discovery_control``).

NaN p-values (tests that could not run) stay NaN and do not count towards m.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    >>> [round(p, 3) for p in benjamini_hochberg([0.01, 0.04, 0.03])]
    [0.03, 0.04, 0.04]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from prodml.errors import ConfigError, InvalidInputError

Correction = Literal["holm", "bh", "none"]


def _valid(p_values: Sequence[float]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise InvalidInputError(f"p-values must be a flat sequence, got shape {p.shape}")
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise InvalidInputError(f"p-values must lie in [0, 1], got {p.tolist()}")
    return p, ok


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in input order."""
    p, ok = _valid(p_values)
    out = np.full(p.shape, np.nan)
    q = p[ok]
    m = q.size
    if m:
        order = np.argsort(q, kind="stable")
        stepped = (m - np.arange(m)) * q[order]
        adjusted = np.minimum(np.maximum.accumulate(stepped), 1.0)
        back = np.empty(m)
        back[order] = adjusted
        out[ok] = back
    return [float(v) for v in out]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in input order."""
    p, ok = _valid(p_values)
    out = np.full(p.shape, np.nan)
    q = p[ok]
    m = q.size
    if m:
        order = np.argsort(q, kind="stable")
        scaled = q[order] * m / np.arange(1, m + 1)
        adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
        back = np.empty(m)
        back[order] = adjusted
        out[ok] = back
    return [float(v) for v in out]


def adjust(p_values: Sequence[float], method: Correction) -> list[float]:
    """Apply ``holm``, ``bh`` or ``none`` (returns the p-values unchanged)."""
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    if method == "none":
        _valid(p_values)
        return [float(v) if not math.isnan(v) else math.nan for v in p_values]
    raise ConfigError(f"unknown correction {method!r}; use 'holm', 'bh' or 'none'")
