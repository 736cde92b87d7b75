"""Model performance once labels arrive, each metric with a confidence interval.

Classification (binary; precision, recall and F1 for ``positive``): accuracy, precision and
recall are proportions, so their intervals are Wilson score intervals; F1, ROC AUC and log
loss use a seeded percentile bootstrap over rows. Regression: MAE, RMSE and R^2, bootstrap.
Metrics are computed with numpy (ROC AUC through ranks, the Mann-Whitney identity) so that
hundreds of bootstrap resamples stay cheap; they agree with scikit-learn's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from prodml.errors import ConfigError

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MetricEstimate:
    """A metric's value and interval; ``estimated`` is True when no labels were used (CBPE)."""

    name: str
    value: float
    lower: float
    upper: float
    interval: str
    estimated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PerformanceReport:
    task: str
    rows: int
    metrics: dict[str, MetricEstimate]
    confidence: float

    def __getitem__(self, name: str) -> MetricEstimate:
        return self.metrics[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "rows": self.rows,
            "confidence": self.confidence,
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
        }


def wilson(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion."""
    from scipy.stats import norm

    if n <= 0:
        return math.nan, math.nan
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def roc_auc(y: Array, score: Array) -> float:
    """Area under the ROC curve (ties count one half); NaN when one class is absent."""
    from scipy.stats import rankdata

    pos = y == 1
    n1 = int(pos.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def log_loss(y: Array, p: Array, eps: float = 1e-15) -> float:
    q = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def f1(y: Array, yhat: Array) -> float:
    tp = float(np.sum((yhat == 1) & (y == 1)))
    denom = float(np.sum(yhat == 1) + np.sum(y == 1))
    return 2 * tp / denom if denom else 0.0


def classification_performance(
    y_true: object,
    y_pred: object,
    y_score: object | None = None,
    *,
    positive: object = 1,
    confidence: float = 0.95,
    n_bootstrap: int = 500,
    seed: int = 0,
) -> PerformanceReport:
    """Accuracy, precision, recall, F1 (+ ROC AUC and log loss when ``y_score`` is given).

    Args:
        y_true, y_pred: labels; ``positive`` names the positive class.
        y_score: the model's probability of the positive class.
    """
    yt = (np.asarray(y_true) == positive).astype(np.float64)
    yp = (np.asarray(y_pred) == positive).astype(np.float64)
    n = yt.size
    if n == 0 or yp.size != n:
        raise ConfigError(f"need labels and predictions of one non-zero length; got {n}, {yp.size}")
    metrics: dict[str, MetricEstimate] = {}
    correct = float(np.sum(yt == yp))
    tp = float(np.sum((yt == 1) & (yp == 1)))
    for name, k, m in (
        ("accuracy", correct, n),
        ("precision", tp, float(yp.sum())),
        ("recall", tp, float(yt.sum())),
    ):
        lo, hi = wilson(k, m, confidence)
        metrics[name] = MetricEstimate(name, k / m if m else math.nan, lo, hi, "wilson")
    fns: dict[str, Callable[[Array, Array, Array | None], float]] = {
        "f1": lambda a, b, _s: f1(a, b)
    }
    ys: Array | None = None
    if y_score is not None:
        ys = np.asarray(y_score, dtype=np.float64)
        if ys.size != n:
            raise ConfigError(f"y_score has {ys.size} values for {n} labels")
        fns["roc_auc"] = lambda a, _b, s: roc_auc(a, s) if s is not None else math.nan
        fns["log_loss"] = lambda a, _b, s: log_loss(a, s) if s is not None else math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_bootstrap, n))
    for name, fn in fns.items():
        value = fn(yt, yp, ys)
        boot = np.array([fn(yt[i], yp[i], None if ys is None else ys[i]) for i in idx])
        lo, hi = _percentiles(boot, confidence)
        metrics[name] = MetricEstimate(name, value, lo, hi, "bootstrap")
    return PerformanceReport("classification", n, metrics, confidence)


def regression_performance(
    y_true: object,
    y_pred: object,
    *,
    confidence: float = 0.95,
    n_bootstrap: int = 500,
    seed: int = 0,
) -> PerformanceReport:
    """MAE, RMSE and R^2 with seeded bootstrap intervals."""
    yt = np.asarray(y_true, dtype=np.float64)
    yp = np.asarray(y_pred, dtype=np.float64)
    n = yt.size
    if n < 2 or yp.size != n:
        raise ConfigError(f"need >= 2 labels and as many predictions; got {n}, {yp.size}")
    idx = np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))
    t, p = yt[idx], yp[idx]
    err = t - p
    boot = {
        "mae": np.abs(err).mean(axis=1),
        "rmse": np.sqrt((err**2).mean(axis=1)),
        "r2": 1 - (err**2).sum(axis=1) / ((t - t.mean(axis=1, keepdims=True)) ** 2).sum(axis=1),
    }
    e = yt - yp
    values = {
        "mae": float(np.abs(e).mean()),
        "rmse": float(np.sqrt((e**2).mean())),
        "r2": float(1 - (e**2).sum() / ((yt - yt.mean()) ** 2).sum()),
    }
    metrics = {
        k: MetricEstimate(k, values[k], *_percentiles(boot[k], confidence), "bootstrap")
        for k in values
    }
    return PerformanceReport("regression", n, metrics, confidence)


def _percentiles(boot: Array, confidence: float) -> tuple[float, float]:
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return math.nan, math.nan
    a = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(boot, [a, 100 - a])
    return float(lo), float(hi)
