"""An HTTP client that reads slowly through small socket buffers holds back only its own work."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

import server.rest.server
from tests.doubles import WordListSentiment, word_analyzers
from tests.http_servers import http_server, read_all, statuses
from tests.streams import REVIEW, case, steady, stream, until

SENTENCE = "good words here and there. "
CHUNKS = 1480  # at chunk_size 50, one sentence per chunk
LONG = SENTENCE * CHUNKS  # 39,960 characters: its NDJSON is several times the buffers
# Small socket buffers on both ends (the kernel doubles them): what a loaded host or a slow
# link gives. Without them Linux grows a loopback send buffer to megabytes.
BUFFER_BYTES = 4096


def small_send_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTP server's listening socket gets a small send buffer, which the connections it
    accepts inherit (and with it, no send-buffer autotuning)."""
    bind = server.rest.server._bind

    def small(*args: Any) -> socket.socket:
        sock = bind(*args)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER_BYTES)
        return sock

    monkeypatch.setattr(server.rest.server, "_bind", small)


class RawClient:
    """HTTP/1.1 over a plain socket with a small receive buffer, read only when told to."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER_BYTES)
        self.sock.setblocking(False)
        self.received = b""

    async def post(self, path: str, body: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, ("127.0.0.1", self.port))
        data = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        await loop.sock_sendall(self.sock, head.encode() + data)

    async def read_until(self, marker: bytes) -> None:
        loop = asyncio.get_running_loop()
        while marker not in self.received:
            piece = await loop.sock_recv(self.sock, 1024)
            assert piece, "the connection closed early"
            self.received += piece

    async def read_to_end(self, pause: float) -> None:
        """Reads the rest 1 KiB at a time with a pause between: slow, no longer stalled."""
        loop = asyncio.get_running_loop()
        while piece := await loop.sock_recv(self.sock, 1024):
            self.received += piece
            await asyncio.sleep(pause)

    def events(self) -> list[dict[str, Any]]:
        """The NDJSON objects of the whole (chunked) response body."""
        head, _, rest = self.received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert b"transfer-encoding: chunked" in head.lower()
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            body, rest = body + rest[:size], rest[size + 2 :]
        return [json.loads(line) for line in body.splitlines() if line]

    def close(self) -> None:
        self.sock.close()


async def test_a_slow_http_reader_holds_back_its_work_and_others_are_served(monkeypatch):
    sentiment = WordListSentiment(delay=0.001)  # the whole text: 1.5 s unless held back
    settings = {
        "max_text_chars": len(LONG),
        "stream_buffer_updates": 4,
        "stream_chunks_in_flight": 4,
    }
    small_send_buffers(monkeypatch)
    async with http_server(word_analyzers(sentiment=sentiment), **settings) as srv:
        slow = RawClient(srv.port)
        try:
            await slow.post(
                "/process-stream", {"text": LONG, "chunk_size": 50, "include_summary": False}
            )
            # Read up to the first chunk's result: the stage has started. Then stop.
            await slow.read_until(b'"status":"sentiment_progress"')
            assert sentiment.processed > 0
            # Stopped advancing: nothing new for 0.5 s, the time of 500 chunks.
            held = await steady(lambda: sentiment.processed, quiet=0.5)
            # The buffers (the stream's, the event loop's transport, both sockets) hold
            # a few hundred lines at most: most of the text waits for the reader.
            assert held < CHUNKS // 2

            # Meanwhile other clients are served, on both transports.
            before = sentiment.processed
            async with srv.session.post(
                f"{srv.url}/process-stream", json={"text": REVIEW}
            ) as response:
                other = await read_all(response)
            assert statuses(other)[-1] == "completed"
            assert case((await stream(srv.grpc.stub, text=REVIEW))[-1]) == "completed"
            assert sentiment.processed > before
            # ...while the slow stream's own work stays where it was.
            others = sentiment.processed - before
            assert await steady(lambda: sentiment.processed, quiet=0.3) == held + others

            # Read on, slowly: the stream resumes and completes, every chunk computed once.
            await slow.read_to_end(pause=0.001)
        finally:
            slow.close()
        events = slow.events()
        assert statuses(events)[-1] == "completed"
        progress = [e for e in events if e["status"] == "sentiment_progress"]
        assert len(progress) == CHUNKS
        assert sentiment.processed == CHUNKS + others
        await until(lambda: srv.state.inflight == 0)
