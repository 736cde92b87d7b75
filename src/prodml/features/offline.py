"""The offline store seam: training sets by point-in-time join, and rows for materialization.

An ``OfflineStore`` is synchronous and lazy: ``get_historical_features`` returns a
``RetrievalJob`` that runs when its result is asked for, as Arrow record batches (streaming) or
one table. The DuckDB implementation lives in ``duckdb_offline``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from prodml._internal.hashing import data_fingerprint
from prodml.features.catalog import ResolvedFeatures, ViewSelection

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from prodml.features.definitions import FeatureView


class OfflineStore(Protocol):
    """Reads feature sources for training sets and materialization."""

    def point_in_time_join(
        self, entities: pa.Table, timestamp_column: str, views: Sequence[ViewSelection]
    ) -> Iterator[pa.RecordBatch]:
        """Feature columns (``view__feature``) for each entity row, in input order, in batches."""
        ...

    def latest_rows(
        self, view: FeatureView, start: datetime | None, end: datetime
    ) -> Iterator[pa.RecordBatch]:
        """Per entity key, the winning row with ``start <= event time <= end``.

        Batches hold the join keys, ``event_timestamp``, ``created_timestamp`` and the features.
        """
        ...

    def count_keys(self, view: FeatureView, start: datetime | None, end: datetime) -> int:
        """How many entity keys ``latest_rows`` will yield (for progress reporting)."""
        ...

    def append(self, view: FeatureView, rows: pa.Table) -> None:
        """Add pushed rows to the view's source."""
        ...


class RetrievalJob:
    """A training set that has not been computed yet.

    ``to_pandas`` / ``to_arrow`` run the join, compute the set's fingerprint (lineage names a
    training set by it) and report it to the store, which records it.
    """

    def __init__(
        self,
        batches: Callable[[], Iterator[pa.RecordBatch]],
        resolved: ResolvedFeatures,
        finish: Callable[[pd.DataFrame], pd.DataFrame],
        on_complete: Callable[[str, int], None] | None = None,
    ) -> None:
        self._batches = batches
        self._finish = finish
        self._on_complete = on_complete
        self.resolved = resolved
        self.fingerprint: str | None = None

    def to_batches(self) -> Iterator[pd.DataFrame]:
        """The result in slices of entity rows, in input order, without holding it all at once.

        Streaming results are not fingerprinted; use ``to_pandas`` for a recorded training set.
        """
        for batch in self._batches():
            yield self._finish(batch.to_pandas())

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        parts = list(self.to_batches())
        frame = pd.concat(parts, ignore_index=True) if len(parts) != 1 else parts[0]
        self.fingerprint = data_fingerprint(frame)
        if self._on_complete is not None:
            self._on_complete(self.fingerprint, len(frame))
        return frame

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        return pa.Table.from_pandas(self.to_pandas(), preserve_index=False)
