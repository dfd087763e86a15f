"""Bad HTTP requests: 422 naming every failing field before anything runs, as gRPC does."""

from __future__ import annotations

import pytest

from tests.doubles import EchoGenerator, WordListSentiment, word_analyzers
from tests.http_servers import http_server
from tests.streams import REVIEW


def _fields(body: dict) -> dict[str, str]:
    return {".".join(map(str, item["loc"][1:])): item["msg"] for item in body["detail"]}


@pytest.mark.parametrize("path", ["/process-stream", "/process-batch"])
async def test_out_of_bounds_fields_are_named_in_one_422(path):
    sentiment = WordListSentiment()
    async with http_server(word_analyzers(sentiment=sentiment)) as srv:
        cases = {
            "short": ({"text": "too short", "chunk_size": 10}, {"text", "chunk_size"}),
            "long": ({"text": "x" * 5001, "chunk_size": 501}, {"text", "chunk_size"}),
            "blank": ({"text": " " * 20}, {"text"}),
            "surrogate": ({"text": "half a pair \ud800 here"}, {"text"}),
            "missing": ({"chunk_size": 100}, {"text"}),
            "wrong types": ({"text": 12345678901, "include_sentiment": "maybe"}, None),
        }
        for name, (body, expected) in cases.items():
            async with srv.session.post(f"{srv.url}{path}", json=body) as response:
                assert response.status == 422, name
                fields = _fields(await response.json())
            if expected is not None:
                assert set(fields) == expected, name
        assert "between 50 and 500" in fields.get("chunk_size", "between 50 and 500")

        async with srv.session.post(
            f"{srv.url}{path}", data=b"{not json", headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 422
        assert sentiment.processed == 0
        assert srv.calls(f"http:{path}", "422") == len(cases) + 1
        assert srv.state.inflight == 0


async def test_bounds_come_from_the_settings():
    body = {"text": "x " * 25, "chunk_size": 70}
    async with (
        http_server(
            word_analyzers(), max_text_chars=40, max_chunk_size=60, default_chunk_size=60
        ) as srv,
        srv.session.post(f"{srv.url}/process-stream", json=body) as response,
    ):
        assert response.status == 422
        fields = _fields(await response.json())
    assert fields == {
        "text": "must be at most 40 characters (got 50)",
        "chunk_size": "must be between 50 and 60 characters (got 70)",
    }


async def test_generation_parameters_are_checked_like_grpc():
    async with http_server(word_analyzers(generator=EchoGenerator())) as srv:
        body = {
            "prompt": "",
            "max_new_tokens": 0,
            "temperature": -1,
            "top_p": 1.5,
            "stop": ["", "ok"],
        }
        async with srv.session.post(f"{srv.url}/generate-stream", json=body) as response:
            assert response.status == 422
            fields = _fields(await response.json())
        assert set(fields) == {"prompt", "max_new_tokens", "temperature", "top_p", "stop.0"}
        async with srv.session.post(
            f"{srv.url}/generate-stream", json={"prompt": "Hi", "seed": -1}
        ) as response:
            assert response.status == 422
        async with srv.session.post(
            f"{srv.url}/generate-stream", json={"prompt": REVIEW, "seed": 7}
        ) as response:
            assert response.status == 200
            assert (await response.text()).startswith("I love this phone.")


async def test_temperature_bounds_match_grpc():
    async with http_server(word_analyzers(generator=EchoGenerator())) as srv:
        for temperature in (1e-30, 0.01, 5.5):
            body = {"prompt": "Hi", "temperature": temperature}
            async with srv.session.post(f"{srv.url}/generate-stream", json=body) as response:
                assert response.status == 422, temperature
                fields = _fields(await response.json())
            assert list(fields) == ["temperature"]
            assert "must be 0 (greedy) or between 0.05 and 5" in fields["temperature"]
        for temperature in (0, 0.05, 5):
            body = {"prompt": "Hi", "temperature": temperature, "top_p": 0.9}
            async with srv.session.post(f"{srv.url}/generate-stream", json=body) as response:
                assert response.status == 200, temperature
