"""Checks against the first window of a run: prediction drift and multivariate drift.

The registered reference profile summarises each training column on its own (mergeable, but
with no joint distribution and no model outputs). Two checks need more: prediction drift needs
reference predictions, and the multivariate detector needs whole rows to learn how the columns
move together. Both take the run's first window as their baseline (as NannyML takes a
reference period), so a monitoring run should start on a period that is known to be healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prodml.errors import ConfigError
from prodml.monitoring.drift.dataset import prediction_drift
from prodml.monitoring.drift.multivariate import ReconstructionDrift
from prodml.monitoring.log.base import OUTPUT_PREFIX

# The output that best summarises a model's answer, in order of preference.
_PREDICTION_OUTPUTS = ("probability", "prediction", "label")
_MIN_ROWS = 20  # below this, the baseline says too little to compare with


@dataclass(frozen=True)
class Baseline:
    """The first window's predictions and a reconstruction detector fitted on its inputs."""

    prediction_column: str | None
    predictions: Any
    reconstruction: ReconstructionDrift | None

    @classmethod
    def from_window(cls, features: Any, data: Any) -> Baseline:
        """``features``: the window's input columns; ``data``: the whole logged window."""
        column = next(
            (OUTPUT_PREFIX + n for n in _PREDICTION_OUTPUTS if OUTPUT_PREFIX + n in data.columns),
            None,
        )
        predictions = data[column].to_numpy() if column is not None else None
        numeric = features.select_dtypes("number")
        reconstruction = None
        if len(numeric) >= _MIN_ROWS and numeric.shape[1] >= 2:
            try:
                reconstruction = ReconstructionDrift.fit(numeric)
            except ConfigError:
                reconstruction = None
        return cls(column, predictions, reconstruction)

    def check(self, features: Any, data: Any) -> tuple[dict[str, Any], dict[str, float]]:
        """(result entries, flat metrics) of one later window against this baseline."""
        result: dict[str, Any] = {}
        metrics: dict[str, float] = {}
        column = self.prediction_column
        if column is not None and column in data.columns and len(data) and len(self.predictions):
            drift = prediction_drift(self.predictions, data[column].to_numpy(), column=column)
            result["prediction_drift"] = drift.to_dict()
            metrics["drift.prediction.score"] = drift.score
            metrics["drift.prediction.drifted"] = float(drift.drifted)
        if self.reconstruction is not None and len(features):
            columns = list(self.reconstruction.columns)
            if all(c in features.columns for c in columns):
                multi = self.reconstruction.check(features[columns])
                result["multivariate_drift"] = multi.to_dict()
                metrics["drift.multivariate.statistic"] = multi.statistic
                metrics["drift.multivariate.drifted"] = float(multi.drifted)
        return result, metrics
