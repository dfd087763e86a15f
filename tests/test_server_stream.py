"""ProcessStream and Process through a real server: sequence, ordering, defaults, failures."""

from __future__ import annotations

import threading

import grpc
from textstream_client.protos import textstream_pb2 as pb

from analyzers.sentiment import VaderSentiment
from analyzers.types import SentimentScores
from tests.doubles import (
    BlockedSummarizer,
    CrashingEntities,
    FailingSentiment,
    word_analyzers,
)
from tests.streams import REVIEW, case, rpc_error, stream


async def test_full_sequence_and_ordering(serve):
    async with serve(word_analyzers()) as srv:
        updates = await stream(srv.stub, text=REVIEW, include_entities=True, chunk_size=60)

    kinds = [case(u) for u in updates]
    assert [u.sequence for u in updates] == list(range(len(updates)))
    elapsed = [u.elapsed_seconds for u in updates]
    assert elapsed == sorted(elapsed)
    assert kinds[:3] == ["started", "stage_started", "chunked"]
    assert updates[1].stage_started.stage == pb.STAGE_CHUNKING
    assert kinds[-1] == "completed"
    assert kinds.count("completed") == 1

    started = updates[0].started
    assert started.text_length == len(REVIEW)
    assert list(started.stages) == [
        pb.STAGE_CHUNKING,
        pb.STAGE_SENTIMENT,
        pb.STAGE_SUMMARY,
        pb.STAGE_ENTITIES,
    ]
    assert len(started.request_id) >= 16

    chunked = updates[2].chunked
    assert chunked.chunk_count == len(chunked.spans) > 1

    # Each stage's own updates are in order: stage_started, its progress, its result.
    def positions(name, stage=None):
        return [
            i
            for i, u in enumerate(updates)
            if case(u) == name and (stage is None or u.stage_started.stage == stage)
        ]

    for stage, progress, result in [
        (pb.STAGE_SENTIMENT, "sentiment_progress", "sentiment"),
        (pb.STAGE_SUMMARY, "summary_delta", "summary"),
        (pb.STAGE_ENTITIES, None, "entities"),
    ]:
        [begin] = positions("stage_started", stage)
        [end] = positions(result)
        assert begin < end
        if progress:
            steps = positions(progress)
            assert steps
            assert all(begin < i < end for i in steps)

    progress = [u.sentiment_progress for u in updates if case(u) == "sentiment_progress"]
    assert [p.chunk_index for p in progress] == list(range(chunked.chunk_count))
    assert progress[-1].progress == 1.0
    assert all(p.chunk_count == chunked.chunk_count for p in progress)
    assert [p.chunk.span for p in progress] == list(chunked.spans)

    sentiment = next(u.sentiment for u in updates if case(u) == "sentiment")
    assert len(sentiment.chunks) == chunked.chunk_count
    assert (
        sentiment.positive_chunks + sentiment.neutral_chunks + sentiment.negative_chunks
        == chunked.chunk_count
    )
    assert abs(sum(s.score for s in sentiment.scores) - 1) < 1e-5

    deltas = "".join(u.summary_delta.text for u in updates if case(u) == "summary_delta")
    summary = next(u.summary for u in updates if case(u) == "summary")
    assert summary.text == deltas
    assert summary.compression_ratio == len(summary.text) / len(REVIEW)

    entities = next(u.entities for u in updates if case(u) == "entities")
    assert entities.total == len(entities.entities) > 0
    for entity in entities.entities:
        assert REVIEW[entity.start : entity.end] == entity.text
    assert {e.text for e in entities.by_label["ORG"].entities} >= {"Acme", "Berlin"}

    completed = updates[-1].completed
    assert {t.stage for t in completed.stage_seconds} == set(started.stages)
    assert completed.total_seconds >= max(t.seconds for t in completed.stage_seconds)


async def test_defaults_when_fields_are_unset(serve):
    async with serve(word_analyzers()) as srv:
        updates = await stream(srv.stub, text=REVIEW)
    started = updates[0].started
    # The seed's defaults: sentiment and summary on, entities off, chunks of 200.
    assert list(started.stages) == [pb.STAGE_CHUNKING, pb.STAGE_SENTIMENT, pb.STAGE_SUMMARY]
    spans = updates[2].chunked.spans
    assert all(s.end - s.start <= 200 for s in spans)
    assert max(s.end - s.start for s in spans) > 100
    assert "entities" not in {case(u) for u in updates}


async def test_explicit_false_is_not_the_default(serve):
    async with serve(word_analyzers()) as srv:
        updates = await stream(
            srv.stub, text=REVIEW, include_sentiment=False, include_summary=False
        )
    assert list(updates[0].started.stages) == [pb.STAGE_CHUNKING]
    assert [case(u) for u in updates] == ["started", "stage_started", "chunked", "completed"]


async def test_short_text_skips_summary(serve):
    text = "Short but good text."
    async with serve(word_analyzers()) as srv:
        updates = await stream(srv.stub, text=text)
    skipped = [u.stage_skipped for u in updates if case(u) == "stage_skipped"]
    assert len(skipped) == 1
    assert skipped[0].stage == pb.STAGE_SUMMARY
    assert "100" in skipped[0].reason
    assert pb.STAGE_SUMMARY not in updates[0].started.stages
    assert case(updates[-1]) == "completed"


async def test_chunks_never_cut_words_that_fit(serve):
    text = ("Streaming services answer every request quickly. " * 12) + "x" * 70 + " tail."
    word = text.index("x")
    async with serve(word_analyzers()) as srv:
        updates = await stream(srv.stub, text=text, chunk_size=50, include_summary=False)
    spans = updates[2].chunked.spans
    for span in spans:
        piece = text[span.start : span.end]
        assert piece == piece.strip()
        assert len(piece) <= 50
        # Words that fit in a chunk are never cut; the 70-character one must be.
        if not word < span.start < word + 70:
            assert span.start == 0 or text[span.start - 1].isspace()
        if not word < span.end < word + 70:
            assert span.end == len(text) or text[span.end].isspace()
    covered = "".join(text[s.start : s.end] for s in spans)
    assert "".join(covered.split()) == "".join(text.split())
    # The long word starts a chunk of its own and fills it, rather than overflowing it.
    assert any((s.start, s.end) == (word, word + 50) for s in spans)


async def test_failing_stage_reports_error_and_others_continue(serve):
    analyzers = word_analyzers(sentiment=FailingSentiment(), entities=CrashingEntities())
    async with serve(analyzers) as srv:
        call = srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW, include_entities=True))
        updates = [u async for u in call]
        assert await call.code() == grpc.StatusCode.OK

    errors = {u.stage_error.stage: u.stage_error for u in updates if case(u) == "stage_error"}
    assert set(errors) == {pb.STAGE_SENTIMENT, pb.STAGE_ENTITIES}
    assert errors[pb.STAGE_SENTIMENT].message == "sentiment model failed"
    assert errors[pb.STAGE_SENTIMENT].code == grpc.StatusCode.INTERNAL.value[0]
    assert errors[pb.STAGE_SENTIMENT].code_name == "INTERNAL"
    # An unexpected exception gives a request id, never its own text.
    crash = errors[pb.STAGE_ENTITIES].message
    assert "secret" not in crash
    assert updates[0].started.request_id in crash
    assert "summary" in {case(u) for u in updates}
    assert case(updates[-1]) == "completed"


async def test_hanging_stage_is_cut_by_stage_timeout(serve):
    blocked = BlockedSummarizer()
    async with serve(word_analyzers(summarizer=blocked), stage_timeout_seconds=0.5) as srv:
        updates = await stream(srv.stub, text=REVIEW)
        blocked.release.set()
    [error] = [u.stage_error for u in updates if case(u) == "stage_error"]
    assert error.stage == pb.STAGE_SUMMARY
    assert error.code_name == "DEADLINE_EXCEEDED"
    assert "sentiment" in {case(u) for u in updates}
    assert case(updates[-1]) == "completed"


class RecordingVader(VaderSentiment):
    """The offline profile's sentiment analyzer, noting the threads its model work runs on."""

    def __init__(self) -> None:
        self.threads: set[threading.Thread] = set()
        super().__init__()

    def _classify_batch(self, chunks: list[str]) -> list[SentimentScores]:
        self.threads.add(threading.current_thread())
        return super()._classify_batch(chunks)


async def test_model_work_runs_off_the_event_loop(serve):
    sentiment = RecordingVader()
    try:
        async with serve(word_analyzers(sentiment=sentiment)) as srv:
            updates = await stream(srv.stub, text=REVIEW, chunk_size=50)
    finally:
        sentiment.close()
    assert len([u for u in updates if case(u) == "sentiment_progress"]) > 1
    # The server runs on this test's event loop, in this thread; the production batcher
    # hands the model work to its own model thread.
    assert sentiment.threads
    assert threading.current_thread() not in sentiment.threads
    assert {thread.name.split("_")[0] for thread in sentiment.threads} == {"model-sentiment-vader"}


async def test_process_returns_the_stream_results_at_once(serve):
    async with serve(word_analyzers()) as srv:
        updates = await stream(srv.stub, text=REVIEW, include_entities=True)
        response = await srv.stub.Process(pb.ProcessRequest(text=REVIEW, include_entities=True))
    streamed = {case(u): u for u in updates}
    assert response.request_id
    assert response.request_id != updates[0].started.request_id
    assert response.sentiment == streamed["sentiment"].sentiment
    assert response.summary == streamed["summary"].summary
    assert response.entities == streamed["entities"].entities
    assert not response.errors
    assert response.processing_seconds > 0
    assert {t.stage for t in response.stage_seconds} == {
        pb.STAGE_CHUNKING,
        pb.STAGE_SENTIMENT,
        pb.STAGE_SUMMARY,
        pb.STAGE_ENTITIES,
    }


async def test_process_reports_stage_errors(serve):
    async with serve(word_analyzers(sentiment=FailingSentiment())) as srv:
        response = await srv.stub.Process(pb.ProcessRequest(text="Short text but ok."))
    assert [e.stage for e in response.errors] == [pb.STAGE_SENTIMENT]
    assert not response.HasField("sentiment")
    assert not response.HasField("summary")
    assert [s.stage for s in response.skipped] == [pb.STAGE_SUMMARY]


async def test_request_id_from_metadata_is_echoed(serve):
    async with serve(word_analyzers()) as srv:
        call = srv.stub.ProcessStream(
            pb.ProcessRequest(text=REVIEW), metadata=(("x-request-id", "trace-42"),)
        )
        first = await call.read()
        initial = await call.initial_metadata()
        call.cancel()
    assert first.started.request_id == "trace-42"
    assert ("x-request-id", "trace-42") in tuple(initial)


async def test_generate_without_generator_is_failed_precondition(serve):
    async with serve(word_analyzers()) as srv:
        error = await rpc_error(srv.stub.GenerateStream(pb.GenerateRequest(prompt="Once upon")))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "generator_model" in error.details()
