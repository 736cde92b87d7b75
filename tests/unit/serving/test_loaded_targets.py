"""A data plane reuses one Target per loaded version and forgets it when the version goes."""

from __future__ import annotations

import asyncio

from prodml.serving import InMemoryLoader, ServerConfig
from prodml.serving.config import ModelConfig
from prodml.serving.dataplane import DataPlane
from prodml.testing.fakes import FakeModel


def test_targets_are_shared_per_version_and_never_outlive_a_swap_or_an_unload() -> None:
    async def run() -> None:
        loader = InMemoryLoader({"m": FakeModel()})
        dp = DataPlane(ServerConfig(models=(ModelConfig(ref="m"),), grpc_port=None), loader)
        await dp.start()
        try:
            first = dp.loaded_target("m", None)
            assert first is not None and first is dp.loaded_target("m", None)
            pinned = dp.loaded_target("m", "1")
            assert pinned is not None and pinned.served is first.served

            loader.publish("m", "2", FakeModel())
            await dp.load("m")  # version 2 becomes default, version 1 is drained and dropped
            swapped = dp.loaded_target("m", None)
            assert swapped is not None and swapped.served.version == "2"
            assert dp.loaded_target("m", "1") is None
            # Nothing cached still holds the retired version's model.
            held = {t.served.version for t in dp._loaded_targets.values()}
            assert held == {"2"}

            await dp.unload("m")
            assert dp.loaded_target("m", None) is None
            assert dp.loaded_target("m", "2") is None
        finally:
            await dp.stop()

    asyncio.run(run())
