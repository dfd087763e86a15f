"""A call that ends early closes its pipeline at once, not when the stream is collected.

grpc iterates a streaming handler and, when the client cancels while an update is being
written, leaves the handler suspended at its `yield`; only closing it stops the stages. Here
the pipeline's stream is also held elsewhere (as a tracer or a traceback might hold it), so
garbage collection cannot stand in for closing it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator
from typing import Any

from textstream_client.protos import textstream_pb2 as pb

from analyzers.types import EntityMention
from tests.doubles import Double, word_analyzers
from tests.streams import REVIEW, case

# Summary pieces large enough that a client which stops reading soon leaves the server
# waiting in the middle of a write (HTTP/2 flow control).
PIECE = "x" * 65536


class FloodingSummarizer(Double):
    """Yields large pieces for as long as it is read."""

    name = "flooding"

    def __init__(self) -> None:
        self.pieces = 0

    async def summarize(self, text: str) -> AsyncGenerator[str, None]:
        while True:
            self.pieces += 1
            yield PIECE
            await asyncio.sleep(0)


class HeldEntities(Double):
    """Model work that runs until released, and records being cancelled."""

    name = "held"

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.cancelled = threading.Event()

    async def extract(self, text: str) -> list[EntityMention]:
        self.started.set()
        try:
            await asyncio.to_thread(self.release.wait, 30)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return []


def hold_pipeline_streams(srv: Any, monkeypatch: Any) -> list[Any]:
    """Keeps a reference to every stream the pipeline returns, as long as the test runs."""
    held: list[Any] = []
    pipeline = srv.state.pipeline
    run = pipeline.run

    def holding_run(*args: Any, **kwargs: Any) -> Any:
        stream = run(*args, **kwargs)
        held.append(stream)
        return stream

    monkeypatch.setattr(pipeline, "run", holding_run)
    return held


async def _until(condition: Any, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_process_stream_cancelled_mid_write_stops_its_stages(serve, monkeypatch):
    summarizer, entities = FloodingSummarizer(), HeldEntities()
    async with serve(word_analyzers(summarizer=summarizer, entities=entities)) as srv:
        held = hold_pipeline_streams(srv, monkeypatch)
        try:
            call = srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW, include_entities=True))
            assert case(await call.read()) == "started"
            await asyncio.to_thread(entities.started.wait, 10)
            # The client reads no more: the server fills the window and waits in a write.
            assert await _until(lambda: summarizer.pieces > 50)
            pieces = summarizer.pieces
            await asyncio.sleep(0.2)
            assert summarizer.pieces - pieces < 100, "the stream was not held back by the reader"

            call.cancel()
            assert await _until(entities.cancelled.is_set), "the stage outlived its call"
            assert await _until(lambda: srv.state.inflight == 0)
            stopped_at = summarizer.pieces
            await asyncio.sleep(0.2)
            assert summarizer.pieces == stopped_at
            assert held
            assert all(stream.ag_frame is None for stream in held)
        finally:
            entities.release.set()


async def test_process_cancelled_stops_its_stages(serve, monkeypatch):
    entities = HeldEntities()
    async with serve(word_analyzers(entities=entities)) as srv:
        held = hold_pipeline_streams(srv, monkeypatch)
        try:
            call = srv.stub.Process(pb.ProcessRequest(text=REVIEW, include_entities=True))
            await asyncio.to_thread(entities.started.wait, 10)
            call.cancel()
            assert await _until(entities.cancelled.is_set), "the stage outlived its call"
            assert await _until(lambda: srv.state.inflight == 0)
            assert held
            assert all(stream.ag_frame is None for stream in held)
        finally:
            entities.release.set()


async def test_the_slot_is_freed_only_after_the_model_work_stopped(serve, monkeypatch):
    summarizer, entities = FloodingSummarizer(), HeldEntities()
    async with serve(word_analyzers(summarizer=summarizer, entities=entities)) as srv:
        stopped_at_end: list[bool] = []
        call_ended = srv.state.metrics.call_ended

        def recording(method: str, code: str, seconds: float) -> None:
            stopped_at_end.append(entities.cancelled.is_set())
            call_ended(method, code, seconds)

        monkeypatch.setattr(srv.state.metrics, "call_ended", recording)
        try:
            call = srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW, include_entities=True))
            assert case(await call.read()) == "started"
            await asyncio.to_thread(entities.started.wait, 10)
            assert await _until(lambda: summarizer.pieces > 50)
            call.cancel()
            assert await _until(lambda: srv.state.inflight == 0)
            assert await _until(entities.cancelled.is_set)
            # When the call ended (and its slot was freed), its model work had stopped.
            assert stopped_at_end == [True]
        finally:
            entities.release.set()
