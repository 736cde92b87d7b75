"""Data quality of a window against the model's signature and the reference profile.

Checks, each reported as a ``QualityIssue``:

- ``missing_column`` / ``extra_column``: against the signature's inputs (or the profile's
  columns when no signature is given); a matrix input ``x`` of shape ``(-1, n)`` is expected
  as the columns ``x_0 ... x_{n-1}``;
- ``type_change``: a column's kind (numeric vs categorical) differs from the signature's dtype
  or the profile's;
- ``missing_values``: missing rate above the reference's rate + ``missing_tolerance``, or any
  missing value in an input the signature declares not nullable;
- ``out_of_range``: values outside the reference [min, max] widened by ``range_tolerance`` x
  (max - min) on each side, more of them than ``max_out_of_range`` and than chance explains;
- ``unseen_category``: categories the reference never saw (only when the profile named every
  reference category, i.e. none were pooled as "other").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from prodml.profiles import CategoricalProfile, DatasetProfile, NumericProfile
from prodml.profiles.columns import matrix_columns, to_columns
from prodml.types import Signature, TensorSpec

_OUT_OF_RANGE_ALPHA = 0.001


@dataclass(frozen=True)
class QualityIssue:
    """One problem found: which column, what kind, how much, and a sentence for people."""

    column: str
    kind: str
    value: float
    threshold: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QualityReport:
    rows: int
    issues: tuple[QualityIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues

    def by_kind(self, kind: str) -> list[QualityIssue]:
        return [i for i in self.issues if i.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "ok": self.ok, "issues": [i.to_dict() for i in self.issues]}


def check_quality(
    data: object,
    *,
    signature: Signature | None = None,
    reference: DatasetProfile | None = None,
    missing_tolerance: float = 0.05,
    range_tolerance: float = 0.05,
    max_out_of_range: float = 0.01,
) -> QualityReport:
    """Check one window of data (see the module docstring).

    Args:
        missing_tolerance: allowed rise of the missing rate over the reference's.
        range_tolerance: widen the reference range by this share of its width on each side.
        max_out_of_range: share of out-of-range values tolerated before an issue is raised.

    The range defaults allow for the reference being a sample: a new value beyond the largest
    of n reference values has probability 1/(n+1) even when nothing changed, so with both set
    to 0 most columns of a clean window of a few hundred rows get flagged against a reference of
    a few hundred rows. The range is widened by 5%, 1% of values may fall outside it, and the
    count outside must also be improbable by chance (see ``_improbable``).
    """
    cols = to_columns(data)
    rows = len(next(iter(cols.values()))) if cols else 0
    issues: list[QualityIssue] = []
    ref_cols = reference.columns if reference is not None else {}
    specs = _input_specs(signature)
    expected = list(specs) if signature is not None else list(ref_cols)
    for name in expected:
        if name not in cols:
            issues.append(QualityIssue(name, "missing_column", 1.0, 0.0, f"{name!r} is missing"))
    if expected:
        for name in cols:
            if name not in expected:
                issues.append(
                    QualityIssue(name, "extra_column", 1.0, 0.0, f"{name!r} is not expected")
                )
    for name, col in cols.items():
        spec_kind, nullable = None, True
        spec = specs.get(name)
        if spec is not None:
            spec_kind = "categorical" if spec.dtype in ("string", "bool") else "numeric"
            nullable = spec.nullable
        prof = ref_cols.get(name)
        want = spec_kind or (prof.kind if prof is not None else None)
        if want is not None and col.kind != want:
            issues.append(
                QualityIssue(
                    name,
                    "type_change",
                    1.0,
                    0.0,
                    f"{name!r} arrived {col.kind} ({col.dtype}); expected {want}",
                )
            )
            continue
        missing = _missing(col.values, col.kind)
        rate = missing / rows if rows else 0.0
        if not nullable and missing:
            issues.append(
                QualityIssue(
                    name,
                    "missing_values",
                    rate,
                    0.0,
                    f"{name!r} has {missing} missing values; the signature says not nullable",
                )
            )
        elif prof is not None and rate > prof.missing_rate + missing_tolerance:
            limit = prof.missing_rate + missing_tolerance
            issues.append(
                QualityIssue(
                    name,
                    "missing_values",
                    rate,
                    limit,
                    f"{name!r} is {rate:.1%} missing; reference {prof.missing_rate:.1%}",
                )
            )
        if isinstance(prof, NumericProfile) and prof.min is not None and prof.max is not None:
            issues.extend(_range(name, col.values, prof, range_tolerance, max_out_of_range))
        if isinstance(prof, CategoricalProfile) and prof.complete:
            issues.extend(_unseen(name, col.values, prof))
    return QualityReport(rows=rows, issues=tuple(issues))


def _input_specs(signature: Signature | None) -> dict[str, TensorSpec]:
    """Each expected column's spec; a matrix input ``x`` of shape ``(-1, n)`` is expected as
    columns ``x_0 ... x_{n-1}`` (how the monitor reads a logged vector)."""
    specs: dict[str, TensorSpec] = {}
    for spec in signature.inputs if signature is not None else ():
        if len(spec.shape) == 2 and spec.shape[1] > 0:
            specs.update(dict.fromkeys(matrix_columns(spec.name, spec.shape[1]), spec))
        else:
            specs[spec.name] = spec
    return specs


def _missing(values: Any, kind: str) -> int:
    if kind == "numeric":
        return int(np.isnan(values).sum())
    return sum(v is None for v in values.tolist())


def _range(
    name: str, values: Any, prof: NumericProfile, tol: float, allowed: float
) -> list[QualityIssue]:
    lo, hi = float(prof.min or 0.0), float(prof.max or 0.0)
    pad = tol * (hi - lo)
    present = values[~np.isnan(values)]
    if present.size == 0:
        return []
    outside = int(((present < lo - pad) | (present > hi + pad)).sum())
    share = outside / present.size
    if outside == 0 or share <= allowed or not _improbable(outside, present.size, prof.count):
        return []
    return [
        QualityIssue(
            name,
            "out_of_range",
            share,
            allowed,
            f"{outside} values of {name!r} ({share:.1%}) outside [{lo - pad:g}, {hi + pad:g}]",
        )
    ]


def _improbable(outside: int, n: int, n_reference: int) -> bool:
    """Whether ``outside`` of ``n`` values beyond the reference range is more than chance.

    A new value from an unchanged continuous distribution falls beyond the extremes of an
    ``n_reference``-value sample with probability 2 / (n_reference + 1) (and less once the
    range is widened), so small windows against small references see a few by chance. Flag
    only counts with a binomial tail probability under 0.001 at that rate.
    """
    from scipy.stats import binom

    rate = min(1.0, 2.0 / (n_reference + 1))
    return bool(binom.sf(outside - 1, n, rate) < _OUT_OF_RANGE_ALPHA)


def _unseen(name: str, values: Any, prof: CategoricalProfile) -> list[QualityIssue]:
    present = [v for v in values.tolist() if v is not None]
    unseen = sorted({v for v in present if v not in prof.counts})
    if not unseen:
        return []
    share = sum(v not in prof.counts for v in present) / len(present)
    shown = ", ".join(repr(u) for u in unseen[:5]) + (" ..." if len(unseen) > 5 else "")
    return [
        QualityIssue(
            name,
            "unseen_category",
            share,
            0.0,
            f"{name!r} has {len(unseen)} categories never seen in the reference: {shown}",
        )
    ]
