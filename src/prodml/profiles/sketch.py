"""A mergeable quantile sketch with relative-error guarantees (the DDSketch construction).

Why this and not fixed bins from the reference: a profile of one hour of traffic must merge
with the profile of the next hour without either knowing the other's range, and a reference
profile must not dictate bin edges that later data may fall outside of. Log-spaced buckets
need no coordination: a value ``x > 0`` goes to bucket ``ceil(log_gamma(x))`` with
``gamma = (1 + alpha) / (1 - alpha)``, negatives mirror that, and values closer to zero than
``1e-9`` share one zero bucket. Merging adds bucket counts, so it is exact, associative and
commutative, and any quantile read back is within relative error ``alpha`` (1% by default) of a
true sample quantile. Bucket count is bounded: past ``max_buckets`` per sign, the buckets
nearest zero collapse into one (accuracy is lost only for the smallest magnitudes).

The sketch also yields an approximate histogram over any bin edges (for PSI or Jensen-Shannon
on reference-fitted bins without the raw reference rows).

    >>> import numpy as np
    >>> s = QuantileSketch.from_values(np.arange(1.0, 1001.0))
    >>> abs(s.quantile(0.5) - 500.5) / 500.5 < 0.01
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from prodml.errors import ConfigError

MIN_MAGNITUDE = 1e-9
DEFAULT_ALPHA = 0.01
DEFAULT_MAX_BUCKETS = 2048


@dataclass(frozen=True)
class QuantileSketch:
    """Counts of finite values in log-spaced buckets; see the module docstring.

    Attributes:
        alpha: relative accuracy of quantiles.
        max_buckets: bound on buckets per sign.
        zero: count of values with ``|x| < 1e-9``.
        positive: bucket index -> count for positive values.
        negative: bucket index -> count for negative values (index of ``|x|``).
    """

    alpha: float = DEFAULT_ALPHA
    max_buckets: int = DEFAULT_MAX_BUCKETS
    zero: int = 0
    positive: dict[int, int] = field(default_factory=dict)
    negative: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"sketch alpha must be in (0, 1); got {self.alpha}")
        if self.max_buckets < 2:
            raise ConfigError(f"sketch max_buckets must be >= 2; got {self.max_buckets}")

    @property
    def gamma(self) -> float:
        return (1.0 + self.alpha) / (1.0 - self.alpha)

    @property
    def count(self) -> int:
        return self.zero + sum(self.positive.values()) + sum(self.negative.values())

    @classmethod
    def from_values(
        cls,
        values: npt.NDArray[np.float64],
        *,
        alpha: float = DEFAULT_ALPHA,
        max_buckets: int = DEFAULT_MAX_BUCKETS,
    ) -> QuantileSketch:
        """Sketch the finite values of ``values`` (NaN and inf are ignored)."""
        empty = cls(alpha=alpha, max_buckets=max_buckets)
        x = values[np.isfinite(values)]
        small = np.abs(x) < MIN_MAGNITUDE
        log_gamma = math.log(empty.gamma)
        pos = _bucket_counts(x[(x > 0) & ~small], log_gamma)
        neg = _bucket_counts(-x[(x < 0) & ~small], log_gamma)
        return cls(
            alpha=alpha,
            max_buckets=max_buckets,
            zero=int(small.sum()),
            positive=_collapse(pos, max_buckets),
            negative=_collapse(neg, max_buckets),
        )

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """The sketch of both inputs together (exact: bucket counts add)."""
        if self.alpha != other.alpha:
            raise ConfigError(
                f"cannot merge sketches with different accuracy (alpha {self.alpha} and "
                f"{other.alpha}); build both profiles with the same settings"
            )
        cap = min(self.max_buckets, other.max_buckets)
        return QuantileSketch(
            alpha=self.alpha,
            max_buckets=cap,
            zero=self.zero + other.zero,
            positive=_collapse(_add(self.positive, other.positive), cap),
            negative=_collapse(_add(self.negative, other.negative), cap),
        )

    def _ordered(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Bucket representative values in increasing order, with their counts."""
        g = self.gamma
        neg_idx = sorted(self.negative, reverse=True)
        pos_idx = sorted(self.positive)
        reps = (
            [-2.0 * g**i / (g + 1.0) for i in neg_idx]
            + ([0.0] if self.zero else [])
            + [2.0 * g**i / (g + 1.0) for i in pos_idx]
        )
        counts = (
            [self.negative[i] for i in neg_idx]
            + ([self.zero] if self.zero else [])
            + [self.positive[i] for i in pos_idx]
        )
        return np.array(reps, dtype=np.float64), np.array(counts, dtype=np.int64)

    def quantile(self, q: float) -> float:
        """The value at quantile ``q`` (0..1), within relative error ``alpha``; NaN if empty."""
        if not 0.0 <= q <= 1.0:
            raise ConfigError(f"quantile must be in [0, 1]; got {q}")
        reps, counts = self._ordered()
        if counts.size == 0:
            return math.nan
        rank = q * (int(counts.sum()) - 1)
        idx = int(np.searchsorted(np.cumsum(counts), rank, side="right"))
        return float(reps[min(idx, reps.size - 1)])

    def histogram(self, edges: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Approximate counts per bin for bin ``edges`` (numpy's convention, outer values
        clipped into the first and last bins)."""
        reps, counts = self._ordered()
        bins = np.clip(np.searchsorted(edges, reps, side="right") - 1, 0, len(edges) - 2)
        return np.bincount(bins, weights=counts, minlength=len(edges) - 1).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        pos = sorted(self.positive)
        neg = sorted(self.negative)
        return {
            "alpha": self.alpha,
            "max_buckets": self.max_buckets,
            "zero": self.zero,
            "positive": [pos, [self.positive[i] for i in pos]],
            "negative": [neg, [self.negative[i] for i in neg]],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileSketch:
        try:
            pos_idx, pos_cnt = data["positive"]
            neg_idx, neg_cnt = data["negative"]
            return cls(
                alpha=float(data["alpha"]),
                max_buckets=int(data["max_buckets"]),
                zero=int(data["zero"]),
                positive={int(i): int(c) for i, c in zip(pos_idx, pos_cnt, strict=True)},
                negative={int(i): int(c) for i, c in zip(neg_idx, neg_cnt, strict=True)},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"invalid quantile sketch in profile: {exc}") from exc


def _bucket_counts(magnitudes: npt.NDArray[np.float64], log_gamma: float) -> dict[int, int]:
    if magnitudes.size == 0:
        return {}
    idx = np.ceil(np.log(magnitudes) / log_gamma).astype(np.int64)
    keys, counts = np.unique(idx, return_counts=True)
    return {int(k): int(c) for k, c in zip(keys, counts, strict=True)}


def _add(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    out = dict(a)
    for k, c in b.items():
        out[k] = out.get(k, 0) + c
    return out


def _collapse(buckets: dict[int, int], cap: int) -> dict[int, int]:
    """Fold the buckets nearest zero together until at most ``cap`` remain."""
    if len(buckets) <= cap:
        return buckets
    keys = sorted(buckets)
    cut = len(keys) - cap
    folded = sum(buckets[k] for k in keys[: cut + 1])
    out = {k: buckets[k] for k in keys[cut + 1 :]}
    out[keys[cut]] = folded
    return out
