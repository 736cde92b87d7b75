"""The one table that maps prodml errors to HTTP statuses and gRPC codes.

Every transport asks ``status_of(exc)``; nothing else in serving picks a status code. Rows are
checked in order, so subclasses come before their bases::

    error                         HTTP  gRPC
    PayloadTooLargeError          413   INVALID_ARGUMENT
    InvalidInputError             400   INVALID_ARGUMENT
    ConfigError                   400   INVALID_ARGUMENT
    NotFoundError (model/version) 404   NOT_FOUND
    SheddingError                 503   UNAVAILABLE      (Retry-After)
    OverloadedError               429   RESOURCE_EXHAUSTED (Retry-After)
    NotReadyError                 503   UNAVAILABLE
    DeadlineExceededError         504   DEADLINE_EXCEEDED
    ConflictError                 409   FAILED_PRECONDITION
    ModelExecutionError           500   INTERNAL
    anything else                 500   INTERNAL
"""

from __future__ import annotations

from dataclasses import dataclass

from prodml.errors import (
    ConfigError,
    ConflictError,
    DeadlineExceededError,
    InvalidInputError,
    ModelExecutionError,
    NotFoundError,
    NotReadyError,
    OverloadedError,
)


class SheddingError(OverloadedError):
    """The batcher predicts the request cannot be served before its deadline, so it sheds it."""


class PayloadTooLargeError(InvalidInputError):
    """The request body is larger than the server's limit."""


@dataclass(frozen=True, slots=True)
class Status:
    """How one error travels: HTTP status, gRPC code name, and a Retry-After in seconds."""

    http: int
    grpc: str
    retry_after_s: float | None = None


_TABLE: tuple[tuple[type[BaseException], int, str], ...] = (
    (PayloadTooLargeError, 413, "INVALID_ARGUMENT"),
    (InvalidInputError, 400, "INVALID_ARGUMENT"),
    (ConfigError, 400, "INVALID_ARGUMENT"),
    (NotFoundError, 404, "NOT_FOUND"),
    (SheddingError, 503, "UNAVAILABLE"),
    (OverloadedError, 429, "RESOURCE_EXHAUSTED"),
    (NotReadyError, 503, "UNAVAILABLE"),
    (DeadlineExceededError, 504, "DEADLINE_EXCEEDED"),
    (ConflictError, 409, "FAILED_PRECONDITION"),
    (ModelExecutionError, 500, "INTERNAL"),
)


def status_of(exc: BaseException) -> Status:
    """The status an error travels with.

    Example:
        >>> status_of(OverloadedError("busy", retry_after_s=2.0))
        Status(http=429, grpc='RESOURCE_EXHAUSTED', retry_after_s=2.0)
    """
    for kind, http, grpc in _TABLE:
        if isinstance(exc, kind):
            retry = exc.retry_after_s if isinstance(exc, OverloadedError) else None
            return Status(http, grpc, retry)
    return Status(500, "INTERNAL")


def message_of(exc: BaseException) -> str:
    """The client-facing message: ours verbatim; a foreign error names its type."""
    if isinstance(exc, ModelExecutionError | NotFoundError) or status_of(exc).http != 500:
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
