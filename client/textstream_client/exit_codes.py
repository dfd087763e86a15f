"""Exit statuses of the `textstream` command: one per class of failure, for scripts."""

from __future__ import annotations

import grpc

OK = 0
OTHER = 1  # any other gRPC error (INTERNAL, FAILED_PRECONDITION, CANCELLED, ...)
USAGE = 2  # invalid command line (typer/click use 2 for usage errors too)
INVALID_ARGUMENT = 3  # the server rejected a field; the fields are listed on stderr
UNAVAILABLE = 4  # server down, unreachable, still loading models, or draining
DEADLINE_EXCEEDED = 5  # --timeout passed
RESOURCE_EXHAUSTED = 6  # server at its concurrency limit; retry later
UNAUTHENTICATED = 7  # missing or wrong token or certificate (also PERMISSION_DENIED)
NOT_SERVING = 8  # `health`: the server answered, with a status other than SERVING
DOCUMENTS_FAILED = 9  # `feed`: the feed ran, and some documents got an error (on stdout)
BROKEN_PIPE = 141  # the reader of stdout went away (128 + SIGPIPE)
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT); the call was cancelled on the server

_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: INVALID_ARGUMENT,
    grpc.StatusCode.UNAVAILABLE: UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAUTHENTICATED: UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED: UNAUTHENTICATED,
}


def for_status(code: grpc.StatusCode) -> int:
    return _BY_CODE.get(code, OTHER)
