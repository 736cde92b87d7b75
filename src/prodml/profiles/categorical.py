"""The mergeable summary of one categorical (string or bool) column.

Counts are kept for at most ``max_categories`` categories, the most frequent (ties broken by
name, so profiles are deterministic); the rest are pooled in ``other``. A merge adds counts and
caps again, so it is exact while the union has at most ``max_categories`` categories; past that,
a category that was pooled in ``other`` on both sides stays pooled (its count is not lost, only
its name).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from prodml.errors import ConfigError

DEFAULT_MAX_CATEGORIES = 100


@dataclass(frozen=True)
class CategoricalProfile:
    """Summary of a categorical column.

    Attributes:
        dtype: ``string`` or ``bool``.
        counts: category (as ``str``) -> count, for the kept categories.
        other: values whose category was not kept.
        missing: None / NaN values.
        max_categories: the cap on kept categories.
    """

    dtype: str
    counts: dict[str, int]
    other: int
    missing: int
    max_categories: int = DEFAULT_MAX_CATEGORIES
    kind: Literal["categorical"] = "categorical"

    @property
    def count(self) -> int:
        """Present (non-missing) values."""
        return sum(self.counts.values()) + self.other

    @property
    def rows(self) -> int:
        return self.count + self.missing

    @property
    def missing_rate(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def complete(self) -> bool:
        """True when every category seen is named in ``counts`` (nothing pooled)."""
        return self.other == 0

    @classmethod
    def from_values(
        cls,
        values: npt.NDArray[np.object_],
        *,
        dtype: str,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
    ) -> CategoricalProfile:
        present = [v for v in values.tolist() if v is not None]
        counts, other = _cap(Counter(present), max_categories)
        return cls(
            dtype=dtype,
            counts=counts,
            other=other,
            missing=int(values.shape[0]) - len(present),
            max_categories=max_categories,
        )

    def merge(self, other: CategoricalProfile) -> CategoricalProfile:
        cap = min(self.max_categories, other.max_categories)
        counts, pooled = _cap(Counter(self.counts) + Counter(other.counts), cap)
        return CategoricalProfile(
            dtype=self.dtype if self.dtype == other.dtype else "string",
            counts=counts,
            other=self.other + other.other + pooled,
            missing=self.missing + other.missing,
            max_categories=cap,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "dtype": self.dtype,
            "counts": dict(self.counts),
            "other": self.other,
            "missing": self.missing,
            "max_categories": self.max_categories,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalProfile:
        try:
            return cls(
                dtype=str(data["dtype"]),
                counts={str(k): int(v) for k, v in data["counts"].items()},
                other=int(data["other"]),
                missing=int(data["missing"]),
                max_categories=int(data["max_categories"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"invalid categorical column profile: {exc}") from exc


def _cap(counts: Counter[str], cap: int) -> tuple[dict[str, int], int]:
    """Keep the ``cap`` most frequent categories (ties by name); return them and the rest's sum."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[:cap])
    return kept, sum(c for _, c in ranked[cap:])
