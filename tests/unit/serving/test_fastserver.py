"""The fast HTTP/1.1 server, driven with httpx and raw sockets against a small ASGI app."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from prodml.errors import InvalidInputError
from prodml.serving.rest.fastserver import FastServer, HttpLimits
from prodml.serving.rest.http import Request, Response


class EchoApp:
    """Echoes method, path, query and body; ``/slow?s=0.1`` sleeps first; ``/stream`` streams
    without a content-length; records lifespan events and disconnects it saw."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        message = await receive()
        body = message.get("body", b"")
        path = scope["path"]
        if path == "/slow":
            await asyncio.sleep(float(scope["query_string"].split(b"=")[1]))
        if path == "/wait-disconnect":
            if (await receive())["type"] == "http.disconnect":
                self.events.append("disconnect")
            return
        if path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for part in (b"one,", b"two,", b"three"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        doc = {"method": scope["method"], "path": path, "query": scope["query_string"].decode()}
        out = orjson.dumps(doc) + b"\n" + body
        headers = [(b"content-length", str(len(out)).encode()), (b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})


class Running:
    """A FastServer on its own loop in a thread."""

    def __init__(self, server: FastServer, sock: socket.socket, loop: Any) -> None:
        self.server, self.loop = server, loop
        self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)


async def infer(request: Request, name: str, version: str | None) -> Response:
    if name == "bad":
        raise InvalidInputError("inputs are wrong")
    return Response(
        200, orjson.dumps({"model": name, "version": version, "size": len(request.body)})
    )


def _serve(app: Any, limits: HttpLimits) -> Iterator[Running]:
    sock = socket.create_server(("127.0.0.1", 0))
    server = FastServer(app, infer=infer, limits=limits)
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        holder["loop"] = asyncio.get_running_loop()
        await server.start([sock])
        ready.set()
        await server.wait()
        await server.stop()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield Running(server, sock, holder["loop"])
    server.should_exit = True
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def app() -> EchoApp:
    return EchoApp()


@pytest.fixture
def running(app: EchoApp) -> Iterator[Running]:
    yield from _serve(app, HttpLimits(max_body_bytes=1000, keep_alive_s=2.0, drain_s=5.0))


_leftover: dict[socket.socket, bytes] = {}


def read_response(sock: socket.socket) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One response off a raw socket: status line, headers, body (content-length framed)."""
    buf = _leftover.pop(sock, b"")
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {buf!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines)}
    size = int(headers[b"content-length"])
    while len(rest) < size:
        rest += sock.recv(65536)
    _leftover[sock] = rest[size:]  # the start of a pipelined next response
    return status, headers, rest[:size]


def closed(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_keep_alive_reuses_one_connection(running: Running) -> None:
    with httpx.Client(base_url=running.url) as client:
        bodies = [client.post("/echo", content=f"n{i}".encode()).content for i in range(5)]
        assert len(running.server.connections) == 1
    assert [b.split(b"\n")[1] for b in bodies] == [b"n0", b"n1", b"n2", b"n3", b"n4"]


def test_pipelined_requests_are_answered_in_order(running: Running) -> None:
    # The first request is the slowest: answers must still come back in request order.
    requests = b"".join(
        b"GET /slow?s=%s HTTP/1.1\r\nHost: x\r\n\r\n" % s for s in (b"0.2", b"0.05", b"0")
    )
    with running.connect() as sock:
        sock.sendall(requests + b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n")
        paths = [orjson.loads(read_response(sock)[2].split(b"\n")[0]) for _ in range(4)]
    assert [(p["path"], p["query"]) for p in paths] == [
        ("/slow", "s=0.2"),
        ("/slow", "s=0.05"),
        ("/slow", "s=0"),
        ("/last", ""),
    ]


def test_chunked_request_body_arrives_whole(running: Running) -> None:
    parts = [b"abc", b"defg", b"h" * 100]
    r = httpx.post(f"{running.url}/echo", content=iter(parts))
    assert r.status_code == 200
    assert r.content.split(b"\n", 1)[1] == b"".join(parts)


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body_gets_413_and_close(running: Running, chunked: bool) -> None:
    body = b"x" * 1500
    with running.connect() as sock:
        if chunked:
            sock.sendall(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5dc\r\n" + body + b"\r\n0\r\n\r\n"
            )
        else:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1500\r\n\r\n")
        status, headers, out = read_response(sock)
        assert status == b"HTTP/1.1 413 Request Entity Too Large"
        assert headers[b"connection"] == b"close"
        assert "1000-byte limit" in orjson.loads(out)["error"]
        assert closed(sock)


def test_malformed_request_gets_400_and_close(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        status, _, out = read_response(sock)
        assert status.startswith(b"HTTP/1.1 400")
        assert "malformed HTTP request" in orjson.loads(out)["error"]
        assert closed(sock)


def test_requests_before_a_malformed_one_are_still_answered(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n")
        assert read_response(sock)[0] == b"HTTP/1.1 200 OK"
        assert read_response(sock)[0].startswith(b"HTTP/1.1 400")


def test_client_gone_mid_body_leaves_the_server_serving(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
    assert httpx.get(f"{running.url}/after").status_code == 200
    deadline = time.monotonic() + 5
    while running.server.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not running.server.connections


def test_client_gone_while_the_app_runs_is_told_to_the_app(running: Running, app: EchoApp) -> None:
    with running.connect() as sock:
        sock.sendall(b"GET /wait-disconnect HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
    deadline = time.monotonic() + 5
    while "disconnect" not in app.events and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "disconnect" in app.events
    assert httpx.get(f"{running.url}/after").status_code == 200


def test_connection_close_is_honoured(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _, headers, _ = read_response(sock)
        assert headers[b"connection"] == b"close"
        assert closed(sock)


def test_http10_closes_unless_asked_to_keep_alive(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(b"GET /a HTTP/1.0\r\n\r\n")
        assert read_response(sock)[1][b"connection"] == b"close"
        assert closed(sock)
    with running.connect() as sock:
        for _ in range(2):
            sock.sendall(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            assert read_response(sock)[1][b"connection"] == b"keep-alive"


def test_expect_continue_and_head(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(
            b"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hi")
        assert read_response(sock)[2].endswith(b"\nhi")
    r = httpx.head(f"{running.url}/h")
    assert r.status_code == 200
    assert int(r.headers["content-length"]) > 0
    assert r.content == b""


def test_streamed_response_is_chunked(running: Running) -> None:
    r = httpx.get(f"{running.url}/stream")
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.content == b"one,two,three"


def test_infer_goes_to_the_direct_handler(running: Running) -> None:
    r = httpx.post(f"{running.url}/v2/models/m/versions/2/infer", content=b"12345")
    assert r.json() == {"model": "m", "version": "2", "size": 5}
    assert r.headers["content-length"] == str(len(r.content))
    bad = httpx.post(f"{running.url}/v2/models/bad/infer", content=b"{}")
    assert bad.status_code == 400
    assert bad.json() == {"error": "inputs are wrong"}


def test_lifespan_runs_and_stop_drains_in_flight(app: EchoApp) -> None:
    served = _serve(app, HttpLimits(drain_s=5.0))
    running = next(served)
    assert app.events == ["lifespan.startup"]
    result: dict[str, Any] = {}

    def slow() -> None:
        result["r"] = httpx.get(f"{running.url}/slow?s=0.3")

    client = threading.Thread(target=slow)
    client.start()
    deadline = time.monotonic() + 10  # stop only once the request is in flight
    while not any(c.busy for c in list(running.server.connections)):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    running.server.should_exit = True
    client.join(10)
    assert result["r"].status_code == 200
    assert result["r"].headers["connection"] == "close"
    with pytest.raises(StopIteration):
        next(served)
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.url}/after")
