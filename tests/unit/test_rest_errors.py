"""server/rest/errors.py: a failed call's HTTP status, headers and body."""

from __future__ import annotations

import json

import pytest

from server.core.errors import ErrorKind, Failure, FieldViolation
from server.rest.errors import failure_response, violations_detail


def answer(failure: Failure) -> tuple[int, dict[str, str], dict]:
    response = failure_response(failure, "req-5")
    assert response.headers["x-request-id"] == "req-5"
    return response.status_code, dict(response.headers), json.loads(bytes(response.body))


def test_violations_in_fastapis_shape():
    violations = (
        FieldViolation("text", "must be at least 10 characters (got 3)"),
        FieldViolation("stop[12]", "must be 1 to 64 characters (got 0)"),
    )
    assert violations_detail(violations) == [
        {
            "loc": ["body", "text"],
            "msg": "must be at least 10 characters (got 3)",
            "type": "value_error",
        },
        {
            "loc": ["body", "stop", 12],
            "msg": "must be 1 to 64 characters (got 0)",
            "type": "value_error",
        },
    ]


def test_an_invalid_request_is_422_naming_each_field():
    failure = Failure(
        ErrorKind.INVALID, "chunk_size: too big", None, (FieldViolation("chunk_size", "too big"),)
    )
    status, _, body = answer(failure)
    assert status == 422
    assert body == {
        "detail": [{"loc": ["body", "chunk_size"], "msg": "too big", "type": "value_error"}],
        "request_id": "req-5",
    }


def test_rejected_input_is_422_about_the_body():
    status, _, body = answer(
        Failure(ErrorKind.REJECTED, "text too long for the model (request id req-5)")
    )
    assert status == 422
    assert body["detail"] == [
        {
            "loc": ["body"],
            "msg": "text too long for the model (request id req-5)",
            "type": "value_error",
        }
    ]


@pytest.mark.parametrize(
    ("seconds", "header"), [(1.0, "1"), (0.2, "1"), (0.0, "1"), (2.5, "3"), (30.0, "30")]
)
def test_retry_after_is_whole_seconds_rounded_up(seconds, header):
    status, headers, body = answer(Failure(ErrorKind.OVERLOADED, "too many calls", seconds))
    assert status == 429
    assert headers["retry-after"] == header
    assert body == {"detail": "too many calls", "request_id": "req-5"}


def test_not_ready_is_503_with_retry_after():
    status, headers, _ = answer(Failure(ErrorKind.NOT_READY, "models loading", 1.0))
    assert (status, headers["retry-after"]) == (503, "1")


def test_no_retry_hint_no_retry_after():
    status, headers, _ = answer(Failure(ErrorKind.INTERNAL, "internal error (request id req-5)"))
    assert status == 500
    assert "retry-after" not in headers


def test_unauthenticated_asks_for_a_bearer_token():
    status, headers, body = answer(Failure(ErrorKind.UNAUTHENTICATED, "missing bearer token"))
    assert (status, headers["www-authenticate"]) == (401, "Bearer")
    assert body == {"detail": "missing bearer token", "request_id": "req-5"}
    _, other, _ = answer(Failure(ErrorKind.UNSUPPORTED, "no generator"))
    assert "www-authenticate" not in other
