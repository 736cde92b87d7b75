"""Monitoring statistics: drift, data quality, and performance with and without labels.

Pure functions over arrays, tables and profiles (``prodml.profiles``); no I/O, no clock.

- ``data_drift`` / ``column_drift`` / ``prediction_drift``: per-column tests chosen like
  Evidently's defaults (KS / chi-square up to 1000 reference rows, normed Wasserstein /
  Jensen-Shannon above), a dataset verdict by share of drifted columns.
- ``domain_classifier_drift`` and ``ReconstructionDrift``: multivariate drift.
- ``check_quality``: schema, missing values, ranges and unseen categories.
- ``classification_performance`` / ``regression_performance``: metrics with intervals;
  ``CBPE``: estimated classification performance without labels.
- ``windows_by_time`` / ``windows_by_count`` / ``drift_over_windows``: per-window checks.
"""

from prodml.monitoring.cbpe import CBPE
from prodml.monitoring.drift import (
    ColumnDrift,
    DriftReport,
    MultivariateDrift,
    ReconstructionDrift,
    column_drift,
    data_drift,
    domain_classifier_drift,
    prediction_drift,
)
from prodml.monitoring.performance import (
    MetricEstimate,
    PerformanceReport,
    classification_performance,
    regression_performance,
)
from prodml.monitoring.quality import QualityIssue, QualityReport, check_quality
from prodml.monitoring.windows import (
    Window,
    WindowDrift,
    drift_over_windows,
    windows_by_count,
    windows_by_time,
)

__all__ = [
    "CBPE",
    "ColumnDrift",
    "DriftReport",
    "MetricEstimate",
    "MultivariateDrift",
    "PerformanceReport",
    "QualityIssue",
    "QualityReport",
    "ReconstructionDrift",
    "Window",
    "WindowDrift",
    "check_quality",
    "classification_performance",
    "column_drift",
    "data_drift",
    "domain_classifier_drift",
    "drift_over_windows",
    "prediction_drift",
    "regression_performance",
    "windows_by_count",
    "windows_by_time",
]
