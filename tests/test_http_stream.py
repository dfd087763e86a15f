"""The HTTP API's streams and batch: the seed's event shapes, in order, flushed as they happen."""

from __future__ import annotations

import asyncio

from tests.doubles import (
    BlockedSummarizer,
    CrashingEntities,
    EchoGenerator,
    FailingSentiment,
    word_analyzers,
)
from tests.http_servers import http_server, lines, read_all, statuses
from tests.streams import REVIEW


async def test_stream_speaks_the_seeds_events_in_order():
    async with http_server(word_analyzers()) as srv:
        body = {"text": REVIEW, "include_entities": True, "chunk_size": 50}
        headers = {"X-Request-ID": "seed-compat-1"}
        async with srv.session.post(
            f"{srv.url}/process-stream", json=body, headers=headers
        ) as response:
            assert response.status == 200
            assert response.content_type == "application/x-ndjson"
            assert response.headers["x-request-id"] == "seed-compat-1"
            events = await read_all(response)

    names = statuses(events)
    assert names[:3] == ["started", "chunking", "chunked"]
    assert names[-1] == "completed"
    assert [event["sequence"] for event in events] == list(range(len(events)))
    for stage in ("sentiment", "summarization", "entities"):
        assert names.index(f"{stage}_processing") < names.index(f"{stage}_complete")

    started, _, chunked = events[:3]
    assert started["text_length"] == len(REVIEW)
    assert started["request_id"] == "seed-compat-1"
    assert isinstance(started["timestamp"], float)
    assert chunked["chunks"] == len(chunked["spans"]) > 3
    progress = [event for event in events if event["status"] == "sentiment_progress"]
    assert [event["chunk_result"]["chunk"] for event in progress] == list(
        range(1, chunked["chunks"] + 1)
    )
    assert progress[-1]["progress"] == 1.0
    for event, span in zip(progress, chunked["spans"], strict=True):
        result = event["chunk_result"]
        assert result["sentiment"] in {"NEGATIVE", "NEUTRAL", "POSITIVE"}
        assert 0 < result["confidence"] <= 1
        assert (result["start"], result["end"]) == (span["start"], span["end"])
        assert event["message"]

    [sentiment] = [event for event in events if event["status"] == "sentiment_complete"]
    assert sentiment["overall_sentiment"] in {"NEGATIVE", "NEUTRAL", "POSITIVE"}
    assert [chunk["chunk"] for chunk in sentiment["chunk_sentiments"]] == list(
        range(1, chunked["chunks"] + 1)
    )
    labels = [chunk["sentiment"] for chunk in sentiment["chunk_sentiments"]]
    assert sentiment["positive_chunks"] == labels.count("POSITIVE")
    assert sentiment["negative_chunks"] == labels.count("NEGATIVE")

    deltas = [event for event in events if event["status"] == "summarization_progress"]
    [summary] = [event for event in events if event["status"] == "summarization_complete"]
    assert deltas
    assert deltas[-1]["summary"].strip() == summary["summary"]
    assert summary["summary"].startswith("I love this phone.")
    assert summary["compression_ratio"] == len(summary["summary"]) / len(REVIEW)

    [entities] = [event for event in events if event["status"] == "entities_complete"]
    assert entities["total_entities"] == len(entities["entities"]) > 0
    for entity in entities["entities"]:
        assert set(entity) == {"text", "label", "description", "start", "end"}
        assert REVIEW[entity["start"] : entity["end"]] == entity["text"]
    assert entities["entity_types"]["ORG"] == [
        entity for entity in entities["entities"] if entity["label"] == "ORG"
    ]

    completed = events[-1]
    assert completed["total_processing_time"] > 0
    assert set(completed["stage_times"]) == {"chunking", "sentiment", "summarization", "entities"}


async def test_each_event_is_sent_as_it_happens():
    blocked = BlockedSummarizer()
    async with (
        http_server(word_analyzers(summarizer=blocked)) as srv,
        srv.session.post(f"{srv.url}/process-stream", json={"text": REVIEW}) as response,
    ):
        stream = lines(response)
        seen = []
        # Everything but the summary arrives while the summary model is still held.
        while not seen or seen[-1]["status"] != "sentiment_complete":
            seen.append(await anext(stream))
        assert blocked.started.is_set()
        assert "summarization_complete" not in statuses(seen)
        blocked.release.set()
        rest = [event async for event in stream]
    assert statuses(rest)[-2:] == ["summarization_complete", "completed"]


async def test_a_failing_stage_is_an_error_event_and_the_rest_go_on():
    analyzers = word_analyzers(sentiment=FailingSentiment(), entities=CrashingEntities())
    async with http_server(analyzers) as srv:
        body = {"text": REVIEW, "include_entities": True}
        async with srv.session.post(f"{srv.url}/process-stream", json=body) as response:
            events = await read_all(response)
    by_status = {event["status"]: event for event in events}
    assert by_status["sentiment_error"]["error"] == "sentiment model failed"
    assert by_status["sentiment_error"]["kind"] == "failed"
    entities_error = by_status["entities_error"]["error"]
    assert "internal error in the entities stage" in entities_error
    assert "secret" not in entities_error
    assert "summarization_complete" in by_status
    assert events[-1]["status"] == "completed"


async def test_a_short_text_skips_the_summary_as_in_the_seed():
    async with (
        http_server(word_analyzers()) as srv,
        srv.session.post(
            f"{srv.url}/process-stream", json={"text": "I love this phone."}
        ) as response,
    ):
        events = await read_all(response)
    names = statuses(events)
    assert "summarization_processing" not in names
    [skipped] = [event for event in events if event["status"] == "summarization_skipped"]
    assert "100" in skipped["reason"]
    assert names[-1] == "completed"


async def test_batch_answers_the_seeds_shape_at_once():
    async with http_server(word_analyzers()) as srv:
        body = {"text": REVIEW, "include_entities": True}
        async with srv.session.post(f"{srv.url}/process-batch", json=body) as response:
            assert response.status == 200
            result = await response.json()
        async with srv.session.post(
            f"{srv.url}/process-batch",
            json={"text": "I love this phone.", "include_sentiment": False},
        ) as response:
            short = await response.json()

    assert result["sentiment"]["label"] in {"NEGATIVE", "NEUTRAL", "POSITIVE"}
    assert 0 < result["sentiment"]["confidence"] <= 1
    assert result["summary"].startswith("I love this phone.")
    assert {"text", "label"} <= set(result["entities"][0])
    assert result["processing_time"] > 0
    assert result["errors"] == []
    # As in the seed, stages that did not run leave their keys out.
    assert "sentiment" not in short
    assert "summary" not in short
    assert "entities" not in short
    assert short["skipped"][0]["stage"] == "summarization"


async def test_generate_stream_sends_text_as_it_is_generated():
    prompt = "Once upon a time there was a phone that never broke."
    async with http_server(word_analyzers(generator=EchoGenerator())) as srv:
        async with srv.session.post(
            f"{srv.url}/generate-stream", json={"prompt": prompt}
        ) as response:
            assert response.status == 200
            assert response.content_type == "text/plain"
            pieces = [chunk.decode() async for chunk in response.content.iter_any()]
        async with srv.session.post(
            f"{srv.url}/generate-stream",
            json={"prompt": prompt, "max_new_tokens": 3, "stop": ["never"]},
        ) as response:
            capped = await response.text()
        async with srv.session.post(
            f"{srv.url}/generate-stream", json={"prompt": prompt, "stop": ["phone"]}
        ) as response:
            stopped = await response.text()
    assert "".join(pieces) == prompt
    assert capped == "Once upon a"
    assert stopped == "Once upon a time there was a "


async def test_generate_without_a_generator_is_501_with_advice():
    async with http_server(word_analyzers()) as srv:
        async with srv.session.post(
            f"{srv.url}/generate-stream", json={"prompt": "Hi"}
        ) as response:
            assert response.status == 501
            body = await response.json()
        assert "generator_model" in body["detail"]
        assert body["request_id"] == response.headers["x-request-id"]
        assert srv.calls("http:/generate-stream", "501") == 1


async def test_concurrent_streams_each_get_their_own_events():
    async with http_server(word_analyzers()) as srv:

        async def one(chunk_size: int) -> list[dict]:
            body = {"text": REVIEW, "chunk_size": chunk_size}
            async with srv.session.post(f"{srv.url}/process-stream", json=body) as response:
                return await read_all(response)

        results = await asyncio.gather(*(one(50 + 10 * i) for i in range(8)))
    for index, events in enumerate(results):
        assert events[-1]["status"] == "completed"
        spans = events[2]["spans"]
        assert all(span["end"] - span["start"] <= 50 + 10 * index for span in spans)
