"""What one logged prediction is, and the two small seams: writing a log and reading it.

A ``PredictionRecord`` is one row: one request (or one row of a batched request) with its
inputs (or looked-up features) and the model's outputs. Stored, each input becomes a column
``in_<name>`` and each output a column ``out_<name>``, next to the fixed columns
``request_id, time, endpoint, variant, model_name, model_version, latency_ms, status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

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


@dataclass(frozen=True)
class LogStats:
    """Counters of a prediction log since it was opened.

    Attributes:
        accepted: records taken into the buffer.
        sampled_out: records skipped by sampling (on purpose, not lost).
        dropped: records refused because the buffer was full or the log closed (lost).
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
