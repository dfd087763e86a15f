"""Property tests over request fields and raw request bytes: never INTERNAL, never a dead server."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from tests.doubles import EchoGenerator, word_analyzers
from tests.threaded import threaded_server

ACCEPTABLE = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT}
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Protobuf strings are UTF-8: surrogates cannot be sent by a conforming client (raw bytes below
# cover what a broken one sends).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=6000) | st.sampled_from(
    ["", " " * 20, "\x00" * 30, "😀" * 12, "e\u0301" * 20, "مرحبا بالعالم " * 3, "x" * 5000]
)
optional_bools = st.none() | st.booleans()
optional_sizes = st.none() | st.integers(0, 2**32 - 1)


@pytest.fixture(scope="module")
def channel():
    analyzers = word_analyzers(generator=EchoGenerator())
    with threaded_server(analyzers) as (target, state), grpc.insecure_channel(target) as ch:
        yield ch
        # The server is still alive and serving after everything thrown at it.
        stub = pb_grpc.TextProcessorStub(ch)
        response = stub.Process(pb.ProcessRequest(text="After the fuzzing, a fine day."))
        assert response.sentiment.chunks
        assert state.inflight == 0


def _status(call_result) -> grpc.StatusCode:
    try:
        for _ in call_result:
            pass
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@FUZZ
@given(
    text=texts,
    include_sentiment=optional_bools,
    include_summary=optional_bools,
    include_entities=optional_bools,
    chunk_size=optional_sizes,
)
def test_process_stream_fields(
    channel, text, include_sentiment, include_summary, include_entities, chunk_size
):
    fields = {
        "include_sentiment": include_sentiment,
        "include_summary": include_summary,
        "include_entities": include_entities,
        "chunk_size": chunk_size,
    }
    request = pb.ProcessRequest(text=text, **{k: v for k, v in fields.items() if v is not None})
    stub = pb_grpc.TextProcessorStub(channel)
    updates = []
    try:
        updates = list(stub.ProcessStream(request, timeout=30))
        code = grpc.StatusCode.OK
    except grpc.RpcError as error:
        code = error.code()
    assert code in ACCEPTABLE
    if code == grpc.StatusCode.OK:
        assert updates[-1].WhichOneof("update") == "completed"
        assert updates[0].started.text_length == len(text)
        for span in updates[2].chunked.spans:
            assert 0 <= span.start < span.end <= len(text)


@FUZZ
@given(
    prompt=texts,
    max_new_tokens=optional_sizes,
    temperature=st.none() | st.floats(allow_nan=True, allow_infinity=True, width=32),
    top_p=st.none() | st.floats(allow_nan=True, allow_infinity=True, width=32),
    stop=st.lists(st.text(max_size=80), max_size=10),
)
def test_generate_stream_fields(channel, prompt, max_new_tokens, temperature, top_p, stop):
    fields = {"max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p}
    request = pb.GenerateRequest(
        prompt=prompt, stop=stop, **{k: v for k, v in fields.items() if v is not None}
    )
    stub = pb_grpc.TextProcessorStub(channel)
    assert _status(stub.GenerateStream(request, timeout=30)) in ACCEPTABLE


@FUZZ
@given(raw=st.binary(max_size=600))
def test_raw_request_bytes(channel, raw):
    for method, kind in (
        ("ProcessStream", "stream"),
        ("Process", "unary"),
        ("GenerateStream", "stream"),
    ):
        path = f"/textstream.v1.TextProcessor/{method}"
        identity = {"request_serializer": lambda data: data, "response_deserializer": bytes}
        if kind == "stream":
            code = _status(channel.unary_stream(path, **identity)(raw, timeout=30))
        else:
            try:
                channel.unary_unary(path, **identity)(raw, timeout=30)
                code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                code = error.code()
        assert code in ACCEPTABLE, (method, raw)
