"""Start a server process with test doubles and read its JSON log lines."""

from __future__ import annotations

import sys

from bench.server_process import ServerProcess

__all__ = ["ServerProcess", "doubles_server"]


def doubles_server(delay: float | str, *settings: str) -> ServerProcess:
    """The real entry point with test doubles; delay per chunk, or "fail" to fail loading."""
    return ServerProcess([sys.executable, "-m", "tests.serve_doubles", str(delay), *settings])
