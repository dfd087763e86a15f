"""One HTTP call's life (admission, readiness, metrics, log) and failures mapped to statuses."""

from __future__ import annotations

import logging
import math
import time
from contextlib import AsyncExitStack
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from analyzers.base import AnalyzerError, OverloadedError, TextGenerator
from server.auth import token_matches
from server.events import ErrorKind, error_kind
from server.pipeline import Pipeline
from server.request_ids import request_id as accepted_request_id
from server.state import GeneratorMissing, NotReady, Overloaded, ServiceState
from server.validation import FieldViolation, InvalidRequest

log = logging.getLogger(__name__)

# Clients are told to come back after this many seconds while models load or the server drains.
NOT_READY_RETRY_SECONDS = 1

# Every ErrorKind's HTTP status, for calls an analyzer failed (gRPC's table: server/errors.py).
_KIND_STATUS = {
    ErrorKind.FAILED: 500,
    ErrorKind.INTERNAL: 500,
    ErrorKind.TIMEOUT: 504,
    ErrorKind.OVERLOADED: 429,
    ErrorKind.REJECTED: 422,
    ErrorKind.STALLED: 503,
}


def http_status_for(kind: ErrorKind) -> int:
    return _KIND_STATUS[kind]


class Unauthenticated(Exception):
    """Bearer tokens are configured and the request did not present one of them."""


def request_id(headers: Headers) -> str:
    """The caller's X-Request-ID when short and plain (the gRPC rule), else a fresh one."""
    return accepted_request_id(headers.get("x-request-id"))


def check_token(headers: Headers, tokens: list[bytes]) -> None:
    """Raises Unauthenticated unless `Authorization: Bearer <token>` names one of tokens."""
    if not tokens:
        return
    if not token_matches(headers.get("authorization", "").encode(), tokens):
        raise Unauthenticated("missing or invalid bearer token")


def violations_detail(violations: list[FieldViolation]) -> list[dict[str, Any]]:
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


def decodable(field: str, value: str) -> None:
    """JSON may carry lone surrogates ("\\ud800"), which no UTF-8 text holds; gRPC rejects
    undecodable strings as INVALID_ARGUMENT, so HTTP rejects them too."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidRequest(
            [FieldViolation(field, "must be valid Unicode text (no unpaired surrogates)")]
        ) from None


def _problem(
    status: int, detail: str, call_id: str, retry_after: float | None = None
) -> JSONResponse:
    headers = {"x-request-id": call_id}
    if retry_after is not None:
        # Retry-After takes whole seconds; round up so a client never comes back too early.
        headers["retry-after"] = str(max(1, math.ceil(retry_after)))
    return JSONResponse({"detail": detail, "request_id": call_id}, status, headers)


def error_response(error: Exception, call_id: str, method: str) -> JSONResponse:
    """The one table from a failure before streaming starts to its HTTP answer."""
    match error:
        case InvalidRequest():
            detail = violations_detail(error.violations)
            return JSONResponse(
                {"detail": detail, "request_id": call_id}, 422, {"x-request-id": call_id}
            )
        case Unauthenticated():
            response = _problem(401, str(error), call_id)
            response.headers["www-authenticate"] = "Bearer"
            return response
        case NotReady():
            return _problem(503, str(error), call_id, NOT_READY_RETRY_SECONDS)
        case Overloaded() | OverloadedError():
            return _problem(429, str(error), call_id, error.retry_after_seconds)
        case GeneratorMissing():
            # The server lacks the feature as configured; no retry will help (gRPC's
            # FAILED_PRECONDITION), so 501 rather than 503.
            return _problem(501, str(error), call_id)
        case AnalyzerError():
            # By cause: input the model cannot take, a stalled model, or a real fault.
            status = http_status_for(error_kind(error))
            message = f"{error} (request id {call_id})"
            if status == 422:
                detail = [{"loc": ["body"], "msg": message, "type": "value_error"}]
                return JSONResponse(
                    {"detail": detail, "request_id": call_id}, 422, {"x-request-id": call_id}
                )
            retry = NOT_READY_RETRY_SECONDS if status == 503 else None
            return _problem(status, message, call_id, retry)
    # A bug: the log gets the type and request id; the client gets only the request id.
    log.error(
        "call failed",
        extra={"request_id": call_id, "method": method, "error": repr(error)},
        exc_info=log.isEnabledFor(logging.DEBUG),
    )
    return _problem(500, f"internal error (request id {call_id})", call_id)


class HttpCall:
    """Counts one API call in the ServiceState shared with gRPC, from arrival to last byte."""

    def __init__(self, state: ServiceState, method: str, call_id: str) -> None:
        self.state = state
        self.method = method
        self.request_id = call_id
        # Set to "200" when the body is complete, or "500" when it failed after the headers;
        # a call that ends with it unset was cut short: the client left, or the server stopped.
        self.outcome: str | None = None
        self._began = time.monotonic()
        self._admission = AsyncExitStack()
        self._ended = False

    async def admit(self, *, generation: bool = False) -> tuple[float, Pipeline]:
        """Takes a slot under max_concurrent_streams and the ready pipeline; or raises."""
        admitted = self.state.admitted(generation=generation)
        started_at = await self._admission.enter_async_context(admitted)
        return started_at, self.state.ready_pipeline()

    def generator(self) -> TextGenerator:
        return self.state.generator()

    def first_update(self, started_at: float) -> None:
        self.state.metrics.first_update(time.monotonic() - started_at)

    def failed_midway(self, error: BaseException) -> str:
        """Logs a failure after the 200 was sent; returns the message safe to show."""
        self.outcome = "500"
        if isinstance(error, AnalyzerError):
            self.outcome = str(http_status_for(error_kind(error)))
            return f"{error} (request id {self.request_id})"
        log.error(
            "call failed",
            extra={"request_id": self.request_id, "method": self.method, "error": repr(error)},
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        return f"internal error (request id {self.request_id})"

    async def fail(self, error: Exception) -> JSONResponse:
        response = error_response(error, self.request_id, self.method)
        await self.end(str(response.status_code))
        return response

    async def end(self, code: str | None = None) -> None:
        """Frees the slot and records the call once; code defaults to the outcome so far."""
        if self._ended:
            return
        self._ended = True
        await self._admission.aclose()
        code = code or self.outcome or "CANCELLED"
        seconds = time.monotonic() - self._began
        self.state.metrics.call_ended(self.method, code, seconds)
        log.info(
            "call ended",
            extra={
                "request_id": self.request_id,
                "method": self.method,
                "code": code,
                "seconds": round(seconds, 6),
            },
        )
