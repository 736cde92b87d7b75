"""What a drift check reports: one verdict per column and one for the dataset."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Direction = Literal["p_value", "distance"]


@dataclass(frozen=True)
class ColumnDrift:
    """The verdict of one drift test on one column.

    Attributes:
        column: the column (or model output) tested.
        method: the test's name (``ks``, ``chisquare``, ``z``, ``wasserstein``,
            ``jensenshannon``, ``psi``, ``hellinger``).
        statistic: the test statistic (KS D, chi-square, z) or the distance itself.
        p_value: for tests; None for distances.
        threshold: p-value below which (KS: at or below), or distance at or above which,
            the column counts as drifted.
        drifted: the verdict.
        n_reference, n_current: values compared after dropping missing and infinite ones.
        dropped_current: missing or infinite values dropped from the current data.
    """

    column: str
    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    dropped_current: int = 0

    @property
    def score(self) -> float:
        """The number compared with the threshold: the p-value for tests, else the distance."""
        return self.statistic if self.p_value is None else self.p_value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """Per-column verdicts and the dataset verdict (drifted share >= ``drift_share``)."""

    columns: tuple[ColumnDrift, ...]
    drift_share: float

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def share_drifted(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.columns) and self.share_drifted >= self.drift_share

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_drift": self.dataset_drift,
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "drifted_columns": self.drifted_columns,
            "columns": [c.to_dict() for c in self.columns],
        }
