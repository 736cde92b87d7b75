"""What a logged prediction is, and the small seams: writing a log and reading it.

A ``PredictionRecord`` is one row: one request (or one row of a batched request) with its
inputs (or looked-up features) and the model's outputs. A ``PredictionBatch`` is every row of
one answered request as columns. A ``PredictionBlock`` is every row of several requests that
one model batch answered together, as the merged columns the model saw: what serving hands over
on its hot path, once per model batch, so a request pays for no log object of its own. The
log's writer thread expands both into rows.

Stored, each input becomes a column ``in_<name>`` and each output a column ``out_<name>``, next
to the fixed columns ``request_id, time, endpoint, variant, model_name, model_version,
latency_ms, status``.

**Row ids.** Row ``i`` of a batch of several rows has the id ``"<request id>/<i>"`` (``i`` from
0); a one-row batch's row has the request id itself (``row_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

INPUT_PREFIX = "in_"
OUTPUT_PREFIX = "out_"
FIXED_COLUMNS = (
    "request_id",
    "time",
    "endpoint",
    "variant",
    "model_name",
    "model_version",
    "latency_ms",
    "status",
)


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One served prediction.

    Attributes:
        request_id: joins feedback (labels, rewards) to this row; unique per row (for a
            batched request, give each row its own id, e.g. ``"<request>/<row>"``).
        endpoint: the endpoint name; also the first partition level of the log.
        inputs: input (or feature) name -> scalar value.
        outputs: output name -> scalar value (``label``, ``probability``, ``prediction``).
        time: when it was served; None means "now" by the log's clock.
        status: ``ok`` or an error name.
        shadow_of: for a shadow variant's prediction, the request id of the primary's row
            (stored in a ``shadow_of`` column only when set).
    """

    request_id: str
    endpoint: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    variant: str = ""
    model_name: str = ""
    model_version: str = ""
    latency_ms: float = 0.0
    status: str = "ok"
    time: datetime | None = None
    shadow_of: str | None = None


_NO_COLUMNS: Mapping[str, Any] = MappingProxyType({})


class PredictionBatch(NamedTuple):
    """The rows of one answered request, as columns.

    A named tuple rather than a dataclass because serving builds one per request and a tuple
    is the cheapest immutable object to build. The log keeps references to the columns until
    it writes them: they must not change after they are handed over (serving's decoded inputs
    and model outputs never do).

    Attributes:
        request_id: the request's id; its rows get ``row_ids(request_id, rows)``.
        endpoint: the endpoint name; also the first partition level of the log.
        rows: how many rows the request had.
        inputs: input (or feature) name -> column of ``rows`` values (a numpy array with
            ``rows`` first, or a list); a column of another length is not stored.
        outputs: output name -> column, likewise.
        latency_ms: the request's latency, stored on each of its rows.
        status: ``ok`` or an error name.
        time: when it was served; None means "now" by the log's clock (taken when it is logged).
        shadow_of: for a shadow variant's prediction, the primary's request id (each row's
            ``shadow_of`` column holds the primary's row id).
    """

    request_id: str
    endpoint: str
    rows: int
    inputs: Mapping[str, Any] = _NO_COLUMNS
    outputs: Mapping[str, Any] = _NO_COLUMNS
    variant: str = ""
    model_name: str = ""
    model_version: str = ""
    latency_ms: float = 0.0
    status: str = "ok"
    time: datetime | None = None
    shadow_of: str | None = None

    @classmethod
    def of_record(cls, record: PredictionRecord) -> PredictionBatch:
        """A one-row batch holding ``record`` (its ids are kept as they are)."""
        return cls(
            str(record.request_id),
            record.endpoint,
            1,
            {name: [_scalar(v)] for name, v in record.inputs.items()},
            {name: [_scalar(v)] for name, v in record.outputs.items()},
            record.variant,
            record.model_name,
            str(record.model_version),
            float(record.latency_ms),
            record.status,
            record.time,
            record.shadow_of,
        )

    def block(self) -> PredictionBlock:
        """The same rows as a one-request block (what the writer converts)."""
        return PredictionBlock(
            self.endpoint,
            [self.request_id],
            [self.rows],
            [self.latency_ms],
            self.inputs,
            self.outputs,
            self.variant,
            self.model_name,
            self.model_version,
            self.status,
            self.time,
            None if self.shadow_of is None else [self.shadow_of],
        )


class PredictionBlock(NamedTuple):
    """The rows of several requests answered by one model batch, as columns.

    Serving's batcher merges concurrent requests into one model call; it hands the log that
    call's merged inputs and outputs with each request's id, row count and latency, once per
    batch. Like a ``PredictionBatch``, the columns must not change after they are handed over.

    Attributes:
        endpoint: the endpoint name; also the first partition level of the log.
        request_ids: one per request; request ``i``'s rows get ``row_ids(request_ids[i],
            rows[i])``.
        rows: each request's row count; the columns hold ``sum(rows)`` rows, request by request.
        latency_ms: each request's latency.
        inputs: input (or feature) name -> column of ``sum(rows)`` values; a column of another
            length is not stored.
        outputs: output name -> column, likewise.
        variant, model_name, model_version, status: the same for every row.
        time: when it was served; None means "now" by the log's clock (taken when it is logged).
        shadow_of: None, or each request's primary request id (None where not a shadow).
    """

    endpoint: str
    request_ids: Sequence[str]
    rows: Sequence[int]
    latency_ms: Sequence[float]
    inputs: Mapping[str, Any] = _NO_COLUMNS
    outputs: Mapping[str, Any] = _NO_COLUMNS
    variant: str = ""
    model_name: str = ""
    model_version: str = ""
    status: str = "ok"
    time: datetime | None = None
    shadow_of: Sequence[str | None] | None = None


def row_ids(request_id: str, rows: int) -> list[str]:
    """The ids of a request's rows: the request id for one row, ``"<id>/<i>"`` for several."""
    if rows == 1:
        return [request_id]
    return [f"{request_id}/{i}" for i in range(rows)]


def column_length(column: Any) -> int | None:
    """How many values a logged column holds; None for a scalar (never stored)."""
    if getattr(column, "ndim", 1) == 0:
        return None
    try:
        return len(column)
    except TypeError:
        return None


def _scalar(value: Any) -> Any:
    # numpy scalars and 0-d arrays become Python values so Arrow infers one type per column.
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", 1) == 0:
        return item()
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None else value


@dataclass(frozen=True)
class LogStats:
    """Counters of a prediction log since it was opened.

    Counts are of rows (a batch of n rows counts n).

    Attributes:
        accepted: rows taken into the buffer.
        sampled_out: rows skipped by sampling (on purpose, not lost).
        dropped: rows refused because the buffer was full or the log closed (lost).
        written: rows in segments that were written and renamed into place.
        segments: segments written.
        write_errors: failed segment writes (their rows were kept for the next try or, when
            the buffer was full, counted in ``dropped``).
        buffered: rows waiting in memory right now.
    """

    accepted: int = 0
    sampled_out: int = 0
    dropped: int = 0
    written: int = 0
    segments: int = 0
    write_errors: int = 0
    buffered: int = 0


@runtime_checkable
class PredictionLog(Protocol):
    """Where serving writes what it predicted. ``log`` never blocks and never raises."""

    def log(self, record: PredictionRecord) -> bool:
        """Queue one record; False when it was dropped (full buffer, closed log)."""
        ...

    def log_batch(self, records: Iterable[PredictionRecord]) -> int:
        """Queue several records; returns how many were accepted or sampled out."""
        ...

    def flush(self) -> None:
        """Write everything buffered now (blocks until written)."""
        ...

    def close(self) -> None:
        """Flush everything and stop; nothing accepted before ``close`` is lost."""
        ...

    def stats(self) -> LogStats: ...


@runtime_checkable
class ColumnarPredictionLog(PredictionLog, Protocol):
    """A log that also takes requests as columns (what serving uses: cheapest)."""

    def log_columns(self, batch: PredictionBatch) -> bool:
        """Queue every row of ``batch``, or none; False when dropped. Never blocks or raises."""
        ...

    def log_block(self, block: PredictionBlock) -> bool:
        """Queue every row of ``block`` (sampled per request), or none; False when dropped."""
        ...


@runtime_checkable
class PredictionLogReader(Protocol):
    """Reading a prediction log back, for monitoring."""

    def read(
        self,
        endpoint: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Any:
        """Rows with ``start <= time < end`` as a ``pyarrow.Table``, oldest first."""
        ...
