"""Drift: per-column tests, dataset and prediction drift, and multivariate detectors."""

from prodml.monitoring.drift.columns import (
    DEFAULT_THRESHOLDS,
    METHODS,
    column_drift,
    default_method,
)
from prodml.monitoring.drift.dataset import data_drift, prediction_drift
from prodml.monitoring.drift.multivariate import (
    MultivariateDrift,
    ReconstructionDrift,
    domain_classifier_drift,
)
from prodml.monitoring.drift.result import ColumnDrift, DriftReport

__all__ = [
    "DEFAULT_THRESHOLDS",
    "METHODS",
    "ColumnDrift",
    "DriftReport",
    "MultivariateDrift",
    "ReconstructionDrift",
    "column_drift",
    "data_drift",
    "default_method",
    "domain_classifier_drift",
    "prediction_drift",
]
