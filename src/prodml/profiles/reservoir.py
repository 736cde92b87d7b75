"""A bounded uniform sample of a column's values that merges (for KS and other sample tests).

A reservoir holds at most ``capacity`` values drawn uniformly without replacement from the
``seen`` values it summarises. Merging two reservoirs of disjoint inputs draws how many of the
merged sample come from each side from the hypergeometric distribution (``seen`` of each side,
``capacity`` draws), then subsamples each side uniformly: the result is again a uniform sample
of the union, so the merge of two windows' samples is distributed like a sample of the
concatenated windows. Randomness comes from the ``seed`` the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from prodml.errors import ConfigError


@dataclass(frozen=True)
class Reservoir:
    """A uniform sample (``values``) of ``seen`` values, at most ``capacity`` long."""

    capacity: int
    seen: int
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ConfigError(f"sample size must be >= 1; got {self.capacity}")
        if len(self.values) != min(self.capacity, self.seen):
            raise ConfigError(
                f"a reservoir of capacity {self.capacity} that saw {self.seen} values must hold "
                f"{min(self.capacity, self.seen)}; it holds {len(self.values)}"
            )

    @classmethod
    def from_values(
        cls, values: npt.NDArray[np.float64], *, capacity: int, seed: int = 0
    ) -> Reservoir:
        """Sample ``capacity`` of ``values`` uniformly without replacement (all if fewer)."""
        n = int(values.shape[0])
        if n > capacity:
            idx = np.sort(np.random.default_rng(seed).choice(n, size=capacity, replace=False))
            values = values[idx]
        return cls(capacity=capacity, seen=n, values=tuple(float(v) for v in values))

    def array(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.values, dtype=np.float64)

    def merge(self, other: Reservoir, *, seed: int = 0) -> Reservoir:
        """A uniform sample of both inputs together; capacity is the smaller of the two."""
        cap = min(self.capacity, other.capacity)
        total = self.seen + other.seen
        k = min(cap, total)
        rng = np.random.default_rng(seed)
        if self.seen == 0 or other.seen == 0:
            from_self = k if other.seen == 0 else 0
        else:
            from_self = int(rng.hypergeometric(self.seen, other.seen, k))
        a = _subsample(self.array(), from_self, rng)
        b = _subsample(other.array(), k - from_self, rng)
        return Reservoir(capacity=cap, seen=total, values=tuple(np.concatenate([a, b]).tolist()))

    def to_dict(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "seen": self.seen, "values": list(self.values)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reservoir:
        try:
            return cls(
                capacity=int(data["capacity"]),
                seen=int(data["seen"]),
                values=tuple(float(v) for v in data["values"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"invalid sample in profile: {exc}") from exc


def _subsample(
    values: npt.NDArray[np.float64], k: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    if k >= values.shape[0]:
        return values
    return values[np.sort(rng.choice(values.shape[0], size=k, replace=False))]
