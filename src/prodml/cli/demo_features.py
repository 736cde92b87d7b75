"""The feature-store step of ``prodml demo``: point-in-time training data, online features.

The data is generated (seeded): 300 customers with a daily snapshot of four behaviour features
over the last 60 days, and churn labels at random moments whose odds depend on the features *as
they were then*. A training set built by joining each label to the latest features (a naive join)
would leak the future; the point-in-time join does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prodml.features import (
    Entity,
    FeatureService,
    FeatureStore,
    FeatureView,
    Field,
    ParquetSource,
)
from prodml.registry import ModelVersion, Registry

FEATURES = ("orders_30d", "avg_basket", "days_since_order", "support_tickets")
MODEL_NAME = "churn"
SERVICE = "churn_model"
CUSTOMERS, DAYS = 300, 60


@dataclass(frozen=True)
class FeatureDemo:
    store: FeatureStore
    service: FeatureService
    version: ModelVersion
    training_rows: int
    training_set: str | None
    holdout_auc: float
    now: datetime


def _snapshots(now: datetime, rng: np.random.Generator) -> pd.DataFrame:
    """One row per customer per day: a random walk per feature, so values change over time."""
    days = pd.date_range(end=now.replace(microsecond=0), periods=DAYS, freq="D", tz=UTC)
    ids = np.repeat(np.arange(CUSTOMERS), DAYS)
    steps = rng.normal(size=(CUSTOMERS, DAYS, len(FEATURES))).cumsum(axis=1) * 0.3
    base = np.array([8.0, 40.0, 5.0, 1.0]) + rng.normal(size=(CUSTOMERS, 1, len(FEATURES)))
    values = np.abs(base + steps).reshape(-1, len(FEATURES))
    frame = pd.DataFrame(values, columns=list(FEATURES))
    frame.insert(0, "customer_id", ids.astype("int64"))
    frame["event_timestamp"] = np.tile(days, CUSTOMERS)
    return frame


def _labels(snapshots: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Three label moments per customer; churn odds from the features of the day before."""
    rows = snapshots.sample(n=CUSTOMERS * 3, random_state=1)
    score = (
        -0.35 * rows["orders_30d"]
        + 0.45 * rows["days_since_order"]
        + 0.8 * rows["support_tickets"]
        - 0.02 * rows["avg_basket"]
    )
    probability = 1 / (1 + np.exp(-(score - score.median())))
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            # Labelled a few hours after the snapshot: the join must pick that snapshot.
            "event_timestamp": rows["event_timestamp"] + pd.Timedelta(hours=6),
            "churned": (rng.random(len(rows)) < probability).astype("int64"),
        }
    )


def definitions(source: Path) -> tuple[FeatureService, list[Any]]:
    customer = Entity("customer", join_keys=("customer_id",))
    stats = FeatureView(
        "customer_stats",
        entities=(customer,),
        schema=tuple(Field(name, "float64") for name in FEATURES),
        source=ParquetSource(str(source)),
        ttl=timedelta(days=2),
        online=True,
        owner="demo",
    )
    service = FeatureService(SERVICE, [stats])
    return service, [customer, stats, service]


def run(registry: Registry, home: Path, now: datetime | None = None) -> FeatureDemo:
    """Generate data, apply definitions, build a training set, train, register, materialize."""
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    now = now or datetime.now(UTC)
    rng = np.random.default_rng(7)
    data_dir = home / "demo-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    snapshots = _snapshots(now, rng)
    source = data_dir / "customer_stats.parquet"
    snapshots.to_parquet(source, index=False)
    labels = _labels(snapshots, rng)

    service, defs = definitions(source)
    store = FeatureStore(path=home / "features", definitions=defs)
    store.apply(defs)
    job = store.get_historical_features(labels, service)
    training = job.to_pandas()
    x, y = training[list(FEATURES)], training["churned"]
    split = int(len(training) * 0.75)
    model = lgb.LGBMClassifier(n_estimators=100, num_leaves=7, random_state=0, verbose=-1)
    model.fit(x[:split], y[:split])
    auc = float(roc_auc_score(y[split:], np.asarray(model.predict_proba(x[split:]))[:, 1]))
    version = registry.register(
        MODEL_NAME,
        model,
        sample=x.head(20),
        training_data=x,
        training_set=job.fingerprint,
        metrics={"roc_auc": auc},
        tags={"feature_service": SERVICE, "demo": "true"},
        description="churn from point-in-time customer features",
        alias="champion",
    )
    store.materialize(None, now, progress=False)
    return FeatureDemo(store, service, version, len(training), job.fingerprint, auc, now)


def online_rows(demo: FeatureDemo, customer_ids: list[int]) -> pd.DataFrame:
    """The online features of some customers, as a frame in the model's column order."""
    online = demo.store.get_online_features(
        [{"customer_id": c} for c in customer_ids], demo.service
    )
    return pd.DataFrame({name: online.values[name] for name in FEATURES})
