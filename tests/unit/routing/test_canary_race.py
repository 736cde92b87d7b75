"""Looks that race (every serving worker judges its canaries): a step moves exactly once.

Run on SQLite and on PostgreSQL, where the row lock (``SELECT ... FOR UPDATE``) is what makes a
second look see the first one's result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from prodml._internal.db import connect
from prodml.errors import CanaryMovedError
from prodml.registry import Registry
from prodml.routing import (
    CanaryAction,
    CanaryController,
    CanaryDecision,
    CanaryStatus,
    EndpointStore,
)
from prodml.settings import Settings
from prodml.testing.clock import FakeClock
from tests.unit.routing.test_canary import canary_spec, healthy, registry  # noqa: F401 - fixture

WORKERS = 6


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def open_store(
    request: pytest.FixtureRequest, clock: FakeClock
) -> Iterator[Callable[[], EndpointStore]]:
    """Opens a store with its own engine (its own connections, as another process would)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
    else:
        url = Settings().resolved_metadata_url()
    engines: list[Engine] = []

    def open_one() -> EndpointStore:
        engines.append(connect(url))
        return EndpointStore(engines[-1], clock)

    yield open_one
    for engine in engines:
        engine.dispose()


def _race(work: Callable[[int], str]) -> list[str]:
    """Run ``work(i)`` for every worker at once; what each one says happened."""
    start = threading.Barrier(WORKERS)

    def one(i: int) -> str:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(one, range(WORKERS)))


def test_looks_that_judged_one_state_record_exactly_one_move(
    open_store: Callable[[], EndpointStore], clock: FakeClock
) -> None:
    store = open_store()
    store.apply(canary_spec())
    judged = store.get("fraud").canary
    assert judged is not None
    # Each worker has its own connections, as separate processes would.
    workers = [open_store() for _ in range(WORKERS)]
    now = clock.now() + timedelta(seconds=61)

    def look(i: int) -> str:
        # Half advance, half roll back: the same state, judged on slightly different traffic.
        action = CanaryAction.ADVANCE if i % 2 else CanaryAction.ROLLBACK
        if action is CanaryAction.ADVANCE:
            state = replace(judged, step=1, step_started_at=now)
            weights = {"stable": 0.5, "canary": 0.5}
        else:
            state = replace(judged, status=CanaryStatus.ROLLED_BACK, step_started_at=now)
            weights = {"stable": 1.0, "canary": 0.0}
        decision = CanaryDecision(now, 0, 10.0, action, f"worker {i}: {action.value}")
        try:
            workers[i].record_canary(
                "fraud", decision, expected=judged, state=state, weights=weights
            )
        except CanaryMovedError:
            return "moved"
        return f"recorded {i}"

    outcomes = _race(look)
    winners = [o for o in outcomes if o.startswith("recorded")]
    assert len(winners) == 1, outcomes
    assert outcomes.count("moved") == WORKERS - 1
    (decision,) = store.canary_decisions("fraud")
    winner = int(winners[0].split()[1])
    assert decision.reason.startswith(f"worker {winner}:")
    endpoint = store.get("fraud")
    assert len(endpoint.phases) == 2  # one new phase, from the one recorded move
    expected_status = (
        CanaryStatus.PROGRESSING
        if decision.action is CanaryAction.ADVANCE
        else CanaryStatus.ROLLED_BACK
    )
    assert endpoint.canary is not None and endpoint.canary.status is expected_status


def test_a_look_at_a_state_that_moved_records_nothing(
    store: EndpointStore,
    registry: Registry,  # noqa: F811
    clock: FakeClock,
) -> None:
    store.apply(canary_spec())
    stale = store.get("fraud")  # what a slow worker read, with its observations
    controller = CanaryController(store, registry, "fraud", clock=clock)
    rollback = controller.step({"stable": healthy(4000), "canary": healthy(4000, errors=400)})
    assert rollback.action is CanaryAction.ROLLBACK
    clock.advance(seconds=61)
    healthy_data = {"stable": healthy(10_000), "canary": healthy(10_000)}
    with pytest.raises(CanaryMovedError, match="another controller decided first"):
        controller.step(healthy_data, endpoint=stale)  # would advance a rolled-back canary
    assert [d.action for d in store.canary_decisions("fraud")] == [CanaryAction.ROLLBACK]
    state = store.get("fraud")
    assert state.canary is not None and state.canary.status is CanaryStatus.ROLLED_BACK
    assert state.phase.weights == {"stable": 1.0, "canary": 0.0}


def test_racing_controllers_promote_once_and_move_the_alias_once(
    open_store: Callable[[], EndpointStore],
    registry: Registry,  # noqa: F811
    clock: FakeClock,
) -> None:
    store = open_store()
    spec = canary_spec()
    strategy = spec.strategy.model_copy(update={"steps": [100]})
    store.apply(spec.model_copy(update={"strategy": strategy}))
    clock.advance(seconds=61)
    data = {"stable": healthy(10_000), "canary": healthy(10_000)}
    controllers = [
        CanaryController(open_store(), registry, "fraud", clock=clock) for _ in range(WORKERS)
    ]

    def look(i: int) -> str:
        try:
            return controllers[i].step(data).action.value
        except CanaryMovedError:
            return "moved"

    outcomes = _race(look)
    # The winner promotes; every other look lost the race, or read the finished canary.
    assert outcomes.count("promote") == 1, outcomes
    assert set(outcomes) <= {"promote", "moved", "hold"}
    assert [d.action for d in store.canary_decisions("fraud")] == [CanaryAction.PROMOTE]
    moves = [e for e in registry.alias_history("fraud", "champion") if "canary" in e.reason]
    assert len(moves) == 1
    assert registry.get_model("fraud").aliases["champion"] == 2
