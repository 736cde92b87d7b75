"""Opening the stores a server config names: the feature store and the prediction log.

Both are opened once per worker process, in a thread (they read the metadata database, import
pyarrow), when the data plane starts.
"""

from __future__ import annotations

from prodml.features import FeatureStore
from prodml.monitoring.log import ParquetPredictionLog
from prodml.serving.config import FeatureStoreConfig, PredictionLogConfig


def open_prediction_log(config: PredictionLogConfig) -> ParquetPredictionLog:
    return ParquetPredictionLog(
        config.path,
        flush_rows=config.flush_rows,
        flush_interval_s=config.flush_interval_s,
        max_buffer_rows=config.max_buffer_rows,
        sample_rate=config.sample_rate,
        exclude_columns=config.exclude_columns,
        hash_columns=config.hash_columns,
        hash_salt=config.hash_salt,
        compression=config.compression,
    )


def open_feature_store(config: FeatureStoreConfig) -> FeatureStore:
    """The store, with its applied definitions read (and Python definitions loaded, for
    on-demand functions), so the first request pays no metadata query."""
    definitions = None
    if config.definitions is not None:
        from prodml.features.loading import load_definitions

        definitions = load_definitions(config.definitions)
    store = FeatureStore(
        config.path,
        config.metadata_url,
        config.online,
        definitions=definitions,
    )
    _ = store.catalog
    return store
