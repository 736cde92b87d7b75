"""Artifacts are content-addressed and verified before every load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from prodml._internal.hashing import directory_sha256
from prodml.errors import ArtifactIntegrityError
from prodml.registry import FsspecArtifactStore, LocalArtifactStore, Registry


def _artifact(tmp_path: Path) -> Path:
    directory = tmp_path / "artifact"
    (directory / "sub").mkdir(parents=True, exist_ok=True)
    (directory / "model.bin").write_bytes(b"weights")
    (directory / "sub" / "meta.json").write_text("{}")
    return directory


def test_local_store_is_content_addressed(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    uri, sha = store.put(_artifact(tmp_path))
    assert sha == directory_sha256(_artifact(tmp_path))
    assert store.put(_artifact(tmp_path)) == (uri, sha)  # same bytes, same place
    fetched = store.fetch(uri, sha)
    assert (fetched / "sub" / "meta.json").read_text() == "{}"


@pytest.mark.parametrize("tamper", ["edit", "add", "remove"])
def test_local_store_refuses_a_tampered_artifact(tmp_path: Path, tamper: str) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    uri, sha = store.put(_artifact(tmp_path))
    stored = store.fetch(uri, sha)
    if tamper == "edit":
        (stored / "model.bin").write_bytes(b"evil")
    elif tamper == "add":
        (stored / "extra.py").write_text("import os")
    else:
        (stored / "sub" / "meta.json").unlink()
    with pytest.raises(ArtifactIntegrityError, match="changed after registration"):
        store.fetch(uri, sha)


def test_fsspec_store_round_trip_and_verification(tmp_path: Path) -> None:
    store = FsspecArtifactStore("memory://prodml-test/artifacts", tmp_path / "cache")
    uri, sha = store.put(_artifact(tmp_path))
    assert uri.startswith("memory://")
    assert (store.fetch(uri, sha) / "model.bin").read_bytes() == b"weights"
    (tmp_path / "cache" / sha / "model.bin").write_bytes(b"evil")
    with pytest.raises(ArtifactIntegrityError):
        store.fetch(uri, sha)
    store.delete(uri)


def test_registry_refuses_to_load_a_tampered_model(
    registry: Registry, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    v = registry.register("iris", classifier, sample=x.head(5))
    stored = Path(v.artifact_uri.removeprefix("file://"))
    victim = next(p for p in sorted(stored.rglob("*")) if p.is_file() and p.suffix != ".json")
    victim.write_bytes(victim.read_bytes() + b"\0")
    with pytest.raises(ArtifactIntegrityError, match=v.artifact_sha256):
        registry.load("iris/1")


def test_registry_on_an_fsspec_url(
    tmp_path: Path, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    registry = Registry.open(artifacts_url="memory://prodml-registry-test/a")
    v = registry.register("iris", classifier, sample=x.head(5))
    assert v.artifact_uri.startswith("memory://")
    assert registry.load("iris/1").predict(x.head(2))["label"].shape == (2,)
