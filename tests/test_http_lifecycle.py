"""The HTTP app inside the real server process: started after gRPC, drained with it on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import time

import aiohttp
import pytest

from tests.doubles import word_analyzers
from tests.http_servers import http_server, lines, read_all
from tests.processes import ServerProcess, doubles_server
from tests.streams import REVIEW

# About 15 chunks at 0.15 s each: still streaming when the shutdown delay is over.
TEXT = REVIEW * 3
BODY = {"text": TEXT, "chunk_size": 50}


async def _started(server: ServerProcess) -> str:
    """Waits until the server serves; returns its HTTP address."""
    entry = await asyncio.to_thread(server.wait_for, "http listening")
    await asyncio.to_thread(server.wait_for, "serving")
    return f"http://127.0.0.1:{entry['port']}"


async def _workers_serving(server: ServerProcess, count: int, seconds: float = 120) -> set[object]:
    """Waits until count workers have each logged "serving" (models loaded, calls admitted);
    returns their pids. Fails once that many seconds have passed without them all."""
    deadline = time.monotonic() + seconds
    pids: set[object] = set()
    while len(pids) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"{len(pids)} of {count} workers serving after {seconds} s"
        pids.add((await asyncio.to_thread(server.wait_for, "serving", left))["pid"])
    return pids


async def _statuses_into(seen: list[str], stream) -> None:
    async for event in stream:
        seen.append(event["status"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_uvicorn_leaves_the_signal_handlers_alone():
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    async with http_server(word_analyzers()) as srv:
        # Pytest runs this on the main thread, where uvicorn would install its own.
        assert {signum: signal.getsignal(signum) for signum in handlers} == handlers
        async with srv.session.get(f"{srv.url}/healthz") as response:
            assert response.status == 200
    assert {signum: signal.getsignal(signum) for signum in handlers} == handlers


async def test_sigterm_drains_http_streams_with_our_handler_in_charge():
    server = doubles_server(
        0.15, "http_port=0", "shutdown_delay_seconds=1", "grace_period_seconds=20"
    )
    try:
        url = await _started(server)
        async with aiohttp.ClientSession() as session:
            response = await session.post(f"{url}/process-stream", json=BODY)
            stream = lines(response)
            assert (await anext(stream))["status"] == "started"

            server.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(server.wait_for, "draining")
            # Within the shutdown delay the HTTP port still answers, and says "not ready".
            async with session.get(f"{url}/readyz") as ready:
                assert (ready.status, (await ready.json())["status"]) == (503, "draining")
            async with session.post(f"{url}/process-batch", json=BODY) as refused:
                assert (refused.status, refused.headers["Retry-After"]) == (503, "1")

            rest = [event async for event in stream]
            response.release()
        assert rest[-1]["status"] == "completed"
        progress = [event for event in rest if event["status"] == "sentiment_progress"]
        assert len(progress) == progress[-1]["chunk_count"] > 10
        # uvicorn's own SIGTERM handler would have re-raised the signal on exit.
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
        stopped = await asyncio.to_thread(server.wait_for, "stopped")
        assert stopped["completed_calls"] >= 2
        assert not [entry for entry in server.log if entry["event"] == "unparsed"]
    finally:
        server.stop()


async def test_the_grace_period_cuts_http_streams_too():
    server = doubles_server(0.15, "http_port=0", "grace_period_seconds=0.5")
    try:
        url = await _started(server)
        async with aiohttp.ClientSession() as session:
            response = await session.post(f"{url}/process-stream", json=BODY)
            stream = lines(response)
            assert (await anext(stream))["status"] == "started"
            server.proc.send_signal(signal.SIGTERM)
            seen: list[str] = []
            with pytest.raises(aiohttp.ClientPayloadError):
                await _statuses_into(seen, stream)
            response.close()
        assert "completed" not in seen
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
        ended = await asyncio.to_thread(server.wait_for, "call ended")
        assert (ended["method"], ended["code"]) == ("http:/process-stream", "CANCELLED")
    finally:
        server.stop()


async def test_http_off_starts_no_http_server():
    server = doubles_server(0, "http_enabled=false")
    try:
        await asyncio.to_thread(server.wait_for, "serving")
        assert not [entry for entry in server.log if entry["event"] == "http listening"]
    finally:
        server.stop()


async def test_a_taken_http_port_fails_the_process_loudly():
    first = doubles_server(0, "http_port=0")
    try:
        taken = (await asyncio.to_thread(first.wait_for, "http listening"))["port"]
        second = doubles_server(0, f"http_port={taken}")
        try:
            failure = await asyncio.to_thread(second.wait_for, "http failed to start")
            assert "in use" in str(failure["error"]).lower()
            assert await asyncio.to_thread(second.proc.wait, 60) != 0
        finally:
            second.stop()
    finally:
        first.stop()


async def test_workers_share_the_http_port():
    port = _free_port()
    server = doubles_server(0, "workers=2", f"http_port={port}")
    try:
        # Every worker serving, not just listening: one still loading models answers 503.
        pids = await _workers_serving(server, 2)
        listening = [entry for entry in server.log if entry["event"] == "http listening"]
        assert {entry["pid"] for entry in listening} == pids
        assert {entry["port"] for entry in listening} == {port}
        async with aiohttp.ClientSession() as session:
            for _ in range(4):
                body = {"text": REVIEW}
                async with session.post(
                    f"http://127.0.0.1:{port}/process-stream", json=body
                ) as response:
                    assert (await read_all(response))[-1]["status"] == "completed"
        server.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
    finally:
        server.stop()
