"""Confidence-based performance estimation (NannyML's CBPE): binary-classifier performance
without labels.

Fit on a labelled reference: an isotonic map from the model's score to a calibrated
probability p of the positive class. On unlabelled data with predicted labels yhat, the
expected confusion matrix is TP = sum(p | yhat=1), FP = sum(1-p | yhat=1),
FN = sum(p | yhat=0), TN = sum(1-p | yhat=0), from which accuracy, precision, recall and F1
follow. Expected ROC AUC: sort rows by raw score, expected true positives are the running sum
of p and false positives the running sum of 1-p; integrate the curve.

The accuracy interval is the spread of realised accuracy if the calibrated probabilities are
right (a Poisson-binomial: variance sum(c(1-c))/n^2 with c the probability each row is
correct). Every metric is marked ``estimated=True``.

Assumes no concept drift (P(y | x) unchanged) and that calibration carries over under covariate
shift; when labels arrive, compare with ``classification_performance``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from prodml.errors import ConfigError
from prodml.monitoring.performance import MetricEstimate, PerformanceReport

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CBPE:
    """A fitted estimator: the isotonic calibration curve and the decision threshold."""

    knots_x: Array
    knots_y: Array
    threshold: float

    @classmethod
    def fit(
        cls, scores: object, labels: object, *, positive: object = 1, threshold: float = 0.5
    ) -> CBPE:
        """Calibrate on reference ``scores`` (P of the positive class) and true ``labels``."""
        from sklearn.isotonic import IsotonicRegression

        s = np.asarray(scores, dtype=np.float64)
        y = (np.asarray(labels) == positive).astype(np.float64)
        if s.size != y.size or s.size < 10 or y.min() == y.max():
            raise ConfigError(
                "CBPE needs >= 10 reference scores with labels of both classes; got "
                f"{s.size} scores, {y.size} labels"
            )
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(s, y)
        return cls(
            knots_x=np.asarray(iso.X_thresholds_, dtype=np.float64),
            knots_y=np.asarray(iso.y_thresholds_, dtype=np.float64),
            threshold=threshold,
        )

    def calibrated(self, scores: object) -> Array:
        s = np.asarray(scores, dtype=np.float64)
        return np.asarray(np.interp(s, self.knots_x, self.knots_y), dtype=np.float64)

    def estimate(self, scores: object, *, confidence: float = 0.95) -> PerformanceReport:
        """Estimated accuracy, precision, recall, F1 and ROC AUC on unlabelled ``scores``."""
        from scipy.stats import norm

        s = np.asarray(scores, dtype=np.float64)
        if s.size == 0:
            raise ConfigError("no scores to estimate performance on")
        p = self.calibrated(s)
        yhat = s >= self.threshold
        tp, fp = float(p[yhat].sum()), float((1 - p[yhat]).sum())
        fn, tn = float(p[~yhat].sum()), float((1 - p[~yhat]).sum())
        n = s.size
        c = np.where(yhat, p, 1 - p)
        acc = (tp + tn) / n
        half = float(norm.ppf(0.5 + confidence / 2)) * math.sqrt(float((c * (1 - c)).sum())) / n
        values = {
            "accuracy": acc,
            "precision": tp / (tp + fp) if tp + fp else math.nan,
            "recall": tp / (tp + fn) if tp + fn else math.nan,
            "f1": tp / (tp + 0.5 * (fp + fn)) if tp + fp + fn else math.nan,
            "roc_auc": _expected_auc(s, p),
        }
        metrics = {
            k: MetricEstimate(k, v, math.nan, math.nan, "none", estimated=True)
            for k, v in values.items()
        }
        metrics["accuracy"] = MetricEstimate(
            "accuracy",
            acc,
            max(0.0, acc - half),
            min(1.0, acc + half),
            "poisson_binomial",
            estimated=True,
        )
        return PerformanceReport("classification", n, metrics, confidence)


def _expected_auc(scores: Array, p: Array) -> float:
    order = np.argsort(-scores, kind="stable")
    tps = np.concatenate([[0.0], np.cumsum(p[order])])
    fps = np.concatenate([[0.0], np.cumsum(1 - p[order])])
    if tps[-1] == 0 or fps[-1] == 0:
        return math.nan
    return float(np.trapezoid(tps / tps[-1], fps / fps[-1]))
