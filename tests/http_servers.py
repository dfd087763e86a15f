"""The gRPC server and the HTTP app side by side on 127.0.0.1:0, sharing one ServiceState."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from analyzers.base import Analyzers
from server.core.state import ServiceState
from server.rest.server import HttpServer
from tests.conftest import RunningServer, running_server


@dataclass
class RunningHttp:
    grpc: RunningServer
    port: int
    session: aiohttp.ClientSession

    @property
    def state(self) -> ServiceState:
        return self.grpc.state

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calls(self, method: str, code: str) -> float:
        """How many calls the shared metrics counted for method with code."""
        value = self.state.metrics.registry.get_sample_value(
            "textstream_requests_total", {"method": method, "code": code}
        )
        return value or 0.0


@asynccontextmanager
async def http_server(
    analyzers: Analyzers | None, state: ServiceState | None = None, **settings: Any
) -> AsyncIterator[RunningHttp]:
    """Both transports over one state; yields once the HTTP port accepts connections."""
    async with running_server(analyzers, state, **settings) as grpc_server:
        shared = grpc_server.state
        bind = shared.settings.model_copy(update={"http_host": "127.0.0.1", "http_port": 0})
        http = HttpServer(bind, shared)
        port = await http.start()
        try:
            async with aiohttp.ClientSession() as session:
                yield RunningHttp(grpc_server, port, session)
        finally:
            # A short grace: a call a test left open is cancelled, as at the end of a drain.
            await http.stop(1.0)


async def lines(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """Each NDJSON object of a streamed response, as soon as its line has arrived."""
    async for line in response.content:
        if line.strip():
            yield json.loads(line)


async def read_all(response: aiohttp.ClientResponse) -> list[dict[str, Any]]:
    return [event async for event in lines(response)]


def statuses(events: list[dict[str, Any]]) -> list[str]:
    return [event["status"] for event in events]
