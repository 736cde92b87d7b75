"""The prediction log: every served prediction, written asynchronously to Parquet segments
partitioned by endpoint and date, queried with DuckDB, joined to feedback by request id.

Serving calls ``log.log(PredictionRecord(...))`` per prediction (non-blocking) and
``log.close()`` at shutdown (writes everything). See ``parquet`` for what a crash can lose.
"""

from prodml.monitoring.log.base import (
    FIXED_COLUMNS,
    INPUT_PREFIX,
    OUTPUT_PREFIX,
    LogStats,
    PredictionLog,
    PredictionLogReader,
    PredictionRecord,
)
from prodml.monitoring.log.memory import MemoryPredictionLog
from prodml.monitoring.log.parquet import ParquetPredictionLog
from prodml.monitoring.log.privacy import RecordPolicy
from prodml.monitoring.log.query import join_feedback

__all__ = [
    "FIXED_COLUMNS",
    "INPUT_PREFIX",
    "OUTPUT_PREFIX",
    "LogStats",
    "MemoryPredictionLog",
    "ParquetPredictionLog",
    "PredictionLog",
    "PredictionLogReader",
    "PredictionRecord",
    "RecordPolicy",
    "join_feedback",
]
