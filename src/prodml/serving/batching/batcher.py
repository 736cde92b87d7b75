"""The batcher: wraps a model and is itself model-like, merging concurrent requests into batches.

Requests queue per model. A dispatcher task forms batches of at most ``max_batch_size`` rows and
runs them, inline on the event loop (lowest overhead when there is one worker process per core)
or on a small thread pool (several batches in flight, for runtimes that release the GIL).

- **fixed** mode waits up to ``max_batch_delay_s`` for a batch to fill (Triton/Ray semantics);
- **adaptive** mode learns the batch cost (a·rows + b) online, dispatches as soon as the model is
  free, caps each batch so its oldest request still meets its deadline, and sheds (503) a
  request that the backlog says cannot be served in time.

Guarantees (held by property tests): no batch exceeds ``max_batch_size`` rows (a larger request
is split and its outputs joined); output row i of a batch goes back to the request that sent
input row i; every request is answered exactly once; a request that fails validation fails alone
(the batch is retried request by request).

**Answered batches.** A request may carry a ``tag`` (any object). When every request of a batch
carried one and all got their outputs, ``Batcher.answered`` (when set) is called once with the
tags, the merged inputs the model got, its outputs and each request's rows: the prediction log
takes a whole batch this way, for one hand-over per batch instead of one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from prodml.errors import (
    DeadlineExceededError,
    ModelExecutionError,
    OverloadedError,
    ProdmlError,
)
from prodml.serving.batching.cost import BatchCostModel
from prodml.serving.predictor import Array, Columns, Predictor
from prodml.serving.status import SheddingError
from prodml.types import Signature

logger = logging.getLogger(__name__)

# Called with (tags, merged inputs, outputs, rows per request) of a batch whose every request
# carried a tag and got its outputs; see the module doc.
AnsweredBatch = Callable[[list[Any], Columns, dict[str, Array], list[int]], None]


@dataclass(frozen=True)
class BatchSettings:
    """How one model batches.

    Attributes:
        max_batch_size: most rows in one batch; 1 turns batching off (requests run one by one).
        max_batch_delay_s: longest a request waits for a batch to fill (0: never wait).
        mode: ``fixed`` or ``adaptive`` (see module docs).
        latency_target_s: adaptive mode holds each request to this end-to-end latency and sheds
            what cannot meet it; None means only request deadlines count.
        max_queue_rows: rows waiting beyond this are refused with 429.
        executor: ``inline`` runs batches on the event loop; ``thread`` on a pool of
            ``max_concurrent_batches`` threads.
        max_concurrent_batches: batches in flight at once (``thread`` executor only).
    """

    max_batch_size: int = 64
    max_batch_delay_s: float = 0.0
    mode: Literal["fixed", "adaptive"] = "adaptive"
    latency_target_s: float | None = None
    max_queue_rows: int = 4096
    executor: Literal["inline", "thread"] = "inline"
    max_concurrent_batches: int = 1


class BatchObserver(Protocol):
    """Told about each executed batch (metrics hang off this)."""

    def batch_done(self, rows: int, requests: int, compute_s: float, queue_s: list[float]) -> None:
        """One batch ran: its rows, requests, compute seconds and each request's queue wait."""
        ...


class _Pending:
    __slots__ = ("columns", "deadline", "enqueued", "future", "rows", "tag", "timer")

    def __init__(
        self,
        columns: Columns,
        rows: int,
        future: asyncio.Future[dict[str, Array]],
        enqueued: float,
        deadline: float | None,
        tag: Any,
    ) -> None:
        self.columns = columns
        self.rows = rows
        self.future = future
        self.enqueued = enqueued
        self.deadline = deadline
        self.tag = tag
        self.timer: asyncio.TimerHandle | None = None


class Batcher:
    """A model wrapper that batches concurrent ``predict`` calls.

    Example:
        >>> import asyncio, numpy as np
        >>> from prodml.testing.fakes import FakeModel
        >>> async def main():
        ...     b = Batcher(FakeModel(), BatchSettings(max_batch_size=8))
        ...     outs = await asyncio.gather(*(b.predict({"x": np.array([float(i)])})
        ...                                   for i in range(3)))
        ...     await b.close()
        ...     return [o["y"].tolist() for o in outs]
        >>> asyncio.run(main())
        [[0.0], [2.0], [4.0]]
    """

    def __init__(
        self,
        model: Predictor,
        settings: BatchSettings | None = None,
        *,
        observer: BatchObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.settings = settings or BatchSettings()
        self.cost = BatchCostModel()
        self._observer = observer
        self._clock = clock
        self._queue: deque[_Pending] = deque()
        self._queued_rows = 0
        self._in_flight = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._batch_tasks: set[asyncio.Task[None]] = set()
        self.answered: AnsweredBatch | None = None

    # -- model-like surface ------------------------------------------------------------------
    @property
    def flavor(self) -> str:
        return self.model.flavor

    @property
    def signature(self) -> Signature:
        return self.model.signature

    def warm_up(self) -> None:
        self.model.warm_up()

    @property
    def queued_rows(self) -> int:
        """Rows waiting for a batch (the queue-depth gauge)."""
        return self._queued_rows

    async def predict(
        self, columns: Columns, *, deadline: float | None = None, tag: Any = None
    ) -> dict[str, Array]:
        """Predict on ``columns`` as part of a batch; ``deadline`` is on the batcher's clock.

        ``tag`` is handed to ``answered`` with the batch (a request split over several batches
        keeps none).
        """
        rows = _rows_of(columns)
        limit = self.settings.max_batch_size
        if rows > limit:
            return await self._predict_split(columns, rows, deadline)
        return await self._enqueue(columns, rows, deadline, tag)

    async def close(self) -> None:
        """Finish what is queued and in flight, then stop the dispatcher."""
        self._closed = True
        while self._queue or self._in_flight:
            await asyncio.sleep(0.001)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- queueing -----------------------------------------------------------------------------
    async def _predict_split(
        self, columns: Columns, rows: int, deadline: float | None
    ) -> dict[str, Array]:
        step = self.settings.max_batch_size
        parts = await asyncio.gather(
            *(
                self._enqueue(
                    {k: v[i : i + step] for k, v in columns.items()},
                    min(step, rows - i),
                    deadline,
                    None,
                )
                for i in range(0, rows, step)
            )
        )
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _enqueue(
        self, columns: Columns, rows: int, deadline: float | None, tag: Any
    ) -> asyncio.Future[dict[str, Array]]:
        if self._closed:
            raise OverloadedError("the model is shutting down; retry on another replica", 1.0)
        s = self.settings
        if self._queued_rows + rows > s.max_queue_rows:
            raise OverloadedError(
                f"queue full: {self._queued_rows} rows waiting (max_queue_rows={s.max_queue_rows})",
                retry_after_s=max(0.05, self.cost.predict(self._queued_rows)),
            )
        now = self._clock()
        if s.mode == "adaptive":
            if s.latency_target_s is not None:
                target = now + s.latency_target_s
                deadline = target if deadline is None else min(deadline, target)
            if deadline is not None and self.cost.trained:
                finish = now + self._backlog_s(self._queued_rows + rows)
                if finish > deadline:
                    raise SheddingError(
                        f"shedding: the backlog of {self._queued_rows} rows needs about "
                        f"{(finish - now) * 1000:.1f} ms, past this request's deadline",
                        retry_after_s=max(0.05, finish - now),
                    )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Array]] = loop.create_future()
        item = _Pending(columns, rows, future, now, deadline, tag)
        if deadline is not None and s.executor == "thread":
            # A timer (not wait_for) answers 504 on time without a task per request. Inline
            # batches block the loop, so there a timer could not fire earlier than the
            # dispatcher's own deadline check when it takes the next batch.
            item.timer = loop.call_at(
                loop.time() + (deadline - now), _expire, item, "waiting for or running its batch"
            )
        self._queue.append(item)
        self._queued_rows += rows
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._dispatch())
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.is_set():
            wakeup.set()
        return future

    def _backlog_s(self, rows: int) -> float:
        """Seconds until ``rows`` more queued rows would be done, at the current cost fit."""
        s = self.settings
        batches = math.ceil(rows / s.max_batch_size)
        per_slot = max(1, s.max_concurrent_batches)
        full = self.cost.predict(min(rows, s.max_batch_size))
        running = self.cost.predict(s.max_batch_size) if self._in_flight >= per_slot else 0.0
        return running + full * math.ceil(batches / per_slot)

    # -- dispatching --------------------------------------------------------------------------
    async def _dispatch(self) -> None:
        wakeup = assert_event(self._wakeup)
        s = self.settings
        slots = 1 if s.executor == "inline" else max(1, s.max_concurrent_batches)
        while True:
            if not self._queue or self._in_flight >= slots:
                wakeup.clear()
                await wakeup.wait()
                continue
            # Let handlers that are already runnable enqueue first, so a burst becomes one batch.
            await asyncio.sleep(0)
            delay = self._fill_delay()
            if delay > 0:
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), delay)
                continue
            batch = self._take()
            if not batch:
                continue
            if s.executor == "inline":
                self._complete(batch, self._execute(batch))
            else:
                self._in_flight += 1
                task = asyncio.get_running_loop().create_task(self._run_threaded(batch, wakeup))
                self._batch_tasks.add(task)
                task.add_done_callback(self._batch_tasks.discard)

    def _fill_delay(self) -> float:
        """Seconds still worth waiting for the batch to fill (0: dispatch now)."""
        s = self.settings
        if s.max_batch_delay_s <= 0 or self._queued_rows >= s.max_batch_size:
            return 0.0
        oldest = self._queue[0]
        now = self._clock()
        wait = oldest.enqueued + s.max_batch_delay_s - now
        if s.mode == "adaptive" and oldest.deadline is not None:
            slack = oldest.deadline - now - self.cost.predict(self._queued_rows + 1)
            wait = min(wait, slack)
        return max(0.0, wait)

    def _take(self) -> list[_Pending]:
        s = self.settings
        cap = s.max_batch_size
        now = self._clock()
        queue = self._queue
        if s.mode == "adaptive" and self.cost.trained:
            # Skip requests the model can no longer serve in time, then size the batch so the
            # oldest survivor still meets its deadline.
            while queue and queue[0].deadline is not None:
                head = queue[0]
                limit = head.deadline
                if head.future.done() or (
                    limit is not None and now + self.cost.predict(head.rows) <= limit
                ):
                    break
                queue.popleft()
                self._queued_rows -= head.rows
                _fail(
                    head,
                    SheddingError(
                        "shedding: this request can no longer meet its deadline", retry_after_s=0.1
                    ),
                )
            if queue and queue[0].deadline is not None:
                cap = min(cap, self.cost.rows_within(queue[0].deadline - now))
        batch: list[_Pending] = []
        rows = 0
        while queue and (not batch or rows + queue[0].rows <= cap):
            item = queue.popleft()
            self._queued_rows -= item.rows
            if item.future.done():  # expired by its timer, or its client went away
                continue
            if item.deadline is not None and now > item.deadline:
                _expire(item, "waiting for its batch")
                continue
            batch.append(item)
            rows += item.rows
        return batch

    async def _run_threaded(self, batch: list[_Pending], wakeup: asyncio.Event) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.settings.max_concurrent_batches, thread_name_prefix="prodml-batch"
            )
        try:
            ran = await asyncio.get_running_loop().run_in_executor(self._pool, self._execute, batch)
            self._complete(batch, ran)
        finally:
            self._in_flight -= 1
            wakeup.set()

    def _execute(self, batch: list[_Pending]) -> _Ran:
        """Run one batch: one result (outputs or error) per request, and its seconds."""
        start = self._clock()
        if len(batch) == 1:
            result = _call(self.model, batch[0])
            ran = _Ran([result], 0.0)
            if not isinstance(result, BaseException):
                ran.inputs, ran.outputs = batch[0].columns, result
        else:
            ran = self._execute_merged(batch)
        ran.seconds = self._clock() - start
        return ran

    def _execute_merged(self, batch: list[_Pending]) -> _Ran:
        try:
            merged = {
                name: np.concatenate([p.columns[name] for p in batch]) for name in batch[0].columns
            }
            outputs = self.model.predict_columns(merged, validate=True)
            total = sum(p.rows for p in batch)
            bad = [k for k, v in outputs.items() if v.shape[:1] != (total,)]
            if bad:
                raise ModelExecutionError(
                    f"model returned outputs {bad} without one row per input row ({total})"
                )
        except Exception:
            return _Ran([_call(self.model, p) for p in batch], 0.0)
        results: list[dict[str, Array] | BaseException] = []
        start = 0
        for p in batch:
            end = start + p.rows
            results.append({k: v[start:end] for k, v in outputs.items()})
            start = end
        return _Ran(results, 0.0, merged, outputs)

    def _complete(self, batch: list[_Pending], ran: _Ran) -> None:
        rows = sum(p.rows for p in batch)
        spent = ran.seconds
        self.cost.observe(rows, spent)
        now = self._clock()
        whole = ran.outputs is not None  # every request got its outputs from one model call
        for p, result in zip(batch, ran.results, strict=True):
            if p.timer is not None:
                p.timer.cancel()
            if p.future.done():
                whole = False
                continue
            if isinstance(result, BaseException):
                p.future.set_exception(result)
            else:
                p.future.set_result(result)
        if self._observer is not None:
            self._observer.batch_done(
                rows, len(batch), spent, [now - spent - p.enqueued for p in batch]
            )
        if whole and self.answered is not None:
            _tell_answered(self.answered, batch, ran)


class _Ran:
    """What running one batch gave: a result per request, its seconds, and, when one model
    call answered every request, the merged inputs it got and its outputs."""

    __slots__ = ("inputs", "outputs", "results", "seconds")

    def __init__(
        self,
        results: list[dict[str, Array] | BaseException],
        seconds: float,
        inputs: Columns | None = None,
        outputs: dict[str, Array] | None = None,
    ) -> None:
        self.results = results
        self.seconds = seconds
        self.inputs = inputs
        self.outputs = outputs


def _tell_answered(answered: AnsweredBatch, batch: list[_Pending], ran: _Ran) -> None:
    tags = [p.tag for p in batch]
    if ran.inputs is None or ran.outputs is None or None in tags:
        return
    try:
        answered(tags, ran.inputs, ran.outputs, [p.rows for p in batch])
    except Exception:  # the requests are answered already; what listens must not undo that
        logger.exception("a listener of answered batches failed")


def _call(model: Predictor, item: _Pending) -> dict[str, Array] | BaseException:
    try:
        out = model.predict_columns(item.columns, validate=True)
    except ProdmlError as exc:
        return exc
    except Exception as exc:
        return ModelExecutionError(f"the model raised {type(exc).__name__}: {exc}")
    bad = [k for k, v in out.items() if v.shape[:1] != (item.rows,)]
    if bad:
        return ModelExecutionError(
            f"model returned outputs {bad} without one row per input row ({item.rows})"
        )
    return out


def _expire(item: _Pending, where: str) -> None:
    if not item.future.done():
        item.future.set_exception(DeadlineExceededError(f"request deadline passed while {where}"))


def _fail(item: _Pending, exc: BaseException) -> None:
    if item.timer is not None:
        item.timer.cancel()
    if not item.future.done():
        item.future.set_exception(exc)


def _rows_of(columns: Mapping[str, Array]) -> int:
    for v in columns.values():
        return int(v.shape[0]) if v.ndim else 1
    return 0


def assert_event(event: asyncio.Event | None) -> asyncio.Event:
    """The dispatcher's event, which exists once the first request arrived."""
    if event is None:
        raise RuntimeError("batcher used before its first request")
    return event
