"""Feedback by request id: all or nothing, idempotent, rewards reach the bandit state once."""

from __future__ import annotations

import pytest

from prodml.errors import ConflictError, InvalidInputError, NotFoundError
from prodml.routing import EndpointSpec, EndpointStore, Feedback, Served, SqlFeedbackStore


@pytest.fixture
def bandit(store: EndpointStore) -> EndpointSpec:
    spec = EndpointSpec.parse(
        {
            "name": "rec",
            "variants": [{"name": "a", "model": "m/1"}, {"name": "b", "model": "m/2"}],
            "strategy": {"kind": "bandit"},
        }
    )
    store.apply(spec)
    return spec


def test_feedback_updates_bandit_state_once(
    store: EndpointStore, feedback: SqlFeedbackStore, bandit: EndpointSpec
) -> None:
    feedback.record_served_many(
        [Served(f"r{i}", "rec", "a" if i % 2 else "b", phase=1) for i in range(6)]
    )
    result = feedback.record_feedback([Feedback("r1", 1.0), Feedback("r3", 0.0)])
    assert (result.recorded, result.unchanged) == (2, 0)
    again = feedback.record_feedback(Feedback("r1", 1.0))
    assert (again.recorded, again.unchanged) == (0, 1)
    arms = store.bandit_arms("rec")
    assert (arms["a"].served, arms["a"].rewarded, arms["a"].reward_sum) == (3, 2, 1.0)
    assert arms["b"].rewarded == 0


def test_unknown_ids_refuse_the_whole_batch(
    store: EndpointStore, feedback: SqlFeedbackStore, bandit: EndpointSpec
) -> None:
    feedback.record_served("r1", "rec", "a", phase=1)
    with pytest.raises(NotFoundError, match=r"'nope'.*nothing in this batch"):
        feedback.record_feedback([Feedback("r1", 1.0), Feedback("nope", 1.0)])
    assert store.bandit_arms("rec")["a"].rewarded == 0
    assert feedback.record_feedback(Feedback("r1", 1.0)).recorded == 1  # r1 was not written


def test_conflicting_feedback_is_refused(feedback: SqlFeedbackStore) -> None:
    feedback.record_served("r1", "ep", "a", phase=1)
    feedback.record_feedback(Feedback("r1", 1.0, label=1))
    with pytest.raises(ConflictError, match="different feedback"):
        feedback.record_feedback(Feedback("r1", 0.0, label=0))
    with pytest.raises(ConflictError, match="twice in the batch"):
        feedback.record_feedback([Feedback("r2", 1.0), Feedback("r2", 0.0)])


def test_served_ids_are_unique(feedback: SqlFeedbackStore) -> None:
    feedback.record_served("r1", "ep", "a", phase=1)
    with pytest.raises(ConflictError, match="already recorded"):
        feedback.record_served("r1", "ep", "a", phase=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"request_id": "r"}, "neither"), ({"request_id": "r", "value": float("nan")}, "finite")],
)
def test_bad_feedback_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Feedback(**kwargs)  # type: ignore[arg-type]
