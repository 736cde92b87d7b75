"""A real third-party V2 client (tritonclient) against the running server, REST and gRPC."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp
from tritonclient.utils import InferenceServerException

from prodml.serving import TestServer


@pytest.fixture(autouse=True)
def _collect_clients_here() -> Iterator[None]:
    # tritonclient's __del__ closes the client again, and its HTTP client's gevent pool may
    # only be joined from the thread that made it. A client caught in a reference cycle (a
    # pytest.raises traceback holds the test's frame) would otherwise be collected later, from
    # whatever thread happens to trigger garbage collection; collect it now, in this thread.
    yield
    gc.collect()


@pytest.mark.parametrize("binary", [False, True])
def test_http_client(server: TestServer, binary: bool) -> None:
    client = thttp.InferenceServerClient(server.url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("clf")
        assert client.get_server_metadata()["name"] == "prodml"
        assert client.get_model_metadata("clf")["inputs"][1]["name"] == "b"
        a = thttp.InferInput("a", [3], "FP32")
        a.set_data_from_numpy(np.array([1, -3, 0.5], np.float32), binary_data=binary)
        b = thttp.InferInput("b", [3], "FP32")
        b.set_data_from_numpy(np.array([1, 1, 0], np.float32), binary_data=binary)
        out = [thttp.InferRequestedOutput("label", binary_data=binary)]
        result = client.infer("clf", [a, b], outputs=out, request_id="r-7")
        assert result.as_numpy("label").tolist() == [1, 0, 1]
        assert result.get_response()["id"] == "r-7"
        with pytest.raises(InferenceServerException, match="no model"):
            client.infer("missing", [a])
    finally:
        client.close()


def test_grpc_client(server: TestServer) -> None:
    client = tgrpc.InferenceServerClient(server.grpc_target)
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("m")
        meta = client.get_model_metadata("clf", as_json=True)
        assert [i["name"] for i in meta["inputs"]] == ["a", "b"]
        x = tgrpc.InferInput("x", [2, 1], "FP64")
        x.set_data_from_numpy(np.array([[1.0], [2.5]]))
        result = client.infer("m", [x], request_id="g-1")
        assert result.as_numpy("y").tolist() == [2.0, 5.0]
        assert result.get_response().id == "g-1"
        assert result.get_response().model_version == "1"
        index = client.get_model_repository_index(as_json=True)
        assert {m["name"] for m in index["models"]} >= {"m", "clf"}
    finally:
        client.close()


@pytest.mark.parametrize(
    ("model", "data", "code"),
    [
        ("missing", [1.0], "StatusCode.NOT_FOUND"),
        ("m", [-1.0], "StatusCode.INVALID_ARGUMENT"),
        ("slow", [1.0], "StatusCode.DEADLINE_EXCEEDED"),
    ],
)
def test_grpc_status_codes(server: TestServer, model: str, data: list[float], code: str) -> None:
    client = tgrpc.InferenceServerClient(server.grpc_target)
    try:
        x = tgrpc.InferInput("x", [len(data)], "FP64")
        x.set_data_from_numpy(np.array(data))
        with pytest.raises(InferenceServerException) as info:
            client.infer(model, [x])
        assert info.value.status() == code
    finally:
        client.close()


def test_grpc_typed_contents_are_accepted(server: TestServer) -> None:
    import grpc

    from prodml.serving.grpc._generated import inference_pb2 as pb
    from prodml.serving.grpc._generated import inference_pb2_grpc as pb_grpc

    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]
        req = pb.ModelInferRequest(model_name="m", id="t")
        tensor = req.inputs.add(name="x", datatype="FP64", shape=[2])
        tensor.contents.fp64_contents.extend([1.0, 4.0])
        resp = stub.ModelInfer(req)
        assert np.frombuffer(resp.raw_output_contents[0], "<f8").tolist() == [2.0, 8.0]
        bad = pb.ModelInferRequest(model_name="m")
        t = bad.inputs.add(name="x", datatype="FP64", shape=[3])
        t.contents.fp64_contents.extend([1.0])
        with pytest.raises(grpc.RpcError) as info:
            stub.ModelInfer(bad)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
