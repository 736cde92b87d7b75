"""Where a feature view's rows live: Parquet files, CSV files, or a DuckDB table or query.

Every source names its event-time column and, optionally, a created-time column (when the row
was written; it breaks ties between rows with the same event time). A source knows how to show
itself to DuckDB as a relation, and how to number its rows in source order, which is the last
tie-break of the point-in-time join (see ``docs/features.md``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from prodml.errors import ConfigError

# Column added to every scanned source: the row's position in source order.
SOURCE_ORDER = "__prodml_source_order"


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _check_column(owner: str, field: str, value: str | None) -> None:
    if value is not None and (not value or not value.strip()):
        raise ConfigError(f"source {owner!r}: field {field!r} must be a non-empty column name")


@dataclass(frozen=True)
class ParquetSource:
    """Parquet file(s): a file, a directory of ``*.parquet`` files, or a glob.

    Source order is file name order, then row order within each file.
    """

    path: str
    timestamp_field: str = "event_timestamp"
    created_timestamp_field: str | None = None
    kind: Literal["parquet"] = "parquet"

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("ParquetSource: field 'path' must name a file, directory or glob")
        _check_column(self.path, "timestamp_field", self.timestamp_field)
        _check_column(self.path, "created_timestamp_field", self.created_timestamp_field)

    @property
    def glob(self) -> str:
        path = Path(self.path)
        if path.is_dir():
            return str(path / "*.parquet")
        return self.path

    def relation_sql(self) -> str:
        # union_by_name: pushed files may carry the columns in another order.
        return (
            f"(SELECT * EXCLUDE (filename, file_row_number), "
            f"row_number() OVER (ORDER BY filename, file_row_number) AS {SOURCE_ORDER} "
            f"FROM read_parquet({_quote_literal(self.glob)}, filename = true, "
            f"file_row_number = true, union_by_name = true))"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CsvSource:
    """One CSV file with a header row. Source order is line order."""

    path: str
    timestamp_field: str = "event_timestamp"
    created_timestamp_field: str | None = None
    kind: Literal["csv"] = "csv"

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("CsvSource: field 'path' must name a CSV file")
        _check_column(self.path, "timestamp_field", self.timestamp_field)
        _check_column(self.path, "created_timestamp_field", self.created_timestamp_field)

    def relation_sql(self) -> str:
        # A single-threaded scan keeps line order, so row_number() over it is source order.
        return (
            f"(SELECT *, row_number() OVER () AS {SOURCE_ORDER} "
            f"FROM read_csv({_quote_literal(self.path)}, header = true, parallel = false))"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DuckDBSource:
    """A table or a query in a DuckDB database file.

    The database is attached read-only under the name ``source_db``: a query names its tables as
    ``source_db.my_table``. A table's source order is its insertion order (``rowid``); a query's is
    its output order, so give the query an ``ORDER BY`` when full ties matter.
    """

    database: str
    table: str | None = None
    query: str | None = None
    timestamp_field: str = "event_timestamp"
    created_timestamp_field: str | None = None
    kind: Literal["duckdb"] = "duckdb"

    def __post_init__(self) -> None:
        if (self.table is None) == (self.query is None):
            raise ConfigError(
                f"DuckDBSource {self.database!r}: give exactly one of fields 'table' and 'query'"
            )
        _check_column(self.database, "timestamp_field", self.timestamp_field)
        _check_column(self.database, "created_timestamp_field", self.created_timestamp_field)

    def relation_sql(self, alias: str = "source_db") -> str:
        if self.table is not None:
            return f"(SELECT *, rowid AS {SOURCE_ORDER} FROM {alias}.{_identifier(self.table)})"
        return f"(SELECT *, row_number() OVER () AS {SOURCE_ORDER} FROM ({self.query}))"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DataSource = ParquetSource | CsvSource | DuckDBSource


def _identifier(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def source_from_dict(data: dict[str, Any]) -> DataSource:
    """The inverse of ``to_dict`` (used when reading applied definitions back)."""
    kind = data.get("kind")
    fields = {k: v for k, v in data.items() if k != "kind"}
    if kind == "parquet":
        return ParquetSource(**fields)
    if kind == "csv":
        return CsvSource(**fields)
    if kind == "duckdb":
        return DuckDBSource(**fields)
    raise ConfigError(f"unknown source kind {kind!r}; expected parquet, csv or duckdb")
