"""``plan`` and ``apply``: compare Python definitions with the metadata store, then record them.

The Python definitions are the source of truth: ``apply`` adds what is new, updates what
changed and removes what the definitions no longer declare, in one transaction (on SQLite it
holds the write lock from the start, so two concurrent applies serialise instead of interleaving).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prodml.errors import ConfigError
from prodml.features.catalog import Catalog, Definition
from prodml.features.definitions import Entity, FeatureService, FeatureView
from prodml.features.on_demand import OnDemandFeatureView
from prodml.features.tables import feature_definitions

Action = Literal["add", "update", "remove", "unchanged"]
_KINDS: dict[type, str] = {
    Entity: "entity",
    FeatureView: "feature_view",
    OnDemandFeatureView: "on_demand_feature_view",
    FeatureService: "feature_service",
}


@dataclass(frozen=True)
class Change:
    """One definition's fate under ``apply``; ``fields`` lists the top-level fields that differ."""

    kind: str
    name: str
    action: Action
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "fields": list(self.fields),
        }


@dataclass(frozen=True)
class Plan:
    """What ``apply`` would do (or did)."""

    changes: tuple[Change, ...]

    @property
    def has_changes(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def summary(self) -> str:
        counts = {a: sum(c.action == a for c in self.changes) for a in ("add", "update", "remove")}
        return f"{counts['add']} to add, {counts['update']} to update, {counts['remove']} to remove"

    def to_dict(self) -> dict[str, Any]:
        return {"changes": [c.to_dict() for c in self.changes], "summary": self.summary()}


def kind_of(definition: Definition) -> str:
    return _KINDS[type(definition)]


def _digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def _stored(connection: sa.Connection) -> dict[tuple[str, str], dict[str, Any]]:
    rows = connection.execute(
        sa.select(
            feature_definitions.c.kind,
            feature_definitions.c.name,
            feature_definitions.c.spec,
            feature_definitions.c.spec_sha256,
        )
    )
    return {(r.kind, r.name): {"spec": r.spec, "sha": r.spec_sha256} for r in rows}


def _changes(catalog: Catalog, stored: dict[tuple[str, str], dict[str, Any]]) -> list[Change]:
    changes: list[Change] = []
    declared: set[tuple[str, str]] = set()
    for definition in catalog:
        kind, spec = kind_of(definition), definition.to_dict()
        key = (kind, definition.name)
        declared.add(key)
        old = stored.get(key)
        if old is None:
            changes.append(Change(kind, definition.name, "add"))
        elif old["sha"] != _digest(spec):
            fields = tuple(sorted(k for k in spec if spec.get(k) != old["spec"].get(k)))
            changes.append(Change(kind, definition.name, "update", fields))
        else:
            changes.append(Change(kind, definition.name, "unchanged"))
    changes.extend(Change(k, n, "remove") for (k, n) in sorted(stored) if (k, n) not in declared)
    return changes


def plan(engine: Engine, catalog: Catalog) -> Plan:
    """What ``apply(engine, catalog)`` would change; writes nothing."""
    catalog.validate()
    with engine.connect() as connection:
        return Plan(tuple(_changes(catalog, _stored(connection))))


def apply(engine: Engine, catalog: Catalog, now: datetime) -> Plan:
    """Record ``catalog`` as the applied definitions; returns the plan it carried out."""
    catalog.validate()
    table = feature_definitions
    with engine.begin() as connection:
        changes = _changes(catalog, _stored(connection))
        by_key = {(kind_of(d), d.name): d for d in catalog}
        for change in changes:
            where = (table.c.kind == change.kind) & (table.c.name == change.name)
            if change.action == "remove":
                connection.execute(table.delete().where(where))
                continue
            if change.action == "unchanged":
                continue
            spec = by_key[(change.kind, change.name)].to_dict()
            values = {"spec": spec, "spec_sha256": _digest(spec), "updated_at": now}
            if change.action == "add":
                connection.execute(
                    table.insert().values(
                        kind=change.kind, name=change.name, version=1, created_at=now, **values
                    )
                )
            else:
                connection.execute(
                    table.update().where(where).values(version=table.c.version + 1, **values)
                )
    return Plan(tuple(changes))


def load_catalog(engine: Engine, code: Catalog | None = None) -> Catalog:
    """The applied definitions, rebuilt from the metadata store.

    On-demand views hold Python functions, which the store cannot rebuild: they come from
    ``code`` (the loaded definitions file), and only when the function's source matches what
    was applied, so a server never runs a transformation that training did not.
    """
    with engine.connect() as connection:
        stored = _stored(connection)
    catalog = Catalog()
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for (kind, name), row in stored.items():
        by_kind.setdefault(kind, {})[name] = row["spec"]
    for spec in by_kind.get("entity", {}).values():
        catalog.add(Entity.from_dict(spec))
    for spec in by_kind.get("feature_view", {}).values():
        catalog.add(FeatureView.from_dict(spec, catalog.entities))
    for name, spec in by_kind.get("on_demand_feature_view", {}).items():
        loaded = code.on_demand_views.get(name) if code is not None else None
        if loaded is None:
            continue
        if loaded.code_sha256 != spec["code_sha256"]:
            raise ConfigError(
                f"on-demand feature view {name!r}: field 'function' differs from the applied "
                "one; run `prodml features apply` with the current definitions"
            )
        catalog.on_demand_views[name] = loaded
    for spec in by_kind.get("feature_service", {}).values():
        catalog.add(FeatureService.from_dict(spec))
    return catalog
