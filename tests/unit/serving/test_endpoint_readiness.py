"""A server that serves endpoints is ready only once every variant has loaded and the endpoint
routes; variant models get the server's ``endpoint_models`` settings."""

from __future__ import annotations

import asyncio
import threading

import pytest

from prodml.routing import EndpointSpec, EndpointStore, LiveRouters
from prodml.serving import InMemoryLoader, ServerConfig
from prodml.serving.config import BatchingConfig, EndpointModelsConfig, ModelConfig
from prodml.serving.dataplane import DataPlane
from prodml.serving.sources import LoadedModel
from prodml.testing.fakes import FakeModel


class RecordingLoader(InMemoryLoader):
    def __init__(self) -> None:
        super().__init__({"ep:a": FakeModel(), "ep:b": FakeModel()})
        self.configs: list[ModelConfig] = []

    def load(self, config: ModelConfig) -> LoadedModel:
        self.configs.append(config)
        return super().load(config)


def test_ready_waits_until_the_endpoint_routes_and_variants_get_endpoint_models(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    EndpointStore.open().apply(
        EndpointSpec.parse(
            {
                "name": "ep",
                "variants": [{"name": "a", "model": "m/1"}, {"name": "b", "model": "m/2"}],
                "strategy": {"kind": "fixed", "weights": {"a": 1, "b": 1}},
            }
        )
    )
    loader = RecordingLoader()
    # Every variant has loaded, the routers are not built yet: the endpoint cannot answer.
    routing = threading.Event()
    release = threading.Event()
    refresh = LiveRouters.refresh

    def gated_refresh(self: LiveRouters) -> None:
        routing.set()
        assert release.wait(10)
        refresh(self)

    monkeypatch.setattr(LiveRouters, "refresh", gated_refresh)
    batching = BatchingConfig(max_batch_size=256)
    config = ServerConfig(
        endpoints=True,
        endpoint_models=EndpointModelsConfig(batching=batching, timeout_s=2.0),
    )

    async def main() -> None:
        dataplane = DataPlane(config, loader)
        starting = asyncio.create_task(dataplane.start())
        assert await asyncio.to_thread(routing.wait, 10)
        assert dataplane.repository.all_ready
        readiness = [dataplane.ready]
        release.set()
        await starting
        readiness.append(dataplane.ready)
        assert readiness == [False, True]
        assert dataplane.endpoints is not None and dataplane.endpoints.serves("ep")
        await dataplane.stop()

    asyncio.run(main())
    assert {c.served_name for c in loader.configs} == {"ep:a", "ep:b"}
    assert all(c.batching == batching and c.timeout_s == 2.0 for c in loader.configs)
