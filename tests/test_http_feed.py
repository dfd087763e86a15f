"""POST /process-feed through a real server: NDJSON documents in, NDJSON answers as they finish."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from tests.doubles import word_analyzers
from tests.http_servers import http_server, lines, read_all
from tests.streams import REVIEW, until
from tests.test_feed import HELD, GatedSentiment, in_flight

NDJSON = {"Content-Type": "application/x-ndjson"}


def ndjson(*documents: object) -> bytes:
    return b"".join(
        (d if isinstance(d, bytes) else json.dumps(d).encode()) + b"\n" for d in documents
    )


async def test_documents_and_a_bad_line_each_get_their_answer():
    body = ndjson(
        {"id": "a", "text": REVIEW, "include_entities": True},
        b"this line is not json",
        {"id": "short", "text": "too short"},
        {"id": "a", "text": REVIEW},
        {"id": "typed", "text": REVIEW, "chunk_size": "big"},
        {"id": "utf16", "text": REVIEW, "offset_unit": "utf16", "include_summary": False},
    )
    async with (
        http_server(word_analyzers()) as srv,
        srv.session.post(f"{srv.url}/process-feed", data=body, headers=NDJSON) as response,
    ):
        assert response.status == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        answers = await read_all(response)
    assert answers[-1] == {"summary": {"accepted": 6, "finished": 2, "failed": 4}}
    results = {a["id"]: a["result"] for a in answers if "result" in a}
    errors = [a for a in answers if "error" in a]
    assert set(results) == {"a", "utf16"}
    assert results["a"]["entities"]
    assert results["a"]["sentiment"]["label"] in ("POSITIVE", "NEUTRAL", "NEGATIVE")
    assert "summary" not in results["utf16"]
    by_loc = {tuple(e["error"]["detail"][0]["loc"]): e for e in errors}
    assert set(by_loc) == {
        ("body", "line", 2),
        ("body", "text"),
        ("body", "id"),
        ("body", "chunk_size"),
    }
    for error in errors:
        assert error["error"]["status"] == 422
        assert error["error"]["request_id"]
    assert by_loc["body", "line", 2]["id"] == ""
    assert by_loc["body", "id"]["id"] == "a"
    assert "unique" in by_loc["body", "id"]["error"]["detail"][0]["msg"]
    assert srv.calls("http:/process-feed", "200") == 1


async def test_answers_stream_while_the_body_is_still_being_sent():
    first_answer = asyncio.Event()

    async def documents() -> AsyncIterator[bytes]:
        yield ndjson({"id": "first", "text": REVIEW})
        # The second document goes only once the first one's answer has arrived.
        await asyncio.wait_for(first_answer.wait(), 10)
        yield ndjson({"id": "second", "text": REVIEW})

    async with (
        http_server(word_analyzers()) as srv,
        srv.session.post(f"{srv.url}/process-feed", data=documents(), headers=NDJSON) as response,
    ):
        answers = []
        async for answer in lines(response):
            answers.append(answer)
            first_answer.set()
    assert [a.get("id") for a in answers] == ["first", "second", None]
    assert answers[-1]["summary"]["finished"] == 2


async def test_a_client_that_leaves_stops_the_feed_in_the_models():
    sentiment = GatedSentiment()
    body = ndjson(
        *({"id": f"d{n}", "text": f"{HELD} is a document that waits."} for n in range(50))
    )
    async with http_server(word_analyzers(sentiment=sentiment), feed_max_in_flight=4) as srv:
        response = await srv.session.post(f"{srv.url}/process-feed", data=body, headers=NDJSON)
        await until(lambda: in_flight(srv) == 4)
        response.close()
        await until(lambda: in_flight(srv) == 0)
        await until(lambda: sentiment.cancelled == 4)
        await until(lambda: srv.calls("http:/process-feed", "CANCELLED") == 1)
        assert srv.state.inflight == 0
