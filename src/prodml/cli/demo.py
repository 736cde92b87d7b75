"""``prodml demo``: the whole loop on embedded defaults, no network, no services.

It trains two models of different flavors on scikit-learn's bundled breast-cancer data set
(569 rows, 30 numeric features, binary target), registers both with signatures, metrics and
reference profiles, makes the better one ``champion``, and predicts through the registry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import typer

from prodml.cli import demo_features
from prodml.cli.demo_serving import running_server, v2_request
from prodml.cli.output import console, print_table
from prodml.errors import ModelExecutionError
from prodml.registry import ModelVersion, Registry
from prodml.settings import Settings

MODEL_NAME = "breast-cancer"


@dataclass(frozen=True)
class Candidate:
    version: ModelVersion
    accuracy: float
    auc: float


def _data() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    frame = load_breast_cancer(as_frame=True).frame
    # Column names with spaces are legal but awkward in every protocol; use snake case.
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    features = frame.drop(columns="target")
    return tuple(
        train_test_split(
            features, frame["target"], test_size=0.3, random_state=0, stratify=frame["target"]
        )
    )


def _score(model: Any, x: Any, y: Any) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, roc_auc_score

    proba = model.predict_proba(x)[:, 1]
    return float(accuracy_score(y, proba >= 0.5)), float(roc_auc_score(y, proba))


def train_and_register(registry: Registry) -> list[Candidate]:
    """Train a logistic regression (sklearn) and boosted trees (LightGBM); register both."""
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, y_test = _data()
    linear = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=500))
    boosted = lgb.LGBMClassifier(
        n_estimators=200, num_leaves=15, learning_rate=0.05, random_state=0, n_jobs=1, verbose=-1
    )
    candidates = []
    for model, params, description in (
        (linear, {"C": 0.05}, "standardised logistic regression"),
        (boosted, {"n_estimators": 200, "num_leaves": 15}, "LightGBM gradient-boosted trees"),
    ):
        model.fit(x_train, y_train)
        accuracy, auc = _score(model, x_test, y_test)
        version = registry.register(
            MODEL_NAME,
            model,
            sample=x_train.head(20),
            training_data=x_train,
            metrics={"accuracy": accuracy, "roc_auc": auc},
            params=params,
            tags={"dataset": "sklearn.breast_cancer", "demo": "true"},
            description=description,
        )
        candidates.append(Candidate(version, accuracy, auc))
    return candidates


def demo(
    home: Annotated[
        Path | None,
        typer.Option(help="Use this PRODML_HOME instead of the configured one."),
    ] = None,
) -> None:
    """Run prodml's main job end to end on embedded defaults (SQLite, local files)."""
    started = time.perf_counter()
    registry = Registry.open(home=home) if home is not None else Registry.open()
    feature_home = (home or Settings().home).expanduser()
    console.rule("[bold]prodml demo")
    console.print("1. train two models on scikit-learn's breast-cancer data and register them")
    candidates = train_and_register(registry)
    print_table(
        None,
        ["version", "flavor", "accuracy", "ROC AUC", "inputs", "sha256"],
        [
            (
                c.version.version,
                c.version.flavor,
                f"{c.accuracy:.4f}",
                f"{c.auc:.4f}",
                len(c.version.signature.inputs),
                c.version.artifact_sha256[:12],
            )
            for c in candidates
        ],
    )

    best = max(candidates, key=lambda c: (c.auc, c.accuracy))
    other = next(c for c in candidates if c is not best)
    registry.set_alias(
        MODEL_NAME,
        "champion",
        best.version.version,
        reason=f"higher holdout ROC AUC ({best.auc:.4f} vs {other.auc:.4f})",
    )
    registry.set_alias(MODEL_NAME, "challenger", other.version.version, reason="runner-up")
    console.print(
        f"2. champion -> {best.version.ref} ({best.version.flavor}); "
        f"challenger -> {other.version.ref}"
    )

    console.print(f"3. load {MODEL_NAME}@champion (sha256 verified) and predict")
    model = registry.load(f"{MODEL_NAME}@champion")
    _, x_test, _, y_test = _data()
    rows = x_test.head(5)
    outputs = model.predict(rows)
    probability = np.asarray(outputs[model.signature.output_names[0]])
    labels = np.asarray(outputs["label"])
    print_table(
        None,
        ["row", "P(benign)", "label", "truth"],
        [
            (i, f"{p:.3f}", int(lab), int(t))
            for i, (p, lab, t) in enumerate(zip(probability, labels, y_test.head(5), strict=True))
        ],
    )
    console.print(f"4. serve {MODEL_NAME}@champion with prodml serve and predict over V2 REST")
    with running_server(f"{MODEL_NAME}@champion", home) as url:
        response = httpx.post(
            f"{url}/v2/models/{MODEL_NAME}/infer", json=v2_request(rows, "demo-1"), timeout=30
        )
        response.raise_for_status()
        body = response.json()
    served = next(o for o in body["outputs"] if o["name"] == model.signature.output_names[0])
    agree = np.allclose(np.asarray(served["data"], dtype=float), probability)
    console.print(
        f"   {url} answered id={body['id']} as {body['model_name']}/{body['model_version']}; "
        f"matches the in-process prediction: {'yes' if agree else 'NO'}; server stopped"
    )
    if not agree:
        raise ModelExecutionError("the served prediction differs from the in-process one")

    console.print("5. feature store: point-in-time training set, online features")
    features = demo_features.run(registry, feature_home)
    console.print(
        f"   {features.training_rows} labelled rows joined point-in-time to customer_stats "
        f"(training set {(features.training_set or '?')[:12]}); registered {features.version.ref} "
        f"(ROC AUC {features.holdout_auc:.3f}); materialized to the online store"
    )
    customers = [0, 1, 2]
    online = demo_features.online_rows(features, customers)
    churn = registry.load(f"{demo_features.MODEL_NAME}@champion").predict(online)
    print_table(
        None,
        ["customer", *demo_features.FEATURES, "P(churn)"],
        [
            (c, *(f"{v:.2f}" for v in online.iloc[i]), f"{churn['probability'][i]:.3f}")
            for i, c in enumerate(customers)
        ],
    )
    features.store.close()

    console.print(
        f"done in {time.perf_counter() - started:.1f} s; "
        f"state in {registry.metadata.engine.url.database}"
    )
