"""Faults: deadlines, cancellations by the hundred, clients that stop reading, failed loads."""

from __future__ import annotations

import asyncio
import gc

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from analyzers.base import Analyzers
from analyzers.batcher import MicroBatcher
from analyzers.failures import model_failures
from analyzers.types import SentimentScores
from tests.doubles import (
    BlockedSummarizer,
    Double,
    WordListSentiment,
    _word_scores,
    word_analyzers,
)
from tests.processes import doubles_server
from tests.streams import REVIEW, case, read_rest, rpc_error, steady, stream, until

LONG = "good words here and there. " * 185  # 4995 characters
CHUNKS = 185  # at chunk_size 50, one sentence per chunk

POISON = "POISON"


class PickySentiment(Double):
    """Word-list scores behind a real MicroBatcher, as the models are batched.

    Like a model that cannot take one input (a tokenizer edge case, a NaN row), a batch
    that holds a chunk with POISON in it raises as a whole.
    """

    name = "picky"

    def __init__(self, max_wait_ms: float = 300) -> None:
        self.batches: list[list[str]] = []
        # A long wait, so chunks of streams started together share the first batch.
        self.batcher: MicroBatcher[str, SentimentScores] = MicroBatcher(
            "picky", self._run, max_batch_size=256, max_wait_ms=max_wait_ms, max_queued_items=1000
        )
        self.queue = self.batcher

    def _run(self, chunks: list[str]) -> list[SentimentScores]:
        self.batches.append(list(chunks))
        if any(POISON in chunk for chunk in chunks):
            raise ValueError("the model cannot take this input")
        return [_word_scores(chunk) for chunk in chunks]

    async def classify(self, chunk: str) -> SentimentScores:
        with model_failures(self.name):
            return await self.batcher.submit(chunk)

    def close(self) -> None:
        self.batcher.close()


async def test_deadline_in_the_past_stops_compute(serve):
    sentiment = WordListSentiment(delay=0.01)  # a whole stream would take 1.85 s
    async with serve(word_analyzers(sentiment=sentiment)) as srv:
        for _ in range(10):
            call = srv.stub.ProcessStream(
                pb.ProcessRequest(text=LONG, chunk_size=50, include_summary=False), timeout=0
            )
            error = await rpc_error(call)
            assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await until(lambda: srv.state.inflight == 0)
        await steady(lambda: sentiment.processed, quiet=0.2)  # 20 chunks' time
        # The server sees such a call with zero or a few microseconds left: it refuses the
        # first; for the second, the chunk already on the model thread may finish, no more.
        assert sentiment.processed <= 10
        assert srv.state.inflight == 0
        assert case((await stream(srv.stub, text=REVIEW))[-1]) == "completed"


async def test_deadline_mid_stream_stops_compute(serve):
    sentiment = WordListSentiment(delay=0.05)
    async with serve(word_analyzers(sentiment=sentiment)) as srv:
        call = srv.stub.ProcessStream(
            pb.ProcessRequest(text=LONG, chunk_size=50, include_summary=False), timeout=1.0
        )
        error = await rpc_error(call)
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await until(lambda: srv.state.inflight == 0)
        stopped_at = await steady(lambda: sentiment.processed, quiet=0.5)  # 10 chunks' time
        assert 0 < stopped_at < CHUNKS
        assert case((await stream(srv.stub, text=REVIEW))[-1]) == "completed"


async def test_hundreds_of_cancellations_leak_nothing(serve):
    sentiment = WordListSentiment(delay=0.001)
    process = psutil.Process()
    async with serve(word_analyzers(sentiment=sentiment)) as srv:

        async def cancel_after(updates: int) -> None:
            call = srv.stub.ProcessStream(pb.ProcessRequest(text=LONG, chunk_size=50))
            for _ in range(updates):
                await call.read()
            call.cancel()

        await asyncio.gather(*(cancel_after(1 + i % 5) for i in range(50)))
        gc.collect()
        tasks_before = len(asyncio.all_tasks())
        rss_before = process.memory_info().rss
        for round_ in range(6):
            await asyncio.gather(*(cancel_after(1 + (round_ + i) % 7) for i in range(50)))
        await until(lambda: srv.state.inflight == 0)
        await steady(lambda: sentiment.processed, quiet=0.2)  # 200 chunks' time
        gc.collect()
        assert srv.state.inflight == 0
        assert len(asyncio.all_tasks()) <= tasks_before
        # 300 cancelled streams: memory stays flat (allowing allocator noise, not growth).
        assert process.memory_info().rss - rss_before < 40 * 2**20
        # Most queued chunks of cancelled streams were dropped, never computed.
        assert sentiment.processed < 350 * CHUNKS / 4
        assert case((await stream(srv.stub, text=REVIEW))[-1]) == "completed"


async def test_client_that_stops_reading_holds_back_its_stages(serve):
    sentiment = WordListSentiment(delay=0.002)  # all 185 chunks in 0.4 s, unless held back
    settings = {"stream_buffer_updates": 4, "stream_chunks_in_flight": 4}
    async with serve(word_analyzers(sentiment=sentiment), **settings) as srv:
        # A small HTTP/2 window: the client's unread updates soon fill it.
        options = [("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)]
        async with grpc.aio.insecure_channel(srv.target, options=options) as channel:
            stub = pb_grpc.TextProcessorStub(channel)
            call = stub.ProcessStream(
                pb.ProcessRequest(text=LONG, chunk_size=50, include_summary=False)
            )
            # Read up to the first chunk's result: the stage has started, then stop reading.
            read = [await call.read()]
            while case(read[-1]) != "sentiment_progress":
                read.append(await call.read())
            assert sentiment.processed > 0
            # Stopped advancing: nothing new for 0.5 s, the time of 250 chunks.
            held = await steady(lambda: sentiment.processed, quiet=0.5)
            # What the reader has not taken (the stream's buffer, the HTTP/2 window) plus the
            # chunks in flight: a small part of the text, nowhere near all of it.
            assert held < CHUNKS // 3
            rest = await read_rest(call)
        assert case(rest[-1]) == "completed"
        progress = [u for u in read + rest if case(u) == "sentiment_progress"]
        assert len(progress) == CHUNKS
        assert sentiment.processed == CHUNKS


async def test_streams_share_batches_while_each_holds_a_window_of_chunks(serve):
    sentiment = PickySentiment(max_wait_ms=20)
    try:
        async with serve(word_analyzers(sentiment=sentiment), stream_chunks_in_flight=8) as srv:
            streams = await asyncio.gather(
                *(
                    stream(srv.stub, text=LONG, chunk_size=50, include_summary=False)
                    for _ in range(4)
                )
            )
    finally:
        sentiment.close()
    for updates in streams:
        assert case(updates[-1]) == "completed"
        assert len([u for u in updates if case(u) == "sentiment_progress"]) == CHUNKS
    sizes = [len(batch) for batch in sentiment.batches]
    assert sum(sizes) == 4 * CHUNKS
    # No stream ever has more than its 8 chunks queued, yet batches hold several streams'.
    assert max(sizes) <= 4 * 8
    assert max(sizes) > 8


async def test_a_slow_reader_is_not_cut_by_the_stage_timeout(serve):
    # The model work takes milliseconds; the reader takes three stage timeouts.
    settings = {
        "stage_timeout_seconds": 0.5,
        "stream_buffer_updates": 2,
        "stream_chunks_in_flight": 2,
    }
    async with serve(word_analyzers(), **settings) as srv:
        options = [("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)]
        async with grpc.aio.insecure_channel(srv.target, options=options) as channel:
            stub = pb_grpc.TextProcessorStub(channel)
            call = stub.ProcessStream(pb.ProcessRequest(text=LONG, chunk_size=50))
            read = [await call.read()]
            while case(read[-1]) != "sentiment_progress":
                read.append(await call.read())
            await asyncio.sleep(1.5)  # the stages wait for this reader meanwhile
            updates = read + await read_rest(call)
    assert [u.stage_error for u in updates if case(u) == "stage_error"] == []
    assert len([u for u in updates if case(u) == "sentiment_progress"]) == CHUNKS
    assert {"sentiment", "summary"} <= {case(u) for u in updates}
    assert case(updates[-1]) == "completed"


async def test_failed_model_load_stays_up_not_serving():
    server = doubles_server("fail")
    try:
        port = server.wait_for("listening")["port"]
        failure = await asyncio.to_thread(
            server.wait_for, "models failed to load; health stays NOT_SERVING"
        )
        assert "/models/missing" in failure["reason"]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            status = await health.Check(health_pb2.HealthCheckRequest())
            assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
            stub = pb_grpc.TextProcessorStub(channel)
            error = await rpc_error(stub.Process(pb.ProcessRequest(text=REVIEW)))
            assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert server.proc.poll() is None
    finally:
        server.stop()


async def test_clients_pinging_too_often_are_sent_away(serve):
    blocked = BlockedSummarizer()
    async with serve(word_analyzers(summarizer=blocked)) as srv:
        # Pings every 0.5 s, with or without data: well under the server's 10 s minimum.
        options = [
            ("grpc.keepalive_time_ms", 500),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
        ]
        async with grpc.aio.insecure_channel(srv.target, options=options) as channel:
            stub = pb_grpc.TextProcessorStub(channel)
            error = await rpc_error(stub.ProcessStream(pb.ProcessRequest(text=REVIEW)))
        blocked.release.set()
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "Too many pings" in error.details()
        await until(lambda: srv.state.inflight == 0)
        assert case((await stream(srv.stub, text=REVIEW))[-1]) == "completed"


async def test_one_bad_chunk_fails_only_its_own_stream_not_its_batch(serve):
    sentiment = PickySentiment()
    analyzers: Analyzers = word_analyzers(sentiment=sentiment)
    bad_text = REVIEW + f" This last sentence carries the {POISON} that breaks the model."
    fields = {"chunk_size": 60, "include_summary": False}
    try:
        async with serve(analyzers) as srv:
            good, bad = await asyncio.gather(
                stream(srv.stub, text=REVIEW, **fields), stream(srv.stub, text=bad_text, **fields)
            )
    finally:
        sentiment.close()
    good_chunks = next(u.chunked for u in good if case(u) == "chunked").chunk_count
    # The streams' chunks did share a batch, and that batch failed.
    first = sentiment.batches[0]
    assert any(POISON in chunk for chunk in first)
    assert len(first) > good_chunks
    # The other request's chunks all got their scores, as if the bad one were not there.
    assert "stage_error" not in {case(u) for u in good}
    progress = [u for u in good if case(u) == "sentiment_progress"]
    assert len(progress) == good_chunks
    assert case(good[-1]) == "completed"
    # Only the stream that sent the bad chunk sees its sentiment stage fail.
    [error] = [u.stage_error for u in bad if case(u) == "stage_error"]
    assert error.stage == pb.STAGE_SENTIMENT
    assert case(bad[-1]) == "completed"
