"""The textstream client library and the `textstream` command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from client.aio import TextStreamClient
    from client.errors import field_violations, retry_delay
    from client.options import ClientOptions
    from client.sync import SyncTextStreamClient

__all__ = [
    "ClientOptions",
    "SyncTextStreamClient",
    "TextStreamClient",
    "field_violations",
    "retry_delay",
]

# Imported on first use, so that `textstream --help` never loads grpc.
_HOMES = {
    "ClientOptions": "client.options",
    "SyncTextStreamClient": "client.sync",
    "TextStreamClient": "client.aio",
    "field_violations": "client.errors",
    "retry_delay": "client.errors",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'client' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_HOMES[name]), name)
