"""Routers that follow the store: what a serving worker keeps, refreshed by polling.

``LiveRouters.get(name)`` returns the cached :class:`~prodml.routing.router.Router` (a dict
lookup). At most every ``poll_interval_s`` it reads the global generation (one row); when that
moved, it reloads only the endpoints that changed. Bandit endpoints also recompute their weights
from the shared arm statistics every ``update_interval_s``. Routers are immutable and swapped
whole, so a request never sees half an update.

>>> routers = LiveRouters(EndpointStore.open())            # doctest: +SKIP
>>> assignment = routers.get("churn").choose(user_id, rng)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from prodml._internal.clock import Clock, SystemClock
from prodml.routing.bandits import bandit_weights
from prodml.routing.router import Router
from prodml.routing.spec import BanditStrategy
from prodml.routing.store import EndpointStore


class LiveRouters:
    """Cached routers for every endpoint, converging on the store within ``poll_interval_s``."""

    def __init__(
        self,
        store: EndpointStore,
        *,
        clock: Clock | None = None,
        poll_interval_s: float = 2.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.poll_interval_s = poll_interval_s
        self.rng = rng or np.random.default_rng()
        self._routers: dict[str, Router] = {}
        self._generation = -1
        self._polled_at = -float("inf")
        self._bandit_due: dict[str, float] = {}

    def get(self, name: str) -> Router:
        """The router of ``name``, refreshed when the poll interval has passed.

        Raises:
            NotFoundError: no endpoint has this name.
        """
        if self.clock.monotonic() - self._polled_at >= self.poll_interval_s:
            self.refresh()
        router = self._routers.get(name)
        if router is None:
            router = self._load(name)
        return router

    def refresh(self) -> set[str]:
        """Reload what changed since the last poll; returns the names reloaded."""
        now = self.clock.monotonic()
        self._polled_at = now
        reloaded: set[str] = set()
        generation = self.store.generation()
        if generation != self._generation:
            for name in self.store.changed_since(max(self._generation, 0)):
                self._load(name)
                reloaded.add(name)
            self._generation = generation
        for name, due in list(self._bandit_due.items()):
            if now >= due and name not in reloaded:
                self._load(name)
                reloaded.add(name)
        return reloaded

    def _load(self, name: str) -> Router:
        state = self.store.get(name)
        strategy = state.spec.strategy
        weights = None
        if isinstance(strategy, BanditStrategy):
            arms = self.store.bandit_arms(name)
            ordered = {v: arms[v] for v in state.spec.variant_names if v in arms}
            weights = bandit_weights(strategy, ordered, self.rng) if ordered else None
            self._bandit_due[name] = self.clock.monotonic() + strategy.update_interval_s
        else:
            self._bandit_due.pop(name, None)
        router = Router(state.spec, state.phases, weights=weights, generation=state.generation)
        self._routers[name] = router
        return router
