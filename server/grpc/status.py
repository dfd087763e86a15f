"""Failures to gRPC statuses: every ErrorKind's code in one table, and rich statuses for aborts."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.core.errors import ErrorKind, Failure

Context = grpc.aio.ServicerContext[Any, Any]

# Every ErrorKind's gRPC code: for failed calls and for the stage errors inside a stream.
_KIND_CODES = {
    ErrorKind.FAILED: grpc.StatusCode.INTERNAL,
    ErrorKind.INTERNAL: grpc.StatusCode.INTERNAL,
    ErrorKind.TIMEOUT: grpc.StatusCode.DEADLINE_EXCEEDED,
    ErrorKind.OVERLOADED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.REJECTED: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.STALLED: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    ErrorKind.NOT_READY: grpc.StatusCode.UNAVAILABLE,
    # The server lacks the feature as configured; no retry will help.
    ErrorKind.UNSUPPORTED: grpc.StatusCode.FAILED_PRECONDITION,
}


def grpc_code_for(kind: ErrorKind) -> grpc.StatusCode:
    return _KIND_CODES[kind]


def _packed(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def _details(failure: Failure) -> tuple[str, list[any_pb2.Any]]:
    """The status message and its google.rpc details: a BadRequest naming each bad field,
    or a RetryInfo hint for an overload."""
    if failure.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in failure.violations
            ]
        )
        return f"invalid request: {failure.message}", [_packed(bad_request)]
    if failure.kind is ErrorKind.OVERLOADED and failure.retry_after_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(failure.retry_after_seconds * 1e9))
        return failure.message, [_packed(error_details_pb2.RetryInfo(retry_delay=delay))]
    return failure.message, []


def rpc_status_pb(failure: Failure) -> status_pb2.Status:
    """The google.rpc.Status of a failure: its code, message and details (the README's table);
    what a failed call's trailers carry, and a feed document's error update."""
    code = grpc_code_for(failure.kind)
    message, details = _details(failure)
    return status_pb2.Status(code=code.value[0], message=message, details=details)


def failure_status(failure: Failure, request_id: str) -> grpc.Status:
    """The one mapping from a call's failure to its status."""
    status = rpc_status.to_status(rpc_status_pb(failure))
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
