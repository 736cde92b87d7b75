"""Mirrored requests are predicted together, off the path of the primary's answers."""

from __future__ import annotations

import asyncio
import time

import httpx

from prodml.routing import EndpointSpec, EndpointStore
from prodml.serving import InMemoryLoader, ServerConfig, TestServer
from prodml.testing.fakes import FakeModel


def test_shadow_copies_are_batched_and_all_served() -> None:
    EndpointStore.open().apply(
        EndpointSpec.parse(
            {
                "name": "ep",
                "variants": [{"name": "a", "model": "m/1"}, {"name": "s", "model": "m/2"}],
                "strategy": {"kind": "shadow", "primary": "a", "shadows": ["s"], "sample": 1.0},
            }
        )
    )
    primary, shadow = FakeModel(), FakeModel()
    loader = InMemoryLoader({"ep:a": primary, "ep:s": shadow})
    requests = 40
    with TestServer(loader, ServerConfig(endpoints=True)) as server:

        async def send_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=server.url) as client:
                body = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1]}]}
                return await asyncio.gather(
                    *(client.post("/v2/models/ep/infer", json=body) for _ in range(requests))
                )

        answers = asyncio.run(send_all())
        assert {(r.status_code, r.json()["outputs"][0]["data"][0]) for r in answers} == {(200, 2.0)}
        deadline = time.monotonic() + 5
        while sum(shadow.batches) < requests and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sum(shadow.batches) == requests  # every copy predicted once
    assert len(shadow.batches) < requests / 2  # together, not one prediction per request
