"""Served records written per second by ``SqlFeedbackStore.record_served_many``.

A server answering 100-row requests produces ~130k served records a second. Each round writes one
batch of ``--records`` records (ids ``<uuid>/<row>``, as a 100-row request makes them) into a
fresh database, beside ``--baseline``: SQLAlchemy's own ``insert(routing_requests)`` with a dict
per row, which the store used before (arm counts included in both). Rounds alternate, so both
see the same machine; ``--fresh`` empties the table after each round (else it grows).

    python benchmarks/served_records.py --baseline --fresh
    python benchmarks/served_records.py --baseline --fresh \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from prodml._internal.db import connect
from prodml.routing import Served, SqlFeedbackStore
from prodml.routing.feedback import _bump_arms
from prodml.routing.tables import routing_requests


class CoreInsertStore(SqlFeedbackStore):
    """``record_served_many`` as it was: SQLAlchemy Core, one dict per row."""

    def record_served_many(self, records: Sequence[Served]) -> None:
        now: datetime = self.clock.now()
        rows = [
            {
                "request_id": r.request_id,
                "endpoint": r.endpoint,
                "variant": r.variant,
                "phase": r.phase,
                "unit": r.unit,
                "served_at": r.served_at or now,
                "latency_ms": r.latency_ms,
                "error": r.error,
                "value": None,
                "label": None,
                "received_at": None,
            }
            for r in records
        ]
        served: dict[tuple[str, str], int] = defaultdict(int)
        for r in records:
            served[r.endpoint, r.variant] += 1
        with self.engine.begin() as conn:
            conn.execute(sa.insert(routing_requests), rows)
            _bump_arms(conn, {k: (n, 0, 0.0, 0.0) for k, n in served.items()}, now)


def fresh_database(url: str | None) -> str:
    if url is None:
        return f"sqlite:///{tempfile.mkdtemp()}/prodml.db"
    name = f"bench_served_{uuid.uuid4().hex[:8]}"
    _admin(url, f'CREATE DATABASE "{name}"')
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin(url: str, statement: str) -> None:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(statement)
    admin.dispose()


def batch(records: int) -> list[Served]:
    out: list[Served] = []
    while len(out) < records:
        request = uuid.uuid4().hex
        out.extend(
            Served(f"{request}/{i}", "churn", "ab"[i % 2], 1, "user-42", latency_ms=3.25)
            for i in range(min(100, records - len(out)))
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL server URL (default: SQLite in a temp folder)")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="empty the table between rounds")
    args = parser.parse_args()
    stores: dict[str, SqlFeedbackStore] = {
        "record_served_many": SqlFeedbackStore(connect(fresh_database(args.url)))
    }
    if args.baseline:
        stores["sqlalchemy insert"] = CoreInsertStore(connect(fresh_database(args.url)))
    seconds: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.rounds):
        for name, store in stores.items():
            records = batch(args.records)
            start = time.perf_counter()
            store.record_served_many(records)
            seconds[name].append(time.perf_counter() - start)
            if args.fresh:
                with store.engine.begin() as conn:
                    conn.execute(sa.delete(routing_requests))
    backend = next(iter(stores.values())).engine.dialect.name
    table = "emptied each round" if args.fresh else "growing"
    print(f"{backend}, {args.records:,} records per batch, table {table}, {args.rounds} rounds")
    for name, times in seconds.items():
        median, best = statistics.median(times), min(times)
        print(
            f"  {name:20s} median {args.records / median:>9,.0f} records/s"
            f"   best {args.records / best:>9,.0f}"
        )
    for store in stores.values():
        store.engine.dispose()
        if args.url is not None:
            _admin(args.url, f'DROP DATABASE IF EXISTS "{store.engine.url.database}"')


if __name__ == "__main__":
    main()
