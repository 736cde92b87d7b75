"""Feature definitions, declared in Python: entities, fields, feature views and services.

    >>> from datetime import timedelta
    >>> driver = Entity("driver", join_keys=("driver_id",))
    >>> stats = FeatureView(
    ...     "driver_stats",
    ...     entities=(driver,),
    ...     schema=(Field("trips", "int64"), Field("rating", "float64")),
    ...     source=ParquetSource("data/driver_stats.parquet"),
    ...     ttl=timedelta(days=1),
    ... )
    >>> stats.feature_names
    ('trips', 'rating')

Constructors validate once; every error names the definition and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prodml.errors import ConfigError
from prodml.features.sources import (
    CsvSource,
    DataSource,
    DuckDBSource,
    ParquetSource,
    source_from_dict,
)
from prodml.types import DTYPES

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Column names the join uses internally; a feature or key with one of these names would clash.
_RESERVED = ("event_timestamp", "created_timestamp")

__all__ = ["Entity", "FeatureService", "FeatureView", "Field", "ParquetSource"]


def check_name(kind: str, owner: str, field_name: str, value: str) -> None:
    """Raise ConfigError unless ``value`` is a plain identifier."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(
            f"{kind} {owner!r}: field {field_name!r} is {value!r}; use letters, digits and "
            "underscores, starting with a letter or underscore"
        )


@dataclass(frozen=True)
class Entity:
    """A thing features describe (a driver, a customer), identified by its join key columns."""

    name: str
    join_keys: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        check_name("entity", self.name, "name", self.name)
        if not self.join_keys:
            # The common case: the entity's name is its key column.
            object.__setattr__(self, "join_keys", (self.name,))
        object.__setattr__(self, "join_keys", tuple(self.join_keys))
        for key in self.join_keys:
            check_name("entity", self.name, "join_keys", key)
        if len(set(self.join_keys)) != len(self.join_keys):
            raise ConfigError(f"entity {self.name!r}: field 'join_keys' repeats a column")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "join_keys": list(self.join_keys),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entity:
        return cls(data["name"], tuple(data["join_keys"]), data.get("description", ""))


@dataclass(frozen=True)
class Field:
    """One feature column: name and dtype (numpy names, or ``string``)."""

    name: str
    dtype: str

    def check(self, owner_kind: str, owner: str) -> None:
        check_name(owner_kind, owner, "schema", self.name)
        if self.dtype not in DTYPES:
            raise ConfigError(
                f"{owner_kind} {owner!r}: field 'schema' column {self.name!r} has dtype "
                f"{self.dtype!r}; use one of {', '.join(DTYPES)}"
            )

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "dtype": self.dtype}


@dataclass(frozen=True)
class FeatureView:
    """Features keyed by entities, read from one source.

    ``ttl`` bounds how old a feature row may be relative to the time it is looked up at; ``None``
    or zero means unlimited. ``online`` says whether ``materialize`` copies the view online.
    """

    name: str
    entities: tuple[Entity, ...]
    schema: tuple[Field, ...]
    source: DataSource
    ttl: timedelta | None = None
    online: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    owner: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        check_name("feature view", self.name, "name", self.name)
        object.__setattr__(self, "entities", tuple(self.entities))
        object.__setattr__(self, "schema", tuple(self.schema))
        object.__setattr__(self, "tags", dict(self.tags))
        if not self.entities:
            raise ConfigError(f"feature view {self.name!r}: field 'entities' must name an Entity")
        for entity in self.entities:
            if not isinstance(entity, Entity):
                raise ConfigError(
                    f"feature view {self.name!r}: field 'entities' holds {entity!r}; "
                    "expected Entity objects"
                )
        if not self.schema:
            raise ConfigError(f"feature view {self.name!r}: field 'schema' must list features")
        for column in self.schema:
            column.check("feature view", self.name)
        names = [c.name for c in self.schema]
        clash = sorted({n for n in names if names.count(n) > 1} | set(names) & set(self.join_keys))
        clash += [n for n in names if n in _RESERVED]
        if clash:
            raise ConfigError(
                f"feature view {self.name!r}: field 'schema' repeats or shadows column(s) "
                f"{', '.join(clash)} (join keys and timestamps cannot be features)"
            )
        if self.ttl is not None and (
            not isinstance(self.ttl, timedelta) or self.ttl < timedelta(0)
        ):
            raise ConfigError(
                f"feature view {self.name!r}: field 'ttl' is {self.ttl!r}; use a timedelta >= 0 "
                "or None for unlimited"
            )
        if not isinstance(self.source, ParquetSource | CsvSource | DuckDBSource):
            raise ConfigError(
                f"feature view {self.name!r}: field 'source' is {type(self.source).__name__}; "
                "use ParquetSource, CsvSource or DuckDBSource"
            )

    @property
    def join_keys(self) -> tuple[str, ...]:
        return tuple(key for entity in self.entities for key in entity.join_keys)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.schema)

    @property
    def ttl_unlimited(self) -> bool:
        return self.ttl is None or self.ttl == timedelta(0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entities": [e.name for e in self.entities],
            "schema": [c.to_dict() for c in self.schema],
            "source": self.source.to_dict(),
            "ttl_seconds": None if self.ttl is None else self.ttl.total_seconds(),
            "online": self.online,
            "tags": dict(sorted(self.tags.items())),
            "owner": self.owner,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], entities: Mapping[str, Entity]) -> FeatureView:
        ttl = data.get("ttl_seconds")
        return cls(
            name=data["name"],
            entities=tuple(entities[name] for name in data["entities"]),
            schema=tuple(Field(c["name"], c["dtype"]) for c in data["schema"]),
            source=source_from_dict(dict(data["source"])),
            ttl=None if ttl is None else timedelta(seconds=ttl),
            online=bool(data.get("online", True)),
            tags=dict(data.get("tags", {})),
            owner=data.get("owner", ""),
            description=data.get("description", ""),
        )


@dataclass(frozen=True)
class FeatureService:
    """A named set of features that a model consumes, as ``"view:feature"`` references.

    ``features`` may also hold whole views (every feature of the view), including on-demand ones.
    """

    name: str
    features: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    owner: str = ""
    description: str = ""

    def __init__(
        self,
        name: str,
        features: Sequence[Any],
        *,
        tags: Mapping[str, str] | None = None,
        owner: str = "",
        description: str = "",
    ) -> None:
        check_name("feature service", name, "name", name)
        refs: list[str] = []
        for item in features:
            if isinstance(item, str):
                refs.append(item)
            elif hasattr(item, "feature_names") and hasattr(item, "name"):
                refs.extend(f"{item.name}:{feature}" for feature in item.feature_names)
            else:
                raise ConfigError(
                    f"feature service {name!r}: field 'features' holds {item!r}; use "
                    "'view:feature' strings or feature view objects"
                )
        if not refs:
            raise ConfigError(f"feature service {name!r}: field 'features' is empty")
        for ref in refs:
            parse_reference(ref, owner=f"feature service {name!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "features", tuple(refs))
        object.__setattr__(self, "tags", dict(tags or {}))
        object.__setattr__(self, "owner", owner)
        object.__setattr__(self, "description", description)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "features": list(self.features),
            "tags": dict(sorted(self.tags.items())),
            "owner": self.owner,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureService:
        return cls(
            data["name"],
            list(data["features"]),
            tags=dict(data.get("tags", {})),
            owner=data.get("owner", ""),
            description=data.get("description", ""),
        )


def parse_reference(ref: str, *, owner: str = "feature reference") -> tuple[str, str]:
    """``"view:feature"`` -> ``("view", "feature")``."""
    view, sep, feature = ref.partition(":")
    if not sep or not _NAME.match(view) or not _NAME.match(feature):
        raise ConfigError(
            f"{owner}: feature reference {ref!r} is malformed; write it as 'view:feature'"
        )
    return view, feature
