"""Served records of a server's endpoints: a bounded queue that drops (and counts) records as they
arrive whatever their variant, warnings at most once per interval, and a reused request id that
costs only its own record."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from typing import cast

import pytest
import sqlalchemy as sa

from prodml.monitoring.log.base import row_ids
from prodml.routing import Assignment, Served, SqlFeedbackStore
from prodml.routing.tables import routing_requests
from prodml.serving import ServerConfig
from prodml.serving.config import ModelConfig
from prodml.serving.endpoints import (
    SERVED_DROP_WARN_S,
    EndpointRouting,
    Target,
    _record_served,
)
from prodml.serving.metrics import ServingMetrics
from prodml.serving.repository import ModelRepository, ServedModel


async def _load_nothing(_config: ModelConfig) -> ServedModel | None:
    return None


def _routing(max_pending_served: int) -> EndpointRouting:
    config = ServerConfig(endpoints=True, max_pending_served=max_pending_served)
    return EndpointRouting(config, ModelRepository(), _load_nothing, ServingMetrics())


def _target(variant: str) -> Target:
    # ``served`` reads the endpoint and the assignment only, never the model.
    return Target(
        served=cast(ServedModel, None),
        endpoint="ep",
        assignment=Assignment(variant, 1, (), "test"),
    )


def _dropped(routing: EndpointRouting) -> float | None:
    return routing.metrics.registry.get_sample_value(
        "prodml_served_records_dropped_total", {"endpoint": "ep"}
    )


def _stored_variants() -> Counter[str]:
    engine = SqlFeedbackStore.open().engine
    with engine.connect() as conn:
        return Counter(conn.execute(sa.select(routing_requests.c.variant)).scalars())


def test_records_beyond_the_bound_are_dropped_and_counted() -> None:
    routing = _routing(max_pending_served=12)
    routing.served(row_ids("q1", 5), _target("a"), 1.0, False)
    routing.served(row_ids("q2", 5), _target("b"), 1.0, False)
    routing.served(row_ids("q3", 5), _target("a"), 1.0, False)  # 2 fit, 3 are dropped
    routing.served(["q4"], _target("b"), 1.0, True)  # dropped

    assert [r.request_id for r in routing._pending][-3:] == ["q2/4", "q3/0", "q3/1"]
    assert len(routing._pending) == 12
    assert _dropped(routing) == 4.0

    async def flush_and_serve() -> None:
        await routing.flush_served()  # no feedback store: the batch is let go
        routing.served(["q5"], _target("b"), 1.0, False)

    asyncio.run(flush_and_serve())
    assert [r.request_id for r in routing._pending] == ["q5"]
    assert _dropped(routing) == 4.0


def test_dropping_thins_every_variant_alike() -> None:
    # 20% of requests go to b. A bound per variant (or dropping the busiest variant first)
    # would bring b's share of what is written near 50%; dropping as records arrive keeps 20%.
    routing = _routing(max_pending_served=30)
    rng = random.Random(11)
    offered: Counter[str] = Counter()

    async def serve() -> None:
        routing.feedback_store = await asyncio.to_thread(SqlFeedbackStore.open)
        for flush in range(20):
            for i in range(50):
                variant = "b" if rng.random() < 0.2 else "a"
                offered[variant] += 1
                routing.served([f"{flush}-{i}"], _target(variant), 1.0, False)
            await routing.flush_served()

    asyncio.run(serve())
    written = _stored_variants()
    assert written.total() == 20 * 30
    assert _dropped(routing) == 20 * 20
    assert written["b"] / written.total() == pytest.approx(offered["b"] / 1000, abs=0.05)


def test_drops_are_logged_at_most_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    routing = _routing(max_pending_served=1)
    caplog.set_level(logging.WARNING, logger="prodml.serving")
    routing.served(["x", "y", "z"], _target("a"), 1.0, False)
    routing._warn_dropped(100.0)
    routing.served(["w"], _target("b"), 1.0, False)
    routing._warn_dropped(100.0 + SERVED_DROP_WARN_S / 2)  # too soon: nothing
    routing._warn_dropped(100.0 + SERVED_DROP_WARN_S)
    routing._warn_dropped(100.0 + 3 * SERVED_DROP_WARN_S)  # nothing dropped since: nothing

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("dropped 2 served record(s) since the last warning (ep: 2)")
    assert messages[1].startswith("dropped 1 served record(s) since the last warning (ep: 1)")
    assert "max_pending_served=1" in messages[0]


def test_a_reused_request_id_costs_only_its_own_record() -> None:
    store = SqlFeedbackStore.open()
    store.record_served_many([Served("old", "ep", "a", 1)])
    batch = [Served(f"r{i}", "ep", "a", 1) for i in range(1000)]
    batch[300] = Served("old", "ep", "b", 1)  # recorded before
    batch[600] = Served("r10", "ep", "b", 1)  # twice in this batch

    _record_served(store, batch)

    with store.engine.connect() as conn:
        rows = dict(
            conn.execute(sa.select(routing_requests.c.request_id, routing_requests.c.variant)).all()
        )
    assert len(rows) == 1 + 998
    assert (rows["old"], rows["r10"]) == ("a", "a")  # each kept its first answer
