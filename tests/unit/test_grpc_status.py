"""server/grpc/status.py: a failed call's gRPC status, its rich details and request id."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2

from server.core.errors import ErrorKind, Failure, FieldViolation
from server.grpc.status import failure_status


def rich(status: grpc.Status) -> status_pb2.Status:
    [details] = [
        value for key, value in status.trailing_metadata if key == "grpc-status-details-bin"
    ]
    return status_pb2.Status.FromString(details)


def test_an_invalid_request_carries_a_bad_request_naming_each_field():
    violations = (FieldViolation("text", "too short"), FieldViolation("stop[1]", "empty"))
    failure = Failure(ErrorKind.INVALID, "text: too short; stop[1]: empty", None, violations)
    status = failure_status(failure, "req-3")
    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    assert status.details == "invalid request: text: too short; stop[1]: empty"
    assert ("x-request-id", "req-3") in status.trailing_metadata
    [detail] = rich(status).details
    bad_request = error_details_pb2.BadRequest()
    assert detail.Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("text", "too short"),
        ("stop[1]", "empty"),
    ]


def test_an_overload_carries_retry_info():
    status = failure_status(Failure(ErrorKind.OVERLOADED, "queue full", 2.5), "req-3")
    assert (status.code, status.details) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full")
    [detail] = rich(status).details
    retry = error_details_pb2.RetryInfo()
    assert detail.Unpack(retry)
    assert retry.retry_delay.ToNanoseconds() == 2_500_000_000


def test_other_failures_carry_no_details():
    status = failure_status(Failure(ErrorKind.NOT_READY, "models loading", 1.0), "req-3")
    assert (status.code, status.details) == (grpc.StatusCode.UNAVAILABLE, "models loading")
    assert list(rich(status).details) == []
    assert status.trailing_metadata[-1] == ("x-request-id", "req-3")
