"""Bandits: traffic moves to the best arm, the floor holds, and workers share one state."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

from prodml.routing import (
    ArmStats,
    BanditStrategy,
    EndpointSpec,
    EndpointStore,
    Feedback,
    LiveRouters,
    Served,
    SqlFeedbackStore,
    bandit_weights,
)
from prodml.testing.clock import FakeClock

TRUE_RATES = {"a": 0.30, "b": 0.45, "c": 0.60}


def bandit_spec(**strategy: object) -> EndpointSpec:
    settings: dict[str, object] = {"kind": "bandit", "floor": 0.05, "update_interval_s": 60}
    settings.update(strategy)
    return EndpointSpec.parse(
        {
            "name": "rec",
            "variants": [{"name": n, "model": f"m/{i + 1}"} for i, n in enumerate(TRUE_RATES)],
            "strategy": settings,
        }
    )


@pytest.mark.parametrize("policy", ["thompson", "ucb1", "epsilon_greedy"])
def test_simulation_moves_traffic_to_the_best_arm_with_the_floor(
    store: EndpointStore, feedback: SqlFeedbackStore, clock: FakeClock, policy: str
) -> None:
    store.apply(bandit_spec(policy=policy))
    routers = LiveRouters(store, clock=clock, rng=np.random.default_rng(7))
    rng, world = random.Random(3), random.Random(11)
    served_last = dict.fromkeys(TRUE_RATES, 0)
    request = 0
    for round_ in range(25):
        router = routers.get("rec")
        batch = []
        for _ in range(200):
            request += 1
            batch.append(Served(f"r{request}", "rec", router.choose(None, rng).variant, 1))
        feedback.record_served_many(batch)
        feedback.record_feedback(
            Feedback(s.request_id, float(world.random() < TRUE_RATES[s.variant])) for s in batch
        )
        if round_ == 24:
            for s in batch:
                served_last[s.variant] += 1
        clock.advance(seconds=61)
    weights = routers.get("rec").weights
    assert max(weights, key=lambda k: weights[k]) == "c"
    assert weights["c"] > 0.6
    assert min(weights.values()) >= 0.05 - 1e-12
    assert served_last["c"] / 200 > 0.5
    arms = store.bandit_arms("rec")
    assert sum(a.served for a in arms.values()) == 25 * 200
    assert sum(a.rewarded for a in arms.values()) == 25 * 200


def test_gaussian_thompson_for_continuous_rewards() -> None:
    rng = np.random.default_rng(0)
    values = {"a": rng.normal(1.0, 2.0, 300), "b": rng.normal(1.8, 2.0, 300)}
    arms = {
        k: ArmStats(len(v), len(v), float(v.sum()), float((v**2).sum())) for k, v in values.items()
    }
    strategy = BanditStrategy(kind="bandit", reward="continuous", floor=0.02)
    weights = bandit_weights(strategy, arms, np.random.default_rng(1))
    assert weights["b"] > 0.9 and weights["a"] >= 0.02
    assert sum(weights.values()) == pytest.approx(1.0)


def test_untried_arms_are_explored_first() -> None:
    arms = {"a": ArmStats(10, 10, 9.0, 9.0), "b": ArmStats()}
    for policy in ("ucb1", "epsilon_greedy"):
        strategy = BanditStrategy(kind="bandit", policy=policy, floor=0.0)
        weights = bandit_weights(strategy, arms, np.random.default_rng(0))
        assert weights["b"] > weights["a"]


def test_workers_updating_at_once_lose_no_counts(
    store: EndpointStore, feedback: SqlFeedbackStore, clock: FakeClock
) -> None:
    store.apply(bandit_spec())
    feedback.record_served_many([Served(f"r{i}", "rec", "a", 1) for i in range(200)])
    workers = [SqlFeedbackStore(store.engine, clock) for _ in range(4)]

    def send(worker: SqlFeedbackStore, start: int) -> None:
        for i in range(start, 200, 4):
            worker.record_feedback(Feedback(f"r{i}", 1.0))

    threads = [threading.Thread(target=send, args=(w, i)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    arm = store.bandit_arms("rec")["a"]
    assert (arm.rewarded, arm.reward_sum) == (200, 200.0)
