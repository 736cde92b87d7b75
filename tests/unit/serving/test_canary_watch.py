"""The canary watch: served records first, one look per interval across workers, failures
logged without stopping the watch."""

from __future__ import annotations

import asyncio
import logging

import pytest

from prodml.registry import Registry
from prodml.routing import CanaryAction, EndpointStore
from prodml.serving.canary_watch import CanaryWatch
from prodml.testing.clock import FakeClock
from tests.unit.routing.conftest import clock, store  # noqa: F401 - fixtures
from tests.unit.routing.test_canary import canary_spec, registry  # noqa: F401 - fixture


def test_workers_share_one_look_per_interval_after_writing_their_traffic(
    store: EndpointStore,  # noqa: F811
    registry: Registry,  # noqa: F811
    clock: FakeClock,  # noqa: F811
) -> None:
    store.apply(canary_spec())
    events: list[str] = []

    async def flush() -> None:
        events.append(f"flush, {len(store.canary_decisions('fraud'))} decisions")

    workers = [
        CanaryWatch(store, lambda: ["fraud"], flush, 10.0, registry=lambda: registry, clock=clock)
        for _ in range(2)
    ]
    first = asyncio.run(workers[0].look())
    assert [d.action for d in first] == [CanaryAction.HOLD]
    assert events == ["flush, 0 decisions"]  # the served records were written before the look
    clock.advance(seconds=9)
    assert asyncio.run(workers[1].look()) == []  # the other worker looked 9 s ago
    clock.advance(seconds=1)
    assert len(asyncio.run(workers[1].look())) == 1
    assert len(store.canary_decisions("fraud")) == 2


def test_nothing_is_judged_without_a_served_canary(
    store: EndpointStore,  # noqa: F811
    registry: Registry,  # noqa: F811
) -> None:
    store.apply(canary_spec())
    flushes = []

    async def flush() -> None:
        flushes.append(1)

    watch = CanaryWatch(store, list, flush, 10.0, registry=lambda: registry)
    assert asyncio.run(watch.look()) == []
    assert store.canary_decisions("fraud") == [] and flushes == []


def test_a_failing_look_is_logged_and_the_watch_goes_on(
    store: EndpointStore,  # noqa: F811
    registry: Registry,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    store.apply(canary_spec())
    opened = []

    def flaky_registry() -> Registry:
        opened.append(1)
        if len(opened) == 1:
            raise ConnectionError("registry unreachable")
        return registry

    async def flush() -> None:
        return None

    watch = CanaryWatch(store, lambda: ["fraud"], flush, 0.01, registry=flaky_registry, clock=clock)

    async def until_judged() -> None:
        task = asyncio.create_task(watch.run())
        while not store.canary_decisions("fraud"):
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    with caplog.at_level(logging.ERROR, logger="prodml.serving"):
        asyncio.run(asyncio.wait_for(until_judged(), 10))
    assert "registry unreachable" in caplog.text
    assert [d.action for d in store.canary_decisions("fraud")] == [CanaryAction.HOLD]
