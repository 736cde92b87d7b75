"""The endpoint store: plan without changes, apply with generations and phases, history."""

from __future__ import annotations

import random

import pytest

from prodml.errors import NotFoundError
from prodml.routing import EndpointStore, LiveRouters
from prodml.testing.clock import FakeClock
from tests.unit.routing.conftest import fixed_spec


def test_plan_changes_nothing_and_apply_records(store: EndpointStore) -> None:
    spec = fixed_spec()
    plan = store.plan(spec)
    assert plan.action == "create" and plan.generation is None
    assert "+ strategy.weights.control: 50" in [str(c) for c in plan.changes]
    assert store.endpoints() == []
    applied = store.apply(spec)
    assert applied.generation == store.generation() == 1
    state = store.get("churn")
    assert state.phase.number == 1 and state.phase.weights == {"control": 0.5, "treatment": 0.5}
    assert store.apply(spec).action == "unchanged"
    assert store.generation() == 1


def test_changing_weights_starts_a_phase_keeping_assignments(store: EndpointStore) -> None:
    store.apply(fixed_spec())
    proposed = fixed_spec({"control": 80, "treatment": 20}, keep_assignments=True)
    plan = store.plan(proposed)
    assert plan.new_phase and plan.keep_assignments
    assert "~ strategy.weights.control: 50 -> 80" in [str(c) for c in plan.changes]
    assert "new phase (keeping assignments)" in plan.summary
    store.apply(proposed)
    state = store.get("churn")
    assert [p.number for p in state.phases] == [1, 2]
    assert state.phase.salt == state.phases[0].salt == "churn"
    assert state.generation == 2


def test_re_randomising_phase_gets_a_new_salt(store: EndpointStore) -> None:
    store.apply(fixed_spec())
    store.apply(fixed_spec({"control": 80, "treatment": 20}))
    assert store.get("churn").phase.salt == "churn#2"


def test_description_change_keeps_the_phase(store: EndpointStore) -> None:
    store.apply(fixed_spec())
    changed = fixed_spec().model_copy(update={"description": "now documented"})
    plan = store.apply(changed)
    assert plan.action == "update" and not plan.new_phase
    assert len(store.get("churn").phases) == 1
    revisions = store.revisions("churn")
    assert [r.generation for r in revisions] == [1, 2]
    assert revisions[1].changes == ("~ description:  -> now documented",)


def test_unknown_endpoint_is_not_found(store: EndpointStore) -> None:
    with pytest.raises(NotFoundError, match="prodml endpoints list"):
        store.get("nope")


def test_live_routers_converge_after_apply(store: EndpointStore, clock: FakeClock) -> None:
    store.apply(fixed_spec())
    other_worker = LiveRouters(EndpointStore(store.engine, clock), clock=clock, poll_interval_s=2.0)
    assert other_worker.get("churn").weights == {"control": 0.5, "treatment": 0.5}
    store.apply(fixed_spec({"control": 0, "treatment": 1}))
    clock.advance(seconds=1)
    assert other_worker.get("churn").phase == 1  # within the poll interval: the cached router
    clock.advance(seconds=1.5)
    router = other_worker.get("churn")
    assert router.phase == 2
    assert router.choose("u1", random.Random(0)).variant == "treatment"
    assert other_worker.refresh() == set()  # nothing changed since
