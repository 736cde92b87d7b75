"""A brute-force point-in-time join: the rules of docs/features.md, one entity row at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd


def brute_force_join(
    entity_df: pd.DataFrame,
    source: pd.DataFrame,
    keys: list[str],
    features: list[str],
    ttl: timedelta | None,
    created: str | None,
) -> list[dict[str, Any]]:
    """Per entity row: the winning source row's features (or None), with its event time."""
    out: list[dict[str, Any]] = []
    ordered = source.reset_index(drop=True)
    for _, entity in entity_df.iterrows():
        t = entity["event_timestamp"]
        best: tuple[Any, ...] | None = None
        winner = None
        for position, candidate in ordered.iterrows():
            if any(candidate[k] != entity[k] for k in keys):
                continue
            event = candidate["event_timestamp"]
            if event > t or (ttl and event < t - ttl):
                continue
            stamp = candidate[created] if created else None
            # Rank: event time, then created time (missing lowest), then source position.
            rank = (
                event,
                stamp is not None and not pd.isna(stamp),
                stamp if stamp is not None and not pd.isna(stamp) else 0,
                position,
            )
            if best is None or rank > best:
                best, winner = rank, candidate
        row = {f: (None if winner is None or pd.isna(winner[f]) else winner[f]) for f in features}
        row["__event"] = None if winner is None else winner["event_timestamp"]
        out.append(row)
    return out
