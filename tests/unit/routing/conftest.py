"""Specs and stores shared by the routing tests."""

from __future__ import annotations

from typing import Any

import pytest

from prodml._internal.db import connect
from prodml.routing import EndpointSpec, EndpointStore, SqlFeedbackStore
from prodml.settings import Settings
from prodml.testing.clock import FakeClock


def fixed_spec(weights: dict[str, float] | None = None, **extra: Any) -> EndpointSpec:
    weights = weights or {"control": 50, "treatment": 50}
    strategy: dict[str, Any] = {"kind": "fixed", "weights": weights, **extra}
    return EndpointSpec.parse(
        {
            "name": "churn",
            "unit_key": {"source": "header", "name": "x-user-id"},
            "variants": [{"name": n, "model": f"churn/{i + 1}"} for i, n in enumerate(weights)],
            "strategy": strategy,
        }
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> EndpointStore:
    return EndpointStore(connect(Settings().resolved_metadata_url()), clock, actor="tester")


@pytest.fixture
def feedback(store: EndpointStore, clock: FakeClock) -> SqlFeedbackStore:
    return SqlFeedbackStore(store.engine, clock)
