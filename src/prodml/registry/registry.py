"""The model registry: register versions, move aliases, resolve references, load models.

>>> from prodml.registry import Registry
>>> registry = Registry.open()                      # doctest: +SKIP
>>> v = registry.register("churn", fitted_model, sample=X_train, metrics={"auc": 0.91})
>>> registry.set_alias("churn", "champion", v.version, reason="beats v1 on holdout")
>>> model = registry.load("churn@champion")
>>> model.predict(X_new)["label"]
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prodml._internal.clock import Clock, SystemClock
from prodml._internal.gitinfo import code_version
from prodml._internal.hashing import data_fingerprint
from prodml.errors import ConfigError
from prodml.profiles import DatasetProfile
from prodml.registry.artifacts import ArtifactStore, open_artifact_store
from prodml.registry.metadata import NewVersion, SqlMetadataStore
from prodml.registry.model import (
    AliasEvent,
    Lineage,
    ModelRef,
    ModelVersion,
    RegisteredModel,
    check_alias,
    check_model_name,
)
from prodml.runtimes import Model, RuntimeOptions, load_model, save_model
from prodml.settings import Settings
from prodml.types import Signature


class Registry:
    """Models and their versions, backed by a metadata store and an artifact store."""

    def __init__(
        self,
        metadata: SqlMetadataStore,
        artifacts: ArtifactStore,
        *,
        user: str = "unknown",
        clock: Clock | None = None,
    ) -> None:
        self.metadata = metadata
        self.artifacts = artifacts
        self.user = user
        self.clock = clock or SystemClock()

    @classmethod
    def open(
        cls,
        *,
        home: Path | None = None,
        metadata_url: str | None = None,
        artifacts_url: str | None = None,
        clock: Clock | None = None,
    ) -> Registry:
        """The registry that the environment (``PRODML_*``) and these overrides describe."""
        settings = Settings.at(home)
        engine = settings.metadata_engine(metadata_url)
        store = open_artifact_store(
            artifacts_url or settings.resolved_artifacts_url(), settings.home.expanduser()
        )
        clock = clock or SystemClock()
        return cls(SqlMetadataStore(engine, clock), store, user=settings.user, clock=clock)

    def close(self) -> None:
        """Release database connections (the registry is unusable afterwards)."""
        self.metadata.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---------------------------------------------------------------- registering

    def register(
        self,
        name: str,
        model: object,
        *,
        sample: object | None = None,
        signature: Signature | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        description: str = "",
        trusted: bool = False,
        code_paths: Sequence[Path] = (),
        training_data: object | None = None,
        training_set: str | None = None,
        parent_version: int | None = None,
        profile_sample_size: int = 1000,
        alias: str | None = None,
    ) -> ModelVersion:
        """Store ``model`` (a fitted object or a saved artifact) as the next version of ``name``.

        Args:
            sample: a few rows of input, used to infer the signature and to check that the
                model loads and predicts before anything is recorded.
            training_data: the training rows (or a sample of them): fingerprinted for lineage
                and profiled as the reference for drift monitoring. Defaults to ``sample``.
            training_set: the fingerprint of a feature-store training set, when one was used.
            alias: also point this alias at the new version.
        """
        check_model_name(name)
        if alias is not None:
            check_alias(alias)
        clean_metrics = _check_metrics(metrics or {})
        clean_tags = _check_tags(tags or {})
        if parent_version is not None:
            self.metadata.get_version(name, parent_version)
        reference = training_data if training_data is not None else sample
        profile = (
            DatasetProfile.from_data(reference, sample_size=profile_sample_size).to_dict()
            if reference is not None
            else None
        )
        with tempfile.TemporaryDirectory(prefix="prodml-register-") as tmp:
            directory = Path(tmp) / "model"
            directory.mkdir()
            manifest = save_model(
                model,
                directory,
                sample=sample,
                signature=signature,
                trusted=trusted,
                code_paths=code_paths,
            )
            uri, sha = self.artifacts.put(directory)
        lineage = Lineage(
            data_fingerprint=data_fingerprint(reference) if reference is not None else None,
            code_version=code_version(),
            parent_version=parent_version,
            registered_by=self.user,
            registered_at=self.clock.now(),
            training_set=training_set,
        )
        version = self.metadata.create_version(
            name,
            NewVersion(
                flavor=manifest.flavor,
                task=manifest.task,
                signature=manifest.signature,
                metrics=clean_metrics,
                params=_jsonable(dict(params or {})),
                tags=clean_tags,
                description=description,
                lineage=lineage,
                profile=profile,
                artifact_uri=uri,
                artifact_sha256=sha,
            ),
        )
        if alias is not None:
            self.set_alias(name, alias, version.version, reason="set at registration")
            version = self.metadata.get_version(name, version.version)
        return version

    # ---------------------------------------------------------------- reading

    def resolve(self, ref: str | ModelRef | ModelVersion) -> ModelVersion:
        """The version that ``name/3``, ``name@alias`` or ``name`` points at right now."""
        if isinstance(ref, ModelVersion):
            return ref
        parsed = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)
        if parsed.version is not None:
            return self.metadata.get_version(parsed.name, parsed.version)
        if parsed.alias is not None:
            return self.metadata.get_version(
                parsed.name, self.metadata.get_alias(parsed.name, parsed.alias)
            )
        model = self.metadata.get_model(parsed.name)
        number = model.aliases.get("champion") or self.metadata.latest_version(parsed.name)
        return self.metadata.get_version(parsed.name, number)

    def load(
        self, ref: str | ModelRef | ModelVersion, options: RuntimeOptions | None = None
    ) -> Model:
        """Fetch, verify (sha256) and load the version ``ref`` points at."""
        version = self.resolve(ref)
        directory = self.artifacts.fetch(version.artifact_uri, version.artifact_sha256)
        return load_model(directory, options)

    def get_model(self, name: str) -> RegisteredModel:
        return self.metadata.get_model(name)

    def list_models(
        self, pattern: str | None = None, *, tags: Mapping[str, str] | None = None
    ) -> list[RegisteredModel]:
        """Models whose name matches ``pattern`` (``*`` wildcards) and carry every tag given.

        A tag matches when the model or any of its versions has it.
        """
        models = self.metadata.list_models(pattern)
        if not tags:
            return models
        wanted = dict(tags)
        return [
            m
            for m in models
            if _has_tags(m.tags, wanted) or self._any_version_tagged(m.name, wanted)
        ]

    def _any_version_tagged(self, name: str, wanted: dict[str, str]) -> bool:
        return any(_has_tags(v.tags, wanted) for v in self.metadata.versions(name))

    def versions(self, name: str, *, include_archived: bool = True) -> list[ModelVersion]:
        return self.metadata.versions(name, include_archived=include_archived)

    # ---------------------------------------------------------------- changing

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str = "", actor: str | None = None
    ) -> AliasEvent:
        """Point ``alias`` at ``version`` (creating or moving it); the move is audited."""
        return self.metadata.set_alias(
            name, check_alias(alias), version, actor=actor or self.user, reason=reason
        )

    def delete_alias(
        self, name: str, alias: str, *, reason: str = "", actor: str | None = None
    ) -> AliasEvent:
        return self.metadata.set_alias(
            name, check_alias(alias), None, actor=actor or self.user, reason=reason
        )

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        return self.metadata.alias_history(name, alias)

    def archive(self, name: str, version: int) -> ModelVersion:
        """Hide a version from ``name`` resolution; it stays loadable by number."""
        return self.metadata.set_status(name, version, "archived")

    def restore(self, name: str, version: int) -> ModelVersion:
        return self.metadata.set_status(name, version, "ready")

    def update_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        return self.metadata.update_version(
            name, version, description=description, tags=_check_tags(tags) if tags else None
        )

    def delete_version(
        self, name: str, version: int, *, force: bool = False, reason: str = ""
    ) -> ModelVersion:
        """Delete a version and, when no other version shares it, its artifact.

        Refused while an alias points at the version, unless ``force`` (which deletes those
        aliases too, recording why).
        """
        deleted = self.metadata.delete_version(
            name, version, force=force, actor=self.user, reason=reason
        )
        if not self.metadata.artifact_in_use(deleted.artifact_sha256):
            self.artifacts.delete(deleted.artifact_uri)
        return deleted

    def delete_model(self, name: str, *, force: bool = False) -> None:
        versions = self.metadata.versions(name)
        self.metadata.delete_model(name, force=force)
        for version in versions:
            if not self.metadata.artifact_in_use(version.artifact_sha256):
                self.artifacts.delete(version.artifact_uri)


def _check_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    clean: dict[str, float] = {}
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"metric {key!r} must be a number, got {value!r}") from exc
        if not math.isfinite(number):
            raise ConfigError(f"metric {key!r} must be finite, got {value!r}")
        clean[str(key)] = number
    return clean


def _check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key:
            raise ConfigError(f"tags map non-empty strings to strings; got {key!r}: {value!r}")
    return dict(tags)


def _has_tags(have: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(have.get(k) == v or (v == "*" and k in have) for k, v in wanted.items())


def _jsonable(value: Any) -> Any:
    """Params as plain JSON: numpy scalars and other objects become numbers or strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)
