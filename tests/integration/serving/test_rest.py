"""The REST app over real HTTP: V2 rules, errors by status, V1, SageMaker, records, docs."""

from __future__ import annotations

import httpx
import numpy as np
import orjson
import pytest

from prodml.serving import TestServer


def _infer(server: TestServer, body: object, model: str = "m", **kw: object) -> httpx.Response:
    return httpx.post(f"{server.url}/v2/models/{model}/infer", json=body, **kw)  # type: ignore[arg-type]


def _x(data: list[float], shape: list[int] | None = None) -> dict[str, object]:
    return {
        "inputs": [{"name": "x", "shape": shape or [len(data)], "datatype": "FP64", "data": data}]
    }


def test_health_and_metadata(server: TestServer) -> None:
    assert httpx.get(f"{server.url}/v2/health/live").status_code == 200
    assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200
    meta = httpx.get(f"{server.url}/v2").json()
    assert set(meta) == {"name", "version", "extensions"}
    assert "binary_tensor_data" in meta["extensions"]
    model = httpx.get(f"{server.url}/v2/models/clf").json()
    assert model["name"] == "clf" and model["platform"]
    assert [i["name"] for i in model["inputs"]] == ["a", "b"]
    assert model["inputs"][0] == {"name": "a", "datatype": "FP32", "shape": [-1]}
    assert httpx.get(f"{server.url}/v2/models/clf/versions/1").status_code == 200
    assert httpx.get(f"{server.url}/v2/models/clf/ready").status_code == 200
    assert httpx.get(f"{server.url}/v2/models/clf/versions/9/ready").status_code == 503
    assert httpx.get(f"{server.url}/v2/models/nope/ready").status_code == 404
    assert sorted(httpx.get(f"{server.url}/v2/models").json()["models"]) == ["clf", "m", "slow"]


def test_infer_echoes_id_and_answers_in_order(server: TestServer) -> None:
    r = _infer(server, {**_x([1, 2, 3]), "id": "abc"})
    assert r.status_code == 200
    doc = r.json()
    assert doc["id"] == "abc" and doc["model_name"] == "m" and doc["model_version"] == "1"
    assert doc["outputs"] == [
        {"name": "y", "datatype": "FP64", "shape": [3], "data": [2.0, 4.0, 6.0]}
    ]
    assert "id" not in _infer(server, _x([1])).json()


def test_versioned_infer_and_unknown_version(server: TestServer) -> None:
    assert httpx.post(f"{server.url}/v2/models/m/versions/1/infer", json=_x([1])).status_code == 200
    r = httpx.post(f"{server.url}/v2/models/m/versions/7/infer", json=_x([1]))
    assert r.status_code == 404 and "7" in r.json()["error"]


def test_requested_outputs(server: TestServer) -> None:
    body = {
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "FP32", "data": [1, -3]},
            {"name": "b", "shape": [2], "datatype": "FP32", "data": [1, 1]},
        ],
        "outputs": [{"name": "label"}],
    }
    doc = _infer(server, body, "clf").json()
    assert [o["name"] for o in doc["outputs"]] == ["label"]
    assert doc["outputs"][0]["data"] == [1, 0]
    body["outputs"] = [{"name": "nope"}]
    assert _infer(server, body, "clf").status_code == 400


def test_one_matrix_for_column_inputs(server: TestServer) -> None:
    body = {
        "inputs": [
            {"name": "features", "shape": [2, 2], "datatype": "FP32", "data": [[1, 1], [-3, 1]]}
        ]
    }
    assert _infer(server, body, "clf").json()["outputs"][1]["data"] == [1, 0]


def test_binary_request_and_binary_output(server: TestServer) -> None:
    raw = np.array([1.5, 2.5], dtype="<f8").tobytes()
    head = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2],
                    "datatype": "FP64",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    )
    r = httpx.post(
        f"{server.url}/v2/models/m/infer",
        content=head + raw,
        headers={"Inference-Header-Content-Length": str(len(head))},
    )
    assert r.status_code == 200
    json_len = int(r.headers["inference-header-content-length"])
    doc = orjson.loads(r.content[:json_len])
    assert doc["outputs"][0]["parameters"]["binary_data_size"] == 16
    assert np.frombuffer(r.content[json_len:], "<f8").tolist() == [3.0, 5.0]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (_x([1, 2], [3]), 400),  # element count vs shape
        ({"inputs": [{"name": "z", "shape": [1], "datatype": "FP64", "data": [1]}]}, 400),
        (_x([-1.0]), 400),  # the runtime's validation
        (b"{", 400),
    ],
)
def test_bad_input_is_400_with_error_body(server: TestServer, body: object, status: int) -> None:
    kw = {"content": body} if isinstance(body, bytes) else {"json": body}
    r = httpx.post(f"{server.url}/v2/models/m/infer", **kw)
    assert r.status_code == status
    assert isinstance(r.json()["error"], str) and r.json()["error"]


def test_unknown_model_is_404(server: TestServer) -> None:
    r = _infer(server, _x([1]), "nope")
    assert r.status_code == 404 and "nope" in r.json()["error"]


def test_body_over_the_limit_is_413(server: TestServer) -> None:
    r = _infer(server, _x([1.0] * 2000))
    assert r.status_code == 413


def test_timeout_is_504_from_config_and_per_request(server: TestServer) -> None:
    r = _infer(server, _x([1]), "slow")
    assert r.status_code == 504
    r = _infer(server, {**_x([1]), "parameters": {"timeout": 1000}}, "m")  # 1 ms is plenty
    assert r.status_code == 200


def test_v1_predict_rows_and_columns(server: TestServer) -> None:
    r = httpx.post(f"{server.url}/v1/models/m:predict", json={"instances": [1, 2]})
    assert r.json() == {"predictions": [2.0, 4.0]}
    r = httpx.post(
        f"{server.url}/v1/models/clf:predict",
        json={"instances": [{"a": 1, "b": 1}, {"a": -3, "b": 1}]},
    )
    preds = r.json()["predictions"]
    assert [p["label"] for p in preds] == [1, 0] and 0 < preds[0]["probability"] < 1
    r = httpx.post(f"{server.url}/v1/models/clf:predict", json={"inputs": {"a": [1], "b": [1]}})
    assert r.json()["outputs"]["label"] == [1]
    assert httpx.post(f"{server.url}/v1/models/m:predict", json={"x": 1}).status_code == 400


def test_sagemaker_json_and_csv(server: TestServer) -> None:
    assert httpx.get(f"{server.url}/ping").status_code == 200
    headers = {"X-Amzn-SageMaker-Target-Model": "clf"}
    r = httpx.post(
        f"{server.url}/invocations",
        content=b"1,1\n-3,1\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert [p["label"] for p in r.json()["predictions"]] == [1, 0]
    r = httpx.post(f"{server.url}/invocations", json=[[1, 1]], headers=headers)
    assert r.json()["predictions"][0]["label"] == 1
    r = httpx.post(f"{server.url}/invocations", json=[[1, 1]])
    assert r.status_code == 404  # several models: the header must name one
    r = httpx.post(
        f"{server.url}/invocations", content=b"a,b", headers={**headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 400


def test_named_feature_records(server: TestServer) -> None:
    r = httpx.post(f"{server.url}/predict/clf", json={"a": 1, "b": 1})
    assert r.json()["label"] == 1 and 0.5 < r.json()["probability"] < 1
    assert r.headers["x-model-version"] == "1"
    r = httpx.post(f"{server.url}/predict/clf", json=[{"a": 1, "b": 1}, {"a": -3, "b": 1}])
    assert [p["label"] for p in r.json()] == [1, 0]
    r = httpx.post(f"{server.url}/predict/clf", json=[{"a": 1}])
    assert r.status_code == 400 and "'b'" in r.json()["error"]


def test_openapi_docs_and_metrics(server: TestServer) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/v2/models/{name}/infer" in doc["paths"]
    page = httpx.get(f"{server.url}/docs")
    assert page.status_code == 200 and "/v2/models/{name}/infer" in page.text
    _infer(server, _x([1]))
    text = httpx.get(f"{server.url}/metrics").text
    for name in (
        "prodml_requests_total",
        "prodml_request_duration_seconds_bucket",
        "prodml_queue_duration_seconds",
        "prodml_compute_duration_seconds",
        "prodml_batch_size_rows_bucket",
        "prodml_inference_rows_total",
        "prodml_executions_total",
        "prodml_requests_in_flight",
        "prodml_queue_depth_rows",
        "prodml_model_load_seconds",
    ):
        assert name in text, name
    assert 'protocol="rest",status="200",version="1"' in text
    assert 'status="404"' in text


def test_repository_index(server: TestServer) -> None:
    index = httpx.post(f"{server.url}/v2/repository/index", json={}).json()
    assert {(m["name"], m["state"]) for m in index} >= {("m", "READY"), ("clf", "READY")}
    assert httpx.post(f"{server.url}/v2/repository/models/zz/load").status_code == 404


def test_unknown_route_and_method(server: TestServer) -> None:
    assert httpx.get(f"{server.url}/nope").status_code == 404
    assert httpx.delete(f"{server.url}/v2/health/live").status_code == 405
