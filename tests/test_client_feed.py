"""process_feed of both clients against the real server: results as documents finish."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from textstream_client import FeedResult, SyncTextStreamClient, TextStreamClient
from textstream_client.protos import textstream_pb2 as pb

from tests.doubles import word_analyzers
from tests.streams import REVIEW

SHORT = "A short and happy text."


def by_id(results: list[FeedResult]) -> dict[str, FeedResult]:
    return {result.id: result for result in results}


async def test_async_process_feed_takes_texts_pairs_and_async_iterables(serve):
    async def documents() -> AsyncIterator[str | tuple[str, str]]:
        yield REVIEW
        yield ("named", SHORT)
        yield "too short"

    async with serve(word_analyzers()) as srv, TextStreamClient(srv.target) as client:
        results = client.process_feed(documents(), include_entities=True, chunk_size=60)
        answers = by_id([result async for result in results])
    assert set(answers) == {"0", "named", "2"}
    assert answers["0"].ok
    assert answers["0"].response is not None
    assert answers["0"].response.entities.total > 0
    assert len(answers["0"].response.sentiment.chunks) > 1
    assert answers["2"].code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(answers["2"].field_violations()) == {"request.text"}
    assert results.summary is not None
    assert (results.summary.accepted, results.summary.finished, results.summary.failed) == (3, 2, 1)


async def test_sync_process_feed_yields_a_result_per_document(serve):
    own = pb.FeedRequest(id="own", request=pb.ProcessRequest(text=REVIEW, include_summary=False))

    def feed(target: str) -> tuple[list[FeedResult], pb.FeedSummary | None]:
        with SyncTextStreamClient(target) as client:
            results = client.process_feed([SHORT, ("dup", SHORT), ("dup", SHORT), own])
            with results:
                return list(results), results.summary

    async with serve(word_analyzers()) as srv:
        results, summary = await asyncio.to_thread(feed, srv.target)
    assert [r.id for r in results].count("dup") == 2
    answers = {(r.id, r.ok) for r in results}
    assert answers == {("0", True), ("dup", True), ("dup", False), ("own", True)}
    refused = next(r for r in results if not r.ok)
    assert "unique" in refused.field_violations()["id"]
    own_result = by_id(results)["own"].response
    assert own_result is not None
    assert not own_result.HasField("summary")
    assert summary is not None
    assert summary.accepted == 4
