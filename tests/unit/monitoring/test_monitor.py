"""A monitor run over a logged shift: drift found after it and not before, realised performance
where labels exist and CBPE estimates where they do not, alerts, and the HTML report."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pytest

from prodml.errors import ConfigError
from prodml.monitoring.alerts import AlertRule
from prodml.monitoring.log import MemoryPredictionLog, PredictionRecord
from prodml.monitoring.monitor import parse_window, run_monitor
from prodml.monitoring.report_html import write_html_report
from prodml.monitoring.sinks import LogSink
from prodml.profiles import DatasetProfile
from prodml.registry import Lineage, ModelVersion
from prodml.testing.clock import FakeClock
from prodml.types import Signature, TensorSpec

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SHIFT_HOUR = 4
SEED = 11
Served = tuple[ModelVersion, MemoryPredictionLog, pa.Table]


def frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"x1": rng.normal(shift, 1, n), "x2": rng.normal(0, 1, n), "x3": rng.uniform(0, 1, n)}
    )


def chance(x: pd.DataFrame) -> npt.NDArray[np.float64]:
    return np.asarray(1 / (1 + np.exp(-(1.5 * x["x1"] - x["x2"]))), dtype=float)


def model_version(train: pd.DataFrame) -> ModelVersion:
    """What the registry stores for a classifier trained on ``train`` (no artifact needed)."""
    return ModelVersion(
        name="churn",
        version=3,
        flavor="python",
        task="classification",
        status="ready",
        signature=Signature(tuple(TensorSpec(c, "float64") for c in train.columns)),
        metrics={},
        params={},
        tags={},
        description="",
        lineage=Lineage(),
        artifact_uri="",
        artifact_sha256="",
        created_at=T0,
        profile=DatasetProfile.from_data(train).to_dict(),
    )


@pytest.fixture(scope="module")
def served() -> Served:
    rng = np.random.default_rng(SEED)
    train = frame(rng, 2000)
    version = model_version(train)
    clock = FakeClock(T0)
    log = MemoryPredictionLog(clock=clock)
    labels: dict[str, list[object]] = {"request_id": [], "label": []}
    for hour in range(6):
        x = frame(rng, 300, shift=1.5 if hour >= SHIFT_HOUR else 0.0)
        proba = chance(x)  # the model is the true P(y=1 | x): calibrated, as CBPE assumes
        y = (rng.uniform(size=len(x)) < proba).astype(int)
        for i, row in enumerate(x.to_dict("records")):
            inputs = {str(k): v for k, v in row.items()}
            rid = f"h{hour}-{i}"
            log.log(
                PredictionRecord(
                    rid,
                    "churn",
                    inputs,
                    {"probability": float(proba[i]), "label": int(proba[i] >= 0.5)},
                    model_name="churn",
                    model_version="3",
                    latency_ms=2.0,
                )
            )
            clock.advance(seconds=3600 / 300)
            if hour < 3:  # labels arrive late: only the first three hours have them
                labels["request_id"].append(rid)
                labels["label"].append(int(y[i]))
    return version, log, pa.table(labels)


def test_drift_is_found_in_the_first_window_after_the_shift_and_not_before(served: Served) -> None:
    version, log, feedback = served
    rule = AlertRule("x1 drift", "drift.x1.drifted", 1.0, ">=")
    result = run_monitor(
        log, version, window="1h", feedback=feedback, rules=[rule], sinks=[LogSink()]
    )
    assert len(result.windows) == 6 and result.rows == 1800
    drifted = [w["drift"]["drifted_columns"] for w in result.windows]
    assert drifted[:SHIFT_HOUR] == [[]] * SHIFT_HOUR
    assert all("x1" in d for d in drifted[SHIFT_HOUR:])
    assert [a.window_index for a in result.alerts] == [4, 5]
    assert result.alerts[0].labels["model"] == "churn/3"


def test_performance_is_realised_with_labels_and_estimated_without(served: Served) -> None:
    version, log, feedback = served
    result = run_monitor(log, version, window="1h", feedback=feedback)
    real = result.series("performance.accuracy")
    est = result.series("estimated.accuracy")
    assert all(0.6 < v < 0.95 for v in real[:3]) and all(np.isnan(real[3:]))
    assert all(np.isnan(est[:3])) and all(0.6 < v < 0.95 for v in est[3:])
    assert result.windows[4]["estimated_performance"]["metrics"]["accuracy"]["estimated"] is True
    json.dumps(result.to_dict())  # JSON-able as promised


def test_count_windows_and_quality(served: Served) -> None:
    version, log, _ = served
    result = run_monitor(log, version, window="600rows")
    assert [w["rows"] for w in result.windows] == [600, 600, 600]
    assert "quality.issues" in result.windows[0]["metrics"]


def test_window_spec_and_missing_reference_errors(served: Served) -> None:
    assert parse_window("1000rows") == ("rows", 1000)
    assert parse_window("1h")[1] == pd.Timedelta(hours=1)
    with pytest.raises(ConfigError, match="duration"):
        parse_window("soon")
    version, log, _ = served
    from dataclasses import replace

    with pytest.raises(ConfigError, match="no reference profile"):
        run_monitor(log, replace(version, profile=None))


def test_html_report_is_self_contained_and_draws_every_section(
    served: Served, tmp_path: Path
) -> None:
    version, log, feedback = served
    rule = AlertRule("x1 drift", "drift.x1.drifted", 1.0, ">=")
    result = run_monitor(log, version, window="1h", feedback=feedback, rules=[rule])
    path = write_html_report(result, tmp_path / "report.html")
    text = path.read_text()
    assert text.count("<svg") >= 3 + 2 + 3  # drift share, scores, perf metrics, 3 histograms
    assert "x1 drift" in text and "reference" in text and "estimated (CBPE)" in text
    assert not re.search(r"<script|https?://(?!www\.w3\.org/2000/svg)", text)
    write_html_report(result.to_dict(), tmp_path / "from-json.html")
    assert (tmp_path / "from-json.html").read_text() == text


def test_empty_log_gives_an_empty_result(served: Served) -> None:
    version, _, _ = served
    result = run_monitor(MemoryPredictionLog(), version, start=T0 + timedelta(days=9))
    assert result.windows == [] and result.rows == 0


def test_a_matrix_input_is_checked_column_by_column_against_the_training_matrix(
    tmp_path: Path,
) -> None:
    """One FP32 tensor ``input`` of shape (n, 3), as matrix models are served: the log keeps
    one vector per row; the monitor reads it as ``input_0..2``, the training matrix's names."""
    from prodml.monitoring.log import ParquetPredictionLog, PredictionBatch

    rng = np.random.default_rng(SEED)
    train = rng.normal(0, 1, (2000, 3))
    version = dataclasses.replace(
        model_version(pd.DataFrame(train, columns=["a", "b", "c"])),
        signature=Signature((TensorSpec("input", "float32", (-1, 3)),)),
        profile=DatasetProfile.from_data(train).to_dict(),
    )
    clock = FakeClock(T0)
    with ParquetPredictionLog(tmp_path, clock=clock, flush_interval_s=30) as log:
        for hour in range(4):
            for i in range(30):
                x = rng.normal(0, 1, (10, 3)).astype(np.float32)
                if hour >= 2:
                    x[:, 1] += 1.5  # only the second column shifts
                outputs = {"probability": np.full(10, 0.5)}
                log.log_columns(PredictionBatch(f"h{hour}-{i}", "churn", 10, {"input": x}, outputs))
                clock.advance(seconds=120)
            log.flush()
    result = run_monitor(log, version, window="1h")
    assert [w["drift"]["drifted_columns"] for w in result.windows] == [
        [], [], ["input_1"], ["input_1"]
    ]  # fmt: skip
    issues = {i["kind"] for w in result.windows for i in w["quality"]["issues"]}
    assert not issues & {"missing_column", "extra_column", "type_change"}
