"""The one error model: each failure's ErrorKind, given once here, and its safe message."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import ClassVar

from analyzers.errors import AnalyzerError, OverloadedError

log = logging.getLogger(__name__)

# Clients are told to come back after this many seconds while models load, the server drains
# or a model stalled.
RETRY_SOON_SECONDS = 1.0


class ErrorKind(enum.Enum):
    """Why a stage or call failed. Each transport maps every kind to its own status in one
    table (server/grpc/status.py for gRPC codes, server/rest/errors.py for HTTP statuses).

    The values of the stage kinds (the first six) are on the wire: the NDJSON API's
    `<stage>_error` lines carry them as "kind".
    """

    # A model's own fault (a plain AnalyzerError): INTERNAL.
    FAILED = "failed"
    # A stage ran past stage_timeout_seconds, or a call's deadline had passed: DEADLINE_EXCEEDED.
    TIMEOUT = "timeout"
    # A queue was full (OverloadedError), a model's or the server's: RESOURCE_EXHAUSTED.
    OVERLOADED = "overloaded"
    # A bug: an exception nobody meant to raise: INTERNAL, and the text stays in the log.
    INTERNAL = "internal"
    # Input the model cannot take, such as a text over its length limit (InputRejectedError):
    # INVALID_ARGUMENT, since no retry of the same input will help.
    REJECTED = "rejected"
    # The model produced nothing for too long and was stopped (StalledError): UNAVAILABLE.
    STALLED = "stalled"
    # A request field out of bounds (InvalidRequest): INVALID_ARGUMENT, every field named.
    INVALID = "invalid"
    # Bearer tokens are configured and none matched (Unauthenticated): UNAUTHENTICATED.
    UNAUTHENTICATED = "unauthenticated"
    # Models still loading, or the server draining (NotReady): UNAVAILABLE, retry elsewhere.
    NOT_READY = "not_ready"
    # A feature this server is not configured for (GeneratorMissing): FAILED_PRECONDITION.
    UNSUPPORTED = "unsupported"


class ServiceError(Exception):
    """A failure the core raises for a whole call; its message is safe to show."""

    kind: ClassVar[ErrorKind]


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


class InvalidRequest(ServiceError):
    """One or more fields are out of bounds; each transport reports them its own way."""

    kind = ErrorKind.INVALID

    def __init__(self, violations: list[FieldViolation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))
        self.violations = violations


class Unauthenticated(ServiceError):
    """Bearer tokens are configured and the call did not present one of them."""

    kind = ErrorKind.UNAUTHENTICATED


class NotReady(ServiceError):
    """Models are still loading or the server is draining."""

    kind = ErrorKind.NOT_READY


class GeneratorMissing(ServiceError):
    """A generation call, but no generator model is configured."""

    kind = ErrorKind.UNSUPPORTED


class DeadlineExpired(ServiceError):
    """The call's deadline had passed by the time it was admitted."""

    kind = ErrorKind.TIMEOUT


def error_kind(error: BaseException) -> ErrorKind:
    """The kind of any failure: the core's errors and the analyzers' name theirs; anything
    else is a bug."""
    if isinstance(error, ServiceError):
        return error.kind
    if isinstance(error, AnalyzerError):
        return ErrorKind(error.kind)
    return ErrorKind.INTERNAL


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed call as every transport reports it: kind, safe message, retry hint, fields."""

    kind: ErrorKind
    message: str
    # Seconds after which a retry may succeed; None where no retry will help.
    retry_after_seconds: float | None = None
    violations: tuple[FieldViolation, ...] = ()


def call_failure(error: BaseException, request_id: str, method: str) -> Failure:
    """What a call that failed with error reports; a bug's text goes only to the log."""
    kind = error_kind(error)
    retry = RETRY_SOON_SECONDS if kind in (ErrorKind.NOT_READY, ErrorKind.STALLED) else None
    if isinstance(error, OverloadedError):
        return Failure(kind, str(error), error.retry_after_seconds)
    if isinstance(error, InvalidRequest):
        return Failure(kind, str(error), violations=tuple(error.violations))
    if isinstance(error, ServiceError):
        return Failure(kind, str(error), retry)
    if isinstance(error, AnalyzerError):
        # By cause: input the model cannot take, a stalled model, or a real fault; with the
        # request id to quote.
        return Failure(kind, f"{error} (request id {request_id})", retry)
    # A bug: the log gets the type and request id; the client gets only the request id.
    log.error(
        "call failed",
        extra={"request_id": request_id, "method": method, "error": repr(error)},
        exc_info=log.isEnabledFor(logging.DEBUG),
    )
    return Failure(ErrorKind.INTERNAL, f"internal error (request id {request_id})")
