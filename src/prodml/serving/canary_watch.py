"""Canaries move by themselves: each serving worker judges the canaries it serves.

Every ``canary_check_s`` a worker writes its queued served records (so the look sees its own
recent traffic), then takes one :class:`~prodml.routing.CanaryController` look at each endpoint
it serves whose canary is progressing: hold, advance, promote or roll back, recorded with the
reason, as ``prodml endpoints canary NAME`` does.

Every worker of every replica runs a watch, so looks race. Two rules keep that safe and quiet:

- the store records a look only if the canary is still in the state that the look judged (a
  compare-and-set under the row's lock); the others get :class:`~prodml.errors.CanaryMovedError`,
  logged and dropped, so a step moves exactly once and only its winner moves the alias;
- a worker skips an endpoint whose latest decision is younger than ``canary_check_s``: another
  worker has just looked. Each watch's first look waits a random part of the interval, so workers
  that start together spread out instead of all recording the same "hold".

A look that fails is logged and serving goes on; the next interval looks again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable

from prodml._internal.clock import Clock, SystemClock
from prodml.errors import CanaryMovedError
from prodml.registry import Registry
from prodml.routing import (
    CanaryAction,
    CanaryController,
    CanaryDecision,
    CanaryStatus,
    EndpointStore,
)
from prodml.routing.canary import AliasMover
from prodml.routing.observations import step_canary

log = logging.getLogger("prodml.serving")


class CanaryWatch:
    """Judges the served canaries that are progressing, every ``interval_s``.

    Args:
        store: the endpoint store the decisions go to.
        canaries: the names of the canary endpoints this worker serves, asked at every look.
        flush: writes the worker's queued served records.
        interval_s: seconds between looks (``canary_check_s``).
        registry: the registry that promotions move aliases in (the model loader's); without
            one, the watch opens ``Registry.open()`` at its first look and closes it in ``close``.
        clock: the time decisions are stamped with and compared against.
        rng: draws the first look's delay.
    """

    def __init__(
        self,
        store: EndpointStore,
        canaries: Callable[[], Iterable[str]],
        flush: Callable[[], Awaitable[None]],
        interval_s: float,
        *,
        registry: Callable[[], AliasMover] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.canaries = canaries
        self.flush = flush
        self.interval_s = interval_s
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self._given_registry = registry
        self._opened_registry: Registry | None = None

    async def run(self) -> None:
        """Look every ``interval_s`` until cancelled; failures are logged, never raised."""
        await asyncio.sleep(self.interval_s * self.rng.random())
        while True:
            try:
                await self.look()
            except Exception:
                log.exception("judging canaries failed; looking again in %gs", self.interval_s)
            await asyncio.sleep(self.interval_s)

    async def look(self) -> list[CanaryDecision]:
        """One round over the served canaries; the decisions this worker recorded."""
        names = list(self.canaries())
        if not names:
            return []
        await self.flush()
        return await asyncio.to_thread(self._look_all, names)

    def close(self) -> None:
        """Release the registry the watch opened itself, if any. Idempotent."""
        opened, self._opened_registry = self._opened_registry, None
        if opened is not None:
            opened.close()

    def _look_all(self, names: list[str]) -> list[CanaryDecision]:
        decisions = []
        for name in names:
            # One endpoint's failure must not keep the others from being judged.
            try:
                decision = self._look_at(name)
            except CanaryMovedError as exc:
                log.info("%s", exc)
            except Exception:
                log.exception("judging the canary of endpoint %r failed", name)
            else:
                if decision is not None:
                    decisions.append(decision)
        return decisions

    def _look_at(self, name: str) -> CanaryDecision | None:
        canary = self.store.get(name).canary
        if canary is None or canary.status is not CanaryStatus.PROGRESSING:
            return None
        latest = self.store.latest_canary_decision(name)
        if latest is not None:
            age_s = (self.clock.now() - latest.at).total_seconds()
            if age_s < self.interval_s:
                return None  # another worker looked within the interval
        controller = CanaryController(self.store, self._registry(), name, clock=self.clock)
        decision = step_canary(controller)
        if decision.action is not CanaryAction.HOLD:
            log.info("canary %r: %s", name, decision.reason)
        return decision

    def _registry(self) -> AliasMover:
        if self._given_registry is not None:
            return self._given_registry()
        if self._opened_registry is None:
            self._opened_registry = Registry.open()
        return self._opened_registry
