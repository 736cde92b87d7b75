"""The model registry: versions, aliases, signatures, lineage and reference profiles."""

from prodml.registry.artifacts import (
    ArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    open_artifact_store,
)
from prodml.registry.metadata import SqlMetadataStore
from prodml.registry.model import AliasEvent, Lineage, ModelRef, ModelVersion, RegisteredModel
from prodml.registry.registry import Registry

__all__ = [
    "AliasEvent",
    "ArtifactStore",
    "FsspecArtifactStore",
    "Lineage",
    "LocalArtifactStore",
    "ModelRef",
    "ModelVersion",
    "RegisteredModel",
    "Registry",
    "SqlMetadataStore",
    "open_artifact_store",
]
