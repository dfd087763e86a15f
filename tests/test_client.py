"""TextStreamClient (asyncio) and SyncTextStreamClient against the real server and doubles."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from textstream_client import (
    ClientOptions,
    SyncTextStreamClient,
    TextStreamClient,
    field_violations,
)
from textstream_client.protos import textstream_pb2 as pb

from tests.doubles import BlockedSummarizer, EchoGenerator, word_analyzers
from tests.streams import REVIEW, case

DEFAULT_STAGES = [pb.STAGE_CHUNKING, pb.STAGE_SENTIMENT, pb.STAGE_SUMMARY]


async def sync_call(target: str | ClientOptions, use: Callable[[SyncTextStreamClient], Any]) -> Any:
    """Runs the blocking client off the event loop that serves it."""

    def run() -> Any:
        with SyncTextStreamClient(target) as client:
            return use(client)

    return await asyncio.to_thread(run)


async def until(condition: Callable[[], bool]) -> None:
    """Waits for something the server does after the client has moved on."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - server state, no event to wait on
            await asyncio.sleep(0.01)


def assert_complete_stream(updates: list[pb.StageUpdate]) -> None:
    assert [u.sequence for u in updates] == list(range(len(updates)))
    assert case(updates[0]) == "started"
    assert case(updates[-1]) == "completed"
    assert [case(u) for u in updates].count("completed") == 1


async def test_async_process_stream_with_unset_options_gets_server_defaults(serve):
    async with serve(word_analyzers()) as srv, TextStreamClient(srv.target) as client:
        unset = [u async for u in client.process_stream(REVIEW)]
        explicit = [
            u
            async for u in client.process_stream(
                REVIEW,
                include_sentiment=True,
                include_summary=True,
                include_entities=False,
                chunk_size=200,
            )
        ]
    assert_complete_stream(unset)
    assert list(unset[0].started.stages) == DEFAULT_STAGES
    chunked = next(u.chunked for u in unset if case(u) == "chunked")
    assert chunked == next(u.chunked for u in explicit if case(u) == "chunked")
    assert all(span.end - span.start <= 200 for span in chunked.spans)
    assert "entities" not in {case(u) for u in unset}


async def test_sync_process_stream_streams_every_requested_stage(serve):
    async with serve(word_analyzers()) as srv:
        updates = await sync_call(
            srv.target,
            lambda c: list(
                c.process_stream(
                    REVIEW, include_entities=True, include_summary=False, chunk_size=60
                )
            ),
        )
    assert_complete_stream(updates)
    kinds = [case(u) for u in updates]
    assert list(updates[0].started.stages) == [
        pb.STAGE_CHUNKING,
        pb.STAGE_SENTIMENT,
        pb.STAGE_ENTITIES,
    ]
    chunk_count = next(u.chunked.chunk_count for u in updates if case(u) == "chunked")
    assert kinds.count("sentiment_progress") == chunk_count > 1
    entities = next(u.entities for u in updates if case(u) == "entities")
    assert {e.text for e in entities.entities} >= {"Acme", "Berlin"}
    assert "summary" not in kinds


async def test_process_returns_all_results_at_once(serve):
    async with serve(word_analyzers()) as srv:
        async with TextStreamClient(srv.target) as client:
            answer = await client.process(REVIEW, include_entities=True)
        sync_answer = await sync_call(srv.target, lambda c: c.process(REVIEW))
    for response in (answer, sync_answer):
        assert isinstance(response, pb.ProcessResponse)
        assert response.request_id
        assert response.sentiment.chunks
        assert response.summary.text
    assert answer.entities.total >= 2
    assert not sync_answer.HasField("entities")


async def test_generate_stream_both_clients(serve):
    prompt = "one two three four five"
    async with serve(word_analyzers(generator=EchoGenerator())) as srv:
        async with TextStreamClient(srv.target) as client:
            updates = [u async for u in client.generate_stream(prompt, max_new_tokens=3)]
        stopped = await sync_call(
            srv.target, lambda c: list(c.generate_stream(prompt, stop=["four"], seed=7))
        )
    text = "".join(u.delta.text for u in updates if u.HasField("delta"))
    assert text == "one two three"
    assert updates[0].HasField("started")
    assert updates[-1].completed.finish_reason == pb.FINISH_REASON_LENGTH
    assert "".join(u.delta.text for u in stopped if u.HasField("delta")).strip() == (
        "one two three"
    )
    assert stopped[-1].completed.finish_reason == pb.FINISH_REASON_STOP


async def test_health_serving_and_not_serving(serve):
    async with serve(word_analyzers()) as srv, TextStreamClient(srv.target) as client:
        assert await client.health() == "SERVING"
        assert await client.health("textstream.v1.TextProcessor") == "SERVING"
        assert await sync_call(srv.target, lambda c: c.health()) == "SERVING"
    async with serve(None) as loading, TextStreamClient(loading.target) as client:
        assert await client.health() == "NOT_SERVING"
        assert await sync_call(loading.target, lambda c: c.health()) == "NOT_SERVING"


async def test_field_violations_name_every_bad_field(serve):
    async with serve(word_analyzers()) as srv:
        async with TextStreamClient(srv.target) as client:
            with pytest.raises(grpc.RpcError) as unary:
                await client.process("too short", chunk_size=10)
            with pytest.raises(grpc.RpcError) as streamed:
                [u async for u in client.process_stream("   ", chunk_size=10_000)]

        def sync_error(c: SyncTextStreamClient) -> grpc.RpcError:
            with pytest.raises(grpc.RpcError) as raised:
                c.process("too short")
            return raised.value

        blocking = await sync_call(srv.target, sync_error)
    assert unary.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(unary.value)) == {"text", "chunk_size"}
    assert "at least 10" in field_violations(unary.value)["text"]
    assert set(field_violations(streamed.value)) == {"text", "chunk_size"}
    assert blocking.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(blocking)) == {"text"}


async def test_errors_without_details_have_no_violations(serve):
    async with serve(None) as loading, TextStreamClient(loading.target) as client:
        with pytest.raises(grpc.RpcError) as raised:
            await client.process(REVIEW)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert field_violations(raised.value) == {}


async def test_deadline_gives_deadline_exceeded(serve):
    blocked = BlockedSummarizer()
    try:
        async with serve(word_analyzers(summarizer=blocked)) as srv:
            options = ClientOptions(target=srv.target, timeout=0.3)
            async with TextStreamClient(options) as client:
                with pytest.raises(grpc.RpcError) as by_default:
                    await client.process(REVIEW)
                with pytest.raises(grpc.RpcError) as per_call:
                    [u async for u in client.process_stream(REVIEW, timeout=0.2)]

            def blocking(c: SyncTextStreamClient) -> grpc.StatusCode:
                with pytest.raises(grpc.RpcError) as raised:
                    list(c.process_stream(REVIEW, timeout=0.2))
                return raised.value.code()

            sync_code = await sync_call(srv.target, blocking)
    finally:
        blocked.release.set()
    assert blocked.started.is_set()
    assert by_default.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert per_call.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert sync_code == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_metadata_reaches_the_server(serve):
    options = ClientOptions(metadata=(("x-request-id", "from-options"),))
    async with serve(word_analyzers()) as srv:
        async with TextStreamClient(srv.target) as client:
            first = await anext(client.process_stream(REVIEW, metadata={"x-request-id": "abc-1"}))
        async with TextStreamClient(
            ClientOptions(target=srv.target, metadata=options.metadata)
        ) as client:
            response = await client.process(REVIEW)
    assert first.started.request_id == "abc-1"
    assert response.request_id == "from-options"


async def test_leaving_a_stream_early_cancels_it_on_the_server(serve):
    blocked = BlockedSummarizer()
    try:
        async with (
            serve(word_analyzers(summarizer=blocked)) as srv,
            TextStreamClient(srv.target) as client,
        ):
            async with client.process_stream(REVIEW) as updates:
                assert case(await anext(updates)) == "started"
                await asyncio.to_thread(blocked.started.wait, 10)
                assert srv.state.inflight == 1
            await until(lambda: srv.state.inflight == 0)

            def leave_early(c: SyncTextStreamClient) -> str:
                with c.process_stream(REVIEW) as updates:
                    return case(next(updates))

            blocked.started.clear()
            assert await sync_call(srv.target, leave_early) == "started"
            await until(lambda: srv.state.inflight == 0)
    finally:
        blocked.release.set()
    assert blocked.cancelled.is_set()


def test_options_are_checked():
    with pytest.raises(ValueError, match="together"):
        ClientOptions(cert_file="client.pem")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_attempts"):
        ClientOptions(max_attempts=9)
    with pytest.raises(ValueError, match="timeout"):
        ClientOptions(timeout=0)
    assert ClientOptions(ca_file="ca.pem").uses_tls  # type: ignore[arg-type]
    assert not ClientOptions(token="t").uses_tls
