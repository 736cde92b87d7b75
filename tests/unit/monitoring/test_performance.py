"""Realised performance with intervals, checked against scikit-learn; CBPE without labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from prodml.monitoring import CBPE, classification_performance, regression_performance


def _scores(rng: np.random.Generator, n: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated model: y ~ Bernoulli(sigmoid(2x)), score = that probability."""
    x = rng.normal(shift, 1, n)
    p = 1 / (1 + np.exp(-2 * x))
    return p, (rng.random(n) < p).astype(int)


def test_classification_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(0)
    p, y = _scores(rng, 800)
    yhat = (p >= 0.5).astype(int)
    r = classification_performance(y, yhat, p, n_bootstrap=200)
    assert r["accuracy"].value == pytest.approx(metrics.accuracy_score(y, yhat))
    assert r["precision"].value == pytest.approx(metrics.precision_score(y, yhat))
    assert r["recall"].value == pytest.approx(metrics.recall_score(y, yhat))
    assert r["f1"].value == pytest.approx(metrics.f1_score(y, yhat))
    assert r["roc_auc"].value == pytest.approx(metrics.roc_auc_score(y, p))
    assert r["log_loss"].value == pytest.approx(metrics.log_loss(y, p))
    for m in r.metrics.values():
        assert m.lower <= m.value <= m.upper
    assert r["accuracy"].interval == "wilson" and r["f1"].interval == "bootstrap"
    assert r.to_dict()["metrics"]["roc_auc"]["estimated"] is False


def test_wilson_interval_covers_at_nominal_rate() -> None:
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(300):
        y = (rng.random(200) < 0.8).astype(int)
        acc = classification_performance(y, np.ones(200, dtype=int), n_bootstrap=1)["accuracy"]
        hits += acc.lower <= 0.8 <= acc.upper
    assert 0.92 <= hits / 300 <= 0.98


def test_regression_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(0, 3, 500)
    pred = y + rng.normal(0, 1, 500)
    r = regression_performance(y, pred, n_bootstrap=200, seed=3)
    assert r["mae"].value == pytest.approx(metrics.mean_absolute_error(y, pred))
    assert r["rmse"].value == pytest.approx(np.sqrt(metrics.mean_squared_error(y, pred)))
    assert r["r2"].value == pytest.approx(metrics.r2_score(y, pred))
    assert r["rmse"].lower < r["rmse"].value < r["rmse"].upper
    again = regression_performance(y, pred, n_bootstrap=200, seed=3)
    assert again == r


def test_cbpe_estimates_performance_under_covariate_shift() -> None:
    rng = np.random.default_rng(4)
    ref_p, ref_y = _scores(rng, 5000)
    # An over-confident model on the reference: CBPE's calibration must correct it.

    def raw(p: np.ndarray) -> np.ndarray:
        return np.asarray(p**1.5 / (p**1.5 + (1 - p) ** 1.5))

    cbpe = CBPE.fit(raw(ref_p), ref_y)
    cur_p, cur_y = _scores(rng, 3000, shift=1.0)  # more easy positives: performance moves
    est = cbpe.estimate(raw(cur_p))
    yhat = (raw(cur_p) >= 0.5).astype(int)
    real = classification_performance(cur_y, yhat, raw(cur_p), n_bootstrap=1)
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert est[name].estimated
        assert est[name].value == pytest.approx(real[name].value, abs=0.03), name
    assert est["accuracy"].lower <= real["accuracy"].value <= est["accuracy"].upper
    ref_acc = classification_performance(ref_y, (raw(ref_p) >= 0.5).astype(int))["accuracy"]
    assert abs(est["accuracy"].value - ref_acc.value) > 0.03
