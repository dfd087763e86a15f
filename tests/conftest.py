"""Fixtures: a real grpc.aio server on 127.0.0.1:0 with chosen analyzers, and a real channel."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from analyzers.base import Analyzers
from server.core.settings import Settings
from server.core.state import ServiceState
from server.grpc.server import create_server
from tests.model_fixtures import hub, offline, stalling_generator, tiny_models

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Session fixtures, loaded once for every module, and the stalling generator built on them.
__all__ = ["hub", "offline", "stalling_generator", "tiny_models"]


@dataclass
class RunningServer:
    port: int
    state: ServiceState
    channel: grpc.aio.Channel
    stub: pb_grpc.TextProcessorStub

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


ServerFactory = Callable[..., AbstractAsyncContextManager[RunningServer]]


@asynccontextmanager
async def running_server(
    analyzers: Analyzers | None, state: ServiceState | None = None, **settings: Any
) -> AsyncIterator[RunningServer]:
    config = Settings(host="127.0.0.1", port=0, **settings)
    state = state or ServiceState(config)
    server, port = await create_server(config, analyzers, state)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield RunningServer(port, state, channel, pb_grpc.TextProcessorStub(channel))
    finally:
        await channel.close()
        await server.stop(None)


@pytest.fixture
def serve() -> ServerFactory:
    """serve(analyzers, **settings) -> async context manager of a RunningServer."""
    return running_server
