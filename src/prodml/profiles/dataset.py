"""A dataset profile: one mergeable summary per column, stored as JSON next to a model version.

>>> import numpy as np
>>> a = DatasetProfile.from_data({"x": np.arange(10.0), "c": np.array(["a", "b"] * 5)})
>>> b = DatasetProfile.from_data({"x": np.arange(10.0, 20.0), "c": np.array(["b"] * 10)})
>>> ab = a.merge(b)
>>> ab.row_count, ab.columns["x"].mean, ab.columns["c"].counts
(20, 9.5, {'b': 15, 'a': 5})
>>> DatasetProfile.from_dict(ab.to_dict()) == ab
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prodml.errors import ConfigError
from prodml.profiles.categorical import DEFAULT_MAX_CATEGORIES, CategoricalProfile
from prodml.profiles.columns import to_columns
from prodml.profiles.numeric import NumericProfile

ColumnProfile = NumericProfile | CategoricalProfile

FORMAT = "prodml.profile/1"


@dataclass(frozen=True)
class DatasetProfile:
    """Per-column summaries of a dataset and its row count.

    Attributes:
        columns: column name -> ``NumericProfile`` or ``CategoricalProfile``.
        row_count: rows summarised.
    """

    columns: dict[str, ColumnProfile]
    row_count: int

    @classmethod
    def from_data(
        cls,
        data: object,
        *,
        sample_size: int = 1000,
        seed: int = 0,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
    ) -> DatasetProfile:
        """Profile ``data``: a pandas DataFrame, a pyarrow Table, a dict of column name to
        array, or a 2-D numpy array (columns named ``input_0``, ``input_1``, ...).

        Args:
            sample_size: the most values kept per numeric column for sample tests (KS).
            seed: seeds the sample; column ``j`` uses ``seed + j``.
            max_categories: the most categories named per categorical column.
        """
        if sample_size < 1:
            raise ConfigError(f"sample_size must be >= 1; got {sample_size}")
        cols = to_columns(data)
        profiles: dict[str, ColumnProfile] = {}
        for j, (name, col) in enumerate(cols.items()):
            if col.kind == "numeric":
                profiles[name] = NumericProfile.from_values(
                    col.values, dtype=col.dtype, sample_size=sample_size, seed=seed + j
                )
            else:
                profiles[name] = CategoricalProfile.from_values(
                    col.values, dtype=col.dtype, max_categories=max_categories
                )
        rows = len(next(iter(cols.values()))) if cols else 0
        return cls(columns=profiles, row_count=rows)

    def merge(self, other: DatasetProfile, *, seed: int = 0) -> DatasetProfile:
        """The profile of both datasets together (same columns, same kinds).

        Counts, min, max, mean and variance are exact; samples are again uniform samples of
        the union (drawn with ``seed``); category caps apply again.
        """
        if set(self.columns) != set(other.columns):
            raise ConfigError(
                "cannot merge profiles of different columns: "
                f"{sorted(set(self.columns) ^ set(other.columns))} are in only one of them"
            )
        merged: dict[str, ColumnProfile] = {}
        for j, (name, mine) in enumerate(self.columns.items()):
            theirs = other.columns[name]
            if isinstance(mine, NumericProfile) and isinstance(theirs, NumericProfile):
                merged[name] = mine.merge(theirs, seed=seed + j)
            elif isinstance(mine, CategoricalProfile) and isinstance(theirs, CategoricalProfile):
                merged[name] = mine.merge(theirs)
            else:
                raise ConfigError(
                    f"column {name!r} is {mine.kind} in one profile and {theirs.kind} in the "
                    "other; profile both with the same column types"
                )
        return DatasetProfile(columns=merged, row_count=self.row_count + other.row_count)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; ``from_dict`` turns it back into an equal profile."""
        return {
            "format": FORMAT,
            "row_count": self.row_count,
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"not a prodml dataset profile (format {got!r}, expected {FORMAT!r})")
        columns: dict[str, ColumnProfile] = {}
        for name, col in data.get("columns", {}).items():
            kind = col.get("kind") if isinstance(col, dict) else None
            if kind == "numeric":
                columns[name] = NumericProfile.from_dict(col)
            elif kind == "categorical":
                columns[name] = CategoricalProfile.from_dict(col)
            else:
                raise ConfigError(
                    f"column {name!r} of the profile has kind {kind!r}; expected 'numeric' or "
                    "'categorical'"
                )
        return cls(columns=columns, row_count=int(data["row_count"]))
