"""The offline store on DuckDB: point-in-time joins and materialization reads over any source.

The join, for each entity row at time t and each view, takes the source row with the latest
event time <= t (and >= t - ttl when the view has a TTL, both ends inclusive). Rows that tie on
event time are ranked by created time (latest first, missing created times last) and then by
source order (last row wins). It is one ASOF join per view after collapsing each
(key, event time) group to its winner, so DuckDB streams the sources and spills to disk rather
than holding tens of millions of rows in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodml.errors import ConfigError, InvalidInputError
from prodml.features.catalog import ViewSelection
from prodml.features.definitions import FeatureView
from prodml.features.sources import SOURCE_ORDER, CsvSource, DuckDBSource, ParquetSource

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

ROW = "__prodml_row"
TS = "__prodml_ts"
_EVENT = "__prodml_event"
_CREATED = "__prodml_created"
_BATCH_ROWS = 100_000


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _interval(view: FeatureView) -> str | None:
    if view.ttl_unlimited or view.ttl is None:
        return None
    micros = round(view.ttl.total_seconds() * 1_000_000)
    return f"to_microseconds({micros})"


class DuckDBOfflineStore:
    """Point-in-time joins and materialization reads, computed by DuckDB.

    ``memory_limit`` caps DuckDB's memory; beyond it, work spills to ``spill_dir``.
    """

    def __init__(
        self,
        spill_dir: Path | None = None,
        *,
        memory_limit: str = "2GB",
        threads: int | None = None,
    ) -> None:
        self.spill_dir = spill_dir
        self.memory_limit = memory_limit
        self.threads = threads
        self._lock = threading.Lock()

    def _connect(self, sources: Sequence[FeatureView]) -> duckdb.DuckDBPyConnection:
        try:
            import duckdb
        except ImportError as exc:  # pragma: no cover - duckdb is a core dependency
            raise ConfigError("duckdb is not installed; pip install duckdb") from exc
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{self.memory_limit}'")
        if self.threads is not None:
            con.execute(f"SET threads = {int(self.threads)}")
        if self.spill_dir is not None:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            con.execute(f"SET temp_directory = '{self.spill_dir.as_posix()}'")
        databases = {v.source.database for v in sources if isinstance(v.source, DuckDBSource)}
        if len(databases) > 1:
            raise ConfigError(
                "feature views read DuckDB sources from different database files "
                f"({', '.join(sorted(databases))}); one request can read one DuckDB database"
            )
        for database in databases:
            con.execute(f"ATTACH '{database}' AS source_db (READ_ONLY)")
        return con

    def _source_rows(
        self, view: FeatureView, features: Sequence[str], where: str, *, prefix: bool = True
    ) -> str:
        """The view's source collapsed to one winning row per (keys, event time)."""
        source = view.source
        keys = ", ".join(quote(k) for k in view.join_keys)
        created = (
            f"CAST({quote(source.created_timestamp_field)} AS TIMESTAMPTZ)"
            if source.created_timestamp_field
            else "CAST(NULL AS TIMESTAMPTZ)"
        )
        columns = ", ".join(
            f"{quote(name)} AS {quote(f'{view.name}__{name}' if prefix else name)}"
            for name in features
        )
        return (
            f"SELECT {keys}, CAST({quote(source.timestamp_field)} AS TIMESTAMPTZ) AS {_EVENT}, "
            f"{created} AS {_CREATED}, {columns} FROM {source.relation_sql()} AS s "
            f"WHERE {quote(source.timestamp_field)} IS NOT NULL {where} "
            f"QUALIFY row_number() OVER (PARTITION BY {keys}, {_EVENT} "
            f"ORDER BY {_CREATED} DESC NULLS LAST, {SOURCE_ORDER} DESC) = 1"
        )

    def point_in_time_join(
        self, entities: pa.Table, timestamp_column: str, views: Sequence[ViewSelection]
    ) -> Iterator[pa.RecordBatch]:
        """See ``OfflineStore.point_in_time_join``; ``entities`` must hold ROW and TS columns."""
        con = self._connect([s.view for s in views])
        con.register("entity", entities)
        ctes: list[str] = []
        joins: list[str] = []
        selected: list[str] = [f"e.{ROW}"]
        for i, selection in enumerate(views):
            view = selection.view
            ttl = _interval(view)
            # Prune rows no entity row can see: newer than the latest t or older than the
            # earliest t - ttl. DuckDB pushes these filters into the Parquet scan.
            where = (
                f"AND CAST({quote(view.source.timestamp_field)} AS TIMESTAMPTZ) <= "
                f"(SELECT max({TS}) FROM entity)"
            )
            if ttl is not None:
                where += (
                    f" AND CAST({quote(view.source.timestamp_field)} AS TIMESTAMPTZ) >= "
                    f"(SELECT min({TS}) FROM entity) - {ttl}"
                )
            ctes.append(f"v{i} AS ({self._source_rows(view, selection.features, where)})")
            on = " AND ".join(f"e.{quote(k)} = v{i}.{quote(k)}" for k in view.join_keys)
            joins.append(f"ASOF LEFT JOIN v{i} ON {on} AND e.{TS} >= v{i}.{_EVENT}")
            for column in selection.columns:
                if ttl is None:
                    selected.append(f"v{i}.{quote(column)}")
                else:
                    selected.append(
                        f"CASE WHEN v{i}.{_EVENT} >= e.{TS} - {ttl} "
                        f"THEN v{i}.{quote(column)} END AS {quote(column)}"
                    )
        sql = (
            f"WITH {', '.join(ctes)} SELECT {', '.join(selected)} FROM entity AS e "
            f"{' '.join(joins)} ORDER BY e.{ROW}"
        )
        yield from self._stream(con, sql, views)

    def latest_rows(
        self, view: FeatureView, start: datetime | None, end: datetime
    ) -> Iterator[pa.RecordBatch]:
        con = self._connect([view])
        sql = self._latest_sql(view, start, end, con)
        selection = [ViewSelection(view, view.feature_names)]
        yield from self._stream(con, sql, selection)

    def count_keys(self, view: FeatureView, start: datetime | None, end: datetime) -> int:
        con = self._connect([view])
        try:
            row = con.execute(
                f"SELECT count(*) FROM ({self._latest_sql(view, start, end, con)})"
            ).fetchone()
        finally:
            con.close()
        return int(row[0]) if row else 0

    def _latest_sql(
        self, view: FeatureView, start: datetime | None, end: datetime, con: Any
    ) -> str:
        event = f"CAST({quote(view.source.timestamp_field)} AS TIMESTAMPTZ)"
        con.execute("SET VARIABLE prodml_end = ?::TIMESTAMPTZ", [end])
        where = f"AND {event} <= getvariable('prodml_end')"
        if start is not None:
            con.execute("SET VARIABLE prodml_start = ?::TIMESTAMPTZ", [start])
            where += f" AND {event} >= getvariable('prodml_start')"
        keys = ", ".join(quote(k) for k in view.join_keys)
        rows = self._source_rows(view, view.feature_names, where, prefix=False)
        return (
            f"SELECT {keys}, {_EVENT} AS event_timestamp, {_CREATED} AS created_timestamp, "
            f"* EXCLUDE ({keys}, {_EVENT}, {_CREATED}) FROM ({rows}) "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {_EVENT} DESC) = 1"
        )

    def _stream(
        self, con: Any, sql: str, views: Sequence[ViewSelection]
    ) -> Iterator[pa.RecordBatch]:
        import duckdb

        try:
            reader = con.sql(sql).to_arrow_reader(_BATCH_ROWS)
        except (
            duckdb.BinderException,
            duckdb.ConversionException,
            duckdb.CatalogException,
            duckdb.IOException,
            duckdb.InvalidInputException,
        ) as exc:
            names = ", ".join(s.view.name for s in views)
            raise InvalidInputError(
                f"reading feature view(s) {names} failed: {str(exc).splitlines()[0]}; check that "
                "the source exists and that its key and timestamp columns match the definition"
            ) from exc
        try:
            yield from reader
        finally:
            con.close()

    def append(self, view: FeatureView, rows: pa.Table) -> None:
        """Append pushed rows: a new file in a Parquet directory, lines to a CSV, or an INSERT."""
        import uuid

        source = view.source
        if isinstance(source, ParquetSource):
            directory = Path(source.path)
            if not directory.is_dir():
                raise ConfigError(
                    f"feature view {view.name!r}: pushing offline needs field 'source.path' to be "
                    f"a directory of Parquet files, but {source.path!r} is not a directory"
                )
            import pyarrow.parquet as pq

            pq.write_table(rows, directory / f"push-{uuid.uuid4().hex}.parquet")
        elif isinstance(source, CsvSource):
            import pyarrow.csv as pcsv

            with open(source.path, "ab") as handle:
                pcsv.write_csv(rows, handle, pcsv.WriteOptions(include_header=False))
        elif source.table is not None:
            import duckdb

            with self._lock, duckdb.connect(source.database) as con:
                con.register("pushed", rows)
                con.execute(f"INSERT INTO {source.table} BY NAME SELECT * FROM pushed")
        else:
            raise ConfigError(
                f"feature view {view.name!r}: a query source cannot take pushed rows; push online "
                "only, or use a table source"
            )
