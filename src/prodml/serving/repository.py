"""The models a server holds: names, versions, which version answers by default, and swaps.

A request pins one ``ServedModel`` when it starts, so a swap never mixes versions inside one
response. ``swap`` adds the new version beside the old, flips the default in one assignment (the
event loop is single-threaded, so readers see either the old or the new version) and then lets
the old one drain before it is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prodml.errors import ModelNotFoundError, NotReadyError, VersionNotFoundError
from prodml.serving.batching import Batcher
from prodml.serving.predictor import Predictor

if TYPE_CHECKING:
    from prodml.serving.features import FeatureJoin


@dataclass(eq=False)
class ServedModel:
    """One loaded, warmed model version and its batcher."""

    name: str
    version: str
    model: Predictor
    batcher: Batcher
    timeout_s: float | None = None
    load_seconds: float = 0.0
    in_flight: int = 0
    features: FeatureJoin | None = None  # set for a model configured with a feature_service

    async def drain(self, poll_s: float = 0.005) -> None:
        """Wait until no request holds this version, then stop its batcher."""
        while self.in_flight:
            await asyncio.sleep(poll_s)
        await self.batcher.close()


@dataclass
class ModelEntry:
    """Every loaded version of one model name, and which one answers unversioned requests."""

    name: str
    versions: dict[str, ServedModel] = field(default_factory=dict)
    default: str | None = None
    state: str = "LOADING"  # LOADING | READY | UNAVAILABLE (as the repository index reports)
    reason: str = ""
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # set once not LOADING


class ModelRepository:
    """Lookup and lifecycle of served models (one per worker process)."""

    def __init__(self) -> None:
        self._entries: dict[str, ModelEntry] = {}
        # Bumped by every change to what ``get_or_none`` answers (a version added, dropped or
        # unloaded), so what caches a lookup knows when to forget it.
        self.changes = 0

    def expect(self, name: str) -> None:
        """Announce a model that is still loading (so requests get 503, not 404)."""
        self._entries.setdefault(name, ModelEntry(name))

    def fail(self, name: str, reason: str) -> None:
        entry = self._entries.setdefault(name, ModelEntry(name))
        entry.state, entry.reason = "UNAVAILABLE", reason
        entry.settled.set()

    def get(self, name: str, version: str | None = None) -> ServedModel:
        """The version that answers a request; raises 404/503 errors the table maps."""
        entry = self._entries.get(name)
        if entry is None:
            known = ", ".join(sorted(self._entries)) or "none"
            raise ModelNotFoundError(f"no model named {name!r} is served (served: {known})")
        key = entry.default if version is None else version
        if key is None or (entry.state != "READY" and key not in entry.versions):
            raise NotReadyError(
                f"model {name!r} is not ready ({entry.state.lower()}"
                f"{': ' + entry.reason if entry.reason else ''})"
            )
        served = entry.versions.get(key)
        if served is None:
            have = ", ".join(sorted(entry.versions)) or "none"
            raise VersionNotFoundError(
                f"model {name!r} has no loaded version {key!r} (loaded: {have})"
            )
        return served

    def add(self, served: ServedModel, *, make_default: bool = True) -> ServedModel | None:
        """Add a ready version; returns the version it replaced as default, if any."""
        entry = self._entries.setdefault(served.name, ModelEntry(served.name))
        entry.versions[served.version] = served
        self.changes += 1
        old = entry.versions.get(entry.default) if entry.default is not None else None
        if make_default:
            entry.default = served.version  # the atomic switch
        entry.state, entry.reason = "READY", ""
        entry.settled.set()
        return old if old is not served else None

    async def retire(self, served: ServedModel) -> None:
        """Drain a version that is no longer default and drop it."""
        entry = self._entries.get(served.name)
        if entry is not None and entry.default == served.version:
            return
        await served.drain()
        if entry is not None and entry.versions.get(served.version) is served:
            del entry.versions[served.version]
            self.changes += 1

    async def unload(self, name: str) -> None:
        """Stop serving every version of ``name`` after in-flight requests finish."""
        entry = self._entries.get(name)
        if entry is None:
            raise ModelNotFoundError(f"no model named {name!r} is served")
        entry.state, entry.reason, entry.default = "UNAVAILABLE", "unloaded", None
        versions = list(entry.versions.values())
        await asyncio.gather(*(v.drain() for v in versions))
        entry.versions.clear()
        self.changes += 1

    def get_or_none(self, name: str, version: str | None = None) -> ServedModel | None:
        """The hot-path lookup: the served version, or None when ``get`` would raise."""
        entry = self._entries.get(name)
        if entry is None:
            return None
        key = entry.default if version is None else version
        return None if key is None else entry.versions.get(key)

    async def get_when_loaded(
        self, name: str, version: str | None, timeout_s: float
    ) -> ServedModel:
        """Like ``get``, but a request for a model still loading waits for it (up to
        ``timeout_s``) instead of failing: the first requests after a start are held, not
        refused."""
        entry = self._entries.get(name)
        if entry is not None and entry.state == "LOADING" and not entry.settled.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entry.settled.wait(), timeout_s)
        return self.get(name, version)

    def entries(self) -> list[ModelEntry]:
        return [self._entries[k] for k in sorted(self._entries)]

    def served(self) -> list[ServedModel]:
        return [v for e in self.entries() for v in e.versions.values()]

    @property
    def all_ready(self) -> bool:
        """True when every announced model is loaded and warmed (the readiness probe)."""
        return bool(self._entries) and all(
            e.state == "READY" or e.reason == "unloaded" for e in self._entries.values()
        )

    def is_ready(self, name: str, version: str | None = None) -> bool:
        try:
            self.get(name, version)
        except (ModelNotFoundError, VersionNotFoundError, NotReadyError):
            return False
        return True
