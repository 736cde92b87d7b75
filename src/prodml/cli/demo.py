"""``prodml demo``: the whole loop on embedded defaults, no network, no services.

1. Train two models of different flavors on scikit-learn's bundled breast-cancer data set (569
   rows, 30 numeric features, binary target); register both with signatures, metrics and
   reference profiles.
2. Make the better one ``champion``, the other ``challenger`` (audited alias moves).
3. Load the champion through the registry (sha256-verified) and predict.
4. Feature store: a point-in-time training set from generated customer data, a churn model
   registered with that training set in its lineage, features materialized online.
5. ``prodml serve`` in a subprocess: V2 REST predictions, churn scored from online features by
   customer id, a 50/50 A/B test of champion vs challenger with feedback and its report, then
   traffic whose measurements shift half-way; every prediction is logged.
6. The monitor reads the prediction log, finds the shift, fires the alert and writes an HTML
   report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import typer

from prodml.cli import demo_features, demo_loop
from prodml.cli.demo_serving import running_server, v2_request
from prodml.cli.experiments import show_report
from prodml.cli.monitor import alert_rules, show_result
from prodml.cli.output import console, print_table
from prodml.errors import ModelExecutionError
from prodml.registry import ModelVersion, Registry
from prodml.routing import EndpointStore, endpoint_report
from prodml.settings import Settings

MODEL_NAME = "breast-cancer"
# Rows served before the demo shifts the traffic: two monitoring windows of 72 rows.
SHIFT_AT = 144


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
            # Half is held out: 285 unseen rows serve as the demo's production traffic.
            features,
            frame["target"],
            test_size=0.5,
            random_state=0,
            stratify=frame["target"],
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
    state = (home or Settings().home).expanduser()
    console.rule("[bold]prodml demo")
    candidates = register_candidates(registry)
    choose_champion(registry, candidates)
    x_test, y_test = predict_in_process(registry)
    features = build_features(registry, state)
    log_dir = state / "prediction-log" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    serve_and_experiment(registry, home, state, log_dir, x_test, y_test, features)
    monitor(registry, state, log_dir)
    console.print(f"done in {time.perf_counter() - started:.1f} s; state in {state}")


def register_candidates(registry: Registry) -> list[Candidate]:
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
    return candidates


def choose_champion(registry: Registry, candidates: list[Candidate]) -> None:
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
        f"challenger -> {other.version.ref} ({other.version.flavor})"
    )


def predict_in_process(registry: Registry) -> tuple[Any, Any]:
    console.print(f"3. load {MODEL_NAME}@champion (sha256 verified) and predict")
    model = registry.load(f"{MODEL_NAME}@champion")
    _, x_test, _, y_test = _data()
    outputs = model.predict(x_test.head(5))
    probability = np.asarray(outputs["probability"])
    labels = np.asarray(outputs["label"])
    print_table(
        None,
        ["row", "P(benign)", "label", "truth"],
        [
            (i, f"{p:.3f}", int(lab), int(t))
            for i, (p, lab, t) in enumerate(zip(probability, labels, y_test.head(5), strict=True))
        ],
    )
    return x_test, y_test


def build_features(registry: Registry, state: Path) -> demo_features.FeatureDemo:
    console.print("4. feature store: a point-in-time training set, features materialized online")
    features = demo_features.run(registry, state)
    console.print(
        f"   {features.training_rows} labelled rows joined point-in-time to customer_stats "
        f"(training set {(features.training_set or '?')[:12]}); registered "
        f"{features.version.ref} (ROC AUC {features.holdout_auc:.3f}) with it in its lineage"
    )
    return features


def serve_and_experiment(
    registry: Registry,
    home: Path | None,
    state: Path,
    log_dir: Path,
    x_test: Any,
    y_test: Any,
    features: demo_features.FeatureDemo,
) -> None:
    console.print("5. prodml serve: REST predictions, online features, an A/B test, logging")
    demo_loop.apply_ab_endpoint(EndpointStore.open(home=home))
    config = demo_loop.write_server_config(state, log_dir)
    customers = [0, 1, 2]
    local_churn = registry.load("churn@champion").predict(
        demo_features.online_rows(features, customers)
    )["probability"]
    features.store.close()
    champion = registry.load(f"{MODEL_NAME}@champion")
    with running_server(["-f", str(config)], home) as url:
        body = httpx.post(
            f"{url}/v2/models/{MODEL_NAME}/infer", json=v2_request(x_test.head(5), "demo-1")
        ).json()
        served = np.asarray(body["outputs"][0]["data"], dtype=float)
        _check(served, champion.predict(x_test.head(5))["probability"], "V2 REST")
        console.print(
            f"   {url}: V2 infer answered id={body['id']} as "
            f"{body['model_name']}/{body['model_version']}, same as in-process"
        )
        churn = demo_loop.served_churn(url, customers)
        _check(np.asarray(churn), np.asarray(local_churn), "online-feature")
        console.print(
            "   churn scored by customer id alone (features looked up online): "
            + ", ".join(f"customer {c}: {p:.3f}" for c, p in zip(customers, churn, strict=True))
        )
        traffic = demo_loop.run_ab_test(url, x_test, y_test, users=300)
        console.print(
            f"   A/B test {demo_loop.ENDPOINT}: {traffic.requests} users, "
            + ", ".join(f"{v} {n}" for v, n in sorted(traffic.variants.items()))
            + "; feedback sent (reward = right label)"
        )
        # The 5 rows above, then the rest of the holdout: unseen rows, first as they are, then
        # with most measurements in another unit.
        clean = x_test.iloc[5:SHIFT_AT]
        moved, columns = demo_loop.shifted(x_test.iloc[SHIFT_AT:])
        demo_loop.send_traffic(url, clean)
        demo_loop.send_traffic(url, moved)
        console.print(
            f"   then {len(clean)} more unseen rows, and {len(moved)} whose {len(columns)} "
            "size and shape measurements arrive 1.5x larger (an upstream unit change); server "
            "stopped, log flushed"
        )
    show_report(endpoint_report(EndpointStore.open(home=home), demo_loop.ENDPOINT))


def monitor(registry: Registry, state: Path, log_dir: Path) -> None:
    from prodml.monitoring.log import ParquetPredictionLog
    from prodml.monitoring.monitor import run_monitor
    from prodml.monitoring.report_html import write_html_report

    console.print("6. monitor the prediction log against the champion's reference profile")
    log = ParquetPredictionLog(log_dir)
    try:
        result = run_monitor(
            log,
            registry.resolve(f"{MODEL_NAME}@champion"),
            endpoint=MODEL_NAME,
            window=f"{SHIFT_AT // 2}rows",
            rules=alert_rules(),
        )
    finally:
        log.close()
    show_result(result)
    report = write_html_report(result, state / "monitoring-report.html")
    console.print(f"   HTML report: {report}")


def _check(served: Any, local: Any, what: str) -> None:
    if not np.allclose(np.asarray(served, dtype=float), np.asarray(local, dtype=float)):
        raise ModelExecutionError(f"the {what} prediction differs from the in-process one")
