"""Sufficient statistics of a metric in one variant, mergeable with ``+``.

A streaming aggregator only has to keep counts, sums, sums of squares and cross-products; every
statistic in this package is computed from them, so an experiment of any size reduces to a few
numbers per variant and metric (the same inputs GrowthBook's gbstats takes).

    >>> a = MetricSummary.from_arrays([1.0, 2.0])
    >>> b = MetricSummary.from_arrays([3.0])
    >>> (a + b) == MetricSummary.from_arrays([1.0, 2.0, 3.0])
    True
    >>> (a + b).mean
    2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from prodml.errors import InvalidInputError


def _check_finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise InvalidInputError(f"{name} must be finite, got {value!r}")


@dataclass(frozen=True)
class SampleStats:
    """Count, sum and sum of squares of one per-unit column."""

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 0:
            raise InvalidInputError(f"n must be a non-negative integer, got {self.n!r}")
        _check_finite("sum", self.sum)
        _check_finite("sum_squares", self.sum_squares)
        if self.sum_squares < 0:
            raise InvalidInputError(f"sum_squares must be >= 0, got {self.sum_squares!r}")

    @property
    def mean(self) -> float:
        """Sample mean; 0 when there are no units (gbstats' convention)."""
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Unbiased sample variance (n - 1 denominator); 0 below two units."""
        if self.n <= 1:
            return 0.0
        # Clamp tiny negative values that cancellation produces for constant columns.
        return max((self.sum_squares - self.sum**2 / self.n) / (self.n - 1), 0.0)

    def __add__(self, other: SampleStats) -> SampleStats:
        if not isinstance(other, SampleStats):
            return NotImplemented
        return SampleStats(
            self.n + other.n, self.sum + other.sum, self.sum_squares + other.sum_squares
        )

    @classmethod
    def from_array(cls, values: ArrayLike) -> SampleStats:
        """Summarise a 1-D array of per-unit values (NaN is rejected, not skipped)."""
        arr = _as_column("values", values)
        return cls(int(arr.size), float(arr.sum()), float(np.square(arr).sum()))


def _covariance(n: int, sum_xy: float, x: SampleStats, y: SampleStats) -> float:
    if n <= 1:
        return 0.0
    return (sum_xy - x.sum * y.sum / n) / (n - 1)


@dataclass(frozen=True)
class MetricSummary:
    """Sufficient statistics of one metric in one variant.

    Attributes:
        value: the per-unit metric (the numerator of a ratio metric; the post-period value with
            CUPED).
        denominator: per-unit denominator of a ratio metric (e.g. sessions per user).
        value_denominator_products: sum over units of value * denominator.
        covariate: per-unit pre-period covariate for CUPED.
        value_covariate_products: sum over units of value * covariate.
    """

    value: SampleStats
    denominator: SampleStats | None = None
    value_denominator_products: float | None = None
    covariate: SampleStats | None = None
    value_covariate_products: float | None = None

    def __post_init__(self) -> None:
        for name, other, products in (
            ("denominator", self.denominator, self.value_denominator_products),
            ("covariate", self.covariate, self.value_covariate_products),
        ):
            if (other is None) != (products is None):
                raise InvalidInputError(
                    f"{name} and value_{name}_products must be given together; got only one"
                )
            if other is not None and products is not None:
                if other.n != self.value.n:
                    raise InvalidInputError(
                        f"{name} has n={other.n} but value has n={self.value.n}; they must "
                        "describe the same units"
                    )
                _check_finite(f"value_{name}_products", products)

    @property
    def n(self) -> int:
        """Number of units (users, sessions...) in the variant."""
        return self.value.n

    @property
    def mean(self) -> float:
        """Mean of the value column (not the ratio; see :func:`prodml.experiments.estimate`)."""
        return self.value.mean

    @property
    def value_denominator_covariance(self) -> float:
        """Sample covariance of value and denominator (0 without a denominator)."""
        if self.denominator is None or self.value_denominator_products is None:
            return 0.0
        return _covariance(self.n, self.value_denominator_products, self.value, self.denominator)

    @property
    def value_covariate_covariance(self) -> float:
        """Sample covariance of value and covariate (0 without a covariate)."""
        if self.covariate is None or self.value_covariate_products is None:
            return 0.0
        return _covariance(self.n, self.value_covariate_products, self.value, self.covariate)

    def __add__(self, other: MetricSummary) -> MetricSummary:
        if not isinstance(other, MetricSummary):
            return NotImplemented
        for name in ("denominator", "covariate"):
            if (getattr(self, name) is None) != (getattr(other, name) is None):
                raise InvalidInputError(
                    f"cannot add summaries where only one has a {name}; summarise both the same way"
                )
        return MetricSummary(
            value=self.value + other.value,
            denominator=_add_opt(self.denominator, other.denominator),
            value_denominator_products=_add_float(
                self.value_denominator_products, other.value_denominator_products
            ),
            covariate=_add_opt(self.covariate, other.covariate),
            value_covariate_products=_add_float(
                self.value_covariate_products, other.value_covariate_products
            ),
        )

    @classmethod
    def from_arrays(
        cls,
        values: ArrayLike,
        *,
        denominator: ArrayLike | None = None,
        covariate: ArrayLike | None = None,
    ) -> MetricSummary:
        """Summarise per-unit arrays of equal length.

        Args:
            values: per-unit metric values (0/1 for a proportion).
            denominator: per-unit denominators, for a ratio metric.
            covariate: per-unit pre-period values, for CUPED.

        >>> s = MetricSummary.from_arrays([1, 0, 1], covariate=[2, 1, 2])
        >>> s.n, s.value.sum, s.value_covariate_products
        (3, 2.0, 4.0)
        """
        y = _as_column("values", values)
        den_stats = den_products = cov_stats = cov_products = None
        if denominator is not None:
            d = _as_column("denominator", denominator, like=y)
            den_stats, den_products = SampleStats.from_array(d), float(np.dot(y, d))
        if covariate is not None:
            x = _as_column("covariate", covariate, like=y)
            cov_stats, cov_products = SampleStats.from_array(x), float(np.dot(y, x))
        return cls(SampleStats.from_array(y), den_stats, den_products, cov_stats, cov_products)


def merge(summaries: Sequence[MetricSummary]) -> MetricSummary:
    """Add up summaries of disjoint sets of units (e.g. daily partitions)."""
    if not summaries:
        raise InvalidInputError("merge needs at least one summary")
    total = summaries[0]
    for s in summaries[1:]:
        total = total + s
    return total


def _add_opt(a: SampleStats | None, b: SampleStats | None) -> SampleStats | None:
    return None if a is None or b is None else a + b


def _add_float(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _as_column(
    name: str, values: ArrayLike, like: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numeric: {exc}") from exc
    if arr.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(
            f"{name} contains NaN or infinite values; drop or impute them first"
        )
    if like is not None and arr.shape != like.shape:
        raise InvalidInputError(f"{name} has {arr.size} values but values has {like.size}")
    return arr
