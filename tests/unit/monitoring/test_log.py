"""The Parquet prediction log: what is written, what is kept private, what is read back."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from prodml.errors import ConfigError
from prodml.monitoring.log import (
    MemoryPredictionLog,
    ParquetPredictionLog,
    PredictionLog,
    PredictionLogReader,
    PredictionRecord,
)
from prodml.testing.clock import FakeClock


def record(i: int, endpoint: str = "churn", **inputs: object) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"r{i}",
        endpoint=endpoint,
        inputs={"x": float(i), **inputs},
        outputs={"label": i % 2, "probability": 0.25},
        variant="a",
        model_name="churn",
        model_version="3",
        latency_ms=1.5,
    )


def open_log(root: Path, clock: FakeClock, **options: object) -> ParquetPredictionLog:
    return ParquetPredictionLog(root, flush_interval_s=30, clock=clock, **options)  # type: ignore[arg-type]


def test_graceful_close_writes_every_row_partitioned_by_endpoint_and_date(tmp_path: Path) -> None:
    clock = FakeClock()
    log = open_log(tmp_path, clock, flush_rows=7)
    assert isinstance(log, PredictionLog) and isinstance(log, PredictionLogReader)
    for i in range(50):
        assert log.log(record(i, endpoint="churn" if i % 5 else "fraud"))
        clock.advance(seconds=3600)
    log.close()
    table = log.read()
    assert table.num_rows == 50
    assert sorted(table.column("request_id").to_pylist()) == sorted(f"r{i}" for i in range(50))
    assert log.stats().dropped == 0 and log.stats().written == 50
    folders = {p.parent.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("segment-*")}
    assert (
        "endpoint=fraud/date=2026-01-01" in folders and "endpoint=churn/date=2026-01-03" in folders
    )
    assert not list(tmp_path.rglob(".tmp-*"))
    row = log.read(endpoint="fraud").to_pylist()[0]
    assert row["in_x"] == 0.0 and row["out_label"] == 0 and row["variant"] == "a"
    assert row["time"] == datetime(2026, 1, 1, tzinfo=UTC)


def test_read_filters_by_endpoint_and_half_open_time_range(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_log(tmp_path, clock) as log:
        for i in range(10):
            log.log(record(i, endpoint="a" if i < 6 else "b"))
            clock.advance(seconds=60)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert log.read(endpoint="b").num_rows == 4
    window = log.read(start=t0 + timedelta(minutes=2), end=t0 + timedelta(minutes=5))
    assert window.column("request_id").to_pylist() == ["r2", "r3", "r4"]
    with pytest.raises(ConfigError, match="timezone-aware"):
        log.read(start=datetime(2026, 1, 1))


def test_empty_log_reads_as_empty_table(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock()) as log:
        assert log.read().num_rows == 0


def test_flush_rows_triggers_a_write_without_waiting_for_the_interval(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock(), flush_rows=10) as log:
        log.log_batch(record(i) for i in range(10))
        for _ in range(200):
            if log.stats().written == 10:
                break
            import time

            time.sleep(0.01)
        assert log.stats().written == 10  # the interval is 30 s: only the row count woke it


def test_full_buffer_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    log = open_log(tmp_path, FakeClock(), flush_rows=5, max_buffer_rows=5)
    log._write_lock.acquire()  # a stuck store: the writer cannot drain the buffer
    try:
        accepted = log.log_batch(record(i) for i in range(20))
    finally:
        log._write_lock.release()
    log.close()
    assert accepted == 5 and log.stats().dropped == 15
    assert log.read().num_rows == 5
    assert not log.log(record(99))  # closed: dropped, not raised


def test_a_failed_write_keeps_its_rows_for_the_next_and_bounds_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodml.monitoring.log import segments

    real = segments.write_segment
    down = [True]

    def flaky(*args: object) -> str:
        if down[0]:
            raise OSError("store unavailable")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(segments, "write_segment", flaky)
    log = open_log(tmp_path, FakeClock(), flush_rows=5, max_buffer_rows=8)
    assert log.log_batch(record(i) for i in range(6)) == 6
    log.flush()  # fails: the 6 rows stay held, in memory
    assert log.stats().write_errors >= 1 and log.stats().buffered == 6  # the writer may try too
    assert log.log_batch(record(i) for i in range(6, 12)) == 2  # room for 2 more, 4 dropped
    down[0] = False
    log.close()
    stats = log.stats()
    assert (stats.written, stats.dropped, stats.accepted, stats.buffered) == (8, 4, 8, 0)
    assert sorted(log.read().column("request_id").to_pylist()) == [f"r{i}" for i in range(8)]


def test_rows_no_column_can_hold_are_dropped_and_counted_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodml.monitoring.log import parquet

    def broken(*args: object) -> None:
        raise ValueError("cannot convert")

    with open_log(tmp_path, FakeClock()) as log:
        monkeypatch.setattr(parquet, "build_table", broken)
        log.log_batch(record(i) for i in range(3))
        log.flush()
        monkeypatch.undo()
        log.log(record(3))
    stats = log.stats()
    assert (stats.dropped, stats.write_errors, stats.written) == (3, 1, 1)


def test_sampling_is_by_request_id_and_close_to_the_rate(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock(), sample_rate=0.25) as log:
        log.log_batch(record(i) for i in range(4000))
    kept = set(log.read().column("request_id").to_pylist())
    assert 850 < len(kept) < 1150
    assert log.stats().sampled_out == 4000 - len(kept)
    with open_log(tmp_path / "again", FakeClock(), sample_rate=0.25) as again:
        again.log_batch(record(i) for i in range(4000))
    assert set(again.read().column("request_id").to_pylist()) == kept


def test_excluded_columns_are_not_written_and_hashed_ones_are_salted_sha256(
    tmp_path: Path,
) -> None:
    with open_log(
        tmp_path, FakeClock(), exclude_columns=["ssn"], hash_columns=["email"], hash_salt="pepper"
    ) as log:
        log.log(record(1, email="ann@example.com", ssn="123-45-6789"))
    row = log.read().to_pylist()[0]
    assert "in_ssn" not in row
    assert row["in_email"] == hashlib.sha256(b"pepperann@example.com").hexdigest()
    assert "ann@example.com" not in str(next(tmp_path.rglob("*.parquet")).read_bytes())


def test_conflicting_or_invalid_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="both excluded and hashed"):
        ParquetPredictionLog(tmp_path, exclude_columns=["a"], hash_columns=["a"])
    with pytest.raises(ConfigError, match="sample_rate"):
        ParquetPredictionLog(tmp_path, sample_rate=1.5)


def test_bad_endpoint_name_is_dropped_not_raised(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock()) as log:
        assert not log.log(record(1, endpoint="../etc"))
    assert log.stats().dropped == 1 and log.read().num_rows == 0


def test_mixed_types_across_requests_are_kept_as_text(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock()) as log:
        log.log(record(1, code=41))
        log.log(record(2, code="x41"))
    assert sorted(log.read().column("in_code").to_pylist()) == ["41", "x41"]


def one_row_table() -> pa.Table:
    return pa.table({"request_id": ["r1"], "time": pa.array([0], pa.timestamp("us", tz="UTC"))})


def test_a_local_segment_is_on_disk_before_it_is_named_and_a_failed_one_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import pyarrow.parquet as pq

    from prodml.monitoring.log import segments

    steps: list[str] = []
    real_sync, real_replace = os.fdatasync, os.replace

    def sync(fd: int) -> None:
        steps.append("sync")
        real_sync(fd)

    def rename(src: str, dst: str) -> None:
        steps.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fdatasync", sync)
    monkeypatch.setattr(os, "replace", rename)
    fs, root = segments.open_root(str(tmp_path))
    table = one_row_table()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    path = segments.write_segment(fs, root, "churn", date(2026, 1, 1), table, now)
    assert steps == ["sync", "rename"]
    assert pq.read_table(path).column("request_id").to_pylist() == ["r1"]

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", full_disk)
    with pytest.raises(OSError, match="No space"):
        segments.write_segment(fs, root, "churn", date(2026, 1, 1), table, now)
    assert [p.name for p in tmp_path.rglob("*.parquet")] == [Path(path).name]  # nothing else


def test_a_local_segment_is_written_where_fdatasync_and_fadvise_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from prodml.monitoring.log import segments

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.delattr(os, "fdatasync", raising=False)  # as on macOS
    monkeypatch.delattr(os, "posix_fadvise", raising=False)

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    fs, root = segments.open_root(str(tmp_path))
    table = one_row_table()
    segments.write_segment(fs, root, "churn", date(2026, 1, 1), table, datetime(2026, 1, 1))
    assert len(synced) == 2  # the file, then its folder
    assert [p.name.startswith("segment-") for p in tmp_path.rglob("*.parquet")] == [True]


def test_a_segment_in_place_is_kept_when_only_its_folder_cannot_be_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import os

    from prodml.monitoring.log import segments

    if not hasattr(os, "fdatasync"):
        pytest.skip("here fsync also syncs the file itself")

    def broken_fsync(fd: int) -> None:  # on Linux only the folder is fsync'ed
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    fs, root = segments.open_root(str(tmp_path))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    # Raising would make the writer keep the rows and write them again: a duplicate segment.
    path = segments.write_segment(fs, root, "churn", date(2026, 1, 1), one_row_table(), now)
    assert [p.name for p in tmp_path.rglob("*.parquet")] == [Path(path).name]
    assert "could not sync folder" in caplog.text


def test_compaction_merges_segments_and_keeps_every_row(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_log(tmp_path, clock) as log:
        for i in range(30):
            log.log(record(i))
            if i % 3 == 2:
                log.flush()
        part = tmp_path / "endpoint=churn" / "date=2026-01-01"
        # Cheapest to write: the serving process pays for every microsecond the writer takes.
        assert {_compression(p) for p in part.glob("segment-*")} == {"UNCOMPRESSED"}
        assert len(list(part.glob("segment-*"))) == 10
        assert log.compact("churn", date(2026, 1, 1)) == 10
        assert [_compression(p) for p in part.glob("segment-*")] == ["ZSTD"]  # small at rest
        assert log.read().num_rows == 30
        assert log.compact("churn", date(2026, 1, 1)) == 0


def test_the_writer_codec_is_configurable_and_compaction_rewrites_a_lone_segment(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    with open_log(tmp_path / "lz4", clock, compression="lz4") as log:
        log.log(record(1))
    part = tmp_path / "lz4" / "endpoint=churn" / "date=2026-01-01"
    assert [_compression(p) for p in part.glob("segment-*")] == ["LZ4"]
    with open_log(tmp_path / "plain", clock) as log:
        log.log(record(1))
        log.flush()
        assert log.compact("churn", date(2026, 1, 1)) == 1  # one segment, not yet zstd
        part = tmp_path / "plain" / "endpoint=churn" / "date=2026-01-01"
        assert [_compression(p) for p in part.glob("segment-*")] == ["ZSTD"]
        assert log.compact("churn", date(2026, 1, 1)) == 0  # nothing left to do
        assert log.read().num_rows == 1
    with pytest.raises(ConfigError, match="compression must be one of none, snappy, lz4, zstd"):
        open_log(tmp_path / "bad", clock, compression="gzip2")
    assert not (tmp_path / "bad").exists()


def test_null_free_columns_are_written_required_and_later_nulls_still_read_and_compact(
    tmp_path: Path,
) -> None:
    import pyarrow.parquet as pq

    clock = FakeClock()
    with open_log(tmp_path, clock) as log:
        log.log(record(1, age=41.0))
        log.flush()  # first segment: in_age has no null
        clock.advance(seconds=1)  # segments are named by the clock's time: keep their order
        log.log(record(2))
        log.log(record(3, age=50.0))
        log.flush()  # second segment: in_age has a null
        part = tmp_path / "endpoint=churn" / "date=2026-01-01"
        first, second = sorted(part.glob("segment-*"))
        # REQUIRED columns carry no definition levels: cheaper for the serving process to write.
        schema = pq.ParquetFile(first).schema
        assert schema.column(schema.names.index("in_age")).max_definition_level == 0
        assert not pq.read_schema(first).field("in_age").nullable
        assert pq.read_schema(second).field("in_age").nullable
        assert log.read().column("in_age").to_pylist() == [41.0, None, 50.0]
        assert log.compact("churn", date(2026, 1, 1)) == 2
        assert log.read().column("in_age").to_pylist() == [41.0, None, 50.0]


def _compression(path: Path) -> str:
    import pyarrow.parquet as pq

    return str(pq.ParquetFile(path).metadata.row_group(0).column(0).compression)


def test_retention_deletes_only_partitions_older_than_the_window(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_log(tmp_path, clock) as log:
        for day in range(5):
            log.log(record(day))
            clock.advance(seconds=86400)
        log.flush()
        removed = log.apply_retention(2)  # today is Jan 6: keep Jan 4 and Jan 5
    assert [Path(p).name for p in removed] == [
        "date=2026-01-01",
        "date=2026-01-02",
        "date=2026-01-03",
    ]
    assert log.read().column("request_id").to_pylist() == ["r3", "r4"]


def test_feedback_joins_by_request_id_last_label_wins(tmp_path: Path) -> None:
    with open_log(tmp_path, FakeClock()) as log:
        log.log_batch(record(i) for i in range(3))
    feedback = pa.table({"request_id": ["r2", "r0", "r2"], "label": [1, 0, 0]})
    joined = log.join_feedback(log.read(), feedback).to_pylist()
    assert [(r["request_id"], r["label"]) for r in joined] == [("r0", 0), ("r1", None), ("r2", 0)]
    with pytest.raises(ConfigError, match="request_id"):
        log.join_feedback(log.read(), pa.table({"id": ["r1"]}))


def test_fsspec_url_backend(tmp_path: Path) -> None:
    with ParquetPredictionLog("memory://prodml-test-log", clock=FakeClock()) as log:
        log.log_batch(record(i) for i in range(4))
    assert log.read(endpoint="churn").num_rows == 4
    log.fs.rm(log.root, recursive=True)


def test_memory_log_reads_like_the_parquet_log() -> None:
    clock = FakeClock()
    log = MemoryPredictionLog(clock=clock, hash_columns=["email"])
    for i in range(4):
        log.log(record(i, endpoint="a" if i < 3 else "b", email="e"))
        clock.advance(seconds=60)
    table = log.read(endpoint="a", start=datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    assert table.column("request_id").to_pylist() == ["r1", "r2"]
    assert table.column("in_email").to_pylist()[0] == hashlib.sha256(b"e").hexdigest()
