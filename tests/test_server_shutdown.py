"""SIGTERM on the real server process: readiness goes NOT_SERVING (liveness stays SERVING),
new calls are refused, the stream in flight finishes, and the process exits cleanly."""

from __future__ import annotations

import asyncio
import signal

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from tests.processes import doubles_server
from tests.streams import REVIEW, case, read_rest, rpc_error


async def test_sigterm_drains_the_stream_in_flight():
    server = doubles_server(0.15, "shutdown_delay_seconds=1", "grace_period_seconds=20")
    try:
        port = server.wait_for("listening")["port"]
        server.wait_for("serving")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.TextProcessorStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            call = stub.ProcessStream(pb.ProcessRequest(text=REVIEW, chunk_size=50))
            first = await call.read()
            assert case(first) == "started"

            server.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(server.wait_for, "draining")
            # Readiness ("" and the service) goes NOT_SERVING; liveness stays SERVING, so a
            # liveness probe does not kill the process while it drains its streams.
            for service in ("", "textstream.v1.TextProcessor", "liveness"):
                status = await health.Check(health_pb2.HealthCheckRequest(service=service))
                expected = "SERVING" if service == "liveness" else "NOT_SERVING"
                assert health_pb2.HealthCheckResponse.ServingStatus.Name(status.status) == (
                    expected
                ), service
            refused = await rpc_error(stub.Process(pb.ProcessRequest(text=REVIEW)))
            assert refused.code() == grpc.StatusCode.UNAVAILABLE

            rest = await read_rest(call)
            assert case(rest[-1]) == "completed"
            assert await call.code() == grpc.StatusCode.OK
            progress = [u for u in rest if case(u) == "sentiment_progress"]
            chunk_count = next(u.chunked.chunk_count for u in rest if case(u) == "chunked")
            assert len(progress) == chunk_count > 3
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
        stopped = await asyncio.to_thread(server.wait_for, "stopped")
        assert stopped["completed_calls"] >= 2
    finally:
        server.stop()


async def test_liveness_answers_through_the_grace_period():
    # No shutdown delay: the grace period starts at once, with a stream still in flight.
    server = doubles_server(0.15, "grace_period_seconds=20")
    try:
        port = server.wait_for("listening")["port"]
        server.wait_for("serving")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.TextProcessorStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            call = stub.ProcessStream(pb.ProcessRequest(text=REVIEW, chunk_size=50))
            assert case(await call.read()) == "started"
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(server.wait_for, "draining")
            # Several probes while the stream drains (about 0.15 s a chunk, 10+ chunks).
            for _ in range(3):
                live = await health.Check(health_pb2.HealthCheckRequest(service="liveness"))
                assert live.status == health_pb2.HealthCheckResponse.SERVING
                ready = await health.Check(health_pb2.HealthCheckRequest(service=""))
                assert ready.status == health_pb2.HealthCheckResponse.NOT_SERVING
                await asyncio.sleep(0.2)
            rest = await read_rest(call)
            assert case(rest[-1]) == "completed"
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
    finally:
        server.stop()


async def test_sigterm_while_models_load_exits_within_the_grace_period():
    # The load would take a minute and cannot be interrupted; the process must not wait.
    server = doubles_server(0.0, "load_seconds=60", "grace_period_seconds=2")
    try:
        server.wait_for("listening")
        server.wait_for("loading models")
        server.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.proc.wait, 15) == 0
        assert server.wait_for("stopped")["completed_calls"] == 0
    finally:
        server.stop()
