"""Turning one configured model into a served one: loaded and warmed off the event loop, given
a batcher that reports to the metrics, joined to its feature service when it has one."""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable
from typing import Any

from prodml.serving.batching import Batcher
from prodml.serving.config import ModelConfig
from prodml.serving.features import FeatureJoin
from prodml.serving.metrics import ServingMetrics
from prodml.serving.repository import ServedModel
from prodml.serving.sources import LoadedModel, ModelLoader


async def load_and_warm(loader: ModelLoader, cfg: ModelConfig) -> LoadedModel:
    """Load (and warm, unless configured not to) in a thread, so the worker keeps serving the
    old version meanwhile."""
    loaded = await asyncio.to_thread(loader.load, cfg)
    if cfg.warm_up:
        await asyncio.to_thread(loaded.model.warm_up)
    return loaded


def served_model(
    cfg: ModelConfig,
    loaded: LoadedModel,
    load_seconds: float,
    clock: Callable[[], float],
    metrics: ServingMetrics,
    feature_store: Any,
) -> ServedModel:
    """The loaded model with its batcher (and feature join), ready to add to the repository."""
    name = cfg.served_name
    batcher = Batcher(loaded.model, cfg.batching.settings(), clock=clock)
    batcher._observer = metrics.model_observer(name, loaded.version, lambda: batcher.queued_rows)
    served = ServedModel(name, loaded.version, loaded.model, batcher, cfg.timeout_s, load_seconds)
    if cfg.feature_service is not None:
        served.features = _feature_join(cfg, served, feature_store, metrics)
    return served


def _feature_join(
    cfg: ModelConfig, served: ServedModel, store: Any, metrics: ServingMetrics
) -> FeatureJoin:
    service = store.catalog.feature_service(cfg.feature_service)
    lookup = store.online_lookup(
        service, drop_stale=cfg.drop_stale, request_overrides=cfg.feature_overrides
    )
    return FeatureJoin(
        served.name,
        service.name,
        served.model.signature,
        lookup,
        metrics,
        reject_missing=cfg.missing_entities == "reject",
    )


def rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc; the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
