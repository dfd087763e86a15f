"""One HTTP call's life: request id, authentication, admission, metrics, log and failures."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers

from server.core.auth import BearerTokens
from server.core.errors import FieldViolation, InvalidRequest, call_failure
from server.core.request_ids import request_id as accepted_request_id
from server.core.state import ServiceState
from server.rest.errors import failure_response, http_status_for

log = logging.getLogger(__name__)


def request_id(headers: Headers) -> str:
    """The caller's X-Request-ID when short and plain (the gRPC rule), else a fresh one."""
    return accepted_request_id(headers.get("x-request-id"))


def decodable(field: str, value: str) -> None:
    """JSON may carry lone surrogates ("\\ud800"), which no UTF-8 text holds; gRPC rejects
    undecodable strings as INVALID_ARGUMENT, so HTTP rejects them too."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidRequest(
            [FieldViolation(field, "must be valid Unicode text (no unpaired surrogates)")]
        ) from None


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

    async def admit(self, *, generation: bool = False) -> float:
        """Takes a slot under max_concurrent_streams once the server is ready; or raises.
        Returns the call's arrival time."""
        admitted = self.state.admitted(generation=generation)
        started_at = await self._admission.enter_async_context(admitted)
        self.state.check_ready()
        return started_at

    def first_update(self, started_at: float) -> None:
        self.state.metrics.first_update(time.monotonic() - started_at)

    def failed_midway(self, error: BaseException) -> str:
        """Records a failure after the 200 was sent; returns the message safe to show."""
        failure = call_failure(error, self.request_id, self.method)
        self.outcome = str(http_status_for(failure.kind))
        return failure.message

    async def fail(self, error: Exception) -> JSONResponse:
        response = failure_response(
            call_failure(error, self.request_id, self.method), self.request_id
        )
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


async def answered(
    state: ServiceState,
    tokens: BearerTokens,
    method: str,
    headers: Headers,
    start: Callable[[HttpCall], Awaitable[Response]],
) -> Response:
    """The one error handling of every API call: start(call) answers, or the failure it
    raises before its response begins becomes the status of its cause."""
    call = HttpCall(state, method, request_id(headers))
    try:
        tokens.check(headers.get("authorization"))
        return await start(call)
    except Exception as error:
        return await call.fail(error)
