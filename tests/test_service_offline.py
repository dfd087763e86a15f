"""The offline profile's real models through the real server: analysis, batching, cancellation."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from textstream_client.protos import textstream_pb2 as pb

from tests.analyzers.conftest import read_data
from tests.streams import case, read_rest, rpc_error, stream

NEGATIVE = pb.SENTIMENT_LABEL_NEGATIVE
POSITIVE = pb.SENTIMENT_LABEL_POSITIVE


def by_case(updates):
    found = {}
    for update in updates:
        found.setdefault(case(update), []).append(update)
    return found


async def test_real_text_through_the_stream(serve, offline):
    text = read_data("sympy_history.txt")
    async with serve(offline) as srv:
        updates = await stream(srv.stub, text=text, include_entities=True)
    found = by_case(updates)
    assert case(updates[-1]) == "completed"
    assert "stage_error" not in found

    entities = found["entities"][0].entities
    people = {e.text for e in entities.by_label["PERSON"].entities}
    # The people a reader finds in SymPy's history, accents and all.
    assert {"Ondřej Čertík", "Pearu Peterson", "Fredrik Johansson", "Aaron Meurer"} <= people
    for entity in entities.entities:
        assert text[entity.start : entity.end] == entity.text

    summary = found["summary"][0].summary
    assert found["summary_delta"]
    assert summary.text == "".join(u.summary_delta.text for u in found["summary_delta"])
    assert len(summary.text) < len(text)
    positions = [text.index(d.summary_delta.text.strip()) for d in found["summary_delta"]]
    assert positions == sorted(positions)


async def test_organisations_and_places(serve, offline):
    text = read_data("california_housing.txt")
    async with serve(offline) as srv:
        response = await srv.stub.Process(pb.ProcessRequest(text=text, include_entities=True))
    groups = response.entities.by_label
    assert {"California", "U.S."} <= {e.text for e in groups["GPE"].entities}
    assert "the U.S. Census Bureau" in {e.text for e in groups["ORG"].entities}


@pytest.mark.parametrize(
    ("name", "label"), [("review_positive.txt", POSITIVE), ("review_negative.txt", NEGATIVE)]
)
async def test_reviews_get_the_right_label(serve, offline, name, label):
    async with serve(offline) as srv:
        response = await srv.stub.Process(pb.ProcessRequest(text=read_data(name)))
    assert response.sentiment.label == label
    assert not response.errors


def _fingerprint(updates):
    """What a stream computed, without its timings and request id."""
    found = by_case(updates)
    sentiment = found["sentiment"][0].sentiment
    return (
        [(c.label, round(c.confidence, 5), c.span.start, c.span.end) for c in sentiment.chunks],
        sentiment.label,
        found["summary"][0].summary.text,
        [(e.text, e.label, e.start) for e in found["entities"][0].entities.entities],
    )


TEXTS = [
    read_data("sympy_history.txt"),
    read_data("california_housing.txt"),
    read_data("review_positive.txt"),
    read_data("review_negative.txt"),
]


async def test_32_concurrent_streams_complete_with_their_own_results(serve, offline):
    async with serve(offline) as srv:
        alone = {}
        for text in TEXTS:
            alone[text] = _fingerprint(await stream(srv.stub, text=text, include_entities=True))
        sentiment_batches = offline.sentiment.queue.batches  # type: ignore[attr-defined]

        requests = [TEXTS[i % len(TEXTS)] for i in range(32)]
        results = await asyncio.gather(
            *(stream(srv.stub, text=text, include_entities=True) for text in requests)
        )
    for text, updates in zip(requests, results, strict=True):
        assert case(updates[-1]) == "completed"
        assert _fingerprint(updates) == alone[text]
    # Chunks of different streams shared forward passes.
    assert max(offline.sentiment.queue.recent_batch_sizes) > 1  # type: ignore[attr-defined]
    assert offline.sentiment.queue.batches - sentiment_batches < 32  # type: ignore[attr-defined]


async def test_cancelled_stream_work_is_dropped_from_the_batchers(serve):
    from analyzers.config import ModelSettings
    from analyzers.loader import load_analyzers

    # Batches wait up to 1 s to fill, so the cancel lands while the chunks are still queued.
    slow = await asyncio.to_thread(
        load_analyzers, ModelSettings(device="cpu", max_batch_wait_ms=1000, max_batch_size=1024)
    )
    batcher = slow.sentiment.queue  # type: ignore[attr-defined]
    try:
        async with serve(slow) as srv:
            text = read_data("california_housing.txt")
            call = srv.stub.ProcessStream(
                pb.ProcessRequest(text=text, chunk_size=50, include_summary=False)
            )
            # Read up to the sentiment stage's start: its chunks are queued by then.
            while (await call.read()).stage_started.stage != pb.STAGE_SENTIMENT:
                pass
            processed = batcher.processed_items
            call.cancel()
            for _ in range(200):
                if batcher.dropped_items and srv.state.inflight == 0:
                    break
                await asyncio.sleep(0.02)
            assert batcher.dropped_items > 1
            assert batcher.processed_items == processed
            assert srv.state.inflight == 0
            # The server goes on serving: a new stream still completes.
            follow = srv.stub.ProcessStream(pb.ProcessRequest(text=text, include_summary=False))
            assert case((await read_rest(follow))[-1]) == "completed"
            assert batcher.processed_items > processed
    finally:
        slow.close()


HOSTILE = {
    "nul bytes": "Apple\x00 opened an office in Paris.\x00 Everyone was happy about it.",
    "emoji": "😀😀 Apple opened an office in Paris 🇫🇷 and everyone loved it 😀.",
    "combining marks": "Zoe\u0301 met Rene\u0301e at Google in Montre\u0301al. It was great!",
    "right to left": "שלום עולם. Apple opened an office in Tel Aviv. مرحبا بالعالم. Great!",
    "one long word": "x" * 5000,
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_awkward_text_keeps_code_point_offsets(serve, offline, name):
    text = HOSTILE[name]
    async with serve(offline) as srv:
        updates = await stream(srv.stub, text=text, include_entities=True, chunk_size=50)
        assert case((await stream(srv.stub, text="A normal request still works."))[-1]) == (
            "completed"
        )
    found = by_case(updates)
    assert case(updates[-1]) == "completed"
    assert "stage_error" not in found
    assert updates[0].started.text_length == len(text)
    for span in found["chunked"][0].chunked.spans:
        assert 0 <= span.start < span.end <= len(text)
    for entity in found["entities"][0].entities.entities:
        assert text[entity.start : entity.end] == entity.text
    if name != "one long word":
        # An entity after the awkward characters still lines up with the text.
        assert found["entities"][0].entities.entities


async def test_deadline_stops_a_real_stream(serve, offline):
    async with serve(offline) as srv:
        call = srv.stub.ProcessStream(
            pb.ProcessRequest(text=TEXTS[0], include_entities=True), timeout=0.001
        )
        error = await rpc_error(call)
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        for _ in range(100):
            if srv.state.inflight == 0:
                break
            await asyncio.sleep(0.02)
        assert srv.state.inflight == 0


async def test_full_model_queue_refuses_new_calls_at_once(serve):
    from analyzers.config import ModelSettings
    from analyzers.loader import load_analyzers

    # Room for 8 queued chunks, and batches that wait up to 1 s to fill: the first stream's
    # 8 chunks sit in the queue while the second call arrives.
    small = await asyncio.to_thread(
        load_analyzers,
        ModelSettings(
            device="cpu", max_batch_wait_ms=1000, max_batch_size=1024, max_queued_items=8
        ),
    )
    try:
        async with serve(small) as srv:
            text = " ".join(["This sentence is good and rather long."] * 8)  # 8 chunks of 38
            first = srv.stub.ProcessStream(
                pb.ProcessRequest(text=text, chunk_size=50, include_summary=False)
            )
            batcher = small.sentiment.queue  # type: ignore[attr-defined]
            while (await first.read()).stage_started.stage != pb.STAGE_SENTIMENT:
                pass
            for _ in range(50):  # the chunks are queued within a loop iteration or two
                if batcher.full:
                    break
                await asyncio.sleep(0.01)
            assert batcher.full
            refused = await rpc_error(srv.stub.Process(pb.ProcessRequest(text=text)))
            assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "queue is full" in refused.details()
            assert case((await read_rest(first))[-1]) == "completed"
            # Once the queue drains, calls are accepted again.
            assert case((await stream(srv.stub, text=text))[-1]) == "completed"
    finally:
        small.close()
