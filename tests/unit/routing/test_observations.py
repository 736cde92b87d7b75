"""The canary judged on what was actually served and fed back, step by step."""

from __future__ import annotations

import json
import random

import pytest

from prodml.errors import ConfigError
from prodml.registry import Registry
from prodml.routing import (
    CanaryAction,
    CanaryController,
    EndpointStore,
    Feedback,
    Served,
    SqlFeedbackStore,
)
from prodml.routing.observations import canary_observations, step_canary
from prodml.testing.clock import FakeClock
from tests.conftest import CliRunner
from tests.unit.routing.conftest import fixed_spec
from tests.unit.routing.test_canary import canary_spec, registry  # noqa: F401 - fixture


def serve(
    store: EndpointStore,
    feedback: SqlFeedbackStore,
    requests: int,
    *,
    candidate_error_rate: float = 0.0,
    candidate_latency_ms: float = 20.0,
    seed: int = 0,
) -> None:
    """Route ``requests`` units through the live router; record what was served and its reward."""
    rng = random.Random(seed)
    state = store.get("fraud")
    router = store.router("fraud")
    served, rewards = [], []
    for i in range(requests):
        unit = f"user-{seed}-{i}"
        choice = router.choose(unit, rng)
        is_candidate = choice.variant == "canary"
        error = is_candidate and rng.random() < candidate_error_rate
        request_id = f"{state.phase.number}-{seed}-{i}"
        served.append(
            Served(
                request_id,
                "fraud",
                choice.variant,
                choice.phase,
                unit,
                latency_ms=candidate_latency_ms if is_candidate else 20.0,
                error=error,
            )
        )
        if not error:
            rewards.append(Feedback(request_id, value=float(rng.random() < 0.9)))
    feedback.record_served_many(served)
    feedback.record_feedback(rewards)


def test_observations_come_from_the_current_step_only(
    store: EndpointStore,
    feedback: SqlFeedbackStore,
    registry: Registry,  # noqa: F811
) -> None:
    store.apply(canary_spec())
    assert canary_observations(store, "fraud")["canary"].requests == 0  # nothing served yet
    serve(store, feedback, 2000, candidate_error_rate=0.5)
    seen = canary_observations(store, "fraud")
    assert seen["stable"].requests + seen["canary"].requests == 2000
    assert 0 < seen["canary"].requests < 400  # step 1 sends 10%
    assert seen["canary"].errors > 0 and seen["stable"].errors == 0
    assert seen["stable"].slow == 0
    assert "accuracy" in seen["stable"].feedback


def test_a_failing_candidate_is_rolled_back_from_served_traffic(
    store: EndpointStore,
    feedback: SqlFeedbackStore,
    registry: Registry,  # noqa: F811
    clock: FakeClock,
) -> None:
    store.apply(canary_spec())
    controller = CanaryController(store, registry, "fraud", clock=clock)
    serve(store, feedback, 3000, candidate_error_rate=0.3)
    decision = step_canary(controller)
    assert decision.action is CanaryAction.ROLLBACK
    assert "error_rate failed" in decision.reason
    assert store.get("fraud").phase.weights["canary"] == 0.0


def test_a_healthy_candidate_walks_every_step_to_promotion(
    store: EndpointStore,
    feedback: SqlFeedbackStore,
    registry: Registry,  # noqa: F811
    clock: FakeClock,
) -> None:
    # A 10-point tolerance on accuracy: enough for ~300 candidate units to show non-inferiority.
    store.apply(
        canary_spec(
            latency={"p99_ms": 200},
            quality={"metric": "accuracy", "max_decrease": 0.1},
        )
    )
    controller = CanaryController(store, registry, "fraud", clock=clock)
    # Look after every batch of traffic, as an operator's loop would: small steps hold until
    # their guardrails have enough evidence, then advance.
    actions = []
    for look in range(8):
        serve(store, feedback, 3000, seed=look)
        clock.advance(seconds=61)
        action = step_canary(controller).action
        if action is not CanaryAction.HOLD:
            actions.append(action)
        if action is CanaryAction.PROMOTE:
            break
    reasons = [d.reason for d in store.canary_decisions("fraud")]
    assert actions == [CanaryAction.ADVANCE, CanaryAction.ADVANCE, CanaryAction.PROMOTE], reasons
    assert reasons[0].startswith("not yet")  # 10% of the first batch is too little evidence
    assert registry.get_model("fraud").aliases["champion"] == 2


def test_only_canaries_have_observations(store: EndpointStore) -> None:
    spec = fixed_spec()
    store.apply(spec)
    with pytest.raises(ConfigError, match="not a canary"):
        canary_observations(store, "churn")


def test_the_canary_command_rolls_back_a_failing_candidate(
    cli: CliRunner,
    store: EndpointStore,
    feedback: SqlFeedbackStore,
    registry: Registry,  # noqa: F811
) -> None:
    store.apply(canary_spec())
    serve(store, feedback, 3000, candidate_error_rate=0.3)
    code, out, err = cli("endpoints", "canary", "fraud", "--json")
    assert code == 0, err
    decision = json.loads(out)
    assert decision["action"] == "rollback"
    assert "error_rate failed" in decision["reason"]
    code, out, _ = cli("endpoints", "show", "fraud")
    assert "error_rate failed" in out
    code, _, err = cli("endpoints", "canary", "fraud", "--every", "soon")
    assert code == 5 and "--every" in err
