"""``prodml monitor run | report`` on a real prediction log with a shift injected half-way."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from prodml.monitoring.log import ParquetPredictionLog, PredictionRecord
from prodml.registry import Registry
from tests.conftest import CliRunner

COLUMNS = ["a", "b", "c", "d"]


@pytest.fixture
def drifted_log(tmp_path: Path) -> Path:
    """400 clean rows, then 400 rows whose a and b moved by two standard deviations."""
    rng = np.random.default_rng(3)
    train = pd.DataFrame(rng.normal(size=(1000, 4)), columns=COLUMNS)
    model = LogisticRegression().fit(train, (train["a"] > 0).astype(int))
    with Registry.open() as registry:
        registry.register("watched", model, sample=train.head(10), training_data=train)
    clean = pd.DataFrame(rng.normal(size=(400, 4)), columns=COLUMNS)
    shifted = pd.DataFrame(rng.normal(size=(400, 4)), columns=COLUMNS)
    shifted[["a", "b"]] += 2.0
    root = tmp_path / "log"
    log = ParquetPredictionLog(root, flush_interval_s=0.05)
    for i, row in enumerate(pd.concat([clean, shifted]).to_dict("records")):
        proba = float(model.predict_proba(pd.DataFrame([row]))[0, 1])
        log.log(
            PredictionRecord(
                f"r{i}",
                "watched",
                inputs={str(k): v for k, v in row.items()},
                outputs={"probability": proba, "label": int(proba > 0.5)},
                model_name="watched",
                model_version="1",
            )
        )
    log.close()
    return root


def test_run_finds_the_shift_and_only_after_it(cli: CliRunner, drifted_log: Path) -> None:
    code, out, err = cli(
        "monitor", "run", "--log", str(drifted_log), "--model", "watched/1",
        "--window", "200rows", "--alert", "drift.share>=0.5", "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    shares = [w["metrics"]["drift.share"] for w in result["windows"]]
    assert len(shares) == 4
    assert max(shares[:2]) < 0.5 <= min(shares[2:])
    assert sorted(result["windows"][2]["drift"]["drifted_columns"]) == ["a", "b"]
    assert result["alerts"], "the drift alert fires"
    # Against the first window: the model's output moves with a, and so does the joint picture.
    for metric in ("drift.prediction.drifted", "drift.multivariate.drifted"):
        flags = [w["metrics"].get(metric) for w in result["windows"]]
        assert flags == [None, 0.0, 1.0, 1.0], metric


def test_report_writes_a_self_contained_page(
    cli: CliRunner, drifted_log: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    code, _, err = cli(
        "monitor", "report", "--log", str(drifted_log), "--model", "watched/1",
        "--window", "200rows", "--out", str(page),
    )  # fmt: skip
    assert code == 0, err
    html = page.read_text()
    assert "<svg" in html
    assert "<script" not in html
    # Nothing is fetched when the page opens (the SVG namespace URI is a name, not a fetch).
    assert not re.search(r"(src|href)=['\"]?https?:", html)
    assert "watched" in html


@pytest.mark.parametrize(
    ("extra", "code", "fragment"),
    [
        (["--window", "soon"], 5, "window"),
        (["--every", "never"], 5, "--every"),
        (["--model", "absent@champion"], 3, "no registered model"),
    ],
)
def test_bad_monitor_input_is_one_clear_line(
    cli: CliRunner, drifted_log: Path, extra: list[str], code: int, fragment: str
) -> None:
    args = ["monitor", "run", "--log", str(drifted_log), "--model", "watched/1", *extra]
    got, _, err = cli(*args)
    assert got == code, err
    assert fragment in err
    assert "Traceback" not in err


def test_maintain_compacts_finished_days_and_applies_retention(
    cli: CliRunner, tmp_path: Path
) -> None:
    root = tmp_path / "log"
    now = datetime.now(UTC)
    for days_ago in (10, 2, 2, 2):  # one old partition; three segments on one recent day
        log = ParquetPredictionLog(root, flush_interval_s=0.05)
        log.log(
            PredictionRecord(
                f"r{days_ago}-{len(list(root.rglob('*.parquet'))) if root.exists() else 0}",
                "scorer",
                inputs={"x": 1.0},
                time=now - timedelta(days=days_ago),
            )
        )
        log.close()
    recent = now.date() - timedelta(days=2)
    folder = root / "endpoint=scorer" / f"date={recent.isoformat()}"
    assert len(list(folder.glob("*.parquet"))) == 3
    code, out, err = cli(
        "monitor", "maintain", "--log", str(root), "--retention-days", "5", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["segments_merged"] == 3
    assert len(result["partitions_removed"]) == 1
    assert len(list(folder.glob("*.parquet"))) == 1
    assert not (root / "endpoint=scorer" / f"date={(now.date() - timedelta(days=10))}").exists()
    reader = ParquetPredictionLog(root)
    try:
        assert reader.read().num_rows == 3  # compaction kept every row of the recent day
    finally:
        reader.close()
