"""The serving step of ``prodml demo``: start ``prodml serve`` on a free port, predict over REST.

The server runs as a real subprocess (the same command a user runs), so the demo exercises
the CLI, worker start-up, readiness, the V2 protocol and graceful shutdown on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

from prodml.errors import NotReadyError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    serve_args: Sequence[str], home: Path | None, *, timeout_s: float = 120.0
) -> Iterator[str]:
    """``prodml serve ARGS`` on a free local port until the block ends; yields its base URL.

    The server reads the same ``PRODML_*`` settings as this process (``home`` overrides
    ``PRODML_HOME``). Leaving the block stops it with SIGTERM, which drains it.
    """
    port = free_port()
    env = dict(os.environ) if home is None else {**os.environ, "PRODML_HOME": str(home)}
    command = [
        sys.executable, "-m", "prodml", "serve", *serve_args, "--port", str(port), "--no-grpc"
    ]  # fmt: skip
    # The server's log goes to a file, not a pipe: a pipe nobody reads would fill and block it.
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(server, log, url, timeout_s)
            yield url
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_ready(server: subprocess.Popen[str], log: IO[str], url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            stderr = log.read().strip().splitlines()
            last = stderr[-1] if stderr else ""
            raise NotReadyError(f"prodml serve exited with {server.returncode}: {last}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise NotReadyError(f"prodml serve was not ready within {timeout_s:.0f} s")


def v2_request(frame: Any, request_id: str) -> dict[str, Any]:
    """A V2 inference request with one FP64 input per column of ``frame``."""
    return {
        "id": request_id,
        "inputs": [
            {
                "name": str(column),
                "shape": [len(frame)],
                "datatype": "FP64",
                "data": frame[column].astype(float).tolist(),
            }
            for column in frame.columns
        ],
    }
