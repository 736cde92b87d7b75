"""Reading the log back with DuckDB (hive partitions, schemas unioned by name) and joining
feedback to it by request id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prodml.errors import ConfigError
from prodml.monitoring.log.segments import SEGMENT_GLOB, check_endpoint


def empty_table() -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "request_id": pa.array([], pa.string()),
            "time": pa.array([], pa.timestamp("us", tz="UTC")),
            "endpoint": pa.array([], pa.string()),
            "variant": pa.array([], pa.string()),
            "model_name": pa.array([], pa.string()),
            "model_version": pa.array([], pa.string()),
            "latency_ms": pa.array([], pa.float64()),
            "status": pa.array([], pa.string()),
        }
    )


def read_log(
    fs: Any,
    root: str,
    *,
    endpoint: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Any:
    """Rows of the log under ``root`` with ``start <= time < end``, oldest first."""
    import duckdb

    if not fs.glob(f"{root}/{SEGMENT_GLOB}"):
        return empty_table()
    con = duckdb.connect()
    try:
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        if protocol in ("file", "local"):
            pattern = f"{root}/{SEGMENT_GLOB}"
        else:
            con.register_filesystem(fs)
            pattern = f"{protocol}://{root.removeprefix(protocol + '://')}/{SEGMENT_GLOB}"
        where = ["1 = 1"]
        params: dict[str, object] = {"pattern": pattern}
        if endpoint is not None:
            where.append("endpoint = $endpoint")
            params["endpoint"] = check_endpoint(endpoint)
        for name, op, value in (("start", ">=", start), ("end", "<", end)):
            if value is not None:
                if value.tzinfo is None:
                    raise ConfigError(f"{name} must be timezone-aware; got {value!r}")
                where.append(f"time {op} ${name}")
                params[name] = value
        sql = (
            "SELECT * EXCLUDE (date) FROM read_parquet($pattern, hive_partitioning = true, "
            f"union_by_name = true) WHERE {' AND '.join(where)} ORDER BY time, request_id"
        )
        return con.sql(sql, params=params).to_arrow_table()
    finally:
        con.close()


def join_feedback(table: Any, feedback: Any, *, suffix: str = "_feedback") -> Any:
    """Left-join ``feedback`` (a ``pyarrow.Table`` with ``request_id``) onto log rows.

    Rows without feedback keep nulls in the feedback columns. When one request got several
    feedback rows, the last one wins (labels get corrected). Feedback columns whose names
    clash with the log's get ``suffix``. Row order of ``table`` is kept.
    """
    import pyarrow as pa

    if "request_id" not in feedback.column_names:
        raise ConfigError(f"feedback needs a request_id column; it has {feedback.column_names}")
    fb = feedback.to_pandas().drop_duplicates("request_id", keep="last")
    fb["request_id"] = fb["request_id"].astype(str)
    clash = {c: c + suffix for c in fb.columns if c != "request_id" and c in table.column_names}
    fb = fb.rename(columns=clash)
    left = table.to_pandas()
    merged = left.merge(fb, on="request_id", how="left", sort=False)
    return pa.Table.from_pandas(merged, preserve_index=False)
