"""Push: fresh rows from a stream processor, straight into the online store (and, if asked,
appended to the view's offline source so training sees them too).

Pushed rows use the source's column names: the join keys, the source's event-time column,
its created-time column when it has one, and the features.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import pandas as pd

from prodml.errors import InvalidInputError
from prodml.features.definitions import FeatureView
from prodml.features.historical import utc_timestamps
from prodml.features.online.base import OnlineRow

if TYPE_CHECKING:
    import pyarrow as pa


class PushMode(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    ONLINE_AND_OFFLINE = "online_and_offline"


def pushed_table(view: FeatureView, rows: pd.DataFrame) -> pa.Table:
    """``rows`` checked against ``view`` and shaped as its source: keys, times, features."""
    import pyarrow as pa

    source = view.source
    needed = [*view.join_keys, source.timestamp_field, *view.feature_names]
    if source.created_timestamp_field:
        needed.insert(len(view.join_keys) + 1, source.created_timestamp_field)
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise InvalidInputError(
            f"pushed rows for feature view {view.name!r} lack column(s) {', '.join(missing)}; "
            f"expected {', '.join(needed)}"
        )
    frame = rows.loc[:, needed].copy()
    frame[source.timestamp_field] = utc_timestamps(frame[source.timestamp_field], "event time")
    if source.created_timestamp_field:
        frame[source.created_timestamp_field] = utc_timestamps(
            frame[source.created_timestamp_field], "created time"
        )
    return pa.Table.from_pandas(frame, preserve_index=False)


def online_rows_from_push(view: FeatureView, table: pa.Table) -> list[OnlineRow]:
    from prodml.features.materialize import online_rows

    source = view.source
    renames = {source.timestamp_field: "event_timestamp"}
    if source.created_timestamp_field:
        renames[source.created_timestamp_field] = "created_timestamp"
    renamed = table.rename_columns([renames.get(n, n) for n in table.schema.names])
    return online_rows(view, renamed)
