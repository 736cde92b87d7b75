"""Data quality against a signature and a reference profile."""

from __future__ import annotations

import numpy as np

from prodml.monitoring import check_quality
from prodml.profiles import DatasetProfile
from prodml.types import Signature, TensorSpec

SIG = Signature(
    inputs=(
        TensorSpec("age", "float64"),
        TensorSpec("city", "string", nullable=True),
        TensorSpec("score", "float64", nullable=True),
    )
)


def test_clean_window_has_no_issues() -> None:
    rng = np.random.default_rng(0)
    ref = {
        "age": rng.uniform(18, 90, 1000),
        "city": rng.choice(["oslo", "rome"], 1000),
        "score": rng.normal(0, 1, 1000),
    }
    profile = DatasetProfile.from_data(ref)
    cur = {k: v[:200] for k, v in ref.items()}
    report = check_quality(cur, signature=SIG, reference=profile)
    assert report.ok and report.rows == 200


def test_each_kind_of_issue_is_reported() -> None:
    rng = np.random.default_rng(1)
    profile = DatasetProfile.from_data(
        {
            "age": rng.uniform(18, 90, 1000),
            "city": rng.choice(["oslo", "rome"], 1000),
            "score": rng.normal(0, 1, 1000),
        }
    )
    score = rng.normal(0, 1, 100)
    score[:30] = np.nan
    age = rng.uniform(18, 90, 100)
    age[0] = np.nan
    age[1:6] = 150.0
    cur = {
        "age": age,
        "city": np.array(["oslo"] * 95 + ["lima"] * 5, dtype=object),
        "score": score,
        "extra": np.zeros(100),
    }
    report = check_quality(cur, signature=SIG, reference=profile, range_tolerance=0.1)
    kinds = {(i.column, i.kind) for i in report.issues}
    assert kinds == {
        ("extra", "extra_column"),
        ("age", "missing_values"),
        ("age", "out_of_range"),
        ("city", "unseen_category"),
        ("score", "missing_values"),
    }
    assert report.by_kind("out_of_range")[0].value == 5 / 99
    assert "lima" in report.by_kind("unseen_category")[0].message
    assert report.to_dict()["ok"] is False


def test_schema_violations() -> None:
    report = check_quality(
        {"age": np.array(["x", "y"]), "city": np.array(["a", "b"])}, signature=SIG
    )
    kinds = {(i.column, i.kind) for i in report.issues}
    assert kinds == {("score", "missing_column"), ("age", "type_change")}
