"""Canary: a failing candidate is rolled back with the reason recorded; a healthy one promoted."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from prodml.errors import ConfigError
from prodml.experiments import MetricSummary
from prodml.registry import Registry
from prodml.routing import (
    CanaryAction,
    CanaryController,
    CanaryState,
    CanaryStatus,
    EndpointSpec,
    EndpointStore,
    VariantObservations,
    judge,
)
from prodml.routing.spec import CanaryStrategy
from prodml.testing.clock import FakeClock


@pytest.fixture
def registry(clock: FakeClock) -> Registry:
    registry = Registry.open(clock=clock)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] > 0).astype(int)
    for _ in range(2):
        registry.register("fraud", LogisticRegression().fit(x, y), sample=x[:5])
    registry.set_alias("fraud", "champion", 1, reason="first")
    return registry


def canary_spec(**guardrails: object) -> EndpointSpec:
    return EndpointSpec.parse(
        {
            "name": "fraud",
            "variants": [
                {"name": "stable", "model": "fraud@champion"},
                {"name": "canary", "model": "fraud/2"},
            ],
            "strategy": {
                "kind": "canary",
                "baseline": "stable",
                "candidate": "canary",
                "steps": [10, 50, 100],
                "hold_s": 60,
                "deadline_s": 600,
                "guardrails": guardrails
                or {"latency": {"p99_ms": 200}, "quality": {"metric": "accuracy"}},
            },
        }
    )


def healthy(
    n: int, *, errors: int = 0, slow_ms: float = 50.0, accuracy: float = 0.9
) -> VariantObservations:
    correct = int(n * accuracy)
    return VariantObservations(
        requests=n,
        errors=errors,
        latency_ms=[slow_ms] * n,
        feedback={"accuracy": MetricSummary.from_arrays([1] * correct + [0] * (n - correct))},
    )


def test_healthy_candidate_is_promoted_and_the_alias_moves(
    store: EndpointStore, registry: Registry, clock: FakeClock
) -> None:
    store.apply(canary_spec())
    controller = CanaryController(store, registry, "fraud", clock=clock)
    data = {"stable": healthy(10_000), "canary": healthy(10_000)}
    first = controller.step(data)
    assert first.action is CanaryAction.HOLD and "holding step 1" in first.reason
    actions = []
    for _ in range(3):
        clock.advance(seconds=61)
        actions.append(controller.step(data).action)
    assert actions == [CanaryAction.ADVANCE, CanaryAction.ADVANCE, CanaryAction.PROMOTE]
    assert registry.get_model("fraud").aliases["champion"] == 2
    event = registry.alias_history("fraud", "champion")[-1]
    assert "canary 'fraud' promoted" in event.reason
    state = store.get("fraud")
    assert state.canary is not None and state.canary.status is CanaryStatus.PROMOTED
    assert state.phase.weights == {"stable": 0.0, "canary": 1.0}
    assert [p.keep_assignments for p in state.phases] == [False, True, True, True]
    assert [d.action for d in store.canary_decisions("fraud")][-1] is CanaryAction.PROMOTE


@pytest.mark.parametrize(
    ("candidate", "guardrail"),
    [
        (healthy(4000, errors=400), "error_rate failed"),
        # Every request fails and the baseline has none: no variance, still a rollback.
        (healthy(100, errors=100), "error_rate failed"),
        (healthy(4000, slow_ms=900.0), "latency failed"),
        (healthy(4000, accuracy=0.7), "quality failed"),
    ],
)
def test_failing_candidate_is_rolled_back_with_the_reason(
    store: EndpointStore,
    registry: Registry,
    clock: FakeClock,
    candidate: VariantObservations,
    guardrail: str,
) -> None:
    store.apply(canary_spec())
    controller = CanaryController(store, registry, "fraud", clock=clock)
    # Fails during the hold time already: bad news does not wait.
    decision = controller.step({"stable": healthy(4000), "canary": candidate})
    assert decision.action is CanaryAction.ROLLBACK
    assert guardrail in decision.reason
    recorded = store.canary_decisions("fraud")[-1]
    assert recorded.reason == decision.reason and recorded.details["checks"]
    state = store.get("fraud")
    assert state.phase.weights == {"stable": 1.0, "canary": 0.0}
    assert registry.get_model("fraud").aliases["champion"] == 1
    # Finished: later looks change nothing.
    clock.advance(seconds=120)
    assert (
        controller.step({"stable": healthy(4000), "canary": healthy(4000)}).action
        is CanaryAction.HOLD
    )
    assert len(store.canary_decisions("fraud")) == 1


def test_no_data_holds_and_never_passes(
    store: EndpointStore, registry: Registry, clock: FakeClock
) -> None:
    store.apply(canary_spec())
    controller = CanaryController(store, registry, "fraud", clock=clock)
    empty = {"stable": VariantObservations(0), "canary": VariantObservations(0)}
    clock.advance(seconds=120)
    decision = controller.step(empty)
    assert decision.action is CanaryAction.HOLD and decision.reason.startswith("not yet")
    assert "no latency data" in decision.reason and "no feedback" in decision.reason
    clock.advance(seconds=600)
    late = controller.step(empty)
    assert late.action is CanaryAction.ROLLBACK and "no verdict within 600s" in late.reason


def test_judge_is_pure() -> None:
    strategy = canary_spec().strategy
    assert isinstance(strategy, CanaryStrategy)
    clock = FakeClock()
    state = CanaryState(0, CanaryStatus.PROGRESSING, clock.now())
    clock.advance(seconds=61)
    data = healthy(10_000)
    one = judge(strategy, state, clock.now(), data, data)
    two = judge(strategy, state, clock.now(), data, data)
    assert one == two and one.action is CanaryAction.ADVANCE
    assert one.weights == pytest.approx({"stable": 0.5, "canary": 0.5})


def test_controller_refuses_other_strategies(store: EndpointStore, registry: Registry) -> None:
    from tests.unit.routing.conftest import fixed_spec

    store.apply(fixed_spec())
    with pytest.raises(ConfigError, match="not a canary"):
        CanaryController(store, registry, "churn").step({})
