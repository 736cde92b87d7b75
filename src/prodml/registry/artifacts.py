"""Content-addressed artifact storage: a local directory by default, any fsspec URL otherwise.

An artifact is a directory (model files plus prodml's manifest). It is stored under its own
sha256 (``_internal.hashing.directory_sha256``), so storing the same bytes twice is free and a
stored artifact can never change without its address changing. ``fetch`` recomputes the digest
every time, before the caller loads anything from it.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Protocol

from prodml._internal.hashing import directory_sha256
from prodml.errors import ArtifactError, ArtifactIntegrityError, ConfigError


class ArtifactStore(Protocol):
    """Stores artifact directories by content and hands back verified local copies."""

    def put(self, directory: Path) -> tuple[str, str]:
        """Store ``directory``; return its ``(uri, sha256)``."""
        ...

    def fetch(self, uri: str, sha256: str) -> Path:
        """A local directory holding the artifact, verified against ``sha256``."""
        ...

    def delete(self, uri: str) -> None:
        """Remove a stored artifact (no error when it is already gone)."""
        ...


def _verify(directory: Path, expected: str, uri: str) -> Path:
    actual = directory_sha256(directory)
    if actual != expected:
        raise ArtifactIntegrityError(
            f"artifact {uri} has sha256 {actual} but {expected} was recorded at registration; "
            "it was changed after registration, so it is refused. Register the model again."
        )
    return directory


class LocalArtifactStore:
    """Artifacts under ``root/<sha[:2]>/<sha>/`` on the local disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, directory: Path) -> tuple[str, str]:
        sha = directory_sha256(directory)
        target = self._path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copy beside the target, then rename: readers never see a half-written artifact,
            # and two writers of the same content race harmlessly.
            staging = target.parent / f".{sha}.{uuid.uuid4().hex}.tmp"
            shutil.copytree(directory, staging)
            try:
                staging.rename(target)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
                if not target.exists():
                    raise
        return target.as_uri(), sha

    def fetch(self, uri: str, sha256: str) -> Path:
        path = self._path(sha256)
        if not path.is_dir():
            raise ArtifactError(
                f"artifact {uri} is missing from {self.root}; was the artifact directory moved "
                "or PRODML_HOME changed?"
            )
        return _verify(path, sha256, uri)

    def delete(self, uri: str) -> None:
        path = Path(uri.removeprefix("file://"))
        if path.is_dir() and self.root in path.parents:
            shutil.rmtree(path)


class FsspecArtifactStore:
    """Artifacts under any fsspec URL (``s3://bucket/prefix``, ``gs://...``, ``memory://...``).

    Fetched artifacts are cached under ``cache_dir`` by digest and re-verified on every fetch.
    """

    def __init__(self, url: str, cache_dir: Path) -> None:
        import fsspec

        self.url = url.rstrip("/")
        self.fs: Any
        self.fs, self.base = fsspec.core.url_to_fs(self.url)
        self.cache_dir = cache_dir

    def _remote(self, sha256: str) -> str:
        return f"{self.base}/{sha256[:2]}/{sha256}"

    def put(self, directory: Path) -> tuple[str, str]:
        sha = directory_sha256(directory)
        remote = self._remote(sha)
        if not self.fs.exists(f"{remote}/.complete"):
            for path in sorted(p for p in directory.rglob("*") if p.is_file()):
                self.fs.put_file(str(path), f"{remote}/{path.relative_to(directory).as_posix()}")
            # Written last: a reader treats an artifact without it as absent.
            self.fs.pipe_file(f"{remote}/.complete", b"")
        return f"{self.url}/{sha[:2]}/{sha}", sha

    def fetch(self, uri: str, sha256: str) -> Path:
        local = self.cache_dir / sha256
        if not local.is_dir():
            remote = self._remote(sha256)
            if not self.fs.exists(f"{remote}/.complete"):
                raise ArtifactError(f"artifact {uri} is missing or incomplete in {self.url}")
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=self.cache_dir, prefix=".fetch-"))
            try:
                for remote_file in self.fs.find(remote):
                    relative = remote_file[len(remote) + 1 :]
                    if relative == ".complete":
                        continue
                    target = staging / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    self.fs.get_file(remote_file, str(target))
                staging.rename(local)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
                if not local.is_dir():
                    raise
        return _verify(local, sha256, uri)

    def delete(self, uri: str) -> None:
        sha = uri.rstrip("/").rsplit("/", 1)[-1]
        remote = self._remote(sha)
        if self.fs.exists(remote):
            self.fs.rm(remote, recursive=True)
        shutil.rmtree(self.cache_dir / sha, ignore_errors=True)


def open_artifact_store(url: str, home: Path) -> ArtifactStore:
    """The store for ``url``: a plain path or ``file://`` URL is local; anything else is fsspec."""
    if not url:
        raise ConfigError(
            "the artifact store URL is empty; set PRODML_ARTIFACTS_URL or PRODML_HOME"
        )
    if "://" not in url:
        return LocalArtifactStore(Path(url).expanduser())
    if url.startswith("file://"):
        return LocalArtifactStore(Path(url.removeprefix("file://")))
    return FsspecArtifactStore(url, home / "cache" / "artifacts")
