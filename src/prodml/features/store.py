"""``FeatureStore``: definitions, training sets, materialization and online lookups in one place.

    store = FeatureStore(path="feature_repo")            # SQLite online store, SQLite metadata
    store.apply([driver, driver_stats, model_features])
    training = store.get_historical_features(entity_df, model_features).to_pandas()
    store.materialize_incremental()
    features = store.get_online_features([{"driver_id": 7}], model_features)

Everything heavy is delegated: the point-in-time join to the offline store, reads and writes to
the online store, bookkeeping to the metadata database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from prodml._internal.clock import Clock, SystemClock
from prodml._internal.db import connect
from prodml.errors import ConfigError
from prodml.features import apply as applying
from prodml.features import records
from prodml.features.catalog import Catalog, Definition
from prodml.features.definitions import FeatureService, FeatureView
from prodml.features.duckdb_offline import DuckDBOfflineStore
from prodml.features.historical import historical_job
from prodml.features.lookup import OnlineCounters, OnlineFeatures, OnlineLookup
from prodml.features.materialize import MaterializeResult, materialize_view
from prodml.features.offline import OfflineStore, RetrievalJob
from prodml.features.online.base import OnlineRow, OnlineStore
from prodml.features.online.config import (
    MemoryOnlineConfig,
    RedisOnlineConfig,
    SqliteOnlineConfig,
    open_online_store,
    parse_online_config,
)
from prodml.features.push import PushMode, online_rows_from_push, pushed_table
from prodml.settings import Settings

Features = Sequence[str] | FeatureService
T = TypeVar("T")
OnlineConfig = SqliteOnlineConfig | RedisOnlineConfig | MemoryOnlineConfig | Mapping[str, Any]


class FeatureStore:
    """A feature repository: its applied definitions, offline data and online store.

    Args:
        path: folder for the store's own files (SQLite online store, DuckDB spill space);
            default ``$PRODML_HOME/features``.
        metadata_url: the metadata database; default ``PRODML_METADATA_URL`` or SQLite in home.
        online: online store config (``{"kind": "redis", "url": ...}``); default SQLite.
        definitions: Python definitions to use for on-demand functions (see ``use``).
        clock: where "now" comes from (materialize_incremental, staleness).
    """

    def __init__(
        self,
        path: Path | str | None = None,
        metadata_url: str | None = None,
        online: OnlineConfig | None = None,
        *,
        definitions: Iterable[Definition] | None = None,
        offline: OfflineStore | None = None,
        clock: Clock | None = None,
    ) -> None:
        settings = Settings()
        self.path = Path(path) if path is not None else settings.home.expanduser() / "features"
        self.metadata_url = metadata_url or settings.resolved_metadata_url()
        self.online_config = parse_online_config(
            dict(online) if isinstance(online, Mapping) else online or SqliteOnlineConfig()
        )
        self.offline: OfflineStore = offline or DuckDBOfflineStore(self.path / "spill")
        self.clock: Clock = clock or SystemClock()
        self.counters = OnlineCounters()
        self._engine = connect(self.metadata_url)
        self._code = Catalog(definitions or ())
        self._catalog: Catalog | None = None
        # Sync calls run on a private event loop with their own online store; async callers get
        # a store bound to their loop (async clients such as Redis' cannot cross loops).
        self._runner: asyncio.Runner | None = None
        self._sync_online: OnlineStore | None = None
        self._async_online: OnlineStore | None = None

    # -- definitions ---------------------------------------------------------------------------

    def use(self, definitions: Iterable[Definition]) -> None:
        """Load Python definitions (for on-demand functions) without applying them."""
        self._code = Catalog(definitions)
        self._catalog = None

    def plan(self, definitions: Iterable[Definition]) -> applying.Plan:
        """What ``apply(definitions)`` would change."""
        return applying.plan(self._engine, Catalog(definitions))

    def apply(self, definitions: Iterable[Definition]) -> applying.Plan:
        """Record ``definitions`` as the store's definitions (adds, updates and removes)."""
        catalog = Catalog(definitions)
        result = applying.apply(self._engine, catalog, self.clock.now())
        self._code = catalog
        self._catalog = None
        return result

    @property
    def catalog(self) -> Catalog:
        """The applied definitions (re-read after ``apply``)."""
        if self._catalog is None:
            self._catalog = applying.load_catalog(self._engine, self._code)
        return self._catalog

    # -- offline -------------------------------------------------------------------------------

    def get_historical_features(
        self,
        entity_df: pd.DataFrame,
        features: Features,
        *,
        full_feature_names: bool = False,
        timestamp_column: str | None = None,
    ) -> RetrievalJob:
        """A training set: ``entity_df`` plus point-in-time correct features (lazy).

        The job's ``to_pandas()`` records the set's fingerprint, then available as
        ``job.fingerprint`` for model lineage.
        """
        resolved = self.catalog.resolve(features, full_feature_names=full_feature_names)
        service = features.name if isinstance(features, FeatureService) else None
        refs = features.features if isinstance(features, FeatureService) else tuple(features)

        def record(fingerprint: str, rows: int) -> None:
            records.record_training_set(
                self._engine,
                records.TrainingSetRecord(
                    fingerprint, tuple(refs), service, rows, self.clock.now()
                ),
            )

        return historical_job(self.offline, entity_df, resolved, timestamp_column, record)

    def training_sets(self, fingerprint: str | None = None) -> Sequence[records.TrainingSetRecord]:
        return records.training_sets(self._engine, fingerprint)

    # -- materialization and push --------------------------------------------------------------

    def _online_views(self, views: Sequence[str] | None) -> list[FeatureView]:
        if views is None:
            return [v for v in self.catalog.feature_views.values() if v.online]
        chosen = [self.catalog.feature_view(name) for name in views]
        offline_only = [v.name for v in chosen if not v.online]
        if offline_only:
            raise ConfigError(
                f"feature view(s) {', '.join(offline_only)} have online=False; set it to True "
                "to materialize them"
            )
        return chosen

    def materialize(
        self,
        start: datetime | None,
        end: datetime,
        views: Sequence[str] | None = None,
        *,
        progress: bool | None = None,
    ) -> list[MaterializeResult]:
        """Latest row per entity key with ``start <= event time <= end``, into the online store.

        ``start=None`` reads from the beginning. Naive datetimes are UTC.
        """
        start, until = _utc(start), _utc(end)
        if until is None or (start is not None and start > until):
            raise ConfigError(f"materialize: start {start} is after end {end}")
        results = []
        for view in self._online_views(views):
            result = materialize_view(
                self.offline, self._write_sync, view, start, until, progress=progress
            )
            records.record_materialization(
                self._engine,
                records.MaterializedInterval(
                    view.name, start, until, result.rows_written, self.clock.now()
                ),
            )
            results.append(result)
        return results

    def materialize_incremental(
        self,
        end: datetime | None = None,
        views: Sequence[str] | None = None,
        *,
        progress: bool | None = None,
    ) -> list[MaterializeResult]:
        """Materialize each view from where its last run ended (or ``now - ttl``) to ``end``.

        A view never materialized starts at ``end - ttl``, or at the beginning without a TTL.
        """
        end = _utc(end) or self.clock.now()
        results = []
        for view in self._online_views(views):
            start = records.last_materialized_end(self._engine, view.name)
            if start is None and not view.ttl_unlimited and view.ttl is not None:
                start = end - view.ttl
            results.extend(self.materialize(start, end, [view.name], progress=progress))
        return results

    def materializations(self, view: str | None = None) -> list[records.MaterializedInterval]:
        return records.materializations(self._engine, view)

    async def push_async(
        self, view: str, rows: pd.DataFrame, to: PushMode | str = PushMode.ONLINE
    ) -> int:
        """Write fresh rows; returns how many replaced older online values."""
        mode = PushMode(to)
        definition = self.catalog.feature_view(view)
        table = pushed_table(definition, rows)
        written = 0
        if mode in (PushMode.ONLINE, PushMode.ONLINE_AND_OFFLINE):
            written = await self._online_async().write(
                view, online_rows_from_push(definition, table)
            )
        if mode in (PushMode.OFFLINE, PushMode.ONLINE_AND_OFFLINE):
            await asyncio.to_thread(self.offline.append, definition, table)
        return written

    def push(self, view: str, rows: pd.DataFrame, to: PushMode | str = PushMode.ONLINE) -> int:
        """Blocking form of ``push_async``."""
        mode = PushMode(to)
        definition = self.catalog.feature_view(view)
        table = pushed_table(definition, rows)
        written = 0
        if mode in (PushMode.ONLINE, PushMode.ONLINE_AND_OFFLINE):
            written = self._write_sync(view, online_rows_from_push(definition, table))
        if mode in (PushMode.OFFLINE, PushMode.ONLINE_AND_OFFLINE):
            self.offline.append(definition, table)
        return written

    # -- online --------------------------------------------------------------------------------

    def online_lookup(
        self,
        features: Features,
        *,
        full_feature_names: bool = False,
        drop_stale: bool = False,
        request_overrides: bool = False,
    ) -> OnlineLookup:
        """A prepared async lookup for ``features``, for the serving hot path.

        ``await lookup(entity_rows)`` returns ``OnlineFeatures``. Call it from one event loop.
        """
        resolved = self.catalog.resolve(features, full_feature_names=full_feature_names)
        return OnlineLookup(
            resolved,
            self._online_async(),
            self.clock,
            self.counters,
            drop_stale=drop_stale,
            request_overrides=request_overrides,
        )

    async def get_online_features_async(
        self,
        entity_rows: Sequence[Mapping[str, Any]],
        features: Features,
        *,
        full_feature_names: bool = False,
        drop_stale: bool = False,
    ) -> OnlineFeatures:
        """The latest values for each entity row; see ``OnlineLookup``."""
        lookup = self.online_lookup(
            features, full_feature_names=full_feature_names, drop_stale=drop_stale
        )
        return await lookup(entity_rows)

    def get_online_features(
        self,
        entity_rows: Sequence[Mapping[str, Any]],
        features: Features,
        *,
        full_feature_names: bool = False,
        drop_stale: bool = False,
    ) -> OnlineFeatures:
        """Blocking form of ``get_online_features_async`` (not for use inside an event loop)."""
        resolved = self.catalog.resolve(features, full_feature_names=full_feature_names)
        lookup = OnlineLookup(
            resolved, self._online_sync(), self.clock, self.counters, drop_stale=drop_stale
        )
        return self._run(lookup(entity_rows))

    def close(self) -> None:
        if self._sync_online is not None and self._sync_online is not self._async_online:
            self._run(self._sync_online.close())
        if self._runner is not None:
            self._runner.close()
        self._engine.dispose()

    async def aclose(self) -> None:
        """Close the online store used by async callers (call from their event loop)."""
        if self._async_online is not None:
            await self._async_online.close()
            if self._sync_online is self._async_online:
                self._sync_online = None
            self._async_online = None

    def _online_async(self) -> OnlineStore:
        if self._async_online is None:
            self._async_online = open_online_store(self.online_config, folder=self.path)
        return self._async_online

    def _online_sync(self) -> OnlineStore:
        if self._sync_online is None:
            if isinstance(self.online_config, RedisOnlineConfig):
                self._sync_online = open_online_store(self.online_config, folder=self.path)
            else:
                # Loop-free stores are shared, so sync and async callers see the same rows.
                self._sync_online = self._online_async()
        return self._sync_online

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(coroutine)

    def _write_sync(self, view: str, rows: Sequence[OnlineRow]) -> int:
        return self._run(self._online_sync().write(view, rows))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
