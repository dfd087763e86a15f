"""Helpers for client tests: a flaky server that counts attempts, and a TCP proxy that
counts the bytes a client sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
from grpc_health.v1 import health_pb2
from textstream_client.protos import textstream_pb2 as pb

from server.grpc.registration import SERVICE_NAME


class FlakyServer:
    """Answers UNAVAILABLE (trailers only, nothing sent before) to the first `failures`
    attempts of each unary method, and to every ProcessStream; counts attempts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: dict[str, int] = {"Process": 0, "ProcessStream": 0, "Check": 0}

    def _attempt(self, method: str) -> bool:
        self.attempts[method] += 1
        return self.attempts[method] > self.failures

    async def process(self, request: pb.ProcessRequest, context: Any) -> pb.ProcessResponse:
        if not self._attempt("Process"):
            await context.abort(grpc.StatusCode.UNAVAILABLE, "not yet")
        return pb.ProcessResponse(request_id=f"attempt-{self.attempts['Process']}")

    async def process_stream(
        self, request: pb.ProcessRequest, context: Any
    ) -> AsyncIterator[pb.StageUpdate]:
        self.attempts["ProcessStream"] += 1
        await context.abort(grpc.StatusCode.UNAVAILABLE, "streams are never retried")
        yield pb.StageUpdate()  # pragma: no cover - abort raises

    async def check(self, request: Any, context: Any) -> Any:
        if not self._attempt("Check"):
            await context.abort(grpc.StatusCode.UNAVAILABLE, "not yet")
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[int]:
        server = grpc.aio.server()
        processor = {
            "Process": grpc.unary_unary_rpc_method_handler(
                self.process,
                request_deserializer=pb.ProcessRequest.FromString,
                response_serializer=pb.ProcessResponse.SerializeToString,
            ),
            "ProcessStream": grpc.unary_stream_rpc_method_handler(
                self.process_stream,
                request_deserializer=pb.ProcessRequest.FromString,
                response_serializer=pb.StageUpdate.SerializeToString,
            ),
        }
        health = {
            "Check": grpc.unary_unary_rpc_method_handler(
                self.check,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
            )
        }
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(SERVICE_NAME, processor),
                grpc.method_handlers_generic_handler("grpc.health.v1.Health", health),
            )
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            yield port
        finally:
            await server.stop(None)


class CountingProxy:
    """Forwards TCP connections to a port, counting the bytes clients send through it."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.sent_bytes = 0

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, count: bool
    ) -> None:
        try:
            while data := await source.read(65536):
                if count:
                    self.sent_bytes += len(data)
                sink.write(data)
                await sink.drain()
        finally:
            sink.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        await asyncio.gather(
            self._pipe(reader, up_writer, True),
            self._pipe(up_reader, writer, False),
            return_exceptions=True,
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[int]:
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()
