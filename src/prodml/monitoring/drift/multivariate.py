"""Multivariate drift: changes in the joint distribution that per-column tests cannot see.

Two detectors, after NannyML and Evidently:

- ``domain_classifier_drift``: train a classifier to tell reference rows from current rows;
  its cross-validated ROC AUC is about 0.5 when the two are alike and rises as they differ.
  Drifted when AUC >= ``threshold`` (default 0.55; the null AUC's standard deviation with 1000
  rows a side is about 0.013). A gradient-boosted tree model, so interactions (a flipped
  correlation) are learnable, which a linear model would miss.
- ``ReconstructionDrift``: NannyML's data reconstruction drift. Fit on the reference: impute
  (mean / most frequent), encode categories by their relative frequency, standardise, and keep
  the principal components that explain 65% of the variance. A window's statistic is the mean
  Euclidean distance between rows and their reconstruction from those components. Unlike
  NannyML, whose thresholds come from reference chunks scored by the model fitted on those
  same rows (too tight, NannyML issue #426), half the reference is held out: the threshold is
  the held-out mean error + ``sigmas`` standard errors for the window's row count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from prodml.errors import ConfigError
from prodml.profiles.columns import Column, to_columns

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MultivariateDrift:
    """A multivariate drift verdict: ``statistic`` compared with ``threshold`` (drifted at or
    above it)."""

    method: str
    statistic: float
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    details: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "details": dict(self.details),
        }


def domain_classifier_drift(
    reference: object,
    current: object,
    *,
    columns: Sequence[str] | None = None,
    threshold: float = 0.55,
    folds: int = 5,
    max_rows: int = 5000,
    threads: int = 1,
    seed: int = 0,
) -> MultivariateDrift:
    """Cross-validated ROC AUC of a classifier that separates reference rows from current rows.

    Args:
        reference, current: tabular data with the same columns.
        columns: the columns to use (default: the reference's).
        threshold: AUC at or above which the data has drifted.
        folds: stratified cross-validation folds.
        max_rows: each side is subsampled to at most this many rows (seeded).
        threads: OpenMP threads for the model; a monitoring job should not take every core
            (and oversubscribed OpenMP on a busy machine is many times slower).
        seed: seeds the subsampling, the folds and the model.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    ref, cur = to_columns(reference), to_columns(current)
    names = _names(ref, cur, columns)
    rng = np.random.default_rng(seed)
    x_ref, x_cur, is_cat = _encode_pair(ref, cur, names)
    x_ref, x_cur = _subsample(x_ref, max_rows, rng), _subsample(x_cur, max_rows, rng)
    x = np.vstack([x_ref, x_cur])
    y = np.concatenate([np.zeros(len(x_ref)), np.ones(len(x_cur))])
    model = HistGradientBoostingClassifier(
        max_iter=50, categorical_features=is_cat if any(is_cat) else None, random_state=seed
    )
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with threadpool_limits(limits=threads):
        scores = cross_val_score(model, x, y, cv=cv, scoring="roc_auc")
    auc = float(np.mean(scores))
    return MultivariateDrift(
        method="domain_classifier",
        statistic=auc,
        threshold=threshold,
        drifted=auc >= threshold,
        n_reference=len(x_ref),
        n_current=len(x_cur),
        details={"auc_std": float(np.std(scores))},
    )


@dataclass(frozen=True)
class ReconstructionDrift:
    """A fitted PCA reconstruction-error detector (see the module docstring).

    Build with ``ReconstructionDrift.fit(reference)``; call ``check(current)`` per window.
    """

    columns: tuple[str, ...]
    fill: tuple[Any, ...]
    frequencies: tuple[dict[str, float] | None, ...]
    center: Matrix
    scale: Matrix
    components: Matrix
    error_mean: float
    error_std: float
    sigmas: float
    n_reference: int

    @classmethod
    def fit(
        cls,
        reference: object,
        *,
        columns: Sequence[str] | None = None,
        explained_variance: float = 0.65,
        sigmas: float = 3.0,
        holdout: float = 0.5,
        seed: int = 0,
    ) -> ReconstructionDrift:
        from sklearn.decomposition import PCA

        ref = to_columns(reference)
        names = tuple(columns) if columns is not None else tuple(ref)
        n = len(next(iter(ref.values())))
        perm = np.random.default_rng(seed).permutation(n)
        cut = int(n * (1.0 - holdout))
        if cut < 10 or n - cut < 10:
            raise ConfigError(f"reconstruction drift needs >= 20 reference rows; got {n}")
        fit_idx, held_idx = np.sort(perm[:cut]), np.sort(perm[cut:])
        fill: list[Any] = []
        freqs: list[dict[str, float] | None] = []
        for name in names:
            col = ref[name]
            part = col.values[fit_idx]
            if col.kind == "numeric":
                finite = part[np.isfinite(part)]
                fill.append(float(finite.mean()) if finite.size else 0.0)
                freqs.append(None)
            else:
                present = [v for v in part.tolist() if v is not None]
                keys, counts = np.unique(
                    np.array(present or [""], dtype=object), return_counts=True
                )
                fill.append(str(keys[int(np.argmax(counts))]))
                freqs.append(
                    {str(k): c / max(len(present), 1) for k, c in zip(keys, counts, strict=True)}
                )
        raw = _matrix(ref, names, tuple(fill), tuple(freqs))
        center = raw[fit_idx].mean(axis=0)
        scale = raw[fit_idx].std(axis=0)
        scale[scale == 0] = 1.0
        z = (raw - center) / scale
        pca = PCA(n_components=explained_variance, random_state=seed).fit(z[fit_idx])
        comps = np.asarray(pca.components_, dtype=np.float64)
        held = _errors(z[held_idx], comps)
        return cls(
            columns=names,
            fill=tuple(fill),
            frequencies=tuple(freqs),
            center=center,
            scale=scale,
            components=comps,
            error_mean=float(held.mean()),
            error_std=float(held.std(ddof=1)),
            sigmas=sigmas,
            n_reference=n,
        )

    def errors(self, data: object) -> Matrix:
        """Per-row reconstruction errors of ``data``."""
        cols = to_columns(data)
        z = (_matrix(cols, self.columns, self.fill, self.frequencies) - self.center) / self.scale
        return _errors(z, self.components)

    def check(self, current: object) -> MultivariateDrift:
        err = self.errors(current)
        limit = self.error_mean + self.sigmas * self.error_std / np.sqrt(err.size)
        stat = float(err.mean())
        return MultivariateDrift(
            method="reconstruction_error",
            statistic=stat,
            threshold=float(limit),
            drifted=bool(stat >= limit),
            n_reference=self.n_reference,
            n_current=int(err.size),
            details={"reference_error": self.error_mean, "components": float(len(self.components))},
        )


def _errors(z: Matrix, components: Matrix) -> Matrix:
    recon = (z @ components.T) @ components
    return np.asarray(np.linalg.norm(z - recon, axis=1), dtype=np.float64)


def _matrix(
    cols: dict[str, Column],
    names: Sequence[str],
    fill: Sequence[Any],
    freqs: Sequence[dict[str, float] | None],
) -> Matrix:
    out = np.empty((len(cols[names[0]]) if names else 0, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        if name not in cols:
            raise ConfigError(f"column {name!r} is missing from the data to check")
        col, f = cols[name], freqs[j]
        if f is None:
            v = col.values.astype(np.float64)
            out[:, j] = np.where(np.isfinite(v), v, float(fill[j]))
        else:
            # Unseen categories encode to frequency 0, as a count encoder would.
            out[:, j] = [f.get(fill[j] if v is None else v, 0.0) for v in col.values.tolist()]
    return out


def _names(
    ref: dict[str, Column], cur: dict[str, Column], columns: Sequence[str] | None
) -> list[str]:
    names = list(columns) if columns is not None else list(ref)
    missing = [n for n in names if n not in ref or n not in cur]
    if missing or not names:
        raise ConfigError(f"columns {missing or names} are not in both reference and current")
    return names


def _encode_pair(
    ref: dict[str, Column], cur: dict[str, Column], names: Sequence[str]
) -> tuple[Matrix, Matrix, list[bool]]:
    """Numbers as they are (NaN kept: the trees handle it); categories as shared codes."""
    a = np.empty((len(ref[names[0]]), len(names)))
    b = np.empty((len(cur[names[0]]), len(names)))
    is_cat: list[bool] = []
    for j, name in enumerate(names):
        if ref[name].kind == "numeric" and cur[name].kind == "numeric":
            a[:, j], b[:, j] = ref[name].values, cur[name].values
            is_cat.append(False)
            continue
        ra, ca = ref[name].values.astype(str), cur[name].values.astype(str)
        codes = {k: i for i, k in enumerate(np.unique(np.concatenate([ra, ca]))[:250])}
        a[:, j] = [codes.get(v, np.nan) for v in ra]
        b[:, j] = [codes.get(v, np.nan) for v in ca]
        is_cat.append(True)
    return a, b, is_cat


def _subsample(x: Matrix, k: int, rng: np.random.Generator) -> Matrix:
    if len(x) <= k:
        return x
    return x[np.sort(rng.choice(len(x), size=k, replace=False))]
