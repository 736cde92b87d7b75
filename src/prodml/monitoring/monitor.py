"""One monitoring run: read the prediction log, cut it into windows, and check each window for
data drift (against the registered reference profile), prediction and multivariate drift
(against the run's first window, see ``baseline``), data quality, and performance (realised
when feedback labels exist, else estimated with CBPE when the model gives probabilities);
then evaluate alert rules and hand the alerts to sinks.

The result is JSON-able (``MonitorResult.to_dict``) and is what ``write_html_report`` draws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import numpy as np

from prodml.errors import ConfigError
from prodml.monitoring.alerts import Alert, AlertEvaluator, AlertRule
from prodml.monitoring.baseline import Baseline
from prodml.monitoring.cbpe import CBPE
from prodml.monitoring.drift.dataset import data_drift
from prodml.monitoring.log.base import INPUT_PREFIX, OUTPUT_PREFIX, PredictionLogReader
from prodml.monitoring.log.query import join_feedback
from prodml.monitoring.performance import classification_performance, regression_performance
from prodml.monitoring.quality import check_quality
from prodml.monitoring.sinks import AlertSink
from prodml.monitoring.windows import Window, windows_by_count, windows_by_time
from prodml.profiles import CategoricalProfile, DatasetProfile, NumericProfile
from prodml.profiles.columns import matrix_columns
from prodml.registry.model import ModelVersion

_ROWS = re.compile(r"^\s*(\d+)\s*rows?\s*$")


@runtime_checkable
class MetricPublisher(Protocol):
    """A sink that also shows the latest window's metrics (Prometheus)."""

    def publish(
        self, metrics: Mapping[str, float], *, model: str = "", endpoint: str = ""
    ) -> None: ...


@dataclass(frozen=True)
class MonitorResult:
    """Per-window checks, the latest window's distributions, and the alerts fired."""

    model: str
    endpoint: str | None
    window: str
    rows: int
    windows: list[dict[str, Any]]
    distributions: dict[str, dict[str, Any]]
    alerts: list[Alert] = field(default_factory=list)

    def series(self, metric: str) -> list[float]:
        """``metric`` per window (NaN where a window lacks it)."""
        return [float(w["metrics"].get(metric, float("nan"))) for w in self.windows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "endpoint": self.endpoint,
            "window": self.window,
            "rows": self.rows,
            "windows": self.windows,
            "distributions": self.distributions,
            "alerts": [a.to_dict() for a in self.alerts],
        }


def parse_window(spec: str | int | timedelta) -> tuple[str, Any]:
    """``"1h"``/``"30min"``/timedelta -> ("time", Timedelta); ``"1000rows"``/int -> ("rows", n)."""
    import pandas as pd

    if isinstance(spec, int):
        return "rows", spec
    if isinstance(spec, str) and (m := _ROWS.match(spec)):
        return "rows", int(m.group(1))
    try:
        step = pd.Timedelta(spec)
    except ValueError as exc:
        raise ConfigError(
            f"window {spec!r} is not a duration (1h, 15min) or a row count (1000rows)"
        ) from exc
    if step <= pd.Timedelta(0):
        raise ConfigError(f"window must be positive; got {spec!r}")
    return "time", step


def run_monitor(
    log: PredictionLogReader,
    registry_version: ModelVersion,
    *,
    endpoint: str | None = None,
    window: str | int | timedelta = "1h",
    reference: DatasetProfile | object | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    feedback: Any = None,
    label_column: str = "label",
    positive: object = 1,
    cbpe: CBPE | None = None,
    rules: Sequence[AlertRule] = (),
    sinks: Sequence[AlertSink] = (),
    evaluator: AlertEvaluator | None = None,
    drift_options: Mapping[str, Any] | None = None,
    n_bootstrap: int = 200,
) -> MonitorResult:
    """Check every window of the log against the model version's reference.

    Args:
        registry_version: the model version served; its ``profile`` is the default reference
            and its ``signature`` the schema for quality checks.
        window: ``"1h"`` (by time, aligned) or ``"1000rows"`` (by count).
        reference: a ``DatasetProfile`` or tabular data to use instead of the registered one.
        feedback: a ``pyarrow.Table`` keyed by ``request_id`` with ``label_column``; it may
            also already be joined into the log (a column ``label_column`` in it).
        cbpe: a fitted estimator for windows without labels; when None and some rows have
            labels, one is fitted on those (binary classifiers with ``out_probability``).
        evaluator: keeps alert streaks and cool-downs across scheduled runs; else ``rules``
            start fresh.
        drift_options: passed to ``data_drift`` (``num_method``, ``thresholds``, ...).
    """
    import pandas as pd

    ref = _reference(registry_version, reference)
    table = log.read(endpoint=endpoint, start=start, end=end)
    if feedback is not None:
        table = join_feedback(table, feedback)
    frame = table.to_pandas()
    kind, size = parse_window(window)
    if kind == "rows":
        windows = windows_by_count(frame, size=size)
    else:
        windows = windows_by_time(frame, time_column="time", every=size) if len(frame) else []
    labelled = label_column in frame.columns
    task = registry_version.task
    if cbpe is None and labelled and task == "classification":
        cbpe = _fit_cbpe(frame, label_column, positive)
    model_ref = f"{registry_version.name}/{registry_version.version}"
    evaluator = evaluator or AlertEvaluator(rules, {"model": model_ref, "endpoint": endpoint or ""})
    out: list[dict[str, Any]] = []
    alerts: list[Alert] = []
    baseline = (
        Baseline.from_window(_features(windows[0].data), windows[0].data) if windows else None
    )
    for w in windows:
        checked = _check_window(
            w,
            ref,
            registry_version,
            label_column if labelled else None,
            positive,
            cbpe,
            drift_options or {},
            n_bootstrap,
            baseline if w is not windows[0] else None,
        )
        out.append(checked)
        alerts += evaluator.observe(checked["metrics"], checked)
    for sink in sinks:
        sink.send(alerts)
        if isinstance(sink, MetricPublisher) and out:
            sink.publish(out[-1]["metrics"], model=model_ref, endpoint=endpoint or "")
    current = _features(windows[-1].data) if windows else pd.DataFrame()
    return MonitorResult(
        model=model_ref,
        endpoint=endpoint,
        window=str(window),
        rows=len(frame),
        windows=out,
        distributions=distributions(ref, current),
        alerts=alerts,
    )


def _reference(version: ModelVersion, reference: object | None) -> DatasetProfile:
    if isinstance(reference, DatasetProfile):
        return reference
    if reference is not None:
        return DatasetProfile.from_data(reference)
    if version.profile is None:
        raise ConfigError(
            f"model version {version.name}/{version.version} has no reference profile; register "
            "it with training_data= or pass reference="
        )
    return DatasetProfile.from_dict(version.profile)


def _features(frame: Any) -> Any:
    """The logged inputs by name; a matrix input ``x`` (one vector per row) becomes columns
    ``x_0, x_1, ...``, the names a profile of the training matrix gives them.

    The log stores a narrow matrix as those columns already and a wide one as a list column;
    a window that spans both (a width that changed) gets each row's values from either.
    """
    import pandas as pd

    out: dict[str, Any] = {}
    lists: dict[str, Any] = {}
    for column in frame.columns:
        if not column.startswith(INPUT_PREFIX):
            continue
        name, values = column[len(INPUT_PREFIX) :], frame[column]
        vectors = _vectors(values)
        if vectors is None:
            out[name] = values
        else:
            names = matrix_columns(name, vectors.shape[1])
            lists.update({column: vectors[:, j] for j, column in enumerate(names)})
    for name, values in lists.items():
        flat = out.get(name)
        out[name] = values if flat is None else flat.where(flat.notna(), values)
    return pd.DataFrame(out, index=frame.index)


def _vectors(values: Any) -> Any:
    """A list column of one width as a 2-D float array (missing rows NaN); else None."""
    present = values.dropna()
    if not len(present) or not isinstance(present.iloc[0], list | np.ndarray):
        return None
    widths = {len(v) for v in present}
    if len(widths) != 1:
        return None
    width = widths.pop()
    out = np.full((len(values), width), np.nan)
    mask = values.notna().to_numpy()
    try:
        out[mask] = np.stack(present.to_numpy()).astype(float)
    except (TypeError, ValueError):
        return None  # not numbers: left as one column, which quality reports
    return out


def _fit_cbpe(frame: Any, label_column: str, positive: object) -> CBPE | None:
    score = OUTPUT_PREFIX + "probability"
    if score not in frame.columns:
        return None
    known = frame[frame[label_column].notna()]
    try:
        return CBPE.fit(
            known[score].to_numpy(float), known[label_column].to_numpy(), positive=positive
        )
    except ConfigError:
        return None  # too few labels, or one class only: no estimate rather than a bad one


def _check_window(
    w: Window,
    ref: DatasetProfile,
    version: ModelVersion,
    label_column: str | None,
    positive: object,
    cbpe: CBPE | None,
    drift_options: Mapping[str, Any],
    n_bootstrap: int,
    baseline: Baseline | None,
) -> dict[str, Any]:
    feats = _features(w.data)
    metrics: dict[str, float] = {"rows": float(len(w))}
    result: dict[str, Any] = {
        "index": w.index,
        "start": str(w.start),
        "end": str(w.end),
        "rows": len(w),
    }
    cols = [c for c in ref.columns if c in feats.columns]
    if cols:
        drift = data_drift(ref, feats[cols], columns=cols, **drift_options)
        result["drift"] = drift.to_dict()
        metrics["drift.share"] = drift.share_drifted
        metrics["drift.dataset"] = float(drift.dataset_drift)
        for c in drift.columns:
            metrics[f"drift.{c.column}.score"] = c.score
            metrics[f"drift.{c.column}.drifted"] = float(c.drifted)
    if baseline is not None:
        against_baseline, baseline_metrics = baseline.check(feats, w.data)
        result.update(against_baseline)
        metrics.update(baseline_metrics)
    quality = check_quality(feats, signature=version.signature, reference=ref)
    result["quality"] = quality.to_dict()
    metrics["quality.issues"] = float(len(quality.issues))
    data = w.data
    if "latency_ms" in data.columns and len(data):
        metrics["latency_ms.p95"] = float(np.percentile(data["latency_ms"].to_numpy(float), 95))
    has_labels = label_column is not None and bool(data[label_column].notna().any())
    if has_labels and label_column is not None:
        known = data[data[label_column].notna()]
        perf = _realised(known, known[label_column].to_numpy(), version.task, positive, n_bootstrap)
        if perf is not None:
            result["performance"] = perf.to_dict()
            metrics.update({f"performance.{k}": m.value for k, m in perf.metrics.items()})
    score = OUTPUT_PREFIX + "probability"
    if not has_labels and cbpe is not None and score in data.columns and len(data):
        est = cbpe.estimate(data[score].to_numpy(float))
        result["estimated_performance"] = est.to_dict()
        metrics.update({f"estimated.{k}": m.value for k, m in est.metrics.items()})
    result["metrics"] = metrics
    return result


def _realised(data: Any, labels: Any, task: str, positive: object, n_bootstrap: int) -> Any:
    label, score, pred = (OUTPUT_PREFIX + n for n in ("label", "probability", "prediction"))
    if task == "classification" and label in data.columns:
        scores = data[score].to_numpy(float) if score in data.columns else None
        return classification_performance(
            labels, data[label].to_numpy(), scores, positive=positive, n_bootstrap=n_bootstrap
        )
    if task == "regression" and pred in data.columns:
        return regression_performance(
            labels.astype(float), data[pred].to_numpy(float), n_bootstrap=n_bootstrap
        )
    return None


def distributions(ref: DatasetProfile, current: Any, bins: int = 20) -> dict[str, dict[str, Any]]:
    """Reference vs current histograms (shares) per feature, for the report."""
    out: dict[str, dict[str, Any]] = {}
    for name, prof in ref.columns.items():
        if name not in getattr(current, "columns", ()):
            continue
        values = current[name].to_numpy()
        if isinstance(prof, NumericProfile):
            r = prof.sample.array()
            c = np.asarray(values, dtype=float)
            c = c[np.isfinite(c)]
            both = np.concatenate([r, c])
            if both.size == 0:
                continue
            edges = np.histogram_bin_edges(both, bins=bins)
            rh = np.histogram(r, edges)[0]
            ch = np.histogram(c, edges)[0]
            out[name] = {
                "kind": "numeric",
                "edges": edges.tolist(),
                "reference": _shares(rh),
                "current": _shares(ch),
            }
        elif isinstance(prof, CategoricalProfile):
            counted = current[name].dropna().astype(str).value_counts()
            cur = {str(k): int(v) for k, v in counted.items()}
            cats = sorted(set(prof.counts) | set(cur), key=lambda k: -prof.counts.get(k, 0))[:20]
            out[name] = {
                "kind": "categorical",
                "categories": cats,
                "reference": _shares(np.array([prof.counts.get(k, 0) for k in cats])),
                "current": _shares(np.array([cur.get(k, 0) for k in cats])),
            }
    return out


def _shares(counts: Any) -> list[float]:
    total = float(np.sum(counts))
    return [float(x) / total if total else 0.0 for x in counts]
