"""Endpoints in the server: variants behind one name, sticky assignment, the variant in every
answer, feedback by request id, shadows logged beside the primary, live changes, and an A/B
test over HTTP whose report finds the better model."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from prodml.monitoring.log import ParquetPredictionLog
from prodml.routing import EndpointSpec, EndpointStore, endpoint_report
from prodml.serving import DefaultLoader, InMemoryLoader, ServerConfig, TestServer
from prodml.serving.config import PredictionLogConfig
from prodml.testing.fakes import FakeModel

UNITS = 160  # the sklearn runtime answers a 1-row request in ~60 ms on the 2-core box


def _times(k: float) -> FakeModel:
    def fn(cols: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"y": np.asarray(cols["x"], np.float64) * k}

    return FakeModel(fn=fn)


def _spec(strategy: dict[str, Any], variants: tuple[str, ...] = ("a", "b")) -> EndpointSpec:
    return EndpointSpec.parse(
        {
            "name": "ep",
            "unit_key": {"source": "header", "name": "x-user-id"},
            "variants": [{"name": v, "model": f"m/{i + 1}"} for i, v in enumerate(variants)],
            "strategy": strategy,
        }
    )


def _body(x: float, rid: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [x]}]
    }
    if rid:
        body["id"] = rid
    return body


def test_variants_feedback_shadow_and_live_changes(tmp_path: Path) -> None:
    store = EndpointStore.open()
    store.apply(_spec({"kind": "fixed", "weights": {"a": 50, "b": 50}}))
    loader = InMemoryLoader({"ep:a": _times(2), "ep:b": _times(3), "ep:c": _times(5)})
    config = ServerConfig(
        endpoints=True,
        endpoint_poll_s=0.2,
        prediction_log=PredictionLogConfig(path=str(tmp_path / "log"), flush_interval_s=0.1),
    )
    with TestServer(loader, config) as server:
        url = server.url
        seen: dict[str, set[str]] = {}
        for user in range(30):
            for _ in range(2):
                r = httpx.post(
                    f"{url}/v2/models/ep/infer", json=_body(1.0), headers={"x-user-id": str(user)}
                )
                assert r.status_code == 200, r.text
                doc = r.json()
                variant = r.headers["x-prodml-variant"]
                assert doc["parameters"]["variant"] == variant and doc["model_name"] == "ep"
                assert doc["outputs"][0]["data"] == [{"a": 2.0, "b": 3.0}[variant]]
                seen.setdefault(str(user), set()).add(variant)
        assert all(len(v) == 1 for v in seen.values())  # sticky per unit
        assert set().union(*seen.values()) == {"a", "b"}

        # Other protocols answer from the endpoint too, and say which variant served them.
        rec = httpx.post(f"{url}/predict/ep", json={"x": 1.0}, headers={"x-request-id": "r-1"})
        v1 = httpx.post(f"{url}/v1/models/ep:predict", json={"instances": [1.0]})
        assert rec.headers["x-prodml-variant"] in {"a", "b"} and v1.status_code == 200

        # Feedback: recorded, repeat harmless, unknown ids refused by name with nothing written.
        fb = httpx.post(f"{url}/v1/feedback", json={"request_id": "r-1", "reward": 1})
        again = httpx.post(
            f"{url}/v1/endpoints/ep/feedback", json=[{"request_id": "r-1", "value": 1}]
        )
        unknown = httpx.post(
            f"{url}/v1/feedback",
            json=[{"request_id": "r-1", "reward": 1}, {"request_id": "nope", "label": 1}],
        )
        assert fb.json() == {"recorded": 1, "unchanged": 0}
        assert again.json() == {"recorded": 0, "unchanged": 1}
        assert unknown.status_code == 404 and "nope" in unknown.json()["error"]

        # A live change: a shadow endpoint with a new variant converges within seconds.
        store.apply(
            _spec({"kind": "shadow", "primary": "a", "shadows": ["c"]}, variants=("a", "c"))
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = httpx.post(f"{url}/v2/models/ep/infer", json=_body(1.0, "s-1"))
            if r.headers["x-prodml-variant"] == "a" and "ep:c" in str(
                httpx.get(f"{url}/v2/models").json()
            ):
                break
            time.sleep(0.2)
        r = httpx.post(f"{url}/v2/models/ep/infer", json=_body(1.0, "s-2"))
        assert r.json()["outputs"][0]["data"] == [2.0]  # the shadow never answers
        time.sleep(0.3)
    with ParquetPredictionLog(tmp_path / "log") as log:  # reads segments' schemas by name
        table = log.read().to_pandas().set_index("request_id")
    shadow = table.loc["s-2#c"]
    assert shadow["variant"] == "c" and shadow["shadow_of"] == "s-2" and shadow["out_y"] == 5.0
    assert table.loc["s-2", "variant"] == "a" and table.loc["r-1", "endpoint"] == "ep"


@pytest.fixture(scope="module")
def breast_cancer() -> Any:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame


def test_ab_over_http_report_finds_the_better_model_and_srm_passes(breast_cancer: Any) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from prodml.registry import Registry

    x, y = breast_cancer.drop(columns="target"), breast_cancer["target"]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.5, random_state=0, stratify=y
    )
    strong = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x_train, y_train)
    weak_cols = ColumnTransformer(
        [("weak", StandardScaler(), ["mean_fractal_dimension", "texture_error"])]
    )
    weak = make_pipeline(weak_cols, LogisticRegression(C=0.001)).fit(x_train, y_train)
    registry = Registry.open()
    registry.register("bc", weak, sample=x_test.head(5), alias="champion")
    registry.register("bc", strong, sample=x_test.head(5))
    store = EndpointStore.open()
    store.apply(
        EndpointSpec.parse(
            {
                "name": "bc-ab",
                "unit_key": {"source": "header", "name": "x-user-id"},
                "variants": [
                    {"name": "champion", "model": "bc@champion"},
                    {"name": "challenger", "model": "bc/2"},
                ],
                "strategy": {"kind": "fixed", "weights": {"champion": 50, "challenger": 50}},
            }
        )
    )
    records = x_test.to_dict(orient="records")
    truth = y_test.to_numpy()
    rng = np.random.default_rng(0)
    feedback = []
    server = TestServer(DefaultLoader(), ServerConfig(endpoints=True), grpc=False)
    with server, httpx.Client(base_url=server.url) as client:
        for user in range(UNITS):
            row = int(rng.integers(len(records)))
            r = client.post("/predict/bc-ab", json=records[row], headers={"x-user-id": f"u{user}"})
            assert r.status_code == 200, r.text
            correct = float(r.json()["label"] == truth[row])
            feedback.append({"request_id": r.headers["x-request-id"], "reward": correct})
        done = client.post("/v1/feedback", json=feedback)
    assert done.json() == {"recorded": UNITS, "unchanged": 0}
    report = endpoint_report(store, "bc-ab")
    assert report.analysis is not None
    assert not report.analysis.srm.mismatch
    reward = report.analysis.variant("challenger").metric("reward")
    assert reward.mean > reward.control_mean
    assert reward.p_value is not None and reward.p_value < 1e-3
