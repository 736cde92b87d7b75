"""Two real models of different quality behind one endpoint, 50/50, with traffic and feedback.

The report must find the truly better model with a passing SRM check; the same traffic with a
variant's requests going missing (a skewed actual split) must flag SRM.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from prodml.registry import Registry
from prodml.routing import (
    EndpointSpec,
    EndpointStore,
    Feedback,
    Served,
    SqlFeedbackStore,
    endpoint_report,
)

UNITS = 3000


def _models() -> tuple[Any, Any, Any, Any]:
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    x, y = frame.drop(columns="target"), frame["target"]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.5, random_state=0, stratify=y
    )
    strong = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x_train, y_train)
    # Same inputs, but it looks at two weak features only, heavily regularised (~63% accurate).
    weak_columns = ColumnTransformer(
        [("weak", StandardScaler(), ["mean_fractal_dimension", "texture_error"])]
    )
    weak = make_pipeline(weak_columns, LogisticRegression(C=0.001)).fit(x_train, y_train)
    return strong, weak, x_test, y_test.to_numpy()


def _spec(name: str) -> EndpointSpec:
    return EndpointSpec.parse(
        {
            "name": name,
            "unit_key": {"source": "header", "name": "x-user-id"},
            "variants": [
                {"name": "champion", "model": "breast-cancer@champion"},
                {"name": "challenger", "model": "breast-cancer/2"},
            ],
            "strategy": {"kind": "fixed", "weights": {"champion": 50, "challenger": 50}},
        }
    )


def _simulate(
    name: str,
    store: EndpointStore,
    log: SqlFeedbackStore,
    labels: dict[str, np.ndarray],
    truth: np.ndarray,
    *,
    drop_challenger: float,
) -> None:
    """Each unit sends one request for a random patient; feedback says whether it was right."""
    store.apply(_spec(name))
    router = store.router(name)
    rng, pick = random.Random(1), np.random.default_rng(2)
    served, feedback = [], []
    for i in range(UNITS):
        unit = f"user-{i}"
        assignment = router.choose(unit, rng)
        # A logging bug that loses some of one variant's requests: the actual split is skewed.
        if assignment.variant == "challenger" and rng.random() < drop_challenger:
            continue
        row = int(pick.integers(len(truth)))
        request_id = f"{name}-{i}"
        served.append(Served(request_id, name, assignment.variant, assignment.phase, unit))
        correct = float(labels[assignment.variant][row] == truth[row])
        feedback.append(Feedback(request_id, correct, label=int(truth[row])))
    log.record_served_many(served)
    log.record_feedback(feedback)


@pytest.mark.slow
def test_report_finds_the_better_model_and_checks_the_split() -> None:
    strong, weak, x_test, truth = _models()
    registry = Registry.open()
    registry.register("breast-cancer", weak, sample=x_test.head(5), alias="champion")
    registry.register("breast-cancer", strong, sample=x_test.head(5))
    labels = {
        "champion": registry.load("breast-cancer@champion").predict(x_test)["label"],
        "challenger": registry.load("breast-cancer/2").predict(x_test)["label"],
    }
    store = EndpointStore.open()
    log = SqlFeedbackStore(store.engine)

    _simulate("fair", store, log, labels, truth, drop_challenger=0.0)
    report = endpoint_report(store, "fair")
    assert report.analysis is not None
    assert not report.analysis.srm.mismatch
    assert report.analysis.control == "champion"
    reward = report.analysis.variant("challenger").metric("reward")
    assert reward.mean > 0.95 and reward.control_mean < 0.7
    assert reward.relative is not None and reward.relative.ci_low > 0
    assert reward.p_value is not None and reward.p_value < 1e-6
    assert reward.chance_to_beat_control is not None and reward.chance_to_beat_control > 0.999
    units = {t.variant: t.units for t in report.traffic}
    assert abs(units["champion"] - units["challenger"]) < 0.1 * UNITS

    _simulate("skewed", store, log, labels, truth, drop_challenger=0.3)
    skewed = endpoint_report(store, "skewed")
    assert skewed.analysis is not None
    assert skewed.analysis.srm.mismatch
    assert skewed.analysis.srm.p_value < 0.001
