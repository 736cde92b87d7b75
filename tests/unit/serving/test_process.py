"""A serving worker tunes its process's garbage collection once; nothing else does."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from prodml.serving import InMemoryLoader, ServerConfig
from prodml.serving.config import ModelConfig
from prodml.serving.dataplane import DataPlane
from prodml.testing.fakes import FakeModel

_CHECK = """
import gc
from prodml.serving.process import tune_garbage_collection
before = gc.get_threshold()
tune_garbage_collection()
print(gc.get_freeze_count() > 0, gc.get_threshold()[0], gc.get_threshold()[1:] == before[1:])
"""


def test_tuning_freezes_what_is_loaded_and_collects_the_young_generation_less_often() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHECK], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["True", "50000", "True"]


def test_a_data_plane_leaves_the_process_alone_unless_it_owns_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import prodml.serving.dataplane as dataplane_module

    calls: list[str] = []
    monkeypatch.setattr(dataplane_module, "tune_garbage_collection", lambda: calls.append("gc"))

    async def start(tune_gc: bool) -> None:
        cfg = ServerConfig(models=(ModelConfig(ref="m"),), grpc_port=None)
        dp = DataPlane(cfg, InMemoryLoader({"m": FakeModel()}), tune_gc=tune_gc)
        await dp.start()
        await dp.stop()

    asyncio.run(start(False))
    assert calls == []
    asyncio.run(start(True))
    assert calls == ["gc"]
