"""Running the server: one worker in-process, or one process per core sharing the port.

Workers are spawned processes, each with its own listening socket bound with ``SO_REUSEPORT``
(the kernel spreads connections across them), its own event loop (uvloop) and its own copy of
every model. Measured on the 2-core box, this beats one process with a thread pool, because
decoding and encoding need the GIL. gRPC listens on its port in every worker the same way.

``SIGTERM`` (or ``SIGINT``) drains: workers stop accepting, finish in-flight requests (up to
``graceful_shutdown_s``), then stop their models.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import os
import signal
import socket
import tempfile
import time
from typing import TYPE_CHECKING, Any

from prodml.serving.config import ServerConfig
from prodml.serving.sources import ModelLoader

if TYPE_CHECKING:
    from prodml.serving.rest.app import RestApp

log = logging.getLogger("prodml.serving")


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket that other workers can bind to the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _reserve(host: str, port: int) -> tuple[socket.socket, int]:
    # A bound, non-listening SO_REUSEPORT socket holds the port (port 0 picks a free one)
    # without receiving connections; the workers' listening sockets join it.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock, int(sock.getsockname()[1])


async def serve(
    config: ServerConfig,
    *,
    loader: ModelLoader | None = None,
    sockets: list[socket.socket] | None = None,
    grpc_port: int | None = None,
    started: Any = None,
    own_process: bool = False,
) -> None:
    """Serve until told to stop (uvicorn's signal handling in the main thread).

    ``sockets`` are listening sockets to serve on (default: bind ``config.host:port``);
    ``grpc_port`` overrides ``config.grpc_port``; ``started(server, app, grpc_port)`` is called
    once both listen (the in-process test server uses it). ``own_process``: this process only
    serves, so it may tune process-wide settings (garbage collection) once models are loaded.
    """
    import uvicorn

    from prodml.serving.dataplane import DataPlane
    from prodml.serving.rest import build_app

    dataplane = DataPlane(config, loader, tune_gc=own_process)
    port = config.grpc_port if grpc_port is None else grpc_port
    grpc_server: Any = None
    bound_grpc: list[int] = []

    async def start_grpc() -> None:
        nonlocal grpc_server
        if port is None:
            return
        from prodml.serving.grpc.server import build_grpc_server

        grpc_server, actual = build_grpc_server(dataplane, config.host, port)
        await grpc_server.start()
        bound_grpc.append(actual)

    async def stop_grpc() -> None:
        if grpc_server is not None:
            await grpc_server.stop(config.graceful_shutdown_s)

    app = build_app(dataplane, on_startup=[start_grpc], on_shutdown=[stop_grpc])
    if config.http_server == "fast":
        await _serve_fast(config, app, sockets, started, bound_grpc)
        return
    uv_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=int(config.graceful_shutdown_s) or None,
        backlog=2048,
    )
    server = uvicorn.Server(uv_config)
    if started is not None:

        async def announce() -> None:
            while not server.started:
                if server.should_exit:
                    return
                await asyncio.sleep(0.01)
            started(server, app, bound_grpc[0] if bound_grpc else None)

        watcher = asyncio.get_running_loop().create_task(announce())
    await server.serve(sockets=sockets)
    if started is not None:
        watcher.cancel()


async def _serve_fast(
    config: ServerConfig,
    app: RestApp,
    sockets: list[socket.socket] | None,
    started: Any,
    bound_grpc: list[int],
) -> None:
    """The same app on :mod:`prodml.serving.rest.fastserver`, V2 infer called directly."""
    from prodml.serving.rest.fastserver import FastServer, HttpLimits, serve_asgi

    if sockets is None:
        sockets = [socket.create_server((config.host, config.port), backlog=2048)]
    limits = HttpLimits(max_body_bytes=config.max_body_bytes, drain_s=config.graceful_shutdown_s)

    def announce(server: FastServer) -> None:
        if started is not None:
            started(server, app, bound_grpc[0] if bound_grpc else None)

    await serve_asgi(app, sockets, infer=app.infer, limits=limits, started=announce)


def _worker_main(
    config: ServerConfig, loader: ModelLoader | None, port: int, grpc_port: int | None
) -> None:
    import uvloop

    sock = reuseport_socket(config.host, port)
    asyncio.set_event_loop_policy(None)
    uvloop.run(serve(config, loader=loader, sockets=[sock], grpc_port=grpc_port, own_process=True))


def run_server(config: ServerConfig, loader: ModelLoader | None = None) -> None:
    """Serve ``config`` until SIGTERM/SIGINT, then drain and return (what ``prodml serve`` runs).

    With ``workers`` > 1 (0 = one per CPU) this process supervises worker processes and
    restarts any that dies; with 1 it serves in this process.
    """
    if config.omp_threads is not None:
        # Before any model loads: OpenMP reads it once. One thread per worker process is the
        # fastest setting on small boxes (see /work/shared/bench notes).
        os.environ["OMP_NUM_THREADS"] = str(config.omp_threads)
    workers = config.workers or os.cpu_count() or 1
    if workers == 1:
        import uvloop

        uvloop.run(serve(config, loader=loader, own_process=True))
        return
    _supervise(config, loader, workers)


def _supervise(config: ServerConfig, loader: ModelLoader | None, workers: int) -> None:
    metrics_dir = tempfile.TemporaryDirectory(prefix="prodml-metrics-")
    # Set before workers import prometheus_client, so they write shared multiprocess files.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir.name
    http_hold, port = _reserve(config.host, config.port)
    grpc_hold, grpc_port = (None, None)
    if config.grpc_port is not None:
        grpc_hold, grpc_port = _reserve(config.host, config.grpc_port)
    ctx = mp.get_context("spawn")
    stopping = False

    def start(index: int) -> Any:
        proc = ctx.Process(
            target=_worker_main,
            args=(config, loader, port, grpc_port),
            name=f"prodml-worker-{index}",
            daemon=False,
        )
        proc.start()
        return proc

    procs = [start(i) for i in range(workers)]
    log.warning(
        "prodml serving on http://%s:%d (gRPC %s) with %d workers: pids %s",
        config.host,
        port,
        grpc_port,
        workers,
        [p.pid for p in procs],
    )

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping:
            for i, p in enumerate(procs):
                if not p.is_alive() and not stopping:
                    log.error("worker %s exited with %s; restarting", p.pid, p.exitcode)
                    from prometheus_client import multiprocess

                    multiprocess.mark_process_dead(p.pid)  # type: ignore[no-untyped-call]
                    procs[i] = start(i)
            time.sleep(0.2)
        deadline = time.monotonic() + config.graceful_shutdown_s + 10
        for p in procs:
            p.join(max(0.1, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        http_hold.close()
        if grpc_hold is not None:
            grpc_hold.close()
        with contextlib.suppress(OSError):
            metrics_dir.cleanup()
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
