"""Analyzer errors: every failure an analyzer raises, each naming its cause for the server."""

from __future__ import annotations

from typing import ClassVar


class AnalyzerError(Exception):
    """A failure whose message is safe to show a user (no stack trace, no request text).

    `kind` names the cause, as the value of the server's ErrorKind (server/core/errors.py)
    that each transport maps to its status. A plain AnalyzerError is a fault of the model or
    its code ("failed": INTERNAL, HTTP 500); the subclasses below are the causes a client can
    act on. Raise the subclass wherever the cause is known.
    """

    kind: ClassVar[str] = "failed"


class OverloadedError(AnalyzerError):
    """A queue is full (a model's, or the server's limit of calls); retry later."""

    kind = "overloaded"

    def __init__(self, message: str, retry_after_seconds: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class InputRejectedError(AnalyzerError):
    """The model cannot take this input (over its length limit, say): retrying will not help."""

    kind = "rejected"


class StalledError(AnalyzerError):
    """The model produced nothing for too long and its work was stopped; a later try may do."""

    kind = "stalled"
