"""Staying up: swaps under load, overload answers, readiness, worker processes and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from prodml.serving import InMemoryLoader, ServerConfig, TestServer
from prodml.serving.config import BatchingConfig, ModelConfig
from prodml.testing.fakes import FakeModel


def _body(v: float) -> dict[str, object]:
    return {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [v]}]}


def test_swap_under_load_loses_nothing_and_never_mixes_versions() -> None:
    old = FakeModel(fn=lambda c: {"y": np.asarray(c["x"], np.float64) * 2.0}, delay_s=0.001)
    new = FakeModel(fn=lambda c: {"y": np.asarray(c["x"], np.float64) * 3.0}, delay_s=0.001)
    loader = InMemoryLoader({"m": old})
    results: list[tuple[int, str, float]] = []
    stop = threading.Event()
    with TestServer(loader, grpc=False) as server:

        def hammer() -> None:
            with httpx.Client(base_url=server.url) as client:
                while not stop.is_set():
                    r = client.post("/v2/models/m/infer", json=_body(1.0))
                    doc = r.json()
                    results.append(
                        (
                            r.status_code,
                            doc.get("model_version", ""),
                            doc["outputs"][0]["data"][0] if r.status_code == 200 else -1.0,
                        )
                    )

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        while len(results) < 20:
            time.sleep(0.01)
        loader.publish("m", "2", new)
        served = server.call(server.dataplane.load("m"))
        assert served.version == "2"
        seen = len(results)
        while len(results) < seen + 20:
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join()
        versions = {e.name: sorted(e.versions) for e in server.dataplane.repository.entries()}
    assert results and all(status == 200 for status, _, _ in results)
    # Each answer comes from exactly one version: its value matches the version it names.
    assert all((v, y) in {("1", 2.0), ("2", 3.0)} for _, v, y in results)
    assert {v for _, v, _ in results} == {"1", "2"}
    assert versions == {"m": ["2"]}  # the old version drained and was dropped


def test_concurrency_cap_answers_429_with_retry_after() -> None:
    loader = InMemoryLoader({"m": FakeModel(delay_s=0.2)})
    # A thread executor keeps the loop free to read the second request while the first runs.
    config = ServerConfig(
        models=(ModelConfig(ref="m", batching=BatchingConfig(executor="thread")),),
        max_concurrency=1,
    )
    with TestServer(loader, config, grpc=False) as server:
        first = threading.Thread(
            target=httpx.post,
            args=(f"{server.url}/v2/models/m/infer",),
            kwargs={"json": _body(1.0)},
        )
        first.start()
        time.sleep(0.05)
        r = httpx.post(f"{server.url}/v2/models/m/infer", json=_body(1.0))
        first.join()
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1


def test_live_while_loading_and_ready_only_when_warmed() -> None:
    gate = threading.Event()

    class SlowLoader(InMemoryLoader):
        def load(self, config: ModelConfig):  # type: ignore[no-untyped-def]
            gate.wait(10)
            return super().load(config)

    model = FakeModel()
    server = TestServer(SlowLoader({"m": model}), grpc=False, wait_ready=False).start()
    try:
        assert httpx.get(f"{server.url}/v2/health/live").status_code == 200
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 503
        assert httpx.get(f"{server.url}/v2/models/m/ready").status_code == 503
        # A request during loading is held until the model is ready, not refused.
        held: list[int] = []
        t = threading.Thread(
            target=lambda: held.append(
                httpx.post(f"{server.url}/v2/models/m/infer", json=_body(1.0)).status_code
            )
        )
        t.start()
        time.sleep(0.1)
        gate.set()
        t.join()
        server.call(server.app.wait_loaded())
        assert held == [200] and model.warmed
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200
    finally:
        server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_workers_share_the_port_and_drain_on_sigterm(lgbm_file: Path, tmp_path: Path) -> None:
    port = _free_port()
    cfg = tmp_path / "serve.json"
    cfg.write_text(
        json.dumps(
            {
                "port": port,
                "grpc_port": None,
                "workers": 2,
                "graceful_shutdown_s": 5,
                "models": [{"name": "lgbm", "path": str(lgbm_file)}],
            }
        )
    )
    code = (
        f"from prodml.serving import load_config, run_server; run_server(load_config({str(cfg)!r}))"
    )
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    body = {
        "inputs": [
            {
                "name": "input-0",
                "shape": [2, 4],
                "datatype": "FP32",
                "data": [[1, 1, 0, 0], [-2, -2, 0, 0]],
            }
        ]
    }
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        for _ in range(12):  # fresh connections spread over both workers
            with httpx.Client() as c:
                r = c.post(f"{url}/v2/models/lgbm/infer", json=body)
                assert r.status_code == 200
                probs = r.json()["outputs"][0]["data"]
                assert probs[0] > 0.5 > probs[1]
        metrics = httpx.get(f"{url}/metrics").text
        assert 'prodml_requests_total{model="lgbm",protocol="rest",status="200"' in metrics
        assert "prodml_model_memory_bytes" in metrics
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        rc = proc.wait(30)
        log.close()
    assert rc == 0, (tmp_path / "server.log").read_text()
