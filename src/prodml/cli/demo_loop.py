"""The served half of ``prodml demo``: an A/B test with feedback, online features, drift.

One ``prodml serve`` process serves the breast-cancer champion, the churn model (which reads
its features from the online store) and the A/B endpoint, and logs every prediction. The demo
then sends traffic as clients would, sends feedback, reads the experiment report, injects a
shift, and lets the monitor find it in the prediction log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml

from prodml.cli.demo_serving import v2_request
from prodml.errors import ModelExecutionError
from prodml.routing import EndpointSpec, EndpointStore

ENDPOINT = "breast-cancer-ab"
MODEL = "breast-cancer"


def write_server_config(home: Path, log_dir: Path) -> Path:
    """The serving YAML: two models, every endpoint in the store, and the prediction log."""
    config = {
        "models": [
            {"ref": f"{MODEL}@champion"},
            {"ref": "churn@champion", "feature_service": "churn_model"},
        ],
        "endpoints": True,
        "endpoint_poll_s": 1,
        "feature_store": {"path": str(home / "features")},
        "prediction_log": {"path": str(log_dir), "flush_interval_s": 0.5},
    }
    path = home / "demo-serve.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def apply_ab_endpoint(store: EndpointStore) -> None:
    """champion vs challenger, 50/50, sticky per user (the ``x-user-id`` header)."""
    store.apply(
        EndpointSpec.parse(
            {
                "name": ENDPOINT,
                "unit_key": {"source": "header", "name": "x-user-id"},
                "variants": [
                    {"name": "champion", "model": f"{MODEL}@champion"},
                    {"name": "challenger", "model": f"{MODEL}@challenger"},
                ],
                "strategy": {"kind": "fixed", "weights": {"champion": 50, "challenger": 50}},
                "analysis": {"metric_kind": "proportion", "higher_is_better": True},
            }
        )
    )


@dataclass(frozen=True)
class AbTraffic:
    requests: int
    variants: dict[str, int]


def run_ab_test(url: str, rows: pd.DataFrame, truth: pd.Series, users: int) -> AbTraffic:
    """Each user sends one request; the reward is 1 when the served label was right."""
    rng = np.random.default_rng(11)
    picks = rng.integers(0, len(rows), size=users)
    feedback: list[dict[str, Any]] = []
    variants: dict[str, int] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for user, pick in enumerate(picks):
            request_id = f"ab-{user}"
            response = client.post(
                f"/v2/models/{ENDPOINT}/infer",
                json=v2_request(rows.iloc[[pick]], request_id),
                headers={"x-user-id": f"user-{user}"},
            )
            response.raise_for_status()
            body = response.json()
            variant = response.headers["x-prodml-variant"]
            variants[variant] = variants.get(variant, 0) + 1
            label = _output(body, "label")[0]
            feedback.append({"request_id": request_id, "reward": float(label == truth.iloc[pick])})
        client.post("/v1/feedback", json=feedback).raise_for_status()
    return AbTraffic(len(picks), variants)


def served_churn(url: str, customers: list[int]) -> list[float]:
    """P(churn) for some customers, by id only: the server looks their features up."""
    response = httpx.post(
        f"{url}/predict/churn", json=[{"customer_id": c} for c in customers], timeout=30
    )
    response.raise_for_status()
    return [float(p["probability"]) for p in response.json()]


def send_traffic(url: str, rows: pd.DataFrame, batch: int = 50) -> None:
    """Send ``rows`` to the breast-cancer model in batches, as a scoring client would."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for start in range(0, len(rows), batch):
            chunk = rows.iloc[start : start + batch]
            request_id = f"traffic-{start}"
            client.post(
                f"/v2/models/{MODEL}/infer", json=v2_request(chunk, request_id)
            ).raise_for_status()


def shifted(rows: pd.DataFrame, factor: float = 1.5) -> tuple[pd.DataFrame, list[str]]:
    """The same rows with every "mean_*" and "worst_*" measurement scaled (20 of 30 columns),
    as a unit change upstream would."""
    columns = [c for c in rows.columns if c.startswith(("mean_", "worst_"))]
    out = rows.copy()
    out[columns] = out[columns] * factor
    return out, columns


def _output(body: dict[str, Any], name: str) -> list[Any]:
    for output in body["outputs"]:
        if output["name"] == name:
            return list(output["data"])
    raise ModelExecutionError(f"the response has no output {name!r}")
