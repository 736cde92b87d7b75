"""Whole requests handed to the log as columns (``log_columns``): what serving uses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from prodml.monitoring.log import (
    ColumnarPredictionLog,
    MemoryPredictionLog,
    ParquetPredictionLog,
    PredictionBatch,
    PredictionRecord,
)
from prodml.testing.clock import FakeClock

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def open_log(root: Path, clock: FakeClock, **options: Any) -> ParquetPredictionLog:
    return ParquetPredictionLog(root, flush_interval_s=30, clock=clock, **options)


def batch(rid: str, rows: int, endpoint: str = "churn", **fields: Any) -> PredictionBatch:
    base: dict[str, Any] = {
        "inputs": {"x": np.arange(rows, dtype=np.float32)},
        "outputs": {"label": np.arange(rows, dtype=np.int32) % 2},
        "model_name": "churn",
        "model_version": "3",
        "latency_ms": 2.5,
    }
    return PredictionBatch(rid, endpoint, rows, **{**base, **fields})


def test_a_request_of_several_rows_becomes_one_row_each_with_row_ids(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_log(tmp_path, clock) as log:
        assert isinstance(log, ColumnarPredictionLog)
        assert log.log_columns(batch("req", 3, variant="b"))
        clock.advance(seconds=10)  # written later: the rows keep the time they were accepted
    rows = log.read().to_pylist()
    assert [r["request_id"] for r in rows] == ["req/0", "req/1", "req/2"]
    assert [r["in_x"] for r in rows] == [0.0, 1.0, 2.0]
    assert [r["out_label"] for r in rows] == [0, 1, 0]
    assert {(r["time"], r["latency_ms"], r["variant"], r["model_version"]) for r in rows} == {
        (T0, 2.5, "b", "3")
    }
    assert log.stats().accepted == log.stats().written == 3


def test_columns_keep_the_tensor_dtype_and_the_values_the_record_path_stores(
    tmp_path: Path,
) -> None:
    inputs = {
        "f32": np.array([1.5], np.float32),
        "u8": np.array([7], np.uint8),
        "flag": np.array([True]),
        "name": np.array(["ann"], dtype=object),
        "vec": np.array([[1.0, 2.0]]),
        "vec32": np.array([[1.0, 2.0]], np.float32),
        "wrong_length": np.array([1.0, 2.0]),  # not one value per row: not stored
    }
    record_inputs = {"f32": 1.5, "u8": 7, "flag": True, "name": "ann", "vec": [1.0, 2.0]}
    with open_log(tmp_path / "cols", FakeClock()) as by_columns:
        by_columns.log_columns(batch("a", 1, inputs=inputs, outputs={}))
    with open_log(tmp_path / "recs", FakeClock()) as by_records:
        by_records.log(PredictionRecord("a", "churn", record_inputs, model_name="churn"))
    columns, records = by_columns.read(), by_records.read()
    assert "in_wrong_length" not in columns.column_names
    assert set(columns.column_names) == {*records.column_names, "in_vec32_0", "in_vec32_1"}
    for field in records.column_names:
        if field.startswith("in_"):
            assert columns.column(field).to_pylist() == records.column(field).to_pylist()
    stored = {n: columns.schema.field(n).type for n in columns.column_names if n[:3] == "in_"}
    assert stored == {
        "in_f32": pa.float32(),  # what the model got, not widened: half the bytes to write
        "in_u8": pa.uint8(),
        "in_flag": pa.bool_(),
        "in_name": pa.string(),
        "in_vec_0": pa.float64(),  # a narrow matrix: one column per entry
        "in_vec_1": pa.float64(),
        "in_vec32_0": pa.float32(),
        "in_vec32_1": pa.float32(),
    }


def test_requests_sending_different_widths_share_the_wider_type(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock()) as log:
        log.log_columns(batch("a", 2, inputs={"x": np.array([1.5, 2.5], np.float32)}))
        log.log_columns(batch("b", 1, inputs={"x": np.array([0.1], np.float64)}))
        log.log_columns(batch("c", 1, inputs={"x": np.array([3.5], np.float32)}))
    table = log.read()
    assert table.schema.field("in_x").type == pa.float64()
    assert table.column("in_x").to_pylist() == [1.5, 2.5, 0.1, 3.5]


def test_batches_with_different_columns_share_one_segment_with_nulls(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock()) as log:
        log.log_columns(batch("a", 2))
        log.log_columns(batch("b", 1, inputs={"y": np.array(["s"], dtype=object)}))
        log.log_columns(batch("c", 1, inputs={"x": np.array([41])}))  # int where floats were
        log.log_columns(PredictionBatch("d", "churn", 1, status="InvalidInputError"))
    table = log.read()
    got = dict(zip(table.column("request_id").to_pylist(), table.to_pylist(), strict=True))
    assert len(list(tmp_path.rglob("segment-*.parquet"))) == 1
    assert got["a/1"]["in_x"] == 1.0 and got["a/1"]["in_y"] is None
    assert got["b"]["in_y"] == "s" and got["b"]["in_x"] is None
    assert got["c"]["in_x"] == 41.0
    assert got["d"]["status"] == "InvalidInputError" and got["d"]["out_label"] is None


def test_a_request_is_queued_whole_or_dropped_whole_when_the_buffer_is_full(
    tmp_path: Path,
) -> None:
    log = open_log(tmp_path, FakeClock(), flush_rows=5, max_buffer_rows=5)
    log._write_lock.acquire()  # a stuck store: the writer cannot drain the buffer
    try:
        assert log.log_columns(batch("a", 3))
        assert not log.log_columns(batch("b", 3))
        assert log.log_columns(batch("c", 2))
    finally:
        log._write_lock.release()
    log.close()
    assert log.stats().dropped == 3 and log.stats().accepted == 5
    assert sorted(log.read().column("request_id").to_pylist()) == [
        "a/0", "a/1", "a/2", "c/0", "c/1"
    ]  # fmt: skip
    assert not log.log_columns(batch("late", 1))  # closed: dropped, not raised


def test_sampling_keeps_a_request_whole_and_its_shadow_with_it(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock(), sample_rate=0.5) as log:
        for i in range(200):
            log.log_columns(batch(f"r{i}", 2))
            log.log_columns(batch(f"r{i}#b", 2, shadow_of=f"r{i}", variant="b"))
    table = log.read()
    ids = table.column("request_id").to_pylist()
    primaries = {i.split("/")[0] for i in ids if "#" not in i}
    shadows = {i.split("#")[0] for i in ids if "#" in i}
    assert 60 < len(primaries) < 140 and primaries == shadows
    assert len(ids) == 4 * len(primaries)
    assert log.stats().sampled_out == 800 - len(ids)
    shadow_rows = [r for r in table.to_pylist() if r["shadow_of"] is not None]
    assert {r["request_id"].replace("#b", "") for r in shadow_rows} == {
        r["shadow_of"] for r in shadow_rows
    }


def test_excluded_and_hashed_columns_apply_to_columns(tmp_path: Path) -> None:
    inputs = {
        "email": np.array(["ann@example.com", None], dtype=object),
        "ssn": np.array(["1", "2"], dtype=object),
        "x": np.array([1.0, 2.0]),
    }
    with open_log(
        tmp_path, FakeClock(), exclude_columns=["ssn"], hash_columns=["email", "x"], hash_salt="s"
    ) as log:
        log.log_columns(batch("a", 2, inputs=inputs))
    rows = log.read().to_pylist()
    assert "in_ssn" not in rows[0]
    assert rows[0]["in_email"] == hashlib.sha256(b"sann@example.com").hexdigest()
    assert rows[1]["in_email"] is None
    assert rows[1]["in_x"] == hashlib.sha256(b"s2.0").hexdigest()


def test_a_given_time_is_kept_and_partitions_follow_it(tmp_path: Path) -> None:
    served = datetime(2025, 12, 31, 23, 59, tzinfo=UTC)
    with open_log(tmp_path, FakeClock()) as log:
        log.log_columns(batch("old", 1, time=served))
        log.log_columns(batch("new", 1, endpoint="fraud"))
    folders = {p.parent.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("segment-*")}
    assert folders == {"endpoint=churn/date=2025-12-31", "endpoint=fraud/date=2026-01-01"}
    assert log.read(endpoint="churn").column("time").to_pylist() == [served]


@pytest.mark.parametrize("rows", [1, 3])
def test_memory_log_reads_columns_like_the_parquet_log(tmp_path: Path, rows: int) -> None:
    memory = MemoryPredictionLog(clock=FakeClock())
    with open_log(tmp_path, FakeClock()) as parquet:
        for log in (memory, parquet):
            log.log_columns(batch("a", rows))
            log.log_columns(batch("b", rows, endpoint="fraud"))
    assert memory.read().to_pylist() == parquet.read().to_pylist()
    assert memory.read(endpoint="fraud").num_rows == rows


def test_held_conversions_whose_types_clash_are_written_as_separate_segments(
    tmp_path: Path,
) -> None:
    with open_log(tmp_path, FakeClock(), flush_rows=100) as log:
        log.log_columns(batch("a", 1, inputs={"x": np.array([41])}))
        with log._write_lock:
            log._convert()  # converted and held: the interval (30 s) is not up
        log.log_columns(batch("b", 1, inputs={"x": np.array(["forty-one"], dtype=object)}))
        log.flush()
    assert log.stats().written == 2 and log.stats().write_errors == 0
    assert len(list(tmp_path.rglob("segment-*.parquet"))) == 2
    assert sorted(map(str, log.read().column("in_x").to_pylist())) == ["41", "forty-one"]


def test_compaction_leaves_segments_whose_types_clash_as_they_are(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock(), flush_rows=100) as log:
        log.log_columns(batch("a", 1, inputs={"x": np.array([41])}))
        log.flush()
        log.log_columns(batch("b", 1, inputs={"x": np.array(["forty-one"], dtype=object)}))
        log.flush()
        log.log_columns(batch("c", 1, inputs={"x": np.array([42])}))
        log.flush()
    before = sorted(tmp_path.rglob("segment-*.parquet"))
    assert len(before) == 3
    assert log.compact("churn", T0.date()) == 0
    assert sorted(tmp_path.rglob("segment-*.parquet")) == before
    assert log.read().num_rows == 3
