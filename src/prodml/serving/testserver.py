"""An in-process server for tests and demos: free ports on 127.0.0.1, clean stop.

Example:
    >>> import httpx
    >>> from prodml.serving.sources import InMemoryLoader
    >>> from prodml.testing.fakes import FakeModel
    >>> with TestServer(InMemoryLoader({"m": FakeModel()})) as server:
    ...     r = httpx.post(f"{server.url}/v2/models/m/infer", json={"inputs": [
    ...         {"name": "x", "shape": [2], "datatype": "FP64", "data": [1, 2]}]})
    >>> r.json()["outputs"][0]["data"]
    [2.0, 4.0]
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from prodml.serving.config import ModelConfig, ServerConfig
from prodml.serving.server import serve
from prodml.serving.sources import InMemoryLoader, ModelLoader


class TestServer:
    """Runs ``serve`` on its own event loop in a thread.

    Args:
        loader: where models come from; an ``InMemoryLoader`` serves model objects.
        config: server settings; by default every model the in-memory loader holds, gRPC on.
        wait_ready: block in ``start`` until every model is loaded and warmed.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        loader: ModelLoader,
        config: ServerConfig | None = None,
        *,
        wait_ready: bool = True,
        grpc: bool = True,
    ) -> None:
        if config is None:
            names = list(getattr(loader, "_current", {}))
            config = ServerConfig(models=tuple(ModelConfig(ref=n) for n in names))
        self.config = config.model_copy(
            update={"host": "127.0.0.1", "port": 0, "grpc_port": 0 if grpc else None}
        )
        self.loader = loader
        self.wait_ready = wait_ready
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._app: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.port = 0
        self.grpc_port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def app(self) -> Any:
        return self._app

    def start(self, timeout_s: float = 30.0) -> TestServer:
        from prodml.serving.server import reuseport_socket

        sock = reuseport_socket("127.0.0.1", 0)
        self.port = int(sock.getsockname()[1])

        def on_started(server: Any, app: Any, grpc_port: int | None) -> None:
            self._server, self._app, self.grpc_port = server, app, grpc_port
            self._started.set()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            await serve(self.config, loader=self.loader, sockets=[sock], started=on_started)

        def run() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:
                self._error = exc
                self._started.set()

        self._thread = threading.Thread(target=run, name="prodml-test-server", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout_s) or self._error is not None:
            self.stop()
            raise RuntimeError(f"test server did not start: {self._error!r}")
        if self.wait_ready:
            self.call(self._app.wait_loaded(), timeout_s)

        return self

    def call(self, coro: Any, timeout_s: float = 30.0) -> Any:
        """Run a coroutine on the server's loop (to swap models, inspect state)."""
        if self._loop is None:
            raise RuntimeError("server is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    @property
    def dataplane(self) -> Any:
        return self._app.dataplane

    def stop(self, timeout_s: float = 30.0) -> None:
        """Drain and stop; returns when the server thread has exited."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["InMemoryLoader", "TestServer"]
