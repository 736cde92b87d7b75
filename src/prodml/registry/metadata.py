"""The registry's metadata in SQL (SQLite by default, PostgreSQL by URL), through SQLAlchemy 2.

Version numbers come from a per-model counter that is incremented in the same transaction that
inserts the version row. On PostgreSQL the ``UPDATE ... RETURNING`` locks the model's row until
commit; on SQLite every transaction starts with ``BEGIN IMMEDIATE`` (see ``_internal.db``). Either
way concurrent registrations queue on the counter, so numbers are never duplicated or skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prodml._internal.clock import Clock, SystemClock
from prodml.errors import (
    AliasInUseError,
    AliasNotFoundError,
    ConflictError,
    ModelNotFoundError,
    VersionNotFoundError,
)
from prodml.registry.model import AliasEvent, Lineage, ModelVersion, RegisteredModel
from prodml.registry.tables import alias_events, model_aliases, model_versions, registered_models
from prodml.types import JsonDict, Signature


@dataclass(frozen=True)
class NewVersion:
    """Everything about a version except its number, which the store assigns."""

    flavor: str
    task: str
    signature: Signature
    metrics: dict[str, float]
    params: JsonDict
    tags: dict[str, str]
    description: str
    lineage: Lineage
    profile: JsonDict | None
    artifact_uri: str
    artifact_sha256: str


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything prodml returns is timezone-aware UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlMetadataStore:
    """Models, versions and aliases in a SQL database."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as connection:
            yield connection

    # ---------------------------------------------------------------- models

    def _model_row(self, conn: sa.Connection, name: str) -> sa.Row[Any]:
        row = conn.execute(
            sa.select(registered_models).where(registered_models.c.name == name)
        ).first()
        if row is None:
            raise ModelNotFoundError(
                f"no registered model named {name!r}; see the names with: prodml models list"
            )
        return row

    def _aliases(self, conn: sa.Connection, model_id: int) -> dict[str, int]:
        rows = conn.execute(
            sa.select(model_aliases.c.alias, model_aliases.c.version)
            .where(model_aliases.c.model_id == model_id)
            .order_by(model_aliases.c.alias)
        )
        return {r.alias: r.version for r in rows}

    def _registered(self, conn: sa.Connection, row: sa.Row[Any]) -> RegisteredModel:
        latest = conn.execute(
            sa.select(sa.func.max(model_versions.c.version)).where(
                model_versions.c.model_id == row.id
            )
        ).scalar()
        return RegisteredModel(
            name=row.name,
            description=row.description,
            tags=dict(row.tags),
            latest_version=latest,
            aliases=self._aliases(conn, row.id),
            created_at=_utc(row.created_at),
            updated_at=_utc(row.updated_at),
        )

    def get_model(self, name: str) -> RegisteredModel:
        with self.engine.connect() as conn:
            return self._registered(conn, self._model_row(conn, name))

    def list_models(self, pattern: str | None = None) -> list[RegisteredModel]:
        query = sa.select(registered_models).order_by(registered_models.c.name)
        if pattern:
            query = query.where(registered_models.c.name.like(pattern.replace("*", "%")))
        with self.engine.connect() as conn:
            return [self._registered(conn, row) for row in conn.execute(query)]

    def update_model(
        self, name: str, *, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        with self._tx() as conn:
            row = self._model_row(conn, name)
            values: dict[str, Any] = {"updated_at": self.clock.now()}
            if description is not None:
                values["description"] = description
            if tags is not None:
                values["tags"] = {**row.tags, **tags}
            conn.execute(
                registered_models.update().where(registered_models.c.id == row.id).values(values)
            )
            return self._registered(conn, self._model_row(conn, name))

    def delete_model(self, name: str, *, force: bool = False) -> None:
        with self._tx() as conn:
            row = self._model_row(conn, name)
            aliases = self._aliases(conn, row.id)
            if aliases and not force:
                raise AliasInUseError(
                    f"model {name!r} still has aliases ({_fmt_aliases(aliases)}); delete them "
                    "first or pass --force"
                )
            conn.execute(model_aliases.delete().where(model_aliases.c.model_id == row.id))
            conn.execute(model_versions.delete().where(model_versions.c.model_id == row.id))
            conn.execute(registered_models.delete().where(registered_models.c.id == row.id))

    # ---------------------------------------------------------------- versions

    def create_version(
        self, name: str, new: NewVersion, *, model_description: str = ""
    ) -> ModelVersion:
        """Insert a version with the next number for ``name`` (creating the model if new)."""
        now = self.clock.now()
        with self._tx() as conn:
            insert = _insert_ignore(conn).values(
                name=name,
                description=model_description,
                tags={},
                last_version=0,
                created_at=now,
                updated_at=now,
            )
            conn.execute(insert)
            number = conn.execute(
                registered_models.update()
                .where(registered_models.c.name == name)
                .values(last_version=registered_models.c.last_version + 1, updated_at=now)
                .returning(registered_models.c.last_version, registered_models.c.id)
            ).one()
            conn.execute(
                model_versions.insert().values(
                    model_id=number.id,
                    version=number.last_version,
                    flavor=new.flavor,
                    task=new.task,
                    status="ready",
                    signature=new.signature.to_dict(),
                    metrics=new.metrics,
                    params=new.params,
                    tags=new.tags,
                    description=new.description,
                    lineage=new.lineage.to_dict(),
                    profile=new.profile,
                    artifact_uri=new.artifact_uri,
                    artifact_sha256=new.artifact_sha256,
                    created_at=now,
                )
            )
            return self._version(conn, name, number.last_version)

    def _version_row(self, conn: sa.Connection, name: str, version: int) -> tuple[Any, Any]:
        model = self._model_row(conn, name)
        row = conn.execute(
            sa.select(model_versions).where(
                model_versions.c.model_id == model.id, model_versions.c.version == version
            )
        ).first()
        if row is None:
            raise VersionNotFoundError(
                f"model {name!r} has no version {version}; see its versions with: "
                f"prodml models versions {name}"
            )
        return model, row

    def _version(self, conn: sa.Connection, name: str, version: int) -> ModelVersion:
        model, row = self._version_row(conn, name, version)
        aliases = tuple(a for a, v in self._aliases(conn, model.id).items() if v == version)
        return _to_version(name, row, aliases)

    def get_version(self, name: str, version: int) -> ModelVersion:
        with self.engine.connect() as conn:
            return self._version(conn, name, version)

    def versions(self, name: str, *, include_archived: bool = True) -> list[ModelVersion]:
        with self.engine.connect() as conn:
            model = self._model_row(conn, name)
            aliases = self._aliases(conn, model.id)
            query = (
                sa.select(model_versions)
                .where(model_versions.c.model_id == model.id)
                .order_by(model_versions.c.version)
            )
            if not include_archived:
                query = query.where(model_versions.c.status == "ready")
            return [
                _to_version(name, row, tuple(a for a, v in aliases.items() if v == row.version))
                for row in conn.execute(query)
            ]

    def latest_version(self, name: str) -> int:
        with self.engine.connect() as conn:
            model = self._model_row(conn, name)
            number = conn.execute(
                sa.select(sa.func.max(model_versions.c.version)).where(
                    model_versions.c.model_id == model.id, model_versions.c.status == "ready"
                )
            ).scalar()
        if number is None:
            raise VersionNotFoundError(f"model {name!r} has no live (non-archived) version")
        return int(number)

    def set_status(self, name: str, version: int, status: str) -> ModelVersion:
        with self._tx() as conn:
            model, row = self._version_row(conn, name, version)
            if status == "archived":
                pointing = [a for a, v in self._aliases(conn, model.id).items() if v == version]
                if pointing:
                    raise AliasInUseError(
                        f"{name}/{version} is the target of alias(es) {', '.join(pointing)}; "
                        "move them before archiving it"
                    )
            conn.execute(
                model_versions.update().where(model_versions.c.id == row.id).values(status=status)
            )
            return self._version(conn, name, version)

    def update_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        with self._tx() as conn:
            _, row = self._version_row(conn, name, version)
            values: dict[str, Any] = {}
            if description is not None:
                values["description"] = description
            if tags is not None:
                values["tags"] = {**row.tags, **tags}
            if values:
                conn.execute(
                    model_versions.update().where(model_versions.c.id == row.id).values(values)
                )
            return self._version(conn, name, version)

    def delete_version(
        self, name: str, version: int, *, force: bool, actor: str, reason: str
    ) -> ModelVersion:
        """Delete one version; refused while an alias points at it, unless ``force``."""
        with self._tx() as conn:
            model, _ = self._version_row(conn, name, version)
            deleted = self._version(conn, name, version)
            if deleted.aliases and not force:
                raise AliasInUseError(
                    f"{name}/{version} is the target of alias(es) {', '.join(deleted.aliases)}; "
                    "move or delete them first, or pass --force to delete the aliases too"
                )
            for alias in deleted.aliases:
                self._write_alias(conn, model, alias, None, actor, reason or "version deleted")
            conn.execute(
                model_versions.delete().where(
                    model_versions.c.model_id == model.id, model_versions.c.version == version
                )
            )
            return deleted

    def artifact_in_use(self, sha256: str) -> bool:
        with self.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).where(model_versions.c.artifact_sha256 == sha256)
            ).scalar()
        return bool(count)

    # ---------------------------------------------------------------- aliases

    def get_alias(self, name: str, alias: str) -> int:
        with self.engine.connect() as conn:
            model = self._model_row(conn, name)
            version = self._aliases(conn, model.id).get(alias)
        if version is None:
            raise AliasNotFoundError(
                f"model {name!r} has no alias {alias!r}; set it with: "
                f"prodml models alias set {name} {alias} VERSION"
            )
        return version

    def set_alias(
        self, name: str, alias: str, version: int | None, *, actor: str, reason: str
    ) -> AliasEvent:
        """Point ``alias`` at ``version`` (None deletes it) and record the move."""
        with self._tx() as conn:
            if version is None:
                model = self._model_row(conn, name)
                if alias not in self._aliases(conn, model.id):
                    raise AliasNotFoundError(f"model {name!r} has no alias {alias!r} to delete")
            else:
                model, row = self._version_row(conn, name, version)
                if row.status != "ready":
                    raise ConflictError(
                        f"{name}/{version} is {row.status}; only live versions can take an alias"
                    )
            return self._write_alias(conn, model, alias, version, actor, reason)

    def _write_alias(
        self,
        conn: sa.Connection,
        model: Any,
        alias: str,
        version: int | None,
        actor: str,
        reason: str,
    ) -> AliasEvent:
        now = self.clock.now()
        previous = self._aliases(conn, model.id).get(alias)
        where = (model_aliases.c.model_id == model.id) & (model_aliases.c.alias == alias)
        conn.execute(model_aliases.delete().where(where))
        if version is not None:
            conn.execute(
                model_aliases.insert().values(
                    model_id=model.id, alias=alias, version=version, updated_at=now
                )
            )
        event = AliasEvent(model.name, alias, previous, version, actor, reason, now)
        conn.execute(
            alias_events.insert().values(
                model_name=model.name,
                alias=alias,
                from_version=previous,
                to_version=version,
                actor=actor,
                reason=reason,
                at=now,
            )
        )
        return event

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        query = (
            sa.select(alias_events)
            .where(alias_events.c.model_name == name)
            .order_by(alias_events.c.id)
        )
        if alias is not None:
            query = query.where(alias_events.c.alias == alias)
        with self.engine.connect() as conn:
            self._model_row(conn, name)
            return [
                AliasEvent(
                    r.model_name,
                    r.alias,
                    r.from_version,
                    r.to_version,
                    r.actor,
                    r.reason,
                    _utc(r.at),
                )
                for r in conn.execute(query)
            ]


def _insert_ignore(conn: sa.Connection) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` into registered_models, in the dialect at hand."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(registered_models).on_conflict_do_nothing(index_elements=["name"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(registered_models).on_conflict_do_nothing(index_elements=["name"])


def _to_version(name: str, row: Any, aliases: tuple[str, ...]) -> ModelVersion:
    return ModelVersion(
        name=name,
        version=row.version,
        flavor=row.flavor,
        task=row.task,
        status=row.status,
        signature=Signature.from_dict(row.signature),
        metrics={k: float(v) for k, v in row.metrics.items()},
        params=dict(row.params),
        tags=dict(row.tags),
        description=row.description,
        lineage=Lineage.from_dict(row.lineage),
        artifact_uri=row.artifact_uri,
        artifact_sha256=row.artifact_sha256,
        created_at=_utc(row.created_at),
        aliases=aliases,
        profile=row.profile,
    )


def _fmt_aliases(aliases: Mapping[str, int]) -> str:
    return ", ".join(f"{a} -> {v}" for a, v in aliases.items())
