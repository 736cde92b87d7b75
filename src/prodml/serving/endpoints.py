"""Endpoints in the server: one stable name, traffic split across variants (registered models).

With ``endpoints: true`` (or a list of names) in the server config, every endpoint of the
``EndpointStore`` is served under its name over every protocol. Each variant's model is loaded
beside the others as ``<endpoint>:<variant>`` (a name no URL can reach directly). Per request:

1. the unit key is read from a header, a request parameter (V2 ``parameters``, the query string
   elsewhere) or a named input field (first row; V2 and records routes), as the spec says;
2. ``Router.choose`` picks the variant (sticky by unit, random without one);
3. the variant's model answers; the response names it (``X-Prodml-Variant`` header, V2
   ``parameters.variant``);
4. the served request is queued for ``record_served_many`` (a background task writes every
   ``SERVED_FLUSH_S``), so feedback can find its id; sampled requests are mirrored to shadow
   variants through a bounded queue (full: dropped and counted, never waited for).

Served records are what A/B reports, canaries and bandit counts read. Under sustained overload,
when writing them falls behind, at most ``max_pending_served`` wait: newer ones are dropped and
counted (``prodml_served_records_dropped_total{endpoint}``, a warning at most once every
``SERVED_DROP_WARN_S``) rather than buffered without bound. They are dropped one by one as they
arrive, whatever their variant, so every variant is thinned alike and the ratios between
variants are not biased.

Changes in the store reach the worker within ``endpoint_poll_s``: the poller loads new variants'
models first, then swaps the routers, so a request never picks a variant with no model.

Canaries move without anyone running ``prodml endpoints canary``: every ``canary_check_s`` the
worker writes its served records, then judges each served canary that is progressing (hold,
advance, promote or roll back, recorded with the reason; see :mod:`.canary_watch`, which also
says why several workers and replicas looking at once move a step exactly once).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prodml.errors import ConflictError, InvalidInputError, NotFoundError
from prodml.registry import ModelRef
from prodml.routing import (
    Assignment,
    CanaryStrategy,
    EndpointSpec,
    EndpointStore,
    Feedback,
    FeedbackResult,
    LiveRouters,
    Served,
    ShadowStrategy,
    SqlFeedbackStore,
)
from prodml.routing.canary import AliasMover
from prodml.serving.canary_watch import CanaryWatch
from prodml.serving.config import ModelConfig, ServerConfig
from prodml.serving.metrics import ServingMetrics
from prodml.serving.predictor import Array, Columns
from prodml.serving.repository import ModelRepository, ServedModel

log = logging.getLogger("prodml.serving")

SERVED_FLUSH_S = 0.1
SERVED_DROP_WARN_S = 60.0

LoadModel = Callable[[ModelConfig], Awaitable[ServedModel | None]]
Shadow = Callable[[ServedModel, str, str, Columns, Mapping[str, Any], int], Awaitable[None]]


@dataclass(slots=True, frozen=True)
class Target:
    """Who answers a request: the served model, and for an endpoint, the assignment.

    Frozen: a loaded model's target is shared by all its requests (``DataPlane.loaded_target``).
    """

    served: ServedModel
    endpoint: str
    assignment: Assignment | None = None
    unit: str | None = None


def variant_model_name(endpoint: str, variant: str) -> str:
    return f"{endpoint}:{variant}"


class EndpointRouting:
    """The endpoints one worker serves: routers, variant models, served records, shadows."""

    def __init__(
        self,
        config: ServerConfig,
        repository: ModelRepository,
        load: LoadModel,
        metrics: ServingMetrics,
        registry: Callable[[], AliasMover] | None = None,
    ) -> None:
        self.config = config
        self.repository = repository
        self._load_model = load
        self.metrics = metrics
        self.only = None if config.endpoints is True else set(config.endpoints or ())
        self.rng = random.Random()
        self.store: EndpointStore | None = None
        self.feedback_store: SqlFeedbackStore | None = None
        self.routers: LiveRouters | None = None
        self._specs: dict[str, EndpointSpec] = {}
        # Served name -> the config its model was loaded with (ref, and shadow batching or not).
        self._loaded: dict[str, ModelConfig] = {}
        self._generation = 0
        self._pending: list[Served] = []  # at most config.max_pending_served
        self._dropped: dict[str, int] = {}  # served records dropped since the last warning
        self._dropped_warned_at = -math.inf
        self._flush_lock = asyncio.Lock()
        self._shadows: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue(config.shadow_queue_size)
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._shadow: Shadow | None = None
        self._registry = registry
        self.canaries: CanaryWatch | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, shadow: Shadow) -> None:
        self._shadow = shadow
        self.store = await asyncio.to_thread(EndpointStore.open)
        self.feedback_store = await asyncio.to_thread(SqlFeedbackStore.open)
        # The poller refreshes the routers; ``get`` must never query the store on the hot path.
        self.routers = LiveRouters(self.store, poll_interval_s=float("inf"))
        await self._converge()
        self.canaries = CanaryWatch(
            self.store,
            self._canary_names,
            self.flush_served,
            self.config.canary_check_s,
            registry=self._registry,
            rng=self.rng,
        )
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._poll()),
            loop.create_task(self._flush_loop()),
            loop.create_task(self._shadow_worker()),
            loop.create_task(self.canaries.run()),
        ]

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._shadow_tasks]  # shadows answer nobody: not waited for
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.flush_served()
        if self.canaries is not None:
            await asyncio.to_thread(self.canaries.close)

    # -- convergence ---------------------------------------------------------------------------
    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.config.endpoint_poll_s)
            try:
                await self._converge()
            except Exception:
                log.exception("refreshing endpoints failed; serving the previous ones")

    async def _converge(self) -> None:
        store, routers = self.store, self.routers
        if store is None or routers is None:
            return

        def read() -> tuple[int, dict[str, EndpointSpec]]:
            generation = store.generation()
            if generation == self._generation:
                return generation, {}
            names = store.changed_since(self._generation)
            return generation, {
                n: store.get(n).spec for n in names if self.only is None or n in self.only
            }

        generation, changed = await asyncio.to_thread(read)
        for spec in changed.values():
            await self._load_variants(spec)
        if changed or generation != self._generation:
            # Models first, then routers: a request never picks a variant without a model.
            await asyncio.to_thread(routers.refresh)
        for name, spec in changed.items():
            old = self._specs.get(name)
            self._specs[name] = spec
            if old is not None:
                gone = set(old.variant_names) - set(spec.variant_names)
                for variant in gone:
                    served_name = variant_model_name(name, variant)
                    self._loaded.pop(served_name, None)
                    await self.repository.unload(served_name)
        self._generation = generation

    async def _load_variants(self, spec: EndpointSpec) -> None:
        strategy = spec.strategy
        shadows = set(strategy.shadows) if isinstance(strategy, ShadowStrategy) else set()
        for variant in spec.variants:
            name = variant_model_name(spec.name, variant.name)
            shadow = variant.name in shadows
            config = self.config.endpoint_models.for_variant(variant.model, name, shadow=shadow)
            if self._loaded.get(name) == config:
                continue
            self.repository.expect(name)
            if await self._load_model(config) is not None:
                self._loaded[name] = config

    def _canary_names(self) -> list[str]:
        return [n for n, s in self._specs.items() if isinstance(s.strategy, CanaryStrategy)]

    # -- hot path ------------------------------------------------------------------------------
    def model_name(self, served_name: str) -> str:
        """The registered model behind a served name (``churn`` for ``ep:b`` -> ``churn/3``)."""
        config = self._loaded.get(served_name)
        if config is None or config.ref is None:
            return served_name
        return ModelRef.parse(config.ref).name

    def serves(self, name: str) -> bool:
        return name in self._specs

    def choose(
        self,
        name: str,
        headers: Mapping[str, str],
        params: Mapping[str, Any],
        fields: Callable[[], Mapping[str, Any]] | None,
    ) -> tuple[str, Assignment, str | None]:
        """The served model name of the chosen variant, the assignment and the unit."""
        spec = self._specs[name]
        unit = None
        key = spec.unit_key
        if key is not None:
            if key.source == "field":
                unit = key.extract(fields=fields() if fields is not None else None)
            else:
                unit = key.extract(headers=headers, params=params)
        routers = self.routers
        if routers is None:
            raise NotFoundError(f"endpoint {name!r} is not loaded yet")
        assignment = routers.get(name).choose(unit, self.rng)
        return variant_model_name(name, assignment.variant), assignment, unit

    def served(
        self, row_ids: Sequence[str], target: Target, latency_ms: float, error: bool
    ) -> None:
        assignment = target.assignment
        if assignment is None:
            return
        # Beyond the bound, each record is dropped as it arrives, whatever its variant.
        room = self.config.max_pending_served - len(self._pending)
        if len(row_ids) > room:
            self._drop_served(target.endpoint, len(row_ids) - room)
            row_ids = row_ids[:room]
        self._pending.extend(
            Served(
                rid,
                target.endpoint,
                assignment.variant,
                assignment.phase,
                target.unit,
                latency_ms=latency_ms,
                error=error,
            )
            for rid in row_ids
        )

    def mirror(
        self,
        target: Target,
        request_id: str,
        columns: Columns,
        logged: Mapping[str, Any],
        rows: int,
    ) -> None:
        """Queue a copy of the request for each shadow variant; drop and count when full."""
        if target.assignment is None:
            return
        for variant in target.assignment.shadow_variants:
            try:
                self._shadows.put_nowait(
                    (target.endpoint, variant, request_id, columns, logged, rows)
                )
            except asyncio.QueueFull:
                self.metrics.shadow_requests.labels(target.endpoint, variant, "dropped").inc()

    async def _shadow_worker(self) -> None:
        # Mirrored requests run side by side (at most shadow_queue_size at once, beyond the
        # queue's own bound), so the shadow's batcher merges them into one prediction per batch
        # window instead of one per request (see EndpointModelsConfig.for_variant).
        slots = asyncio.Semaphore(self.config.shadow_queue_size)
        loop = asyncio.get_running_loop()
        while True:
            item = await self._shadows.get()
            await slots.acquire()
            task = loop.create_task(self._run_shadow(*item))
            self._shadow_tasks.add(task)
            task.add_done_callback(self._shadow_tasks.discard)
            task.add_done_callback(lambda _: slots.release())

    async def _run_shadow(
        self,
        endpoint: str,
        variant: str,
        request_id: str,
        columns: Columns,
        logged: Mapping[str, Any],
        rows: int,
    ) -> None:
        served = self.repository.get_or_none(variant_model_name(endpoint, variant))
        outcome = "error"
        if served is not None and self._shadow is not None:
            try:
                await self._shadow(served, endpoint, request_id, columns, logged, rows)
                outcome = "ok"
            except asyncio.CancelledError:
                raise
            except Exception:
                log.debug("shadow %s of %s failed", variant, endpoint, exc_info=True)
        self.metrics.shadow_requests.labels(endpoint, variant, outcome).inc()

    # -- served records and feedback -----------------------------------------------------------
    def _drop_served(self, endpoint: str, records: int) -> None:
        self.metrics.served_dropped.labels(endpoint).inc(records)
        self._dropped[endpoint] = self._dropped.get(endpoint, 0) + records

    def _warn_dropped(self, now: float) -> None:
        """Log the records dropped since the last warning, at most once every SERVED_DROP_WARN_S."""
        if not self._dropped or now - self._dropped_warned_at < SERVED_DROP_WARN_S:
            return
        dropped, self._dropped = self._dropped, {}
        self._dropped_warned_at = now
        log.warning(
            "dropped %d served record(s) since the last warning (%s): they arrive faster than "
            "the metadata database takes them and max_pending_served=%d were waiting; A/B "
            "reports and canaries see an unbiased sample of the traffic",
            sum(dropped.values()),
            ", ".join(f"{endpoint}: {n}" for endpoint, n in sorted(dropped.items())),
            self.config.max_pending_served,
        )

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SERVED_FLUSH_S)
            self._warn_dropped(loop.time())
            try:
                await self.flush_served()
            except Exception:
                log.exception("recording served requests failed")

    async def flush_served(self) -> None:
        """Write every queued served record (feedback calls this first, so it finds them)."""
        async with self._flush_lock:
            batch, self._pending = self._pending, []
            if batch and self.feedback_store is not None:
                await asyncio.to_thread(_record_served, self.feedback_store, batch)

    async def feedback(self, items: list[Feedback], endpoint: str | None) -> FeedbackResult:
        if self.feedback_store is None:
            raise NotFoundError("this server does not serve endpoints, so it takes no feedback")
        await self.flush_served()
        return await asyncio.to_thread(
            self.feedback_store.record_feedback, items, endpoint=endpoint
        )


def _record_served(store: SqlFeedbackStore, batch: list[Served]) -> None:
    try:
        store.record_served_many(batch)
    except ConflictError:
        # A client reused a request id: keep every other record of the batch. Halving finds a
        # duplicate in ~2*log2(n) transactions (0.24 s for 20,000 records on SQLite; one
        # transaction per record took ~9 s); the first half goes first, so a duplicate keeps
        # its first answer.
        if len(batch) > 1:
            half = len(batch) // 2
            _record_served(store, batch[:half])
            _record_served(store, batch[half:])


def parse_feedback(doc: Any) -> list[Feedback]:
    """``{"request_id", "label"|"reward"|"value"}`` or a list of them -> Feedback items."""
    items = doc if isinstance(doc, list) else [doc]
    if not items or not all(isinstance(i, dict) for i in items):
        raise InvalidInputError(
            'send {"request_id": ..., "label" | "reward" | "value": ...} or a non-empty list'
        )
    out = []
    for item in items:
        unknown = set(item) - {"request_id", "label", "reward", "value"}
        if unknown:
            raise InvalidInputError(f"feedback has unknown fields {sorted(unknown)}")
        if "reward" in item and "value" in item:
            raise InvalidInputError("give 'reward' or 'value', not both (they are the same)")
        value = item.get("reward", item.get("value"))
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidInputError(f"feedback value must be a number, got {value!r}")
        rid = item.get("request_id")
        if not isinstance(rid, str):
            raise InvalidInputError(f"feedback needs a request_id string, got {rid!r}")
        out.append(Feedback(rid, None if value is None else float(value), item.get("label")))
    return out


def first_row(columns: Mapping[str, Array]) -> dict[str, Any]:
    """Row 0 of named columns (unit keys from a named input field)."""
    out: dict[str, Any] = {}
    for name, column in columns.items():
        if column.ndim >= 1 and len(column):
            value = column[0]
            out[name] = value.decode() if isinstance(value, bytes) else value
    return out
