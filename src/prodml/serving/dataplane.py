"""Request handling that knows nothing of REST or gRPC: load, look up, admit, batch, answer.

Transports decode bytes into an ``InferenceRequest`` (see ``codecs``), call ``DataPlane.infer``
and encode what comes back; errors propagate as prodml errors and ``status.status_of`` maps them.
A request with a ``RequestContext`` (only built when the server logs predictions or serves
endpoints) may be routed to an endpoint's variant, and its outcome goes to the
``RequestTracker`` (``predictions``); without one, the path is unchanged by those features.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from prodml.errors import (
    ConfigError,
    DeadlineExceededError,
    InvalidInputError,
    ModelNotFoundError,
    NotReadyError,
    OverloadedError,
)
from prodml.serving.columns import to_columns
from prodml.serving.config import ModelConfig, ServerConfig
from prodml.serving.datatypes import datatype_of_array
from prodml.serving.endpoints import EndpointRouting, Target, first_row
from prodml.serving.features import Rows
from prodml.serving.inference import (
    InferenceRequest,
    InferenceResponse,
    InferTensor,
    RequestContext,
)
from prodml.serving.loading import load_and_warm, rss_bytes, served_model
from prodml.serving.metadata import model_metadata, repository_index, server_metadata
from prodml.serving.metrics import ServingMetrics
from prodml.serving.predictions import RequestTracker, Tracked
from prodml.serving.predictor import Array, Columns
from prodml.serving.process import tune_garbage_collection
from prodml.serving.repository import ModelRepository, ServedModel
from prodml.serving.sources import ClosableLoader, DefaultLoader, ModelLoader
from prodml.serving.status import status_of
from prodml.serving.stores import open_feature_store, open_prediction_log

log = logging.getLogger("prodml.serving")


class DataPlane:
    """Everything a worker serves, behind transport-free methods."""

    def __init__(
        self,
        config: ServerConfig,
        loader: ModelLoader | None = None,
        metrics: ServingMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        tune_gc: bool = False,
    ) -> None:
        self.config = config
        # A serving process's own worker (not a test or an embedding app) tunes the process's
        # garbage collection once its models are loaded.
        self.tune_gc = tune_gc
        self.loader = loader or DefaultLoader()
        self.metrics = metrics or ServingMetrics()
        self.repository = ModelRepository()
        self.clock = clock
        self.stopping = False
        self.started = False  # start() finished: every model loaded or failed, endpoints routable
        self.in_flight = 0
        self._configs = {m.served_name: m for m in config.models}
        self._watch: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._load_lock = asyncio.Lock()
        # Optional stages; the transports build a RequestContext only when ``tracking``.
        self.tracker = RequestTracker(None, clock, config.request_timeout_s)
        self.endpoints: EndpointRouting | None = None
        self.feature_store: Any = None
        self.tracking = config.prediction_log is not None or bool(config.endpoints)
        self._loaded_targets: dict[tuple[str, str | None], Target] = {}
        self._targets_of = 0  # the repository's ``changes`` the cached targets belong to

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Load and warm every configured model (readiness turns true when all are)."""
        for name in self._configs:
            self.repository.expect(name)
        if self.config.prediction_log is not None:
            self.tracker.log = await asyncio.to_thread(
                open_prediction_log, self.config.prediction_log
            )
        if self.config.feature_store is not None:
            self.feature_store = await asyncio.to_thread(
                open_feature_store, self.config.feature_store
            )
        await asyncio.gather(*(self._load(cfg) for cfg in self._configs.values()))
        if self.config.endpoints:
            # Canary promotions move aliases in the registry the loader already holds.
            registry = self.loader.registry if isinstance(self.loader, DefaultLoader) else None
            self.endpoints = EndpointRouting(
                self.config, self.repository, self._load, self.metrics, registry
            )
            self.tracker.endpoints = self.endpoints
            await self.endpoints.start(self.tracker.run_shadow)
        self._flusher = asyncio.get_running_loop().create_task(self._flush_metrics())
        if any(c.watch_alias for c in self._configs.values()):
            self._watch = asyncio.get_running_loop().create_task(self._watch_aliases())
        self.started = True
        if self.tune_gc:
            tune_garbage_collection()

    async def stop(self) -> None:
        """Stop being ready, let in-flight requests finish, stop every batcher."""
        self.stopping = True
        for task in (self._watch, self._flusher):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self.endpoints is not None:
            await self.endpoints.stop()
        await asyncio.gather(*(s.drain() for s in self.repository.served()))
        # Graceful: every accepted row is written before the worker exits.
        await asyncio.to_thread(self.tracker.close)
        if isinstance(self.loader, ClosableLoader):
            await asyncio.to_thread(self.loader.close)
        if self.feature_store is not None:
            await self.feature_store.aclose()
            await asyncio.to_thread(self.feature_store.close)

    @property
    def ready(self) -> bool:
        # ``started`` too: endpoint variants are expected one by one and routed only after
        # all have loaded, so "every expected model is ready" alone turns true too early.
        return self.started and not self.stopping and self.repository.all_ready

    async def _load(self, cfg: ModelConfig) -> ServedModel | None:
        name = cfg.served_name
        start = time.perf_counter()
        rss_before = rss_bytes()
        try:
            loaded = await load_and_warm(self.loader, cfg)
        except Exception as exc:
            log.exception("model %s failed to load", name)
            if not self.repository.is_ready(name):
                self.repository.fail(name, f"{type(exc).__name__}: {exc}")
            return None
        seconds = time.perf_counter() - start
        served = served_model(cfg, loaded, seconds, self.clock, self.metrics, self.feature_store)
        if self.tracker.log is not None:
            # The log takes each model batch whole (see predictions).
            served.batcher.answered = self.tracker.batch_answered
        self.metrics.model_loaded(name, loaded.version, seconds, rss_bytes() - rss_before)
        old = self.repository.add(served)
        log.info("serving %s version %s (loaded in %.2fs)", name, loaded.version, seconds)
        if old is not None and old.version != served.version:
            await self.repository.retire(old)
        return served

    async def load(self, name: str) -> ServedModel:
        """(Re)load a configured model beside the current version, then switch and drain."""
        cfg = self._configs.get(name)
        if cfg is None:
            raise ModelNotFoundError(
                f"model {name!r} is not in this server's configuration "
                f"(configured: {', '.join(sorted(self._configs))})"
            )
        async with self._load_lock:
            served = await self._load(cfg)
        if served is None:
            raise NotReadyError(f"model {name!r} failed to load; see the server log")
        return served

    async def unload(self, name: str) -> None:
        await self.repository.unload(name)

    async def _flush_metrics(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.metrics.flush()

    async def _watch_aliases(self) -> None:
        while True:
            await asyncio.sleep(self.config.alias_poll_s)
            for cfg in self._configs.values():
                if not cfg.watch_alias:
                    continue
                try:
                    version = await asyncio.to_thread(self.loader.current_version, cfg)
                    current = self.repository.get(cfg.served_name).version
                except Exception:
                    log.exception("checking alias of %s failed", cfg.served_name)
                    continue
                if version != current:
                    log.info("%s moved to version %s; swapping", cfg.ref, version)
                    await self.load(cfg.served_name)

    # -- inference -----------------------------------------------------------------------------
    def deadline(self, served: ServedModel, timeout_s: float | None) -> float:
        limit = served.timeout_s or self.config.request_timeout_s
        if timeout_s is not None:
            limit = min(limit, timeout_s)
        return self.clock() + limit

    async def infer(
        self,
        request: InferenceRequest,
        *,
        protocol: str = "rest",
        timeout_s: float | None = None,
        context: RequestContext | None = None,
    ) -> InferenceResponse:
        """Answer one V2 request (the metrics record it whatever happens); with a ``context``,
        as ``infer_tracked``."""
        if context is not None:
            return await self.infer_tracked(request, context, protocol, timeout_s)
        start = self.clock()
        served: ServedModel | None = None
        try:
            served = await self.resolve(request.model_name, request.model_version)
            timeout_s = _timeout(request, timeout_s)
            if served.features is None:
                columns, _ = to_columns(served.model.signature, request.inputs)
            else:
                columns, _ = await served.features.columns_from_tensors(request.inputs)
            outputs = await self._predict(served, columns, timeout_s)
            response = self._response(served, request, outputs)
        except BaseException as exc:
            self._record(request.model_name, served, protocol, status_of(exc).http, start)
            raise
        self._record(request.model_name, served, protocol, 200, start)
        return response

    async def infer_tracked(
        self,
        request: InferenceRequest,
        context: RequestContext,
        protocol: str = "rest",
        timeout_s: float | None = None,
    ) -> InferenceResponse:
        """``infer`` with a request id: logged, routed to an endpoint's variant, recorded.

        Transports that track requests call it directly: one coroutine less per request than
        ``infer(context=...)`` on the logged hot path.
        """
        request.id = context.request_id
        start = self.clock()
        target: Target | None = None
        try:
            # A loaded model (no endpoint) without a coroutine: this is the logged hot path.
            target = self.loaded_target(request.model_name, request.model_version)
            if target is None:
                target = await self.target(
                    request.model_name,
                    request.model_version,
                    context,
                    lambda: first_row({t.name: t.data for t in request.inputs}),
                )
            served = target.served
            timeout_s = _timeout(request, timeout_s)
            logged: Mapping[str, Any]
            tracked = None
            if served.features is None:
                columns, _ = to_columns(served.model.signature, request.inputs)
                logged = columns
                if request.outputs is None:  # naming outputs can still fail after the batch
                    tracked = self.tracker.track(context.request_id, target, start)
            else:
                columns, logged = await served.features.columns_from_tensors(request.inputs)
            outputs = await self._predict(served, columns, timeout_s, tracked)
            response = self._response(served, request, outputs)
        except BaseException as exc:
            self._failed(request.model_name, target, protocol, exc, start, context)
            raise
        self._record(target.endpoint, served, protocol, 200, start)
        self.tracker.answered(target, start, context.request_id, columns, logged, outputs, tracked)
        if target.assignment is not None:
            response.model_name = target.endpoint
            response.parameters["variant"] = target.assignment.variant
        return response

    def loaded_target(self, name: str, version: str | None) -> Target | None:
        """The target when ``name`` is a model already loaded here (no endpoint, no waiting).

        One ``Target`` per loaded version, kept until the repository changes: a model batch
        whose requests share one target object is one log block without comparing them.
        """
        served = self.repository.get_or_none(name, version)
        if served is None:
            return None
        if self._targets_of != self.repository.changes:  # a version came or went: start over
            self._loaded_targets.clear()
            self._targets_of = self.repository.changes
        key = (name, version)
        target = self._loaded_targets.get(key)
        if target is None:
            target = self._loaded_targets[key] = Target(served, name)
        return target

    async def target(
        self,
        name: str,
        version: str | None,
        context: RequestContext | None = None,
        fields: Callable[[], Mapping[str, Any]] | None = None,
    ) -> Target:
        """Who answers a request for ``name``: a served model, or an endpoint's variant."""
        loaded = self.loaded_target(name, version)
        if loaded is not None:
            return loaded
        endpoints = self.endpoints
        if endpoints is not None and endpoints.serves(name):
            if version is not None:
                raise InvalidInputError(
                    f"{name!r} is an endpoint: call it without a version (its variants decide)"
                )
            headers = context.headers if context is not None else {}
            params = context.params if context is not None else {}
            variant_model, assignment, unit = endpoints.choose(name, headers, params, fields)
            served = await self.resolve(variant_model, None)
            return Target(served, name, assignment, unit)
        return Target(await self.resolve(name, version), name)

    async def predict(
        self,
        target: Target,
        columns: Columns | None,
        *,
        protocol: str,
        rows: Rows | None = None,
        timeout_s: float | None = None,
        context: RequestContext | None = None,
    ) -> dict[str, Array]:
        """Predict on ready-made columns, or on entity rows for a feature-served model (V1,
        SageMaker and records routes)."""
        start = self.clock()
        served = target.served
        logged: Mapping[str, Any] = {}
        tracked = None
        try:
            if columns is None:
                if served.features is None or rows is None:
                    raise InvalidInputError(f"model {served.name!r} takes model inputs")
                columns, logged = await served.features.columns_from_rows(rows)
            else:
                logged = columns
                if context is not None:
                    tracked = self.tracker.track(context.request_id, target, start)
            outputs = await self._predict(served, columns, timeout_s, tracked)
        except BaseException as exc:
            if context is None:
                self._record(target.endpoint, served, protocol, status_of(exc).http, start)
            else:
                self._failed(target.endpoint, target, protocol, exc, start, context)
            raise
        self._record(target.endpoint, served, protocol, 200, start)
        if context is not None:
            self.tracker.answered(
                target, start, context.request_id, columns, logged, outputs, tracked
            )
        return outputs

    def _failed(
        self,
        name: str,
        target: Target | None,
        protocol: str,
        exc: BaseException,
        start: float,
        context: RequestContext,
    ) -> None:
        status = status_of(exc).http
        self._record(name, None if target is None else target.served, protocol, status, start)
        self.tracker.failed(name, target, status, type(exc).__name__, start, context.request_id)

    async def resolve(self, name: str, version: str | None) -> ServedModel:
        """The version a request uses; a model that is still loading is waited for."""
        served = self.repository.get_or_none(name, version)
        if served is not None:
            return served
        return await self.repository.get_when_loaded(name, version, self.config.request_timeout_s)

    async def _predict(
        self,
        served: ServedModel,
        columns: Columns,
        timeout_s: float | None,
        tracked: Tracked | None = None,
    ) -> dict[str, Array]:
        if self.in_flight >= self.config.max_concurrency:
            raise OverloadedError(
                f"over the concurrency cap of {self.config.max_concurrency} requests",
                retry_after_s=1.0,
            )
        deadline = self.deadline(served, timeout_s)
        self.in_flight += 1
        served.in_flight += 1
        try:
            return await served.batcher.predict(columns, deadline=deadline, tag=tracked)
        except asyncio.CancelledError:
            raise
        except TimeoutError as exc:
            if isinstance(exc, DeadlineExceededError):
                raise
            raise DeadlineExceededError(str(exc)) from exc
        finally:
            self.in_flight -= 1
            served.in_flight -= 1

    def _record(
        self, name: str, served: ServedModel | None, protocol: str, status: int, start: float
    ) -> None:
        version = served.version if served is not None else ""
        self.metrics.request_done(name, version, protocol, status, self.clock() - start)

    def _response(
        self, served: ServedModel, request: InferenceRequest, outputs: Mapping[str, Array]
    ) -> InferenceResponse:
        wanted = request.outputs
        if wanted is None:
            names = list(outputs)
            binary = frozenset(names) if request.binary_outputs else frozenset()
        else:
            missing = [o.name for o in wanted if o.name not in outputs]
            if missing:
                raise InvalidInputError(
                    f"requested outputs {missing} do not exist; the model returns "
                    f"{', '.join(outputs)}"
                )
            names = [o.name for o in wanted]
            binary = frozenset(o.name for o in wanted if o.binary)
        tensors = [
            InferTensor(n, datatype_of_array(outputs[n]), tuple(outputs[n].shape), outputs[n])
            for n in names
        ]
        return InferenceResponse(
            model_name=served.name,
            model_version=served.version,
            id=request.id,
            outputs=tensors,
            binary=binary,
        )

    # -- metadata ------------------------------------------------------------------------------
    def server_metadata(self) -> dict[str, Any]:
        return server_metadata(self.config)

    def model_metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        return model_metadata(self.repository, name, version)

    def repository_index(self, ready_only: bool = False) -> list[dict[str, Any]]:
        return repository_index(self.repository, ready_only)

    def check_configured(self, name: str) -> None:
        if name not in self._configs:
            raise ConfigError(f"model {name!r} is not configured in this server")


def _timeout(request: InferenceRequest, timeout_s: float | None) -> float | None:
    timeout_param = request.parameters.get("timeout")
    if isinstance(timeout_param, int | float) and timeout_param > 0:
        # Triton's schedule-policy parameter: microseconds.
        return min(timeout_s or float("inf"), timeout_param / 1e6)
    return timeout_s
