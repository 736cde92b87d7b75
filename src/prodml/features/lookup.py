"""Online lookups: entity rows in, the latest feature values out, with a status per value.

An ``OnlineLookup`` is prepared once per feature list (the serving layer keeps one per feature
service) and then called per request: one store read per feature view, values decoded from
JSON, on-demand features computed by the same code as offline.

Statuses: ``present``; ``null`` (the row exists, the value is null); ``not_found`` (no row for
the entity); ``stale`` (the row is older than the view's TTL at lookup time; the value is kept
unless ``drop_stale``). Missing entities and stale values are also counted in
``OnlineCounters``, which monitoring reads.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from prodml._internal.clock import Clock
from prodml.errors import InvalidInputError
from prodml.features.catalog import ResolvedFeatures, ViewSelection
from prodml.features.online.base import OnlineRow, OnlineStore
from prodml.features.online.codec import decode_values, encode_key


class FeatureStatus(StrEnum):
    PRESENT = "present"
    NULL = "null"
    NOT_FOUND = "not_found"
    STALE = "stale"


@dataclass
class OnlineCounters:
    """Running totals since the store was opened, per feature view (thread-safe)."""

    lookups: dict[str, int] = field(default_factory=dict)
    missing_entities: dict[str, int] = field(default_factory=dict)
    stale_values: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, view: str, lookups: int, missing: int, stale: int) -> None:
        with self._lock:
            self.lookups[view] = self.lookups.get(view, 0) + lookups
            self.missing_entities[view] = self.missing_entities.get(view, 0) + missing
            self.stale_values[view] = self.stale_values.get(view, 0) + stale

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{view: {"lookups": n, "missing_entities": n, "stale_values": n}}``."""
        with self._lock:
            return {
                view: {
                    "lookups": self.lookups[view],
                    "missing_entities": self.missing_entities.get(view, 0),
                    "stale_values": self.stale_values.get(view, 0),
                }
                for view in self.lookups
            }


@dataclass(frozen=True)
class OnlineFeatures:
    """Values per output column, row-aligned with the entity rows, plus their statuses.

    ``missing_entities`` counts (entity row, view) pairs with no stored row.
    """

    values: dict[str, list[Any]]
    statuses: dict[str, list[FeatureStatus]]
    missing_entities: int
    stale_values: int

    def to_dict(self) -> dict[str, list[Any]]:
        return dict(self.values)

    def rows(self) -> list[dict[str, Any]]:
        names = list(self.values)
        count = len(next(iter(self.values.values()), []))
        return [{name: self.values[name][i] for name in names} for i in range(count)]


class OnlineLookup:
    """A prepared lookup of ``resolved`` features in ``store``; call it once per request."""

    def __init__(
        self,
        resolved: ResolvedFeatures,
        store: OnlineStore,
        clock: Clock,
        counters: OnlineCounters,
        *,
        drop_stale: bool = False,
        request_overrides: bool = False,
    ) -> None:
        self.resolved = resolved
        self.store = store
        self.clock = clock
        self.counters = counters
        self.drop_stale = drop_stale
        self.request_overrides = request_overrides
        self._views = [
            (
                s,
                s.view.join_keys,
                tuple(zip(s.features, s.columns, strict=True)),
                None
                if s.view.ttl_unlimited or s.view.ttl is None
                else round(s.view.ttl.total_seconds() * 1_000_000),
            )
            for s in resolved.views
        ]

    async def __call__(self, entity_rows: Sequence[Mapping[str, Any]]) -> OnlineFeatures:
        """Features for each entity row; extra keys in a row are request data for on-demand views.

        Raises:
            InvalidInputError: a row lacks a join key or a request field.
        """
        now_us = int(self.clock.now().timestamp() * 1_000_000)
        reads = [
            self._read(selection, keys, rows_of(entity_rows, keys, selection.view.name))
            for selection, keys, _, _ in self._views
        ]
        stored = (
            await asyncio.gather(*reads) if len(reads) > 1 else [await reads[0]] if reads else []
        )
        values: dict[str, list[Any]] = {}
        statuses: dict[str, list[FeatureStatus]] = {}
        missing = stale = 0
        for (selection, _, columns, ttl_us), rows in zip(self._views, stored, strict=True):
            view_missing, view_stale = self._fill(rows, columns, ttl_us, now_us, values, statuses)
            missing += view_missing
            stale += view_stale
            self.counters.add(selection.view.name, len(rows), view_missing, view_stale)
        if self.resolved.on_demand:
            self._run_on_demand(entity_rows, values, statuses)
        shown_values = {self.resolved.outputs[c]: values[c] for c in self.resolved.outputs}
        shown_status = {self.resolved.outputs[c]: statuses[c] for c in self.resolved.outputs}
        if self.request_overrides:
            for name, column in shown_values.items():
                for i, row in enumerate(entity_rows):
                    if name in row:
                        column[i] = row[name]
                        shown_status[name][i] = FeatureStatus.PRESENT
        return OnlineFeatures(shown_values, shown_status, missing, stale)

    async def _read(
        self, selection: ViewSelection, keys: Sequence[str], encoded: list[str]
    ) -> list[OnlineRow | None]:
        return await self.store.read(selection.view.name, encoded)

    def _fill(
        self,
        rows: list[OnlineRow | None],
        columns: tuple[tuple[str, str], ...],
        ttl_us: int | None,
        now_us: int,
        values: dict[str, list[Any]],
        statuses: dict[str, list[FeatureStatus]],
    ) -> tuple[int, int]:
        # Column-wise comprehensions: this loop is the hot path of a 1,000-entity lookup.
        decoded = [None if row is None else decode_values(row.payload) for row in rows]
        oldest = None if ttl_us is None else now_us - ttl_us
        stale_rows = [
            row is not None and oldest is not None and row.event_us < oldest for row in rows
        ]
        missing = decoded.count(None)
        stale = sum(stale_rows)
        present, null, not_found, stale_status = (
            FeatureStatus.PRESENT,
            FeatureStatus.NULL,
            FeatureStatus.NOT_FOUND,
            FeatureStatus.STALE,
        )
        for feature, column in columns:
            column_values = [None if d is None else d.get(feature) for d in decoded]
            if stale:
                statuses[column] = [
                    not_found
                    if d is None
                    else stale_status
                    if s
                    else null
                    if v is None
                    else present
                    for d, s, v in zip(decoded, stale_rows, column_values, strict=True)
                ]
                if self.drop_stale:
                    column_values = [
                        None if s else v for s, v in zip(stale_rows, column_values, strict=True)
                    ]
            else:
                statuses[column] = [
                    not_found if d is None else null if v is None else present
                    for d, v in zip(decoded, column_values, strict=True)
                ]
            values[column] = column_values
        return missing, stale

    def _run_on_demand(
        self,
        entity_rows: Sequence[Mapping[str, Any]],
        values: dict[str, list[Any]],
        statuses: dict[str, list[FeatureStatus]],
    ) -> None:
        import pandas as pd

        from prodml.features.historical import add_features

        for name in self.resolved.request_fields:
            if any(name not in row for row in entity_rows):
                raise InvalidInputError(
                    f"request lacks {name!r}, a request field an on-demand view needs"
                )
        entities = pd.DataFrame(
            {name: [row[name] for row in entity_rows] for name in self.resolved.request_fields},
            index=range(len(entity_rows)),
        )
        features = pd.DataFrame(values, index=range(len(entity_rows)))
        # The same function as the offline path, so online and training values cannot differ.
        frame = add_features(entities, features, self.resolved)
        for odfv in self.resolved.on_demand:
            for feature in odfv.feature_names:
                internal = f"{odfv.name}__{feature}"
                if internal not in self.resolved.outputs:
                    continue
                column = frame[self.resolved.outputs[internal]].tolist()
                values[internal] = [None if _is_nan(v) else v for v in column]
                statuses[internal] = [
                    FeatureStatus.NULL if v is None else FeatureStatus.PRESENT
                    for v in values[internal]
                ]


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def rows_of(entity_rows: Sequence[Mapping[str, Any]], keys: Sequence[str], view: str) -> list[str]:
    """Each entity row's store key for a view with join ``keys``."""
    try:
        if len(keys) == 1:
            key = keys[0]
            return [encode_key((row[key],)) for row in entity_rows]
        return [encode_key([row[k] for k in keys]) for row in entity_rows]
    except KeyError as exc:
        raise InvalidInputError(
            f"entity row lacks join key {exc.args[0]!r}, needed by feature view {view!r}"
        ) from None
