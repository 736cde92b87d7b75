"""Handing served predictions to the prediction log, and the request-id scheme they join by.

**Request ids.** A request's id is the client's (V2 ``id``, else the ``X-Request-Id`` header,
else gRPC ``x-request-id`` metadata), or a fresh UUID (32 hex digits) when it gives none. The
response echoes it (V2 ``id`` and the ``X-Request-Id`` header). A log row and the feedback API
use **row ids**: the request id itself for a one-row request, ``"<request id>/<i>"`` (``i`` from
0) for row ``i`` of a request of several rows. Send feedback by those ids. A shadow variant's
rows have the id ``"<request id>#<variant>"`` (then ``/<i>``) and name the primary's row id in
their ``shadow_of`` column.

Recording never blocks the event loop on I/O: it builds one ``PredictionRecord`` per row and
hands them to the log's in-memory buffer (``PredictionLog.log_batch``), whose own thread writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from prodml.monitoring.log import PredictionLog, PredictionRecord


def new_request_id() -> str:
    return uuid.uuid4().hex


def row_ids(request_id: str, rows: int) -> list[str]:
    """The ids of a request's rows (see the module doc)."""
    if rows == 1:
        return [request_id]
    return [f"{request_id}/{i}" for i in range(rows)]


def _lists(values: Mapping[str, Any], rows: int) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, column in values.items():
        listed = column.tolist() if hasattr(column, "tolist") else list(column)
        if len(listed) == rows:
            out[name] = listed
    return out


class PredictionRecorder:
    """Turns one answered request into log rows; owned by the data plane."""

    def __init__(self, log: PredictionLog) -> None:
        self.log = log

    def record(
        self,
        request_id: str,
        *,
        endpoint: str,
        model_name: str,
        model_version: str,
        inputs: Mapping[str, Any],
        outputs: Mapping[str, Any],
        rows: int,
        latency_ms: float,
        variant: str = "",
        status: str = "ok",
        shadow_of: str | None = None,
    ) -> None:
        ins = _lists(inputs, rows)
        outs = _lists(outputs, rows)
        in_names, out_names = list(ins), list(outs)
        ids = row_ids(request_id, rows)
        primary = [None] * rows if shadow_of is None else row_ids(shadow_of, rows)
        self.log.log_batch(
            PredictionRecord(
                rid,
                endpoint,
                {n: ins[n][i] for n in in_names},
                {n: outs[n][i] for n in out_names},
                variant=variant,
                model_name=model_name,
                model_version=model_version,
                latency_ms=latency_ms,
                status=status,
                shadow_of=primary[i],
            )
            for i, rid in enumerate(ids)
        )

    def record_error(
        self,
        request_id: str,
        *,
        endpoint: str,
        model_name: str,
        model_version: str,
        latency_ms: float,
        status: str,
        variant: str = "",
    ) -> None:
        self.log.log(
            PredictionRecord(
                request_id,
                endpoint,
                {},
                variant=variant,
                model_name=model_name,
                model_version=model_version,
                latency_ms=latency_ms,
                status=status,
            )
        )

    def close(self) -> None:
        self.log.close()
