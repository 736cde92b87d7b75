from __future__ import annotations

import pickle

import pytest

from prodml import errors
from prodml.serving.status import PayloadTooLargeError, SheddingError, message_of, status_of


@pytest.mark.parametrize(
    ("exc", "http", "grpc"),
    [
        (errors.InvalidInputError("x"), 400, "INVALID_ARGUMENT"),
        (PayloadTooLargeError("x"), 413, "INVALID_ARGUMENT"),
        (errors.ModelNotFoundError("x"), 404, "NOT_FOUND"),
        (errors.VersionNotFoundError("x"), 404, "NOT_FOUND"),
        (errors.NotReadyError("x"), 503, "UNAVAILABLE"),
        (SheddingError("x", 2.0), 503, "UNAVAILABLE"),
        (errors.OverloadedError("x", 3.0), 429, "RESOURCE_EXHAUSTED"),
        (errors.DeadlineExceededError("x"), 504, "DEADLINE_EXCEEDED"),
        (errors.ModelExecutionError("x"), 500, "INTERNAL"),
        (RuntimeError("x"), 500, "INTERNAL"),
    ],
)
def test_every_error_has_one_status(exc: BaseException, http: int, grpc: str) -> None:
    status = status_of(exc)
    assert (status.http, status.grpc) == (http, grpc)


def test_load_errors_carry_retry_after() -> None:
    assert status_of(errors.OverloadedError("busy", 2.5)).retry_after_s == 2.5
    assert status_of(errors.NotReadyError("x")).retry_after_s is None


def test_serving_errors_pickle_and_foreign_errors_name_their_type() -> None:
    exc = pickle.loads(pickle.dumps(SheddingError("shed", 1.5)))
    assert isinstance(exc, SheddingError) and exc.retry_after_s == 1.5
    assert message_of(KeyError("k")) == "KeyError: 'k'"
    assert message_of(errors.InvalidInputError("bad x")) == "bad x"
