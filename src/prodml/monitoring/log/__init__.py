"""The prediction log: every served prediction, written asynchronously to Parquet segments
partitioned by endpoint and date, queried with DuckDB, joined to feedback by request id.

Serving calls ``log.log_block(PredictionBlock(...))`` once per model batch and
``log.log_columns(PredictionBatch(...))`` for a request logged on its own (both non-blocking;
the writer thread expands them into rows) and ``log.close()`` at shutdown (writes everything);
``log.log(PredictionRecord(...))`` logs one row. See ``parquet`` for what a crash can lose.
"""

from prodml.monitoring.log.base import (
    FIXED_COLUMNS,
    INPUT_PREFIX,
    OUTPUT_PREFIX,
    ColumnarPredictionLog,
    LogStats,
    PredictionBatch,
    PredictionBlock,
    PredictionLog,
    PredictionLogReader,
    PredictionRecord,
    row_ids,
)
from prodml.monitoring.log.memory import MemoryPredictionLog
from prodml.monitoring.log.parquet import ParquetPredictionLog
from prodml.monitoring.log.privacy import RecordPolicy
from prodml.monitoring.log.query import join_feedback

__all__ = [
    "FIXED_COLUMNS",
    "INPUT_PREFIX",
    "OUTPUT_PREFIX",
    "ColumnarPredictionLog",
    "LogStats",
    "MemoryPredictionLog",
    "ParquetPredictionLog",
    "PredictionBatch",
    "PredictionBlock",
    "PredictionLog",
    "PredictionLogReader",
    "PredictionRecord",
    "RecordPolicy",
    "join_feedback",
    "row_ids",
]
