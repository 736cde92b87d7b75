"""The feature store: definitions, point-in-time training sets, materialization, online lookups.

Declare definitions in Python, ``apply`` them, build training sets with
``get_historical_features``, copy the latest values online with ``materialize``, and read them at
serving time with ``get_online_features`` (or a prepared ``online_lookup``). The semantics are
Feast's, made exact and deterministic; ``docs/features.md`` states them.
"""

from prodml.features.apply import Change, Plan
from prodml.features.definitions import Entity, FeatureService, FeatureView, Field
from prodml.features.lookup import FeatureStatus, OnlineCounters, OnlineFeatures, OnlineLookup
from prodml.features.materialize import MaterializeResult
from prodml.features.offline import OfflineStore, RetrievalJob
from prodml.features.on_demand import (
    OnDemandFeatureView,
    RequestSource,
    on_demand_feature_view,
)
from prodml.features.online import (
    MemoryOnlineConfig,
    OnlineRow,
    OnlineStore,
    RedisOnlineConfig,
    SqliteOnlineConfig,
    open_online_store,
)
from prodml.features.push import PushMode
from prodml.features.records import MaterializedInterval, TrainingSetRecord
from prodml.features.sources import CsvSource, DuckDBSource, ParquetSource
from prodml.features.store import FeatureStore

__all__ = [
    "Change",
    "CsvSource",
    "DuckDBSource",
    "Entity",
    "FeatureService",
    "FeatureStatus",
    "FeatureStore",
    "FeatureView",
    "Field",
    "MaterializeResult",
    "MaterializedInterval",
    "MemoryOnlineConfig",
    "OfflineStore",
    "OnDemandFeatureView",
    "OnlineCounters",
    "OnlineFeatures",
    "OnlineLookup",
    "OnlineRow",
    "OnlineStore",
    "ParquetSource",
    "Plan",
    "PushMode",
    "RedisOnlineConfig",
    "RequestSource",
    "RetrievalJob",
    "SqliteOnlineConfig",
    "TrainingSetRecord",
    "on_demand_feature_view",
    "open_online_store",
]
