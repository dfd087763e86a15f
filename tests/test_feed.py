"""ProcessFeed through a real server: answers as documents finish, bounds, errors, cancel, drain."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from analyzers.batcher import MicroBatcher
from analyzers.config import ModelSettings
from analyzers.types import SentimentScores
from tests.doubles import Double, WordListSentiment, _word_scores, word_analyzers
from tests.streams import REVIEW, case, read_rest, steady, until

# Chunks with this word wait for the test to open the gate.
HELD = "Heldback"


class GatedSentiment(WordListSentiment):
    """Word-list sentiment, except that chunks naming HELD wait until `gate` is set; counts the
    waits cancelled (a document whose caller left)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.cancelled = 0

    async def classify(self, chunk: str) -> SentimentScores:
        if HELD in chunk:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return await super().classify(chunk)


class BatchedSentiment(Double):
    """Word-list sentiment behind a real micro-batcher (one chunk per batch) that runs only
    while `running` is set: the queue's depth is what the test makes it."""

    name = "batched-word-list"

    def __init__(self, max_queued_items: int) -> None:
        self.running = threading.Event()
        self.running.set()
        self.batcher: MicroBatcher[str, SentimentScores] = MicroBatcher(
            "sentiment",
            self._run,
            max_batch_size=1,
            max_wait_ms=0,
            max_queued_items=max_queued_items,
        )

    @property
    def queue(self) -> MicroBatcher[str, SentimentScores]:  # type: ignore[override]
        return self.batcher

    def _run(self, chunks: list[str]) -> list[SentimentScores]:
        self.running.wait(30)
        return [_word_scores(chunk) for chunk in chunks]

    async def classify(self, chunk: str) -> SentimentScores:
        return await self.batcher.submit(chunk)

    def close(self) -> None:
        self.running.set()
        self.batcher.close()


def document(doc_id: str, text: str, **fields: Any) -> pb.FeedRequest:
    return pb.FeedRequest(id=doc_id, request=pb.ProcessRequest(text=text, **fields))


def metric(srv: Any, name: str, **labels: str) -> float:
    return srv.state.metrics.registry.get_sample_value(name, labels) or 0.0


def in_flight(srv: Any) -> float:
    return metric(srv, "textstream_feed_documents_in_flight")


def violations(status: status_pb2.Status) -> dict[str, str]:
    fields: dict[str, str] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.update({v.field: v.description for v in bad.field_violations})
    return fields


async def all_updates(call: Any) -> list[pb.FeedUpdate]:
    return [update async for update in call]


async def test_documents_come_back_as_they_finish_with_a_summary(serve):
    sentiment = GatedSentiment()
    long_text = f"{HELD} is a long document. " * 40
    texts = {f"doc-{n}": "A short and happy text. " * (1 + n % 7) for n in range(49)}
    async with serve(word_analyzers(sentiment=sentiment)) as srv:
        # The long one goes first; its chunks wait until every other document is answered.
        requests = [document("long", long_text, chunk_size=100)]
        requests += [document(doc_id, text) for doc_id, text in texts.items()]
        call = srv.stub.ProcessFeed(iter(requests))
        order = []
        while len(order) < 49:
            update = await call.read()
            assert update.WhichOneof("outcome") == "result", update
            order.append(update.id)
        sentiment.gate.set()
        rest = await read_rest(call)
        assert await call.code() == grpc.StatusCode.OK
    assert sorted(order) == sorted(texts)
    assert [u.id for u in rest[:-1]] == ["long"]
    long_result = rest[0].result
    assert len(long_result.sentiment.chunks) > 1
    assert not long_result.errors
    assert rest[-1].id == ""
    assert rest[-1].WhichOneof("outcome") == "summary"
    summary = rest[-1].summary
    assert (summary.accepted, summary.finished, summary.failed) == (50, 50, 0)
    assert metric(srv, "textstream_feed_results_total", outcome="ok") == 50
    assert metric(srv, "textstream_feed_documents_count") == 1
    assert metric(srv, "textstream_feed_documents_sum") == 50


async def test_a_bad_document_gets_its_own_error_and_the_feed_goes_on(serve):
    requests = [
        document("good-1", REVIEW),
        document("short", "too short"),
        document("chunks", REVIEW, chunk_size=10),
        document("good-1", REVIEW),  # a duplicate id
        document("", REVIEW),
        document("good-2", REVIEW, include_entities=True),
    ]
    async with serve(word_analyzers()) as srv:
        call = srv.stub.ProcessFeed(iter(requests))
        updates = await all_updates(call)
        assert await call.code() == grpc.StatusCode.OK
    errors = {u.id: u.error for u in updates if u.WhichOneof("outcome") == "error"}
    results = {u.id: u.result for u in updates if u.WhichOneof("outcome") == "result"}
    assert set(results) == {"good-1", "good-2"}
    assert results["good-2"].entities.total > 0
    assert not results["good-2"].errors
    assert set(errors) == {"short", "chunks", "good-1", ""}
    for error in errors.values():
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "at least 10 characters" in violations(errors["short"])["request.text"]
    assert set(violations(errors["chunks"])) == {"request.chunk_size"}
    assert "unique" in violations(errors["good-1"])["id"]
    assert "empty" in violations(errors[""])["id"]
    summary = updates[-1].summary
    assert (summary.accepted, summary.finished, summary.failed) == (6, 2, 4)
    assert metric(srv, "textstream_feed_results_total", outcome="invalid") == 4


async def test_documents_past_feed_max_documents_are_refused_one_by_one(serve):
    requests = [document(f"d{n}", REVIEW) for n in range(5)]
    async with serve(word_analyzers(), feed_max_documents=3) as srv:
        updates = await all_updates(srv.stub.ProcessFeed(iter(requests)))
    outcomes = {u.id: u.WhichOneof("outcome") for u in updates[:-1]}
    assert outcomes == {
        "d0": "result",
        "d1": "result",
        "d2": "result",
        "d3": "error",
        "d4": "error",
    }
    refused = next(u.error for u in updates if u.id == "d3")
    assert refused.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert "feed_max_documents" in refused.message
    summary = updates[-1].summary
    assert (summary.accepted, summary.finished, summary.failed) == (5, 3, 2)


async def test_a_reader_that_stops_reading_stops_the_feed_reading(serve):
    total = 2000
    settings = {"feed_max_in_flight": 4, "stream_buffer_updates": 4}
    async with serve(word_analyzers(), **settings) as srv:
        # Without BDP probing the client's receive window stays at its 64 KiB, so the
        # transport cannot take in every answer for the test while it does not read.
        options = [("grpc.http2.bdp_probe", 0)]
        async with grpc.aio.insecure_channel(srv.target, options=options) as channel:
            stub = pb_grpc.TextProcessorStub(channel)
            requests = (document(f"d{n}", f"Document number {n} is fine.") for n in range(total))
            call = stub.ProcessFeed(requests)
            for _ in range(3):
                assert (await call.read()).WhichOneof("outcome") == "result"
            highest = 0.0

            def read_so_far() -> float:
                nonlocal highest
                highest = max(highest, in_flight(srv))
                return metric(srv, "textstream_feed_documents_read_total")

            read = await steady(read_so_far, quiet=0.5, within=30)
            answered = metric(srv, "textstream_feed_results_total", outcome="ok")
            # Every document read holds a slot until its answer is buffered.
            assert read <= answered + 4 + 4
            assert read < total
            assert highest <= 4
            rest = await read_rest(call)
            assert await call.code() == grpc.StatusCode.OK
    assert len(rest) == total - 3 + 1
    summary = rest[-1].summary
    assert (summary.accepted, summary.finished, summary.failed) == (total, total, 0)


async def test_direct_calls_are_served_while_a_feed_has_documents_outstanding(serve):
    sentiment = GatedSentiment()
    held = f"{HELD} waits in the model for a while. It is a long document. " * 3
    requests = [document(f"d{n}", held) for n in range(300)]
    async with serve(word_analyzers(sentiment=sentiment), max_concurrent_streams=2) as srv:
        feed = srv.stub.ProcessFeed(iter(requests))
        await until(lambda: in_flight(srv) == 32)
        # A feed is one call: with a limit of 2 calls, one more is still admitted, and its
        # updates come while every feed document waits.
        updates = [u async for u in srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW))]
        assert case(updates[0]) == "started"
        assert case(updates[-1]) == "completed"
        assert not [u for u in updates if case(u) == "stage_error"]
        assert metric(srv, "textstream_feed_results_total", outcome="ok") == 0
        sentiment.gate.set()
        answers = await all_updates(feed)
    assert len(answers) == 301
    assert answers[-1].summary.finished == 300


async def test_cancelling_a_feed_stops_its_documents_in_the_models(serve):
    sentiment = GatedSentiment()
    requests = [document(f"d{n}", f"{HELD} is a document that waits.") for n in range(100)]
    async with serve(word_analyzers(sentiment=sentiment), feed_max_in_flight=8) as srv:
        call = srv.stub.ProcessFeed(iter(requests))
        await until(lambda: in_flight(srv) == 8)
        call.cancel()
        await until(lambda: in_flight(srv) == 0)
        await until(lambda: sentiment.cancelled == 8)
        sentiment.gate.set()
        # Nothing of the feed reaches the model once the gate opens.
        assert await steady(lambda: sentiment.processed, quiet=0.3) == 0
        assert await call.code() == grpc.StatusCode.CANCELLED


async def test_drain_answers_the_documents_read_then_unavailable(serve):
    sentiment = GatedSentiment()
    requests = [document(f"d{n}", f"{HELD} is a document that waits.") for n in range(20)]
    async with serve(word_analyzers(sentiment=sentiment), feed_max_in_flight=4) as srv:
        call = srv.stub.ProcessFeed(iter(requests))
        await until(lambda: in_flight(srv) == 4)
        await srv.state.begin_drain()
        sentiment.gate.set()
        updates = await all_updates_until_error(call)
        assert await call.code() == grpc.StatusCode.UNAVAILABLE
        details = await call.details()
        await asyncio.wait_for(srv.state.idle(), 10)
    assert [u.WhichOneof("outcome") for u in updates] == ["result"] * 4
    for said in ("read 4 documents", "4 results", "resend"):
        assert said in details


async def all_updates_until_error(call: Any) -> list[pb.FeedUpdate]:
    updates = []
    try:
        async for update in call:
            updates.append(update)
    except grpc.aio.AioRpcError:
        pass
    return updates


async def test_documents_wait_for_room_in_the_model_queues(serve):
    sentiment = BatchedSentiment(max_queued_items=8)
    models = ModelSettings(max_queued_items=8)
    async with serve(word_analyzers(sentiment=sentiment), models=models) as srv:
        sentiment.running.clear()
        # One chunk in the model, five queued: past half of the queue's 8.
        filling = [asyncio.ensure_future(sentiment.batcher.submit("busy text")) for _ in range(6)]
        await until(lambda: sentiment.batcher.queued_items == 5)
        feed = srv.stub.ProcessFeed(iter([document(f"d{n}", REVIEW) for n in range(2)]))
        await until(lambda: in_flight(srv) == 2)
        assert await steady(lambda: sentiment.batcher.queued_items, quiet=0.3) == 5
        # A direct call is not held back: its chunks take the rest of the queue.
        direct = asyncio.ensure_future(
            all_updates(srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW, chunk_size=500)))
        )
        await until(lambda: sentiment.batcher.queued_items == 6)
        sentiment.running.set()
        answers = await all_updates(feed)
        updates = await direct
        await asyncio.gather(*filling)
    assert case(updates[-1]) == "completed"
    assert [a.WhichOneof("outcome") for a in answers] == ["result", "result", "summary"]


async def test_the_wait_for_room_is_not_counted_against_stage_timeout(serve):
    sentiment = BatchedSentiment(max_queued_items=8)
    settings = {"models": ModelSettings(max_queued_items=8), "stage_timeout_seconds": 0.3}
    async with serve(word_analyzers(sentiment=sentiment), **settings) as srv:
        sentiment.running.clear()
        filling = [asyncio.ensure_future(sentiment.batcher.submit("busy text")) for _ in range(6)]
        await until(lambda: sentiment.batcher.queued_items == 5)
        feed = srv.stub.ProcessFeed(iter([document("d0", REVIEW)]))
        await until(lambda: in_flight(srv) == 1)
        # Held back for longer than a stage may run (over three stage timeouts).
        await asyncio.sleep(1.0)
        sentiment.running.set()
        answers = await all_updates(feed)
        await asyncio.gather(*filling)
    result = answers[0].result
    assert not result.errors, result.errors
    assert result.sentiment.chunks
