"""A client that leaves an HTTP call stops its model work, exactly as a gRPC cancel does."""

from __future__ import annotations

import asyncio

from tests.doubles import BlockedSummarizer, EchoGenerator, WordListSentiment, word_analyzers
from tests.http_servers import http_server, lines, read_all
from tests.streams import REVIEW, steady, until

LONG = "good words here and there. " * 185  # 4995 characters
CHUNKS = 185  # at chunk_size 50, one sentence per chunk
BODY = {"text": LONG, "chunk_size": 50, "include_summary": False}


async def _completes(srv) -> bool:
    async with srv.session.post(f"{srv.url}/process-stream", json={"text": REVIEW}) as response:
        return (await read_all(response))[-1]["status"] == "completed"


async def test_closing_a_stream_stops_the_sentiment_model():
    sentiment = WordListSentiment(delay=0.02)
    async with http_server(word_analyzers(sentiment=sentiment)) as srv:
        response = await srv.session.post(f"{srv.url}/process-stream", json=BODY)
        stream = lines(response)
        while (await anext(stream))["status"] != "sentiment_progress":
            pass
        response.close()  # drops the connection, as a browser tab that closes

        await until(lambda: srv.state.inflight == 0)
        stopped_at = await steady(lambda: sentiment.processed, quiet=0.3)  # 15 chunks' time
        assert 0 < stopped_at < CHUNKS
        assert srv.calls("http:/process-stream", "CANCELLED") == 1
        assert srv.state.metrics.registry.get_sample_value("textstream_cancelled_total") == 1
        assert await _completes(srv)


async def test_leaving_while_no_event_is_due_still_cancels_the_stage():
    # The summary model is stuck, so nothing is being sent: only the closed connection
    # itself can tell the server that nobody is listening.
    blocked = BlockedSummarizer()
    async with http_server(word_analyzers(summarizer=blocked)) as srv:
        response = await srv.session.post(
            f"{srv.url}/process-stream", json={"text": REVIEW, "include_sentiment": False}
        )
        stream = lines(response)
        while (await anext(stream))["status"] != "summarization_processing":
            pass
        await asyncio.to_thread(blocked.started.wait, 10)
        response.close()
        assert await asyncio.to_thread(blocked.cancelled.wait, 10)
        await until(lambda: srv.state.inflight == 0)
        blocked.release.set()


async def test_leaving_a_batch_stops_its_work_too():
    sentiment = WordListSentiment(delay=0.02)
    async with http_server(word_analyzers(sentiment=sentiment)) as srv:
        request = asyncio.ensure_future(srv.session.post(f"{srv.url}/process-batch", json=BODY))
        await until(lambda: sentiment.processed > 0)  # the work has begun
        request.cancel()  # aiohttp closes the connection of a cancelled request
        await until(lambda: srv.state.inflight == 0)
        stopped_at = await steady(lambda: sentiment.processed, quiet=0.3)  # 15 chunks' time
        assert 0 < stopped_at < CHUNKS
        assert srv.calls("http:/process-batch", "CANCELLED") == 1


async def test_many_abandoned_streams_leave_nothing_behind():
    sentiment = WordListSentiment(delay=0.001)
    async with http_server(word_analyzers(sentiment=sentiment, generator=EchoGenerator())) as srv:

        async def abandon(after: int) -> None:
            response = await srv.session.post(f"{srv.url}/process-stream", json=BODY)
            stream = lines(response)
            for _ in range(after):
                await anext(stream)
            response.close()

        await asyncio.gather(*(abandon(1 + i % 5) for i in range(30)))
        await until(lambda: srv.state.inflight == 0)
        await steady(lambda: sentiment.processed, quiet=0.2)  # 200 chunks' time
        # Most queued chunks of the abandoned streams were dropped, never computed.
        assert sentiment.processed < 30 * CHUNKS / 4
        assert srv.calls("http:/process-stream", "CANCELLED") == 30
        assert await _completes(srv)
