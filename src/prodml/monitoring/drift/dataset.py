"""Dataset drift (share of drifted columns) and prediction drift (the same tests on outputs).

The dataset counts as drifted when at least ``drift_share`` (default 0.5, as in Evidently) of
the tested columns drifted.

False alarms, measured by ``tests/unit/monitoring/test_drift_windows.py`` on 200 clean windows
of 300 rows against one 5000-row reference profile (three numeric columns tested with ``ks`` on
the profile's 1000-value sample, one categorical with ``chisquare``, all at p 0.05): 6.9% of
column verdicts and 1.0% of dataset verdicts (drift_share 0.5) were false alarms. The
per-column rate is near the nominal 5% except for one column whose reference draw was itself
atypical (18.5%): all windows share one reference, so its luck is shared. With Evidently's rule
(distances whenever the reference has > 1000 rows) the same windows gave 20% and 16%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prodml.errors import ConfigError
from prodml.monitoring.drift.columns import column_drift
from prodml.monitoring.drift.result import ColumnDrift, DriftReport
from prodml.profiles import DatasetProfile
from prodml.profiles.columns import to_columns


def data_drift(
    reference: object,
    current: object,
    *,
    columns: Sequence[str] | None = None,
    num_method: str | None = None,
    cat_method: str | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = 0.5,
) -> DriftReport:
    """Test every column (or ``columns``) of ``current`` against ``reference``.

    Args:
        reference: a ``DatasetProfile`` or tabular data (DataFrame, Arrow table, dict of arrays,
            2-D numpy).
        current: tabular data.
        columns: the columns to test; default: every reference column.
        num_method, cat_method: one method for all numeric / categorical columns.
        methods: column -> method, overriding the two above.
        thresholds: column -> threshold (default: the method's).
        drift_share: share of drifted columns at which the dataset counts as drifted.
    """
    if not 0.0 < drift_share <= 1.0:
        raise ConfigError(f"drift_share must be in (0, 1]; got {drift_share}")
    cur = to_columns(current)
    if isinstance(reference, DatasetProfile):
        ref_cols: Mapping[str, object] = reference.columns
        kinds = {name: col.kind for name, col in reference.columns.items()}
    else:
        raw = to_columns(reference)
        ref_cols = {name: col.values for name, col in raw.items()}
        kinds = {name: col.kind for name, col in raw.items()}
    names = list(columns) if columns is not None else [n for n in ref_cols if n in cur]
    missing = [n for n in names if n not in ref_cols or n not in cur]
    if missing:
        raise ConfigError(
            f"columns {missing} are not in both the reference and the current data; "
            "check data quality first or pass columns= to test the others"
        )
    methods = methods or {}
    thresholds = thresholds or {}
    results: list[ColumnDrift] = []
    for name in names:
        default = num_method if kinds[name] == "numeric" else cat_method
        results.append(
            column_drift(
                ref_cols[name],
                cur[name].values,
                column=name,
                method=methods.get(name, default),
                threshold=thresholds.get(name),
            )
        )
    return DriftReport(columns=tuple(results), drift_share=drift_share)


def prediction_drift(
    reference: object,
    current: object,
    *,
    column: str = "prediction",
    method: str | None = None,
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of a model output (scores, probabilities or labels): the per-column test on it.

    ``reference`` may be the outputs themselves or their column profile.
    """
    return column_drift(reference, current, column=column, method=method, threshold=threshold)
