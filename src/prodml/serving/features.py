"""Features at serving time: entity keys in the request, looked-up features into the model.

A model configured with ``feature_service: NAME`` takes **entity rows** instead of model inputs:

- records route: ``{"driver_id": 7, "distance_km": 3.2}`` (or a list), one record per row;
- V2 (REST and gRPC): one 1-D tensor per entity key or request field, all of the same length
  (``BYTES`` for string keys, ``INT64`` for integer keys, any numeric type for values).

One online lookup per request (one store read per feature view, however many rows) returns the
service's features, with on-demand transformations already applied by the feature store. The
model's inputs are then taken by name: a looked-up feature first, else a request field of the
same name. With ``feature_overrides: true`` a request field that names a feature replaces the
looked-up value (``request_overrides`` of the lookup).

Missing entities: by default their features are null, fed to the model as NaN (float inputs; an
integer or string input with a null is refused with 400), and counted in
``prodml_feature_missing_entities_total``. With ``missing_entities: reject`` the request is
refused with 400 naming the entity keys and the feature view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from prodml.errors import InvalidInputError
from prodml.features import FeatureStatus, OnlineFeatures, OnlineLookup
from prodml.serving.inference import InferTensor
from prodml.serving.metrics import ServingMetrics
from prodml.serving.predictor import Array
from prodml.types import Signature, TensorSpec

Rows = Sequence[Mapping[str, Any]]


class FeatureJoin:
    """Turns entity rows into model columns for one served model (one per worker and model)."""

    def __init__(
        self,
        model: str,
        service: str,
        signature: Signature,
        lookup: OnlineLookup,
        metrics: ServingMetrics,
        *,
        reject_missing: bool = False,
    ) -> None:
        self.model = model
        self.service = service
        self.signature = signature
        self.lookup = lookup
        self.metrics = metrics
        self.reject_missing = reject_missing
        resolved = lookup.resolved
        # (view name, join keys, the user-visible column of one of its features)
        self._views = [
            (s.view.name, s.view.join_keys, resolved.outputs.get(s.columns[0]))
            for s in resolved.views
            if s.columns
        ]

    async def columns_from_tensors(
        self, inputs: Sequence[InferTensor]
    ) -> tuple[dict[str, Array], dict[str, list[Any]]]:
        """Model columns and the logged inputs (request fields plus features) of a V2 request."""
        return await self.columns_from_rows(rows_of_tensors(inputs))

    async def columns_from_rows(self, rows: Rows) -> tuple[dict[str, Array], dict[str, list[Any]]]:
        """Model columns and the logged inputs (request fields plus features) of entity rows."""
        if not rows:
            raise InvalidInputError("send at least one entity row")
        found = await self.lookup(rows)
        self.metrics.feature_lookup(
            self.model, len(rows), found.missing_entities, found.stale_values
        )
        if found.missing_entities and self.reject_missing:
            raise InvalidInputError(self._missing_message(rows, found))
        logged: dict[str, list[Any]] = {}
        for row in rows:
            for key in row:
                if key not in logged:
                    logged[key] = [r.get(key) for r in rows]
        logged.update(found.values)
        columns = {
            spec.name: _column(spec, self._values(spec, found, logged), self.service)
            for spec in self.signature.inputs
        }
        return columns, logged

    def _values(self, spec: TensorSpec, found: OnlineFeatures, logged: dict[str, list[Any]]) -> Any:
        values = found.values.get(spec.name)
        if values is None:
            values = logged.get(spec.name)
        if values is None:
            raise InvalidInputError(
                f"model input {spec.name!r} is neither a feature of service {self.service!r} "
                f"(features: {', '.join(found.values)}) nor a field of the request"
            )
        return values

    def _missing_message(self, rows: Rows, found: OnlineFeatures) -> str:
        missing: list[str] = []
        for view, keys, column in self._views:
            statuses = found.statuses.get(column or "", [])
            for row, status in zip(rows, statuses, strict=False):
                if status is FeatureStatus.NOT_FOUND:
                    key = ", ".join(f"{k}={row.get(k)!r}" for k in keys)
                    missing.append(f"{key} (feature view {view!r})")
        shown = "; ".join(missing[:10])
        if len(missing) > 10:
            shown += f" and {len(missing) - 10} more"
        return f"no online features for entity {shown}; materialize it or send other keys"


def rows_of_tensors(inputs: Sequence[InferTensor]) -> list[dict[str, Any]]:
    """Entity rows from V2 tensors: one 1-D (or ``(n, 1)``) tensor per field, equal lengths."""
    columns: dict[str, list[Any]] = {}
    for tensor in inputs:
        data = tensor.data
        if data.ndim == 2 and data.shape[1] == 1:
            data = data.reshape(-1)
        if data.ndim > 1:
            raise InvalidInputError(
                f"input {tensor.name!r}: a feature-served model takes one value per row and "
                f"field (shape [n]), got shape {list(data.shape)}"
            )
        values = data.reshape(-1).tolist()
        columns[tensor.name] = [v.decode() if isinstance(v, bytes) else v for v in values]
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise InvalidInputError(f"entity inputs disagree on the number of rows: {sorted(lengths)}")
    count = lengths.pop() if lengths else 0
    names = list(columns)
    return [{n: columns[n][i] for n in names} for i in range(count)]


def _column(spec: TensorSpec, values: list[Any], service: str) -> Array:
    if spec.dtype == "string":
        if any(v is None for v in values):
            raise InvalidInputError(
                f"feature {spec.name!r} (service {service!r}) is null for some rows and the "
                "model's string input cannot take nulls"
            )
        return np.array([str(v) for v in values], dtype=object)
    dtype = np.dtype(spec.dtype)
    if dtype.kind == "f":
        return np.array([np.nan if v is None else v for v in values], dtype=dtype)
    if any(v is None for v in values):
        raise InvalidInputError(
            f"feature {spec.name!r} (service {service!r}) is null for some rows (missing entity "
            f"or null value) and the model's {spec.dtype} input cannot take NaN"
        )
    try:
        return np.array(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"feature {spec.name!r}: cannot use its values for a {spec.dtype} input: {exc}"
        ) from None
