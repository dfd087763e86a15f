"""Errors mapped once: domain failures to gRPC codes, and rich statuses for aborts."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from analyzers.base import AnalyzerError, OverloadedError
from server.events import ErrorKind, error_kind
from server.state import GeneratorMissing, NotReady, Overloaded
from server.validation import InvalidRequest

Context = grpc.aio.ServicerContext[Any, Any]

# Every ErrorKind's gRPC code, for stage errors and for calls an analyzer failed.
_KIND_CODES = {
    ErrorKind.FAILED: grpc.StatusCode.INTERNAL,
    ErrorKind.INTERNAL: grpc.StatusCode.INTERNAL,
    ErrorKind.TIMEOUT: grpc.StatusCode.DEADLINE_EXCEEDED,
    ErrorKind.OVERLOADED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.REJECTED: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.STALLED: grpc.StatusCode.UNAVAILABLE,
}


def grpc_code_for(kind: ErrorKind) -> grpc.StatusCode:
    return _KIND_CODES[kind]


def _packed(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def invalid_request_status(error: InvalidRequest) -> grpc.Status:
    """INVALID_ARGUMENT with a google.rpc.BadRequest detail naming each bad field."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ]
    )
    status = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT,
        message=f"invalid request: {error}",
        details=[_packed(bad_request)],
    )
    return rpc_status.to_status(status)


def overloaded_status(message: str, retry_after_seconds: float) -> grpc.Status:
    """RESOURCE_EXHAUSTED with a google.rpc.RetryInfo hint."""
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(retry_after_seconds * 1e9))
    status = status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED,
        message=message,
        details=[_packed(error_details_pb2.RetryInfo(retry_delay=delay))],
    )
    return rpc_status.to_status(status)


class DeadlineExpired(Exception):
    """The call's deadline had passed by the time it was admitted."""


# The failures a call may end with, each mapped to its status in failure_status.
CallFailure = (
    InvalidRequest,
    NotReady,
    Overloaded,
    OverloadedError,
    GeneratorMissing,
    DeadlineExpired,
    AnalyzerError,
)


def _plain(code: grpc.StatusCode, message: str) -> grpc.Status:
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=message))


def failure_status(error: Exception, request_id: str) -> grpc.Status:
    """The one mapping from a call's failure to its status (the README's table)."""
    if isinstance(error, InvalidRequest):
        status = invalid_request_status(error)
    elif isinstance(error, NotReady):
        status = _plain(grpc.StatusCode.UNAVAILABLE, str(error))
    elif isinstance(error, Overloaded | OverloadedError):
        status = overloaded_status(str(error), error.retry_after_seconds)
    elif isinstance(error, GeneratorMissing):
        status = _plain(grpc.StatusCode.FAILED_PRECONDITION, str(error))
    elif isinstance(error, DeadlineExpired):
        status = _plain(grpc.StatusCode.DEADLINE_EXCEEDED, str(error))
    elif isinstance(error, AnalyzerError):
        # By cause: input the model cannot take, a stalled model, or a real fault.
        code = grpc_code_for(error_kind(error))
        status = _plain(code, f"{error} (request id {request_id})")
    else:
        # A bug: the client gets a request id to quote, never the exception's text.
        status = _plain(grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})")
    # Failures carry the request id in trailers: no headers went out before them, so that
    # clients may still retry UNAVAILABLE (a call is committed once headers arrive).
    return _Status(
        status.code,
        status.details,
        (*status.trailing_metadata, ("x-request-id", request_id)),
    )


class _Status(grpc.Status):
    def __init__(
        self, code: grpc.StatusCode, details: str, trailing_metadata: tuple[Any, ...]
    ) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


async def abort_with_status(context: Context, status: grpc.Status) -> NoReturn:
    # grpc-stubs predates ServicerContext.abort_with_status on grpc.aio.
    await context.abort_with_status(status)  # type: ignore[attr-defined]
    raise AssertionError("abort_with_status returned")  # abort always raises
