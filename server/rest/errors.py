"""Failures to HTTP answers: every ErrorKind's status in one table, and the bodies they carry."""

from __future__ import annotations

import math
from typing import Any

from fastapi.responses import JSONResponse

from server.core.errors import ErrorKind, Failure, FieldViolation

# Every ErrorKind's HTTP status (gRPC's table: server/grpc/status.py).
_KIND_STATUS = {
    ErrorKind.FAILED: 500,
    ErrorKind.INTERNAL: 500,
    ErrorKind.TIMEOUT: 504,
    ErrorKind.OVERLOADED: 429,
    ErrorKind.REJECTED: 422,
    ErrorKind.STALLED: 503,
    ErrorKind.INVALID: 422,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.NOT_READY: 503,
    # The server lacks the feature as configured; no retry will help (gRPC's
    # FAILED_PRECONDITION), so 501 rather than 503.
    ErrorKind.UNSUPPORTED: 501,
}


def http_status_for(kind: ErrorKind) -> int:
    return _KIND_STATUS[kind]


def violations_detail(violations: tuple[FieldViolation, ...]) -> list[dict[str, Any]]:
    """FastAPI's 422 shape (loc, msg, type), one entry per bad field."""
    return [
        {
            "loc": ["body", *_path(violation.field)],
            "msg": violation.description,
            "type": "value_error",
        }
        for violation in violations
    ]


def _path(field: str) -> list[str | int]:
    # "stop[1]" -> ["stop", 1], as FastAPI writes the location of a list item.
    return [int(part) if part.isdigit() else part for part in field.replace("]", "").split("[")]


def unprocessable(detail: list[dict[str, Any]], call_id: str) -> JSONResponse:
    """422 in FastAPI's shape, with the request id."""
    return JSONResponse({"detail": detail, "request_id": call_id}, 422, {"x-request-id": call_id})


def failure_json(failure: Failure, call_id: str) -> tuple[int, dict[str, Any]]:
    """A failure's HTTP status and body: a call's answer, or a feed document's error line."""
    status = http_status_for(failure.kind)
    if status == 422:
        # Every bad field named; input a model rejected is the body as a whole.
        detail = violations_detail(failure.violations) or [
            {"loc": ["body"], "msg": failure.message, "type": "value_error"}
        ]
        return status, {"detail": detail, "request_id": call_id}
    return status, {"detail": failure.message, "request_id": call_id}


def failure_response(failure: Failure, call_id: str) -> JSONResponse:
    """The one mapping from a call's failure, before streaming starts, to its HTTP answer."""
    status, body = failure_json(failure, call_id)
    headers = {"x-request-id": call_id}
    if failure.retry_after_seconds is not None:
        # Retry-After takes whole seconds; round up so a client never comes back too early.
        headers["retry-after"] = str(max(1, math.ceil(failure.retry_after_seconds)))
    if failure.kind is ErrorKind.UNAUTHENTICATED:
        headers["www-authenticate"] = "Bearer"
    return JSONResponse(body, status, headers)
