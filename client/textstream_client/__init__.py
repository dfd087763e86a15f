"""The textstream client library and the `textstream` command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textstream_client.aio import TextStreamClient
    from textstream_client.errors import field_violations, retry_delay
    from textstream_client.feeds import FeedResult
    from textstream_client.options import ClientOptions
    from textstream_client.sync import SyncTextStreamClient

__all__ = [
    "ClientOptions",
    "FeedResult",
    "SyncTextStreamClient",
    "TextStreamClient",
    "field_violations",
    "retry_delay",
]

# Imported on first use, so that `textstream --help` never loads grpc.
_HOMES = {
    "ClientOptions": "textstream_client.options",
    "FeedResult": "textstream_client.feeds",
    "SyncTextStreamClient": "textstream_client.sync",
    "TextStreamClient": "textstream_client.aio",
    "field_violations": "textstream_client.errors",
    "retry_delay": "textstream_client.errors",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'textstream_client' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_HOMES[name]), name)
