"""Prometheus metrics of the serving layer (names follow Prometheus conventions).

===================================== =========  ===========================================
name                                  type       labels
===================================== =========  ===========================================
prodml_requests_total                 counter    model, version, protocol, status
prodml_request_duration_seconds       histogram  model, version, protocol, status
prodml_queue_duration_seconds         histogram  model, version (wait for a batch)
prodml_compute_duration_seconds       histogram  model, version (one batch's predict)
prodml_batch_size_rows                histogram  model, version
prodml_inference_rows_total           counter    model, version (rows predicted)
prodml_executions_total               counter    model, version (batches run)
prodml_requests_in_flight             gauge      protocol
prodml_queue_depth_rows               gauge      model, version
prodml_model_load_seconds             gauge      model, version
prodml_model_memory_bytes             gauge      model, version (RSS growth on load, per worker)
prodml_feature_rows_total             counter    model (entity rows looked up online)
prodml_feature_missing_entities_total counter    model (entity row x feature view not found)
prodml_feature_stale_values_total     counter    model (rows older than the view's TTL)
prodml_shadow_requests_total          counter    endpoint, variant, outcome (ok|error|dropped)
prodml_served_records_dropped_total   counter    endpoint (max_pending_served were waiting)
===================================== =========  ===========================================

With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` is set before the workers start and
``/metrics`` merges every worker's values (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _mp

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
_ROW_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class ServingMetrics:
    """The metrics of one worker; label children are cached so the hot path does dict lookups."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        mv = ("model", "version")
        self.requests = Counter(
            "prodml_requests",
            "Inference requests answered.",
            (*mv, "protocol", "status"),
            registry=r,
        )
        self.request_seconds = Histogram(
            "prodml_request_duration_seconds",
            "Inference request latency, receipt to answer.",
            (*mv, "protocol", "status"),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_seconds = Histogram(
            "prodml_queue_duration_seconds",
            "Time a request waited for its batch.",
            mv,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.compute_seconds = Histogram(
            "prodml_compute_duration_seconds",
            "Time one batch spent in the model.",
            mv,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_rows = Histogram(
            "prodml_batch_size_rows",
            "Rows per executed batch.",
            mv,
            buckets=_ROW_BUCKETS,
            registry=r,
        )
        self.inference_rows = Counter("prodml_inference_rows", "Rows predicted.", mv, registry=r)
        self.executions = Counter("prodml_executions", "Batches executed.", mv, registry=r)
        self.in_flight = Gauge(
            "prodml_requests_in_flight",
            "Requests being handled.",
            ("protocol",),
            registry=r,
            multiprocess_mode="livesum",
        )
        self.queue_depth = Gauge(
            "prodml_queue_depth_rows",
            "Rows waiting for a batch.",
            mv,
            registry=r,
            multiprocess_mode="livesum",
        )
        self.load_seconds = Gauge(
            "prodml_model_load_seconds",
            "Seconds to load and warm.",
            mv,
            registry=r,
            multiprocess_mode="max",
        )
        self.memory_bytes = Gauge(
            "prodml_model_memory_bytes",
            "Resident memory the model added to this worker.",
            mv,
            registry=r,
            multiprocess_mode="all",
        )
        self.feature_rows = Counter(
            "prodml_feature_rows", "Entity rows looked up online.", ("model",), registry=r
        )
        self.feature_missing = Counter(
            "prodml_feature_missing_entities",
            "Entity rows with no stored features (per feature view).",
            ("model",),
            registry=r,
        )
        self.feature_stale = Counter(
            "prodml_feature_stale_values",
            "Looked-up rows older than their feature view's TTL.",
            ("model",),
            registry=r,
        )
        self.shadow_requests = Counter(
            "prodml_shadow_requests",
            "Requests mirrored to shadow variants, by outcome (dropped: queue full).",
            ("endpoint", "variant", "outcome"),
            registry=r,
        )
        self.served_dropped = Counter(
            "prodml_served_records_dropped",
            "Served records (one per answered row) not written: max_pending_served were waiting.",
            ("endpoint",),
            registry=r,
        )
        # Hot-path tallies in plain Python; ``flush`` moves them into prometheus_client (whose
        # every inc takes a lock and, across workers, writes an mmap): ~7 locked writes per
        # request otherwise, a measurable share of a 1-row request.
        self._pending: dict[tuple[str, str, str, int], _Tally] = {}
        self._flight: dict[str, int] = {}
        self.models: list[ModelMetrics] = []

    def request_done(
        self, model: str, version: str, protocol: str, status: int, seconds: float
    ) -> None:
        key = (model, version, protocol, status)
        tally = self._pending.get(key)
        if tally is None:
            tally = self._pending[key] = _Tally()
        tally.add(seconds, _LATENCY_BUCKETS)

    def enter(self, protocol: str) -> None:
        self._flight[protocol] = self._flight.get(protocol, 0) + 1

    def leave(self, protocol: str) -> None:
        self._flight[protocol] -= 1

    def flush(self) -> None:
        """Publish the tallies (called every second by the server and before each scrape)."""
        pending, self._pending = self._pending, {}
        for (model, version, protocol, status), tally in pending.items():
            labels = (model, version, protocol, str(status))
            self.requests.labels(*labels).inc(tally.count)
            tally.publish(self.request_seconds.labels(*labels))
        for model_metrics in self.models:
            model_metrics.flush()
        for protocol, value in self._flight.items():
            self.in_flight.labels(protocol).set(value)

    def feature_lookup(self, model: str, rows: int, missing: int, stale: int) -> None:
        self.feature_rows.labels(model).inc(rows)
        if missing:
            self.feature_missing.labels(model).inc(missing)
        if stale:
            self.feature_stale.labels(model).inc(stale)

    def model_observer(
        self, model: str, version: str, depth: Callable[[], int] | None = None
    ) -> ModelMetrics:
        return ModelMetrics(self, model, version, depth)

    def model_loaded(self, model: str, version: str, seconds: float, memory: int) -> None:
        self.load_seconds.labels(model, version).set(seconds)
        self.memory_bytes.labels(model, version).set(memory)

    def render(self) -> bytes:
        """The exposition text; merges worker processes in multiprocess mode."""
        self.flush()
        if multiprocess_enabled():
            registry = CollectorRegistry()
            _mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class _Tally:
    """Observations of one histogram child not yet published."""

    __slots__ = ("buckets", "count", "total")

    def __init__(self, bounds: tuple[float, ...] = _LATENCY_BUCKETS) -> None:
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * (len(bounds) + 1)  # the last one is +Inf

    def add(self, value: float, bounds: tuple[float, ...]) -> None:
        self.count += 1
        self.total += value
        self.buckets[bisect_left(bounds, value)] += 1

    def publish(self, hist: Any) -> None:
        if not self.count:
            return
        # prometheus_client has no bulk observe; feed its (non-cumulative) buckets and sum.
        hist._sum.inc(self.total)
        for i, n in enumerate(self.buckets):
            if n:
                hist._buckets[i].inc(n)


class ModelMetrics:
    """Batch metrics of one model version (a ``BatchObserver``), tallied like requests."""

    def __init__(
        self,
        metrics: ServingMetrics,
        model: str,
        version: str,
        depth: Callable[[], int] | None = None,
    ) -> None:
        self._hists = (
            metrics.queue_seconds.labels(model, version),
            metrics.compute_seconds.labels(model, version),
            metrics.batch_rows.labels(model, version),
        )
        self._inferences = metrics.inference_rows.labels(model, version)
        self._executions = metrics.executions.labels(model, version)
        self._depth = metrics.queue_depth.labels(model, version)
        self._depth_fn = depth
        self._tallies = (_Tally(), _Tally(), _Tally(_ROW_BUCKETS))
        metrics.models.append(self)

    def batch_done(self, rows: int, requests: int, compute_s: float, queue_s: list[float]) -> None:
        queue, compute, sizes = self._tallies
        for q in queue_s:
            queue.add(q, _LATENCY_BUCKETS)
        compute.add(compute_s, _LATENCY_BUCKETS)
        sizes.add(rows, _ROW_BUCKETS)

    def flush(self) -> None:
        tallies = self._tallies
        self._tallies = (_Tally(), _Tally(), _Tally(_ROW_BUCKETS))
        for hist, tally in zip(self._hists, tallies, strict=True):
            tally.publish(hist)
        self._inferences.inc(tallies[2].total)
        self._executions.inc(tallies[2].count)
        if self._depth_fn is not None:
            self._depth.set(self._depth_fn())
