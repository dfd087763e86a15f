"""A malformed request is INVALID_ARGUMENT (HTTP 422) before admission and readiness.

A request that can never succeed must not get UNAVAILABLE while models load, nor
RESOURCE_EXHAUSTED under load: clients retry those, in vain. Nor may any header go out first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import grpc
from textstream_client.protos import textstream_pb2 as pb

from server.core.settings import Settings
from server.core.state import ServiceState
from tests.doubles import BlockedSummarizer, EchoGenerator, WordListSentiment, word_analyzers
from tests.http_servers import http_server, lines, read_all
from tests.streams import REVIEW, bad_fields, case, read_rest, rpc_error

# Field 1 (text), length 12, bytes that are not UTF-8.
UNDECODABLE = b"\x0a\x0c" + b"\xff\xfe" * 6


def _malformed(srv) -> dict[str, tuple[Any, str]]:
    """Each malformed call (not yet started), with the field its BadRequest must name."""
    raw = srv.channel.unary_stream(
        "/textstream.v1.TextProcessor/ProcessStream",
        request_serializer=lambda data: data,
        response_deserializer=pb.StageUpdate.FromString,
    )
    return {
        "ProcessStream": (
            lambda: srv.stub.ProcessStream(pb.ProcessRequest(text="x" * 9)),
            "text",
        ),
        "Process": (
            lambda: srv.stub.Process(pb.ProcessRequest(text=REVIEW, chunk_size=0)),
            "chunk_size",
        ),
        "GenerateStream": (
            lambda: srv.stub.GenerateStream(pb.GenerateRequest(prompt="Hi", max_new_tokens=0)),
            "max_new_tokens",
        ),
        "undecodable": (lambda: raw(UNDECODABLE), "request"),
    }


async def _assert_all_invalid(srv) -> None:
    for name, (start, field) in _malformed(srv).items():
        call = start()
        error = await rpc_error(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (name, error.details())
        assert list(bad_fields(error)) == [field], name
        # Refused before any header: the request id comes in the trailers only.
        assert "x-request-id" not in dict(await call.initial_metadata()), name
        assert "x-request-id" in dict(error.trailing_metadata() or ()), name


async def test_malformed_requests_are_invalid_argument_while_models_load(serve):
    state = ServiceState(Settings(host="127.0.0.1", port=0))
    async with serve(None, state=state) as srv:
        await _assert_all_invalid(srv)
        # A valid request is the one that is told to come back.
        loading = await rpc_error(srv.stub.Process(pb.ProcessRequest(text=REVIEW)))
        assert loading.code() == grpc.StatusCode.UNAVAILABLE
        assert "loading" in loading.details()

        await state.set_ready(word_analyzers())
        await state.begin_drain()
        await _assert_all_invalid(srv)
        draining = await rpc_error(srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW)))
        assert draining.code() == grpc.StatusCode.UNAVAILABLE


async def test_malformed_requests_are_invalid_argument_at_the_call_limit(serve):
    blocked = BlockedSummarizer()
    analyzers = word_analyzers(summarizer=blocked, generator=EchoGenerator())
    async with serve(analyzers, max_concurrent_streams=1) as srv:
        held = srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW))
        assert case(await held.read()) == "started"
        await asyncio.to_thread(blocked.started.wait, 10)
        await _assert_all_invalid(srv)
        refused = await rpc_error(srv.stub.Process(pb.ProcessRequest(text=REVIEW)))
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        blocked.release.set()
        assert case((await read_rest(held))[-1]) == "completed"
        assert srv.state.inflight == 0


@dataclass
class FullQueue:
    """A model queue with no room left, as admission sees one."""

    name: str
    full: bool = True

    def observe(self, observer: object) -> None:
        pass


class FullSentiment(WordListSentiment):
    def __init__(self) -> None:
        super().__init__()
        self.queue = FullQueue("sentiment")


class FullGenerator(EchoGenerator):
    def __init__(self) -> None:
        self.queue = FullQueue("generator")


async def test_a_full_queue_refuses_valid_calls_of_its_kind_and_never_malformed_ones(serve):
    async with serve(word_analyzers(sentiment=FullSentiment(), generator=EchoGenerator())) as srv:
        await _assert_all_invalid(srv)
        full = await rpc_error(srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW)))
        assert full.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "sentiment queue is full" in full.details()
        # A full sentiment queue does not refuse generation.
        request = pb.GenerateRequest(prompt="Once upon a time")
        updates = [update async for update in srv.stub.GenerateStream(request)]
        assert updates[-1].WhichOneof("update") == "completed"

    async with serve(word_analyzers(generator=FullGenerator())) as srv:
        await _assert_all_invalid(srv)
        full = await rpc_error(srv.stub.GenerateStream(pb.GenerateRequest(prompt="Once")))
        assert full.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert (await srv.stub.Process(pb.ProcessRequest(text=REVIEW))).request_id


async def _http_status(srv, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with srv.session.post(f"{srv.url}{path}", json=body) as response:
        return response.status, await response.json()


HTTP_MALFORMED = {
    "/process-stream": ({"text": "x" * 9}, "text"),
    "/process-batch": ({"text": REVIEW, "chunk_size": 0}, "chunk_size"),
    "/generate-stream": ({"prompt": "Hi", "max_new_tokens": 0}, "max_new_tokens"),
}


async def _assert_all_unprocessable(srv) -> None:
    for path, (body, field) in HTTP_MALFORMED.items():
        code, answer = await _http_status(srv, path, body)
        assert code == 422, (path, answer)
        assert [item["loc"][-1] for item in answer["detail"]] == [field], path


async def test_http_malformed_requests_are_422_while_loading_and_at_the_limit():
    state = ServiceState(Settings(host="127.0.0.1", port=0, max_concurrent_streams=1))
    blocked = BlockedSummarizer()
    async with http_server(None, state=state) as srv:
        await _assert_all_unprocessable(srv)
        assert (await _http_status(srv, "/process-batch", {"text": REVIEW}))[0] == 503

        await state.set_ready(word_analyzers(summarizer=blocked))
        async with srv.session.post(f"{srv.url}/process-stream", json={"text": REVIEW}) as held:
            assert (await anext(lines(held)))["status"] == "started"
            await _assert_all_unprocessable(srv)
            assert (await _http_status(srv, "/process-batch", {"text": REVIEW}))[0] == 429
            blocked.release.set()
            assert (await read_all(held))[-1]["status"] == "completed"
