"""A server that serves a canary endpoint moves the canary by itself, with no CLI call: a
failing candidate is rolled back with the reason recorded, a healthy one walks every step to
promotion and the alias moves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from prodml.routing import CanaryAction, CanaryStatus, EndpointSpec, EndpointStore
from prodml.serving import DefaultLoader, InMemoryLoader, ServerConfig, TestServer
from prodml.testing.fakes import FakeModel

DEADLINE_S = 60.0


def _canary(
    guardrails: dict[str, Any], stable: str = "m/1", candidate: str = "m/2"
) -> EndpointSpec:
    return EndpointSpec.parse(
        {
            "name": "ep",
            "unit_key": {"source": "header", "name": "x-user-id"},
            "variants": [
                {"name": "stable", "model": stable},
                {"name": "canary", "model": candidate},
            ],
            "strategy": {
                "kind": "canary",
                "baseline": "stable",
                "candidate": "canary",
                "steps": [50, 100],
                "hold_s": 0,
                "guardrails": guardrails,
            },
        }
    )


def _drive(store: EndpointStore, request: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """Send traffic (a new user each request) until the canary finishes; the answers."""
    answers: list[httpx.Response] = []
    deadline = time.monotonic() + DEADLINE_S
    while (canary := store.get("ep").canary) and canary.status is CanaryStatus.PROGRESSING:
        if time.monotonic() > deadline:
            reasons = [d.reason for d in store.canary_decisions("ep")]
            pytest.fail(f"the canary did not finish within {DEADLINE_S:.0f}s: {reasons}")
        answers.append(request(len(answers)))
    return answers


def test_a_failing_candidate_is_rolled_back_by_the_server() -> None:
    store = EndpointStore.open()
    store.apply(_canary({"error_rate": {"max_increase": 0.01}, "min_requests": 10}))
    # The candidate raises on negative inputs (half the traffic); the baseline never does.
    loader = InMemoryLoader(
        {
            "ep:stable": FakeModel(),
            "ep:canary": FakeModel(fail_when=lambda cols: bool(cols["x"][0] < 0)),
        }
    )
    config = ServerConfig(endpoints=True, endpoint_poll_s=0.2, canary_check_s=0.2)
    with (
        TestServer(loader, config, grpc=False) as server,
        httpx.Client(base_url=server.url) as client,
    ):

        def request(user: int) -> httpx.Response:
            x = 1.0 if user % 2 else -1.0
            body = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [x]}]}
            return client.post("/v2/models/ep/infer", json=body, headers={"x-user-id": f"u{user}"})

        answers = _drive(store, request)
        assert any(r.status_code == 500 for r in answers)  # the candidate did fail
        decisions = store.canary_decisions("ep")
        assert decisions[-1].action is CanaryAction.ROLLBACK
        assert "error_rate failed" in decisions[-1].reason
        assert all(d.action is CanaryAction.HOLD for d in decisions[:-1])
        assert store.get("ep").phase.weights == {"stable": 1.0, "canary": 0.0}
        # Within endpoint_poll_s every request is the baseline's again, and it answers.
        time.sleep(0.6)
        after = [request(user) for user in range(20)]
        assert {r.headers["x-prodml-variant"] for r in after} == {"stable"}
        assert {r.status_code for r in after} == {200}
        # A finished canary is not judged again.
        time.sleep(0.6)
        assert len(store.canary_decisions("ep")) == len(decisions)


def test_a_healthy_candidate_is_promoted_by_the_server_and_the_alias_moves() -> None:
    from sklearn.linear_model import LogisticRegression

    from prodml.registry import Registry

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    y = (x["a"] > 0).astype(int)
    registry = Registry.open()
    for c in (1.0, 0.5):
        registry.register("m", LogisticRegression(C=c).fit(x, y), sample=x.head(5))
    registry.set_alias("m", "champion", 1, reason="first")
    store = EndpointStore.open()
    store.apply(
        _canary({"error_rate": {"max_increase": 0.2}, "min_requests": 10}, stable="m@champion")
    )
    config = ServerConfig(endpoints=True, endpoint_poll_s=0.2, canary_check_s=0.2)
    # The registry's models, through the loader whose registry the promotion then reuses.
    with (
        TestServer(DefaultLoader(), config, grpc=False) as server,
        httpx.Client(base_url=server.url) as client,
    ):

        def request(user: int) -> httpx.Response:
            row = {"a": float(rng.normal()), "b": float(rng.normal())}
            r = client.post("/predict/ep", json=row, headers={"x-user-id": f"u{user}"})
            assert r.status_code == 200, r.text
            return r

        _drive(store, request)
        decisions = store.canary_decisions("ep")
        moves = [d.action for d in decisions if d.action is not CanaryAction.HOLD]
        assert moves == [CanaryAction.ADVANCE, CanaryAction.PROMOTE], [d.reason for d in decisions]
        assert decisions[-1].reason.startswith("promoted: every guardrail passed")
        assert store.get("ep").phase.weights == {"stable": 0.0, "canary": 1.0}
    assert registry.get_model("m").aliases["champion"] == 2
    event = registry.alias_history("m", "champion")[-1]
    assert "canary 'ep' promoted" in event.reason
