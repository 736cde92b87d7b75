"""Requests answered by one model batch, handed to the log at once (``log_block``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from prodml.monitoring.log import (
    MemoryPredictionLog,
    ParquetPredictionLog,
    PredictionBatch,
    PredictionBlock,
)
from prodml.testing.clock import FakeClock

ROWS = [1, 3, 2]  # three requests, six rows
IDS = ["a", "b", "c"]
LATENCIES = [1.0, 2.0, 3.0]


def block(**fields: Any) -> PredictionBlock:
    base: dict[str, Any] = {
        "endpoint": "churn",
        "request_ids": IDS,
        "rows": ROWS,
        "latency_ms": LATENCIES,
        "inputs": {
            "x": np.arange(6, dtype=np.float32),
            "v": np.arange(12, dtype=np.float64).reshape(6, 2),
            "city": ["a", "b", "c", "d", "e", "f"],
        },
        "outputs": {"label": np.arange(6, dtype=np.int64) % 2},
        "variant": "b",
        "model_name": "churn",
        "model_version": "3",
    }
    return PredictionBlock(**{**base, **fields})


def each_request(b: PredictionBlock) -> list[PredictionBatch]:
    """The same requests as one ``PredictionBatch`` each, sliced from the block's columns."""
    ends = np.cumsum(b.rows)
    return [
        PredictionBatch(
            rid,
            b.endpoint,
            n,
            {k: v[end - n : end] for k, v in b.inputs.items()},
            {k: v[end - n : end] for k, v in b.outputs.items()},
            b.variant,
            b.model_name,
            b.model_version,
            latency,
        )
        for rid, n, end, latency in zip(b.request_ids, b.rows, ends, b.latency_ms, strict=True)
    ]


def parquet(root: Path, **options: Any) -> ParquetPredictionLog:
    return ParquetPredictionLog(root, flush_interval_s=30, clock=FakeClock(), **options)


def test_a_block_stores_exactly_the_rows_of_its_requests_logged_one_by_one(
    tmp_path: Path,
) -> None:
    with parquet(tmp_path / "block") as by_block:
        assert by_block.log_block(block())
    with parquet(tmp_path / "each") as by_request:
        for b in each_request(block()):
            assert by_request.log_columns(b)
    stored = by_block.read()
    assert stored.to_pylist() == by_request.read().to_pylist()
    rows = stored.to_pylist()
    assert [r["request_id"] for r in rows] == ["a", "b/0", "b/1", "b/2", "c/0", "c/1"]
    assert [r["latency_ms"] for r in rows] == [1.0, 2.0, 2.0, 2.0, 3.0, 3.0]
    assert (rows[4]["in_v_0"], rows[4]["in_v_1"]) == (8.0, 9.0)  # a narrow matrix: flat
    assert str(stored.schema.field("in_x").type) == "float"
    assert by_block.stats().accepted == by_block.stats().written == 6


def test_blocks_and_batches_mix_in_one_segment(tmp_path: Path) -> None:
    with parquet(tmp_path) as log:
        log.log_block(block())
        log.log_columns(PredictionBatch("d", "churn", 1, status="InvalidInputError"))
        log.log_block(block(request_ids=["e", "f", "g"], variant="a"))
    rows = log.read().to_pylist()
    assert len(rows) == 13
    failed = [r for r in rows if r["request_id"] == "d"]
    assert failed[0]["status"] == "InvalidInputError" and failed[0]["in_x"] is None
    assert {r["variant"] for r in rows if r["request_id"].startswith(("e", "f", "g"))} == {"a"}
    assert log.stats().segments == 1


def test_a_shadow_block_names_each_rows_primary(tmp_path: Path) -> None:
    shadow = block(request_ids=["a#s", "b#s", "c#s"], shadow_of=["a", "b", "c"])
    with parquet(tmp_path) as log:
        log.log_block(shadow)
    rows = log.read().to_pylist()
    assert [r["shadow_of"] for r in rows] == ["a", "b/0", "b/1", "b/2", "c/0", "c/1"]


@pytest.mark.parametrize("kind", ["parquet", "memory"])
def test_sampling_keeps_or_skips_each_request_of_a_block_whole(tmp_path: Path, kind: str) -> None:
    ids = [f"req-{i}" for i in range(40)]
    rows = [i % 3 + 1 for i in range(40)]
    total = sum(rows)
    b = PredictionBlock(
        "churn",
        ids,
        rows,
        [float(i) for i in range(40)],
        {"x": np.arange(total, dtype=np.float64), "note": [f"n{i}" for i in range(total)]},
        {"y": np.arange(total) * 2},
    )
    log: ParquetPredictionLog | MemoryPredictionLog
    if kind == "parquet":
        log = parquet(tmp_path, sample_rate=0.5)
    else:
        log = MemoryPredictionLog(sample_rate=0.5)
    assert log.log_block(b)
    log.close()
    stored = log.read().to_pylist()
    kept = {r["request_id"].split("/")[0] for r in stored}
    assert kept == {i for i in ids if log.policy.keeps(i)}
    assert 0 < len(kept) < 40
    starts = dict(zip(ids, np.cumsum(rows) - rows, strict=True))
    for r in stored:  # every kept row still has its own values
        rid, _, index = r["request_id"].partition("/")
        row = int(starts[rid]) + int(index or 0)
        assert (r["in_x"], r["in_note"], r["out_y"]) == (row, f"n{row}", 2 * row)
        assert r["latency_ms"] == ids.index(rid)
    stats = log.stats()
    assert stats.accepted == len(stored)
    assert stats.sampled_out == total - len(stored)


def test_a_block_that_does_not_fit_the_buffer_is_dropped_whole(tmp_path: Path) -> None:
    log = parquet(tmp_path, flush_rows=4, max_buffer_rows=8)
    log._write_lock.acquire()  # a stuck store: the writer cannot drain the buffer
    try:
        assert log.log_block(block())  # 6 rows
        assert not log.log_block(block())  # 6 more do not fit in 8
    finally:
        log._write_lock.release()
    log.close()
    assert (log.stats().dropped, log.stats().written) == (6, 6)
    assert not log.log_block(block())  # closed: dropped, not raised


def test_memory_log_reads_blocks_like_the_parquet_log(tmp_path: Path) -> None:
    memory = MemoryPredictionLog(clock=FakeClock())
    memory.log_block(block())
    with parquet(tmp_path) as log:
        log.log_block(block())
    assert memory.read().select(log.read().column_names).to_pylist() == log.read().to_pylist()


def test_a_wide_matrix_stays_one_list_column_and_a_clashing_name_keeps_it_whole(
    tmp_path: Path,
) -> None:
    wide = np.arange(6 * 65, dtype=np.float32).reshape(6, 65)  # an embedding
    narrow = np.ones((6, 2))
    with parquet(tmp_path) as log:
        log.log_block(block(inputs={"emb": wide, "v": narrow, "v_0": np.zeros(6)}))
    stored = log.read()
    assert stored.schema.field("in_emb").type.value_type == pa.float32()
    assert stored.column("in_emb").to_pylist()[5] == wide[5].tolist()
    # "v" flattened would be "v_0", a column the model already has: v stays a list column.
    assert stored.column("in_v").to_pylist()[0] == [1.0, 1.0]
    assert stored.column("in_v_0").to_pylist() == [0.0] * 6


def test_row_ids_of_a_request_longer_than_any_before(tmp_path: Path) -> None:
    big = 5000  # past the suffixes prepared up front
    with parquet(tmp_path) as log:
        log.log_block(block(request_ids=["big", "one"], rows=[big, 1], latency_ms=[1.0, 2.0],
                            inputs={"x": np.arange(big + 1)}, outputs={}))  # fmt: skip
    ids = log.read().column("request_id").to_pylist()
    assert len(ids) == big + 1 and set(ids) == {f"big/{i}" for i in range(big)} | {"one"}
