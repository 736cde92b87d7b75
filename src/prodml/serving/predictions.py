"""The tracked path's bookkeeping: request ids, and what becomes of a request that has one.

**Request ids.** A request's id is the client's (V2 ``id``, else the ``X-Request-Id`` header,
else gRPC ``x-request-id`` metadata), or a fresh id (32 hex digits) when it gives none. The
response echoes it (V2 ``id`` and the ``X-Request-Id`` header). A log row and the feedback API
use **row ids**: the request id itself for a one-row request, ``"<request id>/<i>"`` (``i`` from
0) for row ``i`` of a request of several rows. Send feedback by those ids. A shadow variant's
rows have the id ``"<request id>#<variant>"`` (then ``/<i>``) and name the primary's row id in
their ``shadow_of`` column.

When a server logs predictions or serves endpoints, the data plane hands every answered or
failed request with an id to a ``RequestTracker``:

- the **prediction log** gets, once per model batch, the merged input and output columns the
  model saw with each request's id, rows and latency (a ``PredictionBlock``, handed over by
  the batcher: a request carries a ``Tracked`` tag into its batch). A request whose batch
  cannot be logged whole (a batch with a request that timed out or named its outputs, a
  request split over batches, a feature-served model's, whose log holds the looked-up
  features) is logged on its own, its columns as they are in one ``PredictionBatch``. Either
  way the request path builds no row and does no I/O; the log's own thread expands, hashes and
  writes. A row's latency runs from the data plane taking the request to its batch's outputs;
- an **endpoint's variant** gets a served record per row (feedback finds them by row id; a
  server error counts against the variant) and, for sampled requests, a copy for each shadow
  variant, answered by ``run_shadow`` off the request path and logged beside the primary.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from typing import Any

from prodml.monitoring.log import ColumnarPredictionLog, PredictionBatch, PredictionBlock, row_ids
from prodml.serving.endpoints import EndpointRouting, Target
from prodml.serving.predictor import Array, Columns
from prodml.serving.repository import ServedModel

__all__ = ["RequestTracker", "Tracked", "new_request_id", "row_ids"]


class _RequestIds:
    """Request ids: a random 64-bit prefix per process, then a counter, as 32 hex digits.

    Why not ``uuid.uuid4()``: it reads the OS's random source on every call, and py-spy put
    that at 5% of a worker's time on 1-row requests. Ids only have to be unique: the prefix is
    drawn again in a forked child, ``next`` on a counter is atomic under the GIL, and two
    processes share a prefix with probability about n^2 / 2^65.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = os.urandom(8).hex()
        # Counting from 2^64, hex(n)[3:] is the counter as 16 digits: a third cheaper than
        # formatting with ":016x".
        self._counter = itertools.count(1 << 64)

    def next(self) -> str:
        return self._prefix + hex(next(self._counter))[3:]


# A bound method, not an instance with ``__call__``: calling an instance costs a third more.
new_request_id = _RequestIds().next


class Tracked:
    """A tracked request on its way through the batcher: what its log rows need, and whether
    its batch logged them (then ``answered`` does not log it again)."""

    __slots__ = ("logged", "request_id", "start", "target")

    def __init__(self, request_id: str, target: Target, start: float) -> None:
        self.request_id = request_id
        self.target = target
        self.start = start
        self.logged = False


class RequestTracker:
    """Logs and records tracked requests for one worker (owned by the data plane).

    Args:
        log: the prediction log, or None when the server logs nothing.
        clock: the data plane's monotonic clock (seconds), for latencies.
        request_timeout_s: the deadline of shadow predictions without a model timeout.
    """

    def __init__(
        self,
        log: ColumnarPredictionLog | None,
        clock: Callable[[], float],
        request_timeout_s: float,
    ) -> None:
        self.log = log
        self.clock = clock
        self.request_timeout_s = request_timeout_s
        self.endpoints: EndpointRouting | None = None  # set once the endpoints are loaded

    def track(self, request_id: str, target: Target, start: float) -> Tracked | None:
        """The tag a request carries into its model batch, so the batch logs it; None when
        nothing is logged."""
        return None if self.log is None else Tracked(request_id, target, start)

    def batch_answered(
        self, tags: list[Tracked], inputs: Columns, outputs: dict[str, Array], rows: list[int]
    ) -> None:
        """A model batch answered every tagged request in it: one ``PredictionBlock`` for all
        (the batcher's ``answered``). Requests for different endpoints or variants in one
        batch are left to log themselves."""
        log = self.log
        if log is None:
            return
        first = tags[0].target
        endpoint, variant = first.endpoint, _variant(first)
        now = self.clock()
        request_ids, latency_ms = [], []
        for t in tags:  # one pass: a loaded model's requests share one Target, ``is`` settles it
            target = t.target
            if target is not first and (target.endpoint != endpoint or _variant(target) != variant):
                return
            request_ids.append(t.request_id)
            latency_ms.append((now - t.start) * 1000)
        served = first.served
        log.log_block(
            PredictionBlock(
                endpoint,
                request_ids,
                rows,
                latency_ms,
                inputs,
                outputs,
                variant,
                self.model_name(served),
                served.version,
            )
        )
        for t in tags:  # logged, or dropped and counted by the log: never twice
            t.logged = True

    def answered(
        self,
        target: Target,
        start: float,
        request_id: str,
        columns: Columns,
        logged: Mapping[str, Any],
        outputs: Mapping[str, Array],
        tracked: Tracked | None = None,
    ) -> None:
        """After a 200: the prediction log (unless its batch logged it), the variant's served
        records, shadow copies."""
        assignment = target.assignment
        if assignment is None and tracked is not None and tracked.logged:
            return  # its batch logged it, and no endpoint records it
        latency_ms = (self.clock() - start) * 1000
        rows = len(next(iter(outputs.values()))) if outputs else 0
        served = target.served
        if self.log is not None and (tracked is None or not tracked.logged):
            self.log.log_columns(
                PredictionBatch(
                    request_id,
                    target.endpoint,
                    rows,
                    logged,
                    outputs,
                    _variant(target),
                    self.model_name(served),
                    served.version,
                    latency_ms,
                )
            )
        endpoints = self.endpoints
        if assignment is not None and endpoints is not None:
            endpoints.served(row_ids(request_id, rows), target, latency_ms, False)
            if assignment.shadow_variants:
                endpoints.mirror(target, request_id, columns, logged, rows)

    def failed(
        self,
        name: str,
        target: Target | None,
        status: int,
        error: str,
        start: float,
        request_id: str,
    ) -> None:
        """After an error (``status`` its HTTP status, ``error`` its class name): one log row
        without outputs; a server error also counts against the variant."""
        served = target.served if target is not None else None
        latency_ms = (self.clock() - start) * 1000
        variant = ""
        if target is not None and target.assignment is not None:
            variant = target.assignment.variant
            if self.endpoints is not None and status >= 500:
                # Server-side failures count against the variant (canary error guardrail).
                self.endpoints.served([request_id], target, latency_ms, True)
        if self.log is not None:
            self.log.log_columns(
                PredictionBatch(
                    request_id,
                    name,
                    1,
                    variant=variant,
                    model_name="" if served is None else self.model_name(served),
                    model_version="" if served is None else served.version,
                    latency_ms=latency_ms,
                    status=error,
                )
            )

    async def run_shadow(
        self,
        served: ServedModel,
        endpoint: str,
        request_id: str,
        columns: Columns,
        logged: Mapping[str, Any],
        rows: int,
    ) -> None:
        """A shadow variant's prediction on a copy of a request: logged, never answered."""
        start = self.clock()
        deadline = start + (served.timeout_s or self.request_timeout_s)
        served.in_flight += 1
        try:
            outputs = await served.batcher.predict(columns, deadline=deadline)
        finally:
            served.in_flight -= 1
        if self.log is not None:
            variant = served.name.rpartition(":")[2]
            self.log.log_columns(
                PredictionBatch(
                    f"{request_id}#{variant}",
                    endpoint,
                    rows,
                    logged,
                    outputs,
                    variant,
                    self.model_name(served),
                    served.version,
                    (self.clock() - start) * 1000,
                    shadow_of=request_id,
                )
            )

    def model_name(self, served: ServedModel) -> str:
        """The registered model behind a served name (an endpoint variant's model)."""
        if self.endpoints is None:
            return served.name
        return self.endpoints.model_name(served.name)

    def close(self) -> None:
        """Write every logged row (graceful stop: nothing accepted is lost)."""
        if self.log is not None:
            self.log.close()


def _variant(target: Target) -> str:
    return "" if target.assignment is None else target.assignment.variant
