"""Turn unexpected model failures into AnalyzerErrors whose message is safe to show."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from analyzers.errors import AnalyzerError


@contextlib.contextmanager
def model_failures(label: str) -> Iterator[None]:
    """Re-raise any non-AnalyzerError as AnalyzerError naming only the label and error type.

    Exception messages can quote the input, so they stay in the chained cause (for logs) and
    out of the message a user sees. The batcher has already logged the failure.
    """
    try:
        yield
    except AnalyzerError:
        raise
    except Exception as exc:
        raise AnalyzerError(f"{label} failed: {type(exc).__name__}") from exc
