"""The mergeable summary of one numeric column.

Moments merge with Chan et al.'s parallel formula: for parts a and b with counts n, means m and
sums of squared deviations M2, ``delta = m_b - m_a``, ``m = m_a + delta * n_b / n`` and
``M2 = M2_a + M2_b + delta**2 * n_a * n_b / n``. Storing M2 (not the variance) keeps the merge
exact up to floating-point rounding and lets ``to_dict``/``from_dict`` round-trip bit for bit.

Columns with few distinct values (at most ``SMALL_DISTINCT``, like 0/1 flags) also keep exact
per-value counts, so drift tests can treat them as categories, as Evidently does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from prodml.errors import ConfigError
from prodml.profiles.reservoir import Reservoir
from prodml.profiles.sketch import QuantileSketch

SMALL_DISTINCT = 20


@dataclass(frozen=True)
class NumericProfile:
    """Summary of a numeric column.

    Attributes:
        dtype: the dtype the column arrived with (``int64``, ``float32``, ...).
        count: finite values.
        missing: NaN / None values.
        infinite: +inf and -inf values (excluded from every other statistic).
        min, max, mean: of the finite values (None when there are none).
        m2: sum of squared deviations from the mean (variance = m2 / (count - 1)).
        sketch: mergeable quantile sketch of the finite values.
        sample: bounded uniform sample of the finite values.
        value_counts: exact value -> count while the column has at most ``SMALL_DISTINCT``
            distinct values, else None.
    """

    dtype: str
    count: int
    missing: int
    infinite: int
    min: float | None
    max: float | None
    mean: float | None
    m2: float
    sketch: QuantileSketch
    sample: Reservoir
    value_counts: dict[float, int] | None
    kind: Literal["numeric"] = "numeric"

    @property
    def rows(self) -> int:
        return self.count + self.missing + self.infinite

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1); NaN with fewer than two values."""
        return self.m2 / (self.count - 1) if self.count > 1 else math.nan

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    @property
    def missing_rate(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    def quantile(self, q: float) -> float:
        return self.sketch.quantile(q)

    @classmethod
    def from_values(
        cls, values: npt.NDArray[np.float64], *, dtype: str, sample_size: int, seed: int
    ) -> NumericProfile:
        nan = np.isnan(values)
        finite_mask = np.isfinite(values)
        x = values[finite_mask]
        n = int(x.shape[0])
        mean = float(x.mean()) if n else None
        m2 = float(((x - mean) ** 2).sum()) if mean is not None else 0.0
        distinct, counts = np.unique(x, return_counts=True)
        small = (
            {float(v): int(c) for v, c in zip(distinct, counts, strict=True)}
            if distinct.shape[0] <= SMALL_DISTINCT
            else None
        )
        return cls(
            dtype=dtype,
            count=n,
            missing=int(nan.sum()),
            infinite=int((~nan & ~finite_mask).sum()),
            min=float(x.min()) if n else None,
            max=float(x.max()) if n else None,
            mean=mean,
            m2=m2,
            sketch=QuantileSketch.from_values(x),
            sample=Reservoir.from_values(x, capacity=sample_size, seed=seed),
            value_counts=small,
        )

    def merge(self, other: NumericProfile, *, seed: int = 0) -> NumericProfile:
        n = self.count + other.count
        if self.mean is None or other.mean is None:
            mean, m2 = (other.mean, other.m2) if self.mean is None else (self.mean, self.m2)
        else:
            delta = other.mean - self.mean
            mean = self.mean + delta * other.count / n
            m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / n
        return NumericProfile(
            dtype=self.dtype if self.dtype == other.dtype else "float64",
            count=n,
            missing=self.missing + other.missing,
            infinite=self.infinite + other.infinite,
            min=_pick(min, self.min, other.min),
            max=_pick(max, self.max, other.max),
            mean=mean,
            m2=m2,
            sketch=self.sketch.merge(other.sketch),
            sample=self.sample.merge(other.sample, seed=seed),
            value_counts=_merge_counts(self.value_counts, other.value_counts),
        )

    def to_dict(self) -> dict[str, Any]:
        vc = self.value_counts
        return {
            "kind": "numeric",
            "dtype": self.dtype,
            "count": self.count,
            "missing": self.missing,
            "infinite": self.infinite,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "m2": self.m2,
            "sketch": self.sketch.to_dict(),
            "sample": self.sample.to_dict(),
            "value_counts": None if vc is None else [[v, vc[v]] for v in sorted(vc)],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericProfile:
        try:
            vc = data["value_counts"]
            return cls(
                dtype=str(data["dtype"]),
                count=int(data["count"]),
                missing=int(data["missing"]),
                infinite=int(data["infinite"]),
                min=_opt_float(data["min"]),
                max=_opt_float(data["max"]),
                mean=_opt_float(data["mean"]),
                m2=float(data["m2"]),
                sketch=QuantileSketch.from_dict(data["sketch"]),
                sample=Reservoir.from_dict(data["sample"]),
                value_counts=None if vc is None else {float(v): int(c) for v, c in vc},
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"invalid numeric column profile: {exc}") from exc


def _pick(fn: Any, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return float(fn(a, b))


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _merge_counts(
    a: dict[float, int] | None, b: dict[float, int] | None
) -> dict[float, int] | None:
    if a is None or b is None:
        return None
    out = dict(a)
    for k, c in b.items():
        out[k] = out.get(k, 0) + c
    return out if len(out) <= SMALL_DISTINCT else None
