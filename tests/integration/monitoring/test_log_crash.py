"""A process that logs predictions and dies: kill -9 loses at most the documented window
(the rows accepted in the last ``flush_interval_s`` plus one segment write), never a partial
segment; SIGTERM with ``close()`` loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from prodml.monitoring.log import ParquetPredictionLog

FLUSH_INTERVAL_S = 0.2
# How long one segment write may take on a busy shared CI box, on top of the interval.
WRITE_SLACK_S = 1.0

CHILD = """
import signal, sys, time
from prodml.monitoring.log import ParquetPredictionLog, PredictionRecord

log = ParquetPredictionLog(sys.argv[1], flush_rows=100_000, flush_interval_s={interval})

def stop(*_):
    log.close()
    print("closed", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
n = 0
while True:
    for _ in range(20):
        log.log(PredictionRecord(f"r{{n}}", "churn", {{"x": float(n)}}, {{"label": n % 2}}))
        n += 1
    print(n, time.monotonic(), flush=True)
    time.sleep(0.002)
"""


def run_child(root: Path, seconds: float, sig: int) -> tuple[list[tuple[int, float]], float, str]:
    script = CHILD.format(interval=FLUSH_INTERVAL_S)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(root)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # started logging
    assert first, "child did not start"
    time.sleep(seconds)
    killed_at = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    progress = []
    tail = ""
    for line in (first + out).splitlines():
        parts = line.split()
        if len(parts) == 2:
            progress.append((int(parts[0]), float(parts[1])))
        else:
            tail = line
    return progress, killed_at, tail


def ids_on_disk(root: Path) -> list[int]:
    ids: list[int] = []
    for path in root.rglob("segment-*.parquet"):
        ids += [int(r[1:]) for r in pq.read_table(path).column("request_id").to_pylist()]
    return sorted(ids)


def test_kill_9_loses_no_more_than_the_flush_window(tmp_path: Path) -> None:
    progress, killed_at, _ = run_child(tmp_path, 2.0, signal.SIGKILL)
    logged = progress[-1][0]
    safe = max(
        (n for n, t in progress if t <= killed_at - FLUSH_INTERVAL_S - WRITE_SLACK_S), default=0
    )
    ids = ids_on_disk(tmp_path)  # every segment on disk is complete (this reads them all)
    assert ids == list(range(len(ids))), "written rows are a prefix, without gaps or duplicates"
    assert safe > 0, f"the child logged too little to test: {progress[:3]}"
    assert len(ids) >= safe, f"lost rows older than the window: {len(ids)} < {safe}"
    assert len(ids) <= logged + 20
    reread = ParquetPredictionLog(tmp_path).read()
    assert reread.num_rows == len(ids)


def test_sigterm_with_close_loses_nothing(tmp_path: Path) -> None:
    progress, _, tail = run_child(tmp_path, 0.8, signal.SIGTERM)
    assert tail == "closed"
    # Every row the child accepted before the signal (its last progress line, or a few more
    # logged between that line and the handler) is on disk.
    ids = ids_on_disk(tmp_path)
    assert ids == list(range(len(ids)))
    assert progress[-1][0] <= len(ids) <= progress[-1][0] + 20
