"""What the prediction log costs a request: ``DataPlane.infer`` in process, log off vs on.

Target (issue 5): serving with the log on within 10% of serving with it off. Measures the whole
transport-free path a worker runs per request (resolve, decode to columns, batcher, response,
metrics) on a ``FakeModel`` (``y = 2x``), so the log's share is as large as it can be, with
the garbage collection a serving worker sets (``tune_gc``: the log holds up to 0.25 s of
requests, and untuned collections would walk them again and again):

- **off**: no prediction log, no request id (the untracked path);
- **on**: ``prediction_log`` configured (defaults: flush every 1 s), every request with a request
  id (the tracked path); the writer thread runs during the loop, as in serving, so the GIL time
  it takes is part of the cost.

Runs alternate between the modes (``--repeats`` runs of ``--requests`` each), so a busy machine
slows both alike; the best run of each mode is compared. Wall time is per request; CPU time is
the process's (writer thread included) per request. Then the writer alone: rows per second
from buffered requests to Parquet segments on disk (rows, ids, hashing, Arrow, Parquet
in the log's default codec).

    python benchmarks/prediction_log.py                   # 10 x 5,000 1-row requests per mode
    python benchmarks/prediction_log.py --requests 20000 --rows 8 --repeats 5
    python benchmarks/prediction_log.py --requests 20000 --concurrent 16 --repeats 7
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from prodml.serving import InMemoryLoader, ServerConfig
from prodml.serving.config import ModelConfig, PredictionLogConfig
from prodml.serving.dataplane import DataPlane
from prodml.serving.inference import InferenceRequest, InferTensor, RequestContext
from prodml.testing.fakes import FakeModel


def request(rows: int) -> InferenceRequest:
    data = np.arange(rows, dtype=np.float64)
    return InferenceRequest("m", [InferTensor("x", "FP64", (rows,), data)])


async def serve(
    plane: DataPlane, requests: int, rows: int, tracked: bool, concurrent: int = 1
) -> tuple[float, float]:
    """Wall and CPU seconds per request over ``requests`` infers, ``concurrent`` at a time (the
    batcher merges those into one model batch, as under load)."""
    await plane.infer(request(rows))  # warm
    made = [request(rows) for _ in range(requests)]
    contexts = [RequestContext(f"req-{i:08d}") if tracked else None for i in range(requests)]
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, requests, concurrent):
        group = zip(made[i : i + concurrent], contexts[i : i + concurrent], strict=True)
        await asyncio.gather(*(plane.infer(r, context=c) for r, c in group))
    return (time.perf_counter() - wall) / requests, (time.process_time() - cpu) / requests


async def run_mode(
    log_path: Path | None, requests: int, rows: int, concurrent: int = 1, **log_options: Any
) -> tuple[float, float]:
    log_config = None
    if log_path is not None:
        log_config = PredictionLogConfig(path=str(log_path), **log_options)
    config = ServerConfig(models=(ModelConfig(ref="m"),), prediction_log=log_config)
    plane = DataPlane(config, InMemoryLoader({"m": FakeModel()}), tune_gc=True)
    await plane.start()
    try:
        return await serve(plane, requests, rows, log_path is not None, concurrent)
    finally:
        await plane.stop()


async def writer_rate(log_path: Path, requests: int, rows: int) -> tuple[int, float]:
    """Rows and seconds to write ``requests`` buffered requests (no flush during the fill)."""
    config = ServerConfig(
        models=(ModelConfig(ref="m"),),
        prediction_log=PredictionLogConfig(
            path=str(log_path),
            flush_interval_s=3600,
            flush_rows=10_000_000,
            max_buffer_rows=10_000_000,
            hash_columns=("x",),
        ),
    )
    plane = DataPlane(config, InMemoryLoader({"m": FakeModel()}), tune_gc=True)
    await plane.start()
    await serve(plane, requests, rows, tracked=True)
    tracker = getattr(plane, "tracker", None)
    # Trees before the columnar log kept it at ``plane.recorder.log``.
    log = tracker.log if tracker is not None else plane.recorder.log  # type: ignore[attr-defined]
    if log is None:
        raise RuntimeError("the data plane opened no prediction log")
    start = time.perf_counter()
    log.flush()
    seconds = time.perf_counter() - start
    written = log.stats().written
    await plane.stop()
    return written, seconds


def report(mode: str, runs: list[tuple[float, float]]) -> tuple[float, float]:
    wall = min(w for w, _ in runs)
    cpu = min(c for _, c in runs)
    median = statistics.median(w for w, _ in runs)
    print(
        f"  log {mode:3s}: {wall * 1e6:7.1f} us/request wall (median {median * 1e6:.1f}), "
        f"{cpu * 1e6:7.1f} us CPU"
    )
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5_000, help="requests per run")
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    parser.add_argument(
        "--concurrent", type=int, default=1, help="requests in flight at once (one model batch)"
    )
    parser.add_argument("--repeats", type=int, default=10, help="runs per mode; best is reported")
    parser.add_argument("--writer-requests", type=int, default=100_000)
    args = parser.parse_args()

    off: list[tuple[float, float]] = []
    on: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="prodml-logbench-") as tmp:
        for r in range(args.repeats):
            off.append(asyncio.run(run_mode(None, args.requests, args.rows, args.concurrent)))
            on_path = Path(tmp) / f"on-{r}"
            on.append(asyncio.run(run_mode(on_path, args.requests, args.rows, args.concurrent)))
        written, seconds = asyncio.run(
            writer_rate(Path(tmp) / "writer", args.writer_requests, args.rows)
        )

    print(
        f"{args.requests} requests x {args.rows} row(s) per run, {args.concurrent} at a time, "
        f"best of {args.repeats} runs"
    )
    wall_off, cpu_off = report("off", off)
    wall_on, cpu_on = report("on", on)
    print(
        f"  on/off:  {wall_on / wall_off:.3f} wall (+{(wall_on - wall_off) * 1e6:.1f} us), "
        f"{cpu_on / cpu_off:.3f} CPU (+{(cpu_on - cpu_off) * 1e6:.1f} us); target <= 1.10"
    )
    print(
        f"  writer:  {written / seconds:,.0f} rows/s ({written} rows in {seconds:.3f} s, x hashed)"
    )


if __name__ == "__main__":
    main()
