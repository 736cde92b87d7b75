"""On-demand transformations: Python functions over request data and other features.

The same function runs offline (over the training frame) and online (over the looked-up
values), through the one code path in ``run_on_demand``, so training and serving cannot skew.

    >>> import pandas as pd
    >>> trip = RequestSource("trip", schema=(Field("distance_km", "float64"),))
    >>> @on_demand_feature_view(sources=(trip,), schema=(Field("distance_m", "float64"),))
    ... def trip_metres(inputs: pd.DataFrame) -> pd.DataFrame:
    ...     return pd.DataFrame({"distance_m": inputs["distance_km"] * 1000.0})
    >>> run_on_demand(trip_metres, pd.DataFrame({"distance_km": [1.5]}))["distance_m"].tolist()
    [1500.0]
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from prodml.errors import ConfigError, InvalidInputError
from prodml.features.definitions import FeatureView, Field, check_name

Transformation = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class RequestSource:
    """Values that arrive with the request (or as extra columns of the entity frame)."""

    name: str
    schema: tuple[Field, ...]

    def __post_init__(self) -> None:
        check_name("request source", self.name, "name", self.name)
        object.__setattr__(self, "schema", tuple(self.schema))
        for column in self.schema:
            column.check("request source", self.name)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.schema)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "schema": [c.to_dict() for c in self.schema]}


@dataclass(frozen=True)
class OnDemandFeatureView:
    """Features computed by ``function`` from request values and other views' features.

    ``function`` takes a frame whose columns are the inputs (request fields and the source views'
    feature names) and returns a frame with exactly the ``schema`` columns, one row per input row.
    """

    name: str
    sources: tuple[FeatureView | RequestSource, ...]
    schema: tuple[Field, ...]
    function: Transformation
    tags: Mapping[str, str] = field(default_factory=dict)
    owner: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        check_name("on-demand feature view", self.name, "name", self.name)
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "schema", tuple(self.schema))
        object.__setattr__(self, "tags", dict(self.tags))
        if not self.sources:
            raise ConfigError(
                f"on-demand feature view {self.name!r}: field 'sources' must name a feature view "
                "or request source"
            )
        for source in self.sources:
            if not isinstance(source, FeatureView | RequestSource):
                raise ConfigError(
                    f"on-demand feature view {self.name!r}: field 'sources' holds {source!r}; "
                    "expected FeatureView or RequestSource objects"
                )
        if not self.schema:
            raise ConfigError(f"on-demand feature view {self.name!r}: field 'schema' is empty")
        for column in self.schema:
            column.check("on-demand feature view", self.name)
        if not callable(self.function):
            raise ConfigError(
                f"on-demand feature view {self.name!r}: field 'function' is not callable"
            )
        inputs = self.input_names
        if len(set(inputs)) != len(inputs):
            raise ConfigError(
                f"on-demand feature view {self.name!r}: field 'sources' gives two inputs the "
                "same name; rename a feature or request field"
            )

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.schema)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(name for source in self.sources for name in source.feature_names)

    @property
    def feature_views(self) -> tuple[FeatureView, ...]:
        return tuple(s for s in self.sources if isinstance(s, FeatureView))

    @property
    def request_sources(self) -> tuple[RequestSource, ...]:
        return tuple(s for s in self.sources if isinstance(s, RequestSource))

    @property
    def code(self) -> str:
        try:
            return inspect.getsource(self.function)
        except (OSError, TypeError):
            return getattr(self.function, "__qualname__", repr(self.function))

    @property
    def code_sha256(self) -> str:
        """Identifies the function's source text, so a server can refuse a stale definition."""
        return hashlib.sha256(self.code.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sources": [
                {"feature_view": s.name} if isinstance(s, FeatureView) else {"request": s.to_dict()}
                for s in self.sources
            ],
            "schema": [c.to_dict() for c in self.schema],
            "function": getattr(self.function, "__qualname__", ""),
            "code_sha256": self.code_sha256,
            "tags": dict(sorted(self.tags.items())),
            "owner": self.owner,
            "description": self.description,
        }


def on_demand_feature_view(
    *,
    sources: Sequence[FeatureView | RequestSource],
    schema: Sequence[Field],
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    owner: str = "",
    description: str = "",
) -> Callable[[Transformation], OnDemandFeatureView]:
    """Decorator form of ``OnDemandFeatureView``; the view is named after the function."""

    def wrap(function: Transformation) -> OnDemandFeatureView:
        return OnDemandFeatureView(
            name=name or function.__name__,
            sources=tuple(sources),
            schema=tuple(schema),
            function=function,
            tags=dict(tags or {}),
            owner=owner,
            description=description or (function.__doc__ or "").strip(),
        )

    return wrap


def run_on_demand(view: OnDemandFeatureView, inputs: pd.DataFrame) -> pd.DataFrame:
    """Run ``view``'s function on ``inputs`` and check its output against the schema.

    Raises:
        InvalidInputError: an input column is missing, or the function returned the wrong shape.
    """
    missing = [name for name in view.input_names if name not in inputs.columns]
    if missing:
        raise InvalidInputError(
            f"on-demand feature view {view.name!r} needs input(s) {', '.join(missing)}; pass "
            "them as request data or entity-frame columns"
        )
    frame = inputs.loc[:, list(view.input_names)].reset_index(drop=True)
    output = view.function(frame)
    if not isinstance(output, pd.DataFrame):
        raise InvalidInputError(
            f"on-demand feature view {view.name!r}: function returned "
            f"{type(output).__name__}; return a pandas DataFrame"
        )
    absent = [name for name in view.feature_names if name not in output.columns]
    if absent or len(output) != len(frame):
        raise InvalidInputError(
            f"on-demand feature view {view.name!r}: function returned {len(output)} row(s) with "
            f"columns {list(output.columns)}; expected {len(frame)} row(s) with "
            f"{list(view.feature_names)}"
        )
    return output.loc[:, list(view.feature_names)].reset_index(drop=True)
