"""What the registry stores: registered models, their immutable versions, and alias moves."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prodml.errors import ConfigError
from prodml.types import JsonDict, Signature

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,127}$")


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"model name {name!r} is invalid; use letters, digits, '.', '_' or '-' "
            "(up to 255 characters, starting with a letter or digit)"
        )
    return name


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise ConfigError(
            f"alias {alias!r} is invalid; start with a letter, then letters, digits, '_' or '-'"
        )
    return alias


@dataclass(frozen=True)
class ModelRef:
    """A reference to a version: ``name/3`` (a number), ``name@champion`` (an alias) or ``name``.

    A bare ``name`` means the ``champion`` alias when it is set, else the newest live version.
    """

    name: str
    version: int | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        if not isinstance(text, str) or not text:
            raise ConfigError("a model reference is 'name', 'name/3' or 'name@alias'")
        if "@" in text:
            name, _, alias = text.partition("@")
            return cls(check_model_name(name), alias=check_alias(alias))
        if "/" in text:
            name, _, number = text.partition("/")
            if not number.isdigit() or int(number) < 1:
                raise ConfigError(
                    f"model reference {text!r}: the version after '/' must be a positive number"
                )
            return cls(check_model_name(name), version=int(number))
        return cls(check_model_name(text))

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        if self.version is not None:
            return f"{self.name}/{self.version}"
        return self.name


@dataclass(frozen=True)
class Lineage:
    """Where a version came from."""

    data_fingerprint: str | None = None
    code_version: str | None = None
    parent_version: int | None = None
    registered_by: str = ""
    registered_at: datetime | None = None
    training_set: str | None = None
    extra: JsonDict = field(default_factory=dict)

    def to_dict(self) -> JsonDict:
        return {
            "data_fingerprint": self.data_fingerprint,
            "code_version": self.code_version,
            "parent_version": self.parent_version,
            "registered_by": self.registered_by,
            "registered_at": self.registered_at.isoformat() if self.registered_at else None,
            "training_set": self.training_set,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lineage:
        at = data.get("registered_at")
        return cls(
            data_fingerprint=data.get("data_fingerprint"),
            code_version=data.get("code_version"),
            parent_version=data.get("parent_version"),
            registered_by=data.get("registered_by", ""),
            registered_at=datetime.fromisoformat(at) if at else None,
            training_set=data.get("training_set"),
            extra=dict(data.get("extra") or {}),
        )


@dataclass(frozen=True)
class ModelVersion:
    """One immutable registered version of a model."""

    name: str
    version: int
    flavor: str
    task: str
    status: str  # "ready" or "archived"
    signature: Signature
    metrics: dict[str, float]
    params: JsonDict
    tags: dict[str, str]
    description: str
    lineage: Lineage
    artifact_uri: str
    artifact_sha256: str
    created_at: datetime
    aliases: tuple[str, ...] = ()
    profile: JsonDict | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    def to_dict(self, *, with_profile: bool = False) -> JsonDict:
        data: JsonDict = {
            "name": self.name,
            "version": self.version,
            "flavor": self.flavor,
            "task": self.task,
            "status": self.status,
            "aliases": list(self.aliases),
            "signature": self.signature.to_dict(),
            "metrics": self.metrics,
            "params": self.params,
            "tags": self.tags,
            "description": self.description,
            "lineage": self.lineage.to_dict(),
            "artifact_uri": self.artifact_uri,
            "artifact_sha256": self.artifact_sha256,
            "created_at": self.created_at.isoformat(),
            "has_profile": self.profile is not None,
        }
        if with_profile:
            data["profile"] = self.profile
        return data


@dataclass(frozen=True)
class RegisteredModel:
    """A model name with its description, tags, newest version and aliases."""

    name: str
    description: str
    tags: dict[str, str]
    latest_version: int | None
    aliases: dict[str, int]
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> JsonDict:
        return {
            "name": self.name,
            "description": self.description,
            "tags": self.tags,
            "latest_version": self.latest_version,
            "aliases": self.aliases,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class AliasEvent:
    """One alias move, kept forever: who moved ``alias`` from which version to which, and why."""

    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    at: datetime

    def to_dict(self) -> JsonDict:
        return {
            "model": self.model,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "actor": self.actor,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }
