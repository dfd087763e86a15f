"""Analyzer failures split by cause, each to a status a client can act on, on both transports.

Input the model cannot take is INVALID_ARGUMENT (HTTP 422), a stalled model UNAVAILABLE
(503), an overloaded one RESOURCE_EXHAUSTED (429); only a real fault is INTERNAL (500).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from textstream_client.protos import textstream_pb2 as pb

from analyzers.base import Analyzers
from analyzers.errors import (
    AnalyzerError,
    InputRejectedError,
    OverloadedError,
    StalledError,
)
from server.core.errors import ErrorKind, error_kind
from server.core.events import Stage, StageFailed
from server.grpc.convert import stage_error_pb
from server.grpc.status import grpc_code_for
from server.rest.errors import http_status_for
from tests.analyzers.tiny import GENERATOR_PROMPT
from tests.doubles import Double, word_analyzers
from tests.http_servers import http_server, read_all
from tests.streams import REVIEW, case, rpc_error, stream

EXPECTED = {
    ErrorKind.FAILED: (grpc.StatusCode.INTERNAL, 500),
    ErrorKind.INTERNAL: (grpc.StatusCode.INTERNAL, 500),
    ErrorKind.TIMEOUT: (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    ErrorKind.OVERLOADED: (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    ErrorKind.REJECTED: (grpc.StatusCode.INVALID_ARGUMENT, 422),
    ErrorKind.STALLED: (grpc.StatusCode.UNAVAILABLE, 503),
    ErrorKind.INVALID: (grpc.StatusCode.INVALID_ARGUMENT, 422),
    ErrorKind.UNAUTHENTICATED: (grpc.StatusCode.UNAUTHENTICATED, 401),
    ErrorKind.NOT_READY: (grpc.StatusCode.UNAVAILABLE, 503),
    ErrorKind.UNSUPPORTED: (grpc.StatusCode.FAILED_PRECONDITION, 501),
}


def test_every_error_kind_has_a_status_on_both_transports() -> None:
    assert set(EXPECTED) == set(ErrorKind)
    for kind, (code, status) in EXPECTED.items():
        assert grpc_code_for(kind) == code, kind
        assert http_status_for(kind) == status, kind
        error = stage_error_pb(StageFailed(Stage.SUMMARY, kind, "it broke"))
        assert (error.code, error.code_name) == (code.value[0], code.name), kind


def _subclasses(cls: type[AnalyzerError]) -> Iterator[type[AnalyzerError]]:
    yield cls
    for subclass in cls.__subclasses__():
        yield from _subclasses(subclass)


def test_every_analyzer_error_names_its_cause() -> None:
    kinds = {cls: error_kind(cls("x")) for cls in _subclasses(AnalyzerError)}
    assert kinds[AnalyzerError] is ErrorKind.FAILED
    assert kinds[OverloadedError] is ErrorKind.OVERLOADED
    assert kinds[InputRejectedError] is ErrorKind.REJECTED
    assert kinds[StalledError] is ErrorKind.STALLED


async def test_text_over_the_entity_models_limit_is_rejected_input(offline, monkeypatch):
    monkeypatch.setattr(offline.entities, "max_length", 50)
    with pytest.raises(InputRejectedError, match="over the 50 the entity model accepts"):
        await offline.entities.extract(REVIEW)


async def test_text_over_the_entity_models_limit_is_a_rejected_stage(offline, monkeypatch):
    monkeypatch.setattr(offline.entities, "max_length", 50)
    analyzers = word_analyzers(entities=offline.entities)
    async with http_server(analyzers) as srv:
        updates = await stream(srv.grpc.stub, text=REVIEW, include_entities=True)
        [failed] = [u.stage_error for u in updates if case(u) == "stage_error"]
        assert failed.stage == pb.STAGE_ENTITIES
        assert failed.code_name == "INVALID_ARGUMENT"
        assert "the entity model accepts" in failed.message
        assert case(updates[-1]) == "completed"

        body = {"text": REVIEW, "include_entities": True}
        async with srv.session.post(f"{srv.url}/process-stream", json=body) as response:
            events = await read_all(response)
        [error] = [event for event in events if event["status"] == "entities_error"]
        assert error["kind"] == "rejected"


async def test_a_stalled_generator_is_unavailable_not_internal(stalling_generator):
    analyzers: Analyzers = word_analyzers(generator=stalling_generator)
    async with http_server(analyzers) as srv:
        error = await rpc_error(
            srv.grpc.stub.GenerateStream(pb.GenerateRequest(prompt=GENERATOR_PROMPT))
        )
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "produced nothing for 0.5 s" in error.details()

        # HTTP has sent its 200 by then: the stream breaks off, and the call counts as 503.
        body = {"prompt": GENERATOR_PROMPT}
        async with srv.session.post(f"{srv.url}/generate-stream", json=body) as response:
            assert response.status == 200
            with pytest.raises(Exception):  # noqa: B017, PT011 - the connection is cut
                await response.read()
        assert srv.calls("http:/generate-stream", "503") == 1
        assert srv.calls("http:/generate-stream", "500") == 0


class _Failing(Double):
    name = "failing-generator"

    def __init__(self, error: AnalyzerError) -> None:
        self.error = error

    async def generate(self, prompt: str, params: Any) -> Any:
        raise self.error
        yield  # an async generator that fails before its first event


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (StalledError("generator produced nothing for 1 s"), grpc.StatusCode.UNAVAILABLE, 503),
        (InputRejectedError("prompt too long for it"), grpc.StatusCode.INVALID_ARGUMENT, 422),
        (AnalyzerError("generator failed: RuntimeError"), grpc.StatusCode.INTERNAL, 500),
    ],
)
async def test_a_call_that_fails_before_its_first_event_gets_the_status_of_its_cause(
    error, code, status
):
    async with http_server(word_analyzers(generator=_Failing(error))) as srv:
        failed = await rpc_error(srv.grpc.stub.GenerateStream(pb.GenerateRequest(prompt="Once")))
        assert failed.code() == code
        assert str(error) in failed.details()
        async with srv.session.post(
            f"{srv.url}/generate-stream", json={"prompt": "Once"}
        ) as response:
            assert response.status == status
            answer = await response.json()
        assert str(error) in str(answer["detail"])
        assert answer["request_id"] == response.headers["x-request-id"]
        if status == 503:
            assert response.headers["retry-after"] == "1"


async def test_a_real_fault_is_still_internal(serve):
    # A plain AnalyzerError is a model's own fault: the stage fails as INTERNAL.
    class Broken(Double):
        name = "broken"

        async def classify(self, chunk: str) -> Any:
            raise AnalyzerError("sentiment failed: RuntimeError")

    async with serve(word_analyzers(sentiment=Broken())) as srv:
        updates = await stream(srv.stub, text=REVIEW)
    [failed] = [u.stage_error for u in updates if case(u) == "stage_error"]
    assert failed.code_name == "INTERNAL"
