"""server/core/errors.py: each failure's kind and what a failed call reports.

The two tables that map every kind to a transport's status are checked once, beside the
stage errors that carry them, in tests/test_error_kinds.py.
"""

from __future__ import annotations

import logging

import pytest

from analyzers.errors import AnalyzerError, InputRejectedError, OverloadedError, StalledError
from server.core.errors import (
    RETRY_SOON_SECONDS,
    DeadlineExpired,
    ErrorKind,
    Failure,
    FieldViolation,
    GeneratorMissing,
    InvalidRequest,
    NotReady,
    ServiceError,
    Unauthenticated,
    call_failure,
    error_kind,
)

REQUEST_ID = "req-7f3a"
VIOLATIONS = [FieldViolation("text", "too short"), FieldViolation("stop[2]", "too long")]


# -- error_kind -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (InvalidRequest(VIOLATIONS), ErrorKind.INVALID),
        (Unauthenticated("no token"), ErrorKind.UNAUTHENTICATED),
        (NotReady("loading"), ErrorKind.NOT_READY),
        (GeneratorMissing("no generator"), ErrorKind.UNSUPPORTED),
        (DeadlineExpired("too late"), ErrorKind.TIMEOUT),
        (AnalyzerError("model broke"), ErrorKind.FAILED),
        (OverloadedError("queue full"), ErrorKind.OVERLOADED),
        (InputRejectedError("too long for the model"), ErrorKind.REJECTED),
        (StalledError("no token for 30 s"), ErrorKind.STALLED),
        (RuntimeError("bug"), ErrorKind.INTERNAL),
        (KeyError("bug"), ErrorKind.INTERNAL),
        (TimeoutError(), ErrorKind.INTERNAL),
    ],
)
def test_error_kind(error, kind):
    assert error_kind(error) is kind


def test_every_analyzer_error_kind_is_an_error_kind():
    def subclasses(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from subclasses(sub)

    kinds = {cls.kind for cls in subclasses(AnalyzerError)}
    assert kinds >= {"failed", "overloaded", "rejected", "stalled"}
    for kind in kinds:
        ErrorKind(kind)  # raises ValueError for a kind the server does not know


def test_every_service_error_has_its_own_kind():
    kinds = [cls.kind for cls in ServiceError.__subclasses__()]
    assert len(kinds) == len(set(kinds))


def test_stage_kinds_keep_their_wire_values():
    # The NDJSON API's <stage>_error lines carry these as "kind".
    assert [kind.value for kind in list(ErrorKind)[:6]] == [
        "failed",
        "timeout",
        "overloaded",
        "internal",
        "rejected",
        "stalled",
    ]


def test_invalid_request_names_every_field():
    error = InvalidRequest(VIOLATIONS)
    assert str(error) == "text: too short; stop[2]: too long"
    assert error.violations == VIOLATIONS


# -- call_failure ---------------------------------------------------------------------------


def test_invalid_request_failure_carries_its_violations():
    assert call_failure(InvalidRequest(VIOLATIONS), REQUEST_ID, "Process") == Failure(
        ErrorKind.INVALID,
        "text: too short; stop[2]: too long",
        None,
        tuple(VIOLATIONS),
    )


def test_overload_failure_carries_its_retry_hint():
    assert call_failure(OverloadedError("queue full", 2.5), REQUEST_ID, "Process") == Failure(
        ErrorKind.OVERLOADED, "queue full", 2.5
    )
    assert (
        call_failure(OverloadedError("queue full"), REQUEST_ID, "Process").retry_after_seconds
        == 1.0
    )


@pytest.mark.parametrize(
    ("error", "kind", "retry"),
    [
        (NotReady("models loading"), ErrorKind.NOT_READY, RETRY_SOON_SECONDS),
        (Unauthenticated("missing bearer token"), ErrorKind.UNAUTHENTICATED, None),
        (GeneratorMissing("no generator model"), ErrorKind.UNSUPPORTED, None),
        (DeadlineExpired("deadline passed"), ErrorKind.TIMEOUT, None),
    ],
)
def test_service_errors_keep_their_message(error, kind, retry):
    assert call_failure(error, REQUEST_ID, "Process") == Failure(kind, str(error), retry)


@pytest.mark.parametrize(
    ("error", "kind", "retry"),
    [
        (AnalyzerError("the model failed"), ErrorKind.FAILED, None),
        (InputRejectedError("text over 512 tokens"), ErrorKind.REJECTED, None),
        (StalledError("no token for 30 s"), ErrorKind.STALLED, RETRY_SOON_SECONDS),
    ],
)
def test_analyzer_errors_carry_the_request_id(error, kind, retry):
    assert call_failure(error, REQUEST_ID, "Generate") == Failure(
        kind, f"{error} (request id {REQUEST_ID})", retry
    )


def test_a_bug_is_logged_and_hidden(caplog):
    secret = "the user's private text"
    with caplog.at_level(logging.ERROR, logger="server.core.errors"):
        failure = call_failure(ValueError(secret), REQUEST_ID, "ProcessStream")
    assert failure == Failure(ErrorKind.INTERNAL, f"internal error (request id {REQUEST_ID})")
    assert secret not in failure.message
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "call failed"
    assert record.request_id == REQUEST_ID  # type: ignore[attr-defined]
    assert record.method == "ProcessStream"  # type: ignore[attr-defined]
    assert record.error == f"ValueError({secret!r})"  # type: ignore[attr-defined]
    # No stack trace unless the log is at DEBUG.
    assert not record.exc_info


def test_a_bugs_stack_trace_is_logged_at_debug(caplog):
    with caplog.at_level(logging.DEBUG, logger="server.core.errors"):
        try:
            raise ValueError("bug")
        except ValueError as error:
            call_failure(error, REQUEST_ID, "Process")
    [record] = caplog.records
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError


def test_known_failures_are_not_logged_as_bugs(caplog):
    with caplog.at_level(logging.DEBUG, logger="server.core.errors"):
        for error in (InvalidRequest(VIOLATIONS), NotReady("x"), AnalyzerError("x")):
            call_failure(error, REQUEST_ID, "Process")
    assert caplog.records == []
