"""Every bound of the contract, at and past its edge, answered before any model runs."""

from __future__ import annotations

import grpc
import pytest
from textstream_client.protos import textstream_pb2 as pb

from tests.doubles import EchoGenerator, WordListSentiment, word_analyzers
from tests.streams import bad_fields, case, rpc_error, stream


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 9}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": " \n\t" * 10}, "text"),
        ({"text": "A fine text to analyse.", "chunk_size": 0}, "chunk_size"),
        ({"text": "A fine text to analyse.", "chunk_size": 49}, "chunk_size"),
        ({"text": "A fine text to analyse.", "chunk_size": 501}, "chunk_size"),
    ],
)
async def test_out_of_bounds_is_invalid_argument(serve, fields, bad_field):
    sentiment = WordListSentiment()
    async with serve(word_analyzers(sentiment=sentiment)) as srv:
        stream_error = await rpc_error(srv.stub.ProcessStream(pb.ProcessRequest(**fields)))
        unary_error = await rpc_error(srv.stub.Process(pb.ProcessRequest(**fields)))
        # The server keeps serving everyone else.
        assert case((await stream(srv.stub, text="Still serving you well."))[-1]) == "completed"
    for error in (stream_error, unary_error):
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert list(bad_fields(error)) == [bad_field]
        assert bad_field in error.details()
    # Only the last, valid request reached a model.
    assert sentiment.processed == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "x" * 10},
        {"text": "y" * 5000},
        {"text": "A fine text to analyse.", "chunk_size": 50},
        {"text": "A fine text to analyse.", "chunk_size": 500},
        # Lengths are code points, not bytes: 10 emoji are 40 UTF-8 bytes.
        {"text": "😀" * 10},
        {"text": "é" * 5000},
    ],
)
async def test_edges_inside_bounds_are_accepted(serve, fields):
    async with serve(word_analyzers()) as srv:
        updates = await stream(srv.stub, **fields)
    assert case(updates[-1]) == "completed"
    assert updates[0].started.text_length == len(fields["text"])


async def test_every_bad_field_is_named(serve):
    async with serve(word_analyzers()) as srv:
        error = await rpc_error(srv.stub.Process(pb.ProcessRequest(text="short", chunk_size=7)))
    fields = bad_fields(error)
    assert set(fields) == {"text", "chunk_size"}
    assert "at least 10" in fields["text"]
    assert "between 50 and 500" in fields["chunk_size"]


async def test_max_text_chars_is_configurable(serve):
    async with serve(word_analyzers(), max_text_chars=20) as srv:
        error = await rpc_error(srv.stub.Process(pb.ProcessRequest(text="x" * 21)))
        ok = await srv.stub.Process(pb.ProcessRequest(text="x" * 20))
    assert "at most 20" in bad_fields(error)["text"]
    assert ok.request_id


async def test_undecodable_utf8_is_invalid_argument(serve):
    # Field 1 (text), wire type 2, 12 bytes that are not UTF-8.
    raw = b"\x0a\x0c" + b"\xff\xfe" * 6
    async with serve(word_analyzers()) as srv:
        method = srv.channel.unary_stream(
            "/textstream.v1.TextProcessor/ProcessStream",
            request_serializer=lambda data: data,
            response_deserializer=pb.StageUpdate.FromString,
        )
        error = await rpc_error(method(raw))
        assert case((await stream(srv.stub, text="Still serving you well."))[-1]) == "completed"
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in error.details()
    assert list(bad_fields(error)) == ["request"]


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 5001}, "prompt"),
        ({"prompt": "Once", "max_new_tokens": 0}, "max_new_tokens"),
        ({"prompt": "Once", "max_new_tokens": 513}, "max_new_tokens"),
        ({"prompt": "Once", "temperature": -0.5}, "temperature"),
        ({"prompt": "Once", "temperature": float("nan")}, "temperature"),
        # Far below any sane temperature, sampling overflows to NaN: refused before it runs.
        ({"prompt": "Once", "temperature": 1e-30}, "temperature"),
        ({"prompt": "Once", "temperature": 0.01}, "temperature"),
        ({"prompt": "Once", "temperature": 5.5}, "temperature"),
        ({"prompt": "Once", "temperature": float("inf")}, "temperature"),
        ({"prompt": "Once", "top_p": 0.0}, "top_p"),
        ({"prompt": "Once", "top_p": 1.5}, "top_p"),
        ({"prompt": "Once", "stop": [""]}, "stop[0]"),
    ],
)
async def test_generation_bounds(serve, fields, bad_field):
    async with serve(word_analyzers()) as srv:
        error = await rpc_error(srv.stub.GenerateStream(pb.GenerateRequest(**fields)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(bad_fields(error)) == [bad_field]


async def test_temperature_and_top_p_bounds_are_named_and_their_edges_accepted(serve):
    async with serve(word_analyzers(generator=EchoGenerator())) as srv:
        error = await rpc_error(
            srv.stub.GenerateStream(pb.GenerateRequest(prompt="Once", temperature=1e-30))
        )
        assert bad_fields(error)["temperature"] == (
            "must be 0 (greedy) or between 0.05 and 5 (got 1e-30)"
        )
        for temperature, top_p in ((0.0, 1.0), (0.05, 1e-6), (1.0, 0.5), (5.0, 1.0)):
            request = pb.GenerateRequest(prompt="Once", temperature=temperature, top_p=top_p)
            updates = [update async for update in srv.stub.GenerateStream(request)]
            assert updates[-1].WhichOneof("update") == "completed", (temperature, top_p)
