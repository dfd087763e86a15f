"""A real server on its own event loop thread, for blocking clients (sync stubs, hypothesis)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from analyzers.base import Analyzers
from server.core.settings import Settings
from server.core.state import ServiceState
from server.grpc.server import create_server


@contextmanager
def threaded_server(analyzers: Analyzers, **settings: Any) -> Iterator[tuple[str, ServiceState]]:
    """Yields (target, state) of a server running on a background thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="server-loop", daemon=True)
    thread.start()
    config = Settings(host="127.0.0.1", port=0, **settings)
    state = ServiceState(config)

    async def start() -> tuple[Any, int]:
        server, port = await create_server(config, analyzers, state)
        await server.start()
        return server, port

    server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield f"127.0.0.1:{port}", state
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
