"""Training sets: entity rows in, the same rows with point-in-time features out.

The entity frame holds the join keys, a timestamp column (``event_timestamp``, or its only
datetime column) and anything else, such as labels, which passes through untouched. Output rows
match input rows one to one, in input order, duplicates included. Naive timestamps are UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from prodml.errors import InvalidInputError
from prodml.features.catalog import ResolvedFeatures
from prodml.features.duckdb_offline import ROW, TS
from prodml.features.offline import OfflineStore, RetrievalJob
from prodml.features.on_demand import run_on_demand

if TYPE_CHECKING:
    import pyarrow as pa


def find_timestamp_column(entity_df: pd.DataFrame, name: str | None) -> str:
    """The time column: ``name``, else ``event_timestamp``, else the only datetime column."""
    if name is not None:
        if name not in entity_df.columns:
            raise InvalidInputError(f"entity frame has no timestamp column {name!r}")
        return name
    if "event_timestamp" in entity_df.columns:
        return "event_timestamp"
    datetimes = [c for c in entity_df.columns if pd.api.types.is_datetime64_any_dtype(entity_df[c])]
    if len(datetimes) == 1:
        return str(datetimes[0])
    raise InvalidInputError(
        f"entity frame needs a column 'event_timestamp' or exactly one datetime column; found "
        f"{len(datetimes)} datetime column(s) {datetimes}; pass timestamp_column="
    )


def utc_timestamps(values: pd.Series[Any], what: str) -> pd.Series[Any]:
    """``values`` as timezone-aware UTC timestamps (naive ones are taken to be UTC already)."""
    try:
        stamps = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{what} holds values that are not timestamps: {exc}") from exc
    if stamps.dt.tz is None:
        return stamps.dt.tz_localize("UTC")
    return stamps.dt.tz_convert("UTC")


def entity_table(
    entity_df: pd.DataFrame, resolved: ResolvedFeatures, timestamp_column: str
) -> pa.Table:
    """The columns the join needs: keys, row number and UTC time (microseconds)."""
    import pyarrow as pa

    missing = [k for k in resolved.join_keys if k not in entity_df.columns]
    if missing:
        raise InvalidInputError(
            f"entity frame lacks join key column(s) {', '.join(missing)} needed by the requested "
            "feature views"
        )
    stamps = utc_timestamps(entity_df[timestamp_column], f"column {timestamp_column!r}")
    if stamps.isna().any():
        raise InvalidInputError(
            f"entity frame column {timestamp_column!r} has missing timestamps; every row needs one"
        )
    columns: dict[str, Any] = {key: entity_df[key].to_numpy() for key in resolved.join_keys}
    columns[ROW] = pa.array(range(len(entity_df)), type=pa.int64())
    columns[TS] = pa.array(stamps.dt.as_unit("us"), type=pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            k: v if isinstance(v, pa.Array) else pa.array(v, from_pandas=True)
            for k, v in columns.items()
        }
    )


def add_features(
    entities: pd.DataFrame, features: pd.DataFrame, resolved: ResolvedFeatures
) -> pd.DataFrame:
    """Entity rows + looked-up feature columns, on-demand features computed, columns renamed.

    ``features`` holds ``view__feature`` columns, row-aligned with ``entities``. Shared by the
    offline and the online path, so on-demand functions see the same inputs in both.
    """
    features = features.reset_index(drop=True)
    frame = entities.reset_index(drop=True)
    for odfv in resolved.on_demand:
        inputs = pd.DataFrame(index=frame.index)
        for source in odfv.sources:
            for name in source.feature_names:
                column = f"{source.name}__{name}"
                inputs[name] = features[column] if column in features.columns else frame.get(name)
        output = run_on_demand(odfv, inputs)
        for name in odfv.feature_names:
            features[f"{odfv.name}__{name}"] = output[name]
    shown = {internal: outside for internal, outside in resolved.outputs.items()}
    result = frame.copy()
    for internal, outside in shown.items():
        result[outside] = features[internal].to_numpy()
    return result


def historical_job(
    offline: OfflineStore,
    entity_df: pd.DataFrame,
    resolved: ResolvedFeatures,
    timestamp_column: str | None,
    on_complete: Callable[[str, int], None] | None,
) -> RetrievalJob:
    """A lazy training-set job; nothing is read until the job's result is asked for."""
    column = find_timestamp_column(entity_df, timestamp_column)
    for name in resolved.request_fields:
        if name not in entity_df.columns:
            raise InvalidInputError(
                f"entity frame lacks column {name!r}, a request field an on-demand view needs"
            )
    table = entity_table(entity_df, resolved, column)

    def batches() -> Any:
        if not resolved.views or table.num_rows == 0:
            # Nothing to join (request-only features, or no rows): the features are all null.
            import pyarrow as pa

            columns = {ROW: table.column(ROW).combine_chunks()}
            for selection in resolved.views:
                columns.update({c: pa.nulls(table.num_rows) for c in selection.columns})
            yield pa.record_batch(columns)
            return
        yield from offline.point_in_time_join(table, column, resolved.views)

    def finish(batch: pd.DataFrame) -> pd.DataFrame:
        rows = batch[ROW].to_numpy()
        return add_features(entity_df.iloc[rows], batch.drop(columns=[ROW]), resolved)

    return RetrievalJob(batches, resolved, finish, on_complete)
