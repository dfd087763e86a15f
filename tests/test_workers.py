"""`--workers 2`: two server processes share one port through SO_REUSEPORT."""

from __future__ import annotations

import asyncio
import signal

import grpc
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from tests.processes import doubles_server
from tests.streams import REVIEW


async def test_two_workers_share_one_port():
    server = doubles_server(0, "workers=2")
    try:
        serving = {server.wait_for("serving")["pid"], server.wait_for("serving")["pid"]}
        assert len(serving) == 2
        listening = [entry for entry in server.log if entry["event"] == "listening"]
        assert {entry["pid"] for entry in listening} == serving
        [port] = {entry["port"] for entry in listening}
        pids = set()
        for _ in range(40):
            # A new channel is a new connection, which the kernel may hand to either worker.
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = pb_grpc.TextProcessorStub(channel)
                response = await stub.Process(pb.ProcessRequest(text=REVIEW))
                assert response.sentiment.chunks
            pids.add(await asyncio.to_thread(lambda: server.wait_for("call ended")["pid"]))
            if len(pids) == 2:
                break
        assert len(pids) == 2
        server.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
    finally:
        server.stop()


async def test_a_taken_port_is_not_silently_shared():
    first = doubles_server(0)
    try:
        port = first.wait_for("listening")["port"]
        second = doubles_server(0, f"port={port}")
        try:
            assert await asyncio.to_thread(second.proc.wait, 60) != 0
        finally:
            second.stop()
    finally:
        first.stop()
