"""Offsets in the unit a client asks for (ProcessRequest.offset_unit): code points by default,
UTF-16 code units, UTF-8 bytes; every offset of the response, on both transports.

Offsets itself over arbitrary text, then through a real server: each span and entity, sliced
in the requested unit, is the same text as its code point offsets slice in Python.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textstream_client.protos import textstream_pb2 as pb

from server.core.offsets import CODE_POINTS, Offsets, OffsetUnit
from tests.doubles import word_analyzers
from tests.http_servers import http_server, read_all
from tests.streams import bad_fields, case, rpc_error, stream

# Emoji (2 UTF-16 units, 4 UTF-8 bytes; a skin tone modifier too), accents (1 unit, 2 bytes),
# CJK (1 unit, 3 bytes) and a musical symbol past the BMP, all before or between the entities
# the test double finds (capitalised words that do not start a sentence).
TEXT = (
    "I love this phone 😀🎉 so much. The support at Acme in Berlin was great 👍🏽, "
    "the café near 東京 station was fine, and 𝄞 Globex shipped it to Zürich via Paris. "
    "Overall the Initech case is bad but the Hooli charger is wonderful 💯."
)
UNITS = {
    pb.OFFSET_UNIT_UTF16: "utf-16-le",
    pb.OFFSET_UNIT_UTF8: "utf-8",
}
HTTP_UNITS = {"utf16": "utf-16-le", "utf8": "utf-8"}


def _slice(text: str, encoding: str, start: int, end: int) -> str:
    """text[start:end] where start and end count the code units of encoding."""
    width = 2 if encoding == "utf-16-le" else 1
    return text.encode(encoding)[start * width : end * width].decode(encoding)


def _length(text: str, encoding: str) -> int:
    return len(text.encode(encoding, "surrogatepass")) // (2 if encoding == "utf-16-le" else 1)


# -- Offsets, the one conversion both transports use --------------------------------------


@given(st.text(max_size=300))
def test_offsets_count_utf16_units_and_utf8_bytes(text):
    utf16 = Offsets(text, OffsetUnit.UTF16)
    utf8 = Offsets(text, OffsetUnit.UTF8)
    points = Offsets(text, OffsetUnit.CODE_POINT)
    for offset in range(len(text) + 1):
        assert utf16(offset) == _length(text[:offset], "utf-16-le")
        assert utf8(offset) == _length(text[:offset], "utf-8")
        assert points(offset) == offset == CODE_POINTS(offset)


@given(st.text(min_size=1, max_size=100), st.data())
def test_a_converted_span_slices_the_same_text(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    for unit, encoding in ((OffsetUnit.UTF16, "utf-16-le"), (OffsetUnit.UTF8, "utf-8")):
        converted = Offsets(text, unit).span(start, end)
        sliced = text.encode(encoding, "surrogatepass")
        width = 2 if encoding == "utf-16-le" else 1
        piece = sliced[converted[0] * width : converted[1] * width]
        assert piece.decode(encoding, "surrogatepass") == text[start:end]


def test_offsets_outside_the_text_are_refused():
    offsets = Offsets("a😀b", OffsetUnit.UTF16)
    assert [offsets(i) for i in range(4)] == [0, 1, 3, 4]
    with pytest.raises(ValueError, match="outside the text"):
        offsets(4)
    with pytest.raises(ValueError, match="outside the text"):
        offsets(-1)


# -- gRPC ---------------------------------------------------------------------------------


def _grpc_offsets(updates: list[pb.StageUpdate]) -> dict[str, list[tuple[int, int]]]:
    """Every offset pair of a stream, by where it was found."""
    [chunked] = [u.chunked for u in updates if case(u) == "chunked"]
    [sentiment] = [u.sentiment for u in updates if case(u) == "sentiment"]
    [entities] = [u.entities for u in updates if case(u) == "entities"]
    progress = [u.sentiment_progress.chunk.span for u in updates if case(u) == "sentiment_progress"]
    by_label = sorted(
        (e.start, e.end) for group in entities.by_label.values() for e in group.entities
    )
    return {
        "spans": [(s.start, s.end) for s in chunked.spans],
        "progress": [(s.start, s.end) for s in progress],
        "chunks": [(c.span.start, c.span.end) for c in sentiment.chunks],
        "entities": [(e.start, e.end) for e in entities.entities],
        "by_label": by_label,
    }


async def test_grpc_stream_offsets_in_each_unit(serve):
    async with serve(word_analyzers()) as srv:
        unset = await stream(srv.stub, text=TEXT, include_entities=True, chunk_size=50)
        named = await stream(
            srv.stub,
            text=TEXT,
            include_entities=True,
            chunk_size=50,
            offset_unit=pb.OFFSET_UNIT_CODE_POINT,
        )
        by_unit = {
            unit: await stream(
                srv.stub, text=TEXT, include_entities=True, chunk_size=50, offset_unit=unit
            )
            for unit in UNITS
        }

    points = _grpc_offsets(unset)
    # Unset is code points, as before the field existed, and the same as asking for them.
    assert points == _grpc_offsets(named)
    [entities] = [u.entities for u in unset if case(u) == "entities"]
    names = [e.text for e in entities.entities]
    assert {"Acme", "Berlin", "Globex", "Paris", "Initech", "Hooli"} <= set(names)
    assert [TEXT[start:end] for start, end in points["entities"]] == names
    assert len(points["spans"]) > 3
    assert points["progress"] == points["chunks"] == points["spans"]

    for unit, encoding in UNITS.items():
        converted = _grpc_offsets(by_unit[unit])
        assert converted.keys() == points.keys()
        for where, pairs in converted.items():
            assert len(pairs) == len(points[where]), where
            for (start, end), (cp_start, cp_end) in zip(pairs, points[where], strict=True):
                assert _slice(TEXT, encoding, start, end) == TEXT[cp_start:cp_end], where
        # The emoji before every entity moved its offsets: code points would slice wrongly.
        assert all(a != b for a, b in zip(converted["entities"], points["entities"], strict=True))
        assert converted["spans"][-1][1] == _length(TEXT, encoding)
        # Lengths stay code points whatever the unit.
        [started] = [u.started for u in by_unit[unit] if case(u) == "started"]
        assert started.text_length == len(TEXT)


async def test_grpc_process_offsets_in_utf16(serve):
    async with serve(word_analyzers()) as srv:
        points = await srv.stub.Process(pb.ProcessRequest(text=TEXT, include_entities=True))
        utf16 = await srv.stub.Process(
            pb.ProcessRequest(text=TEXT, include_entities=True, offset_unit=pb.OFFSET_UNIT_UTF16)
        )
    assert [e.text for e in utf16.entities.entities] == [e.text for e in points.entities.entities]
    for entity in utf16.entities.entities:
        assert _slice(TEXT, "utf-16-le", entity.start, entity.end) == entity.text
    for group in utf16.entities.by_label.values():
        for entity in group.entities:
            assert _slice(TEXT, "utf-16-le", entity.start, entity.end) == entity.text
    for chunk, cp_chunk in zip(utf16.sentiment.chunks, points.sentiment.chunks, strict=True):
        piece = _slice(TEXT, "utf-16-le", chunk.span.start, chunk.span.end)
        assert piece == TEXT[cp_chunk.span.start : cp_chunk.span.end]


async def test_grpc_unknown_offset_unit_is_invalid_argument(serve):
    async with serve(word_analyzers()) as srv:
        # An enum number this server does not know (proto3 enums carry any number).
        error = await rpc_error(srv.stub.ProcessStream(pb.ProcessRequest(text=TEXT, offset_unit=9)))
        both = await rpc_error(srv.stub.Process(pb.ProcessRequest(text="short", offset_unit=7)))
    assert error.code().name == "INVALID_ARGUMENT"
    assert "9" in bad_fields(error)["offset_unit"]
    # Named beside the other bad fields, so the client learns every one at once.
    assert set(bad_fields(both)) == {"text", "offset_unit"}


# -- HTTP ---------------------------------------------------------------------------------


def _http_offsets(events: list[dict[str, Any]]) -> dict[str, list[tuple[int, int]]]:
    def pairs(items: list[dict[str, Any]]) -> list[tuple[int, int]]:
        return [(item["start"], item["end"]) for item in items]

    by_status = {event["status"]: event for event in events}
    progress = [e["chunk_result"] for e in events if e["status"] == "sentiment_progress"]
    entities = by_status["entities_complete"]
    return {
        "spans": pairs(by_status["chunked"]["spans"]),
        "progress": pairs(progress),
        "chunks": pairs(by_status["sentiment_complete"]["chunk_sentiments"]),
        "entities": pairs(entities["entities"]),
        "by_label": sorted(
            pairs([e for group in entities["entity_types"].values() for e in group])
        ),
    }


async def test_http_stream_and_batch_offsets_in_each_unit():
    body = {"text": TEXT, "include_entities": True, "chunk_size": 50}
    async with http_server(word_analyzers()) as srv:

        async def process(**extra: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            async with srv.session.post(
                f"{srv.url}/process-stream", json={**body, **extra}
            ) as response:
                assert response.status == 200, await response.text()
                events = await read_all(response)
            async with srv.session.post(
                f"{srv.url}/process-batch", json={**body, **extra}
            ) as response:
                assert response.status == 200, await response.text()
                return events, await response.json()

        unset = await process()
        nulled = await process(offset_unit=None)
        named = await process(offset_unit="code_point")
        by_unit = {unit: await process(offset_unit=unit) for unit in HTTP_UNITS}

    points = _http_offsets(unset[0])
    assert points == _http_offsets(nulled[0]) == _http_offsets(named[0])
    names = [e["text"] for e in unset[1]["entities"]]
    assert [TEXT[start:end] for start, end in points["entities"]] == names
    assert points["progress"] == points["chunks"] == points["spans"]
    for unit, encoding in HTTP_UNITS.items():
        events, batch = by_unit[unit]
        converted = _http_offsets(events)
        for where, pairs in converted.items():
            assert len(pairs) == len(points[where]), where
            for (start, end), (cp_start, cp_end) in zip(pairs, points[where], strict=True):
                assert _slice(TEXT, encoding, start, end) == TEXT[cp_start:cp_end], where
        assert converted["entities"] != points["entities"]
        assert events[0]["text_length"] == len(TEXT)
        assert [e["text"] for e in batch["entities"]] == names
        for entity in batch["entities"]:
            assert _slice(TEXT, encoding, entity["start"], entity["end"]) == entity["text"]


async def test_http_unknown_offset_unit_is_422_naming_it():
    async with http_server(word_analyzers()) as srv:
        for path in ("/process-stream", "/process-batch"):
            body = {"text": TEXT, "offset_unit": "utf-16"}
            async with srv.session.post(f"{srv.url}{path}", json=body) as response:
                assert response.status == 422
                detail = (await response.json())["detail"]
            assert [item["loc"] for item in detail] == [["body", "offset_unit"]]
        async with srv.session.get(f"{srv.url}/openapi.json") as response:
            schema = (await response.json())["components"]["schemas"]["ProcessRequest"]
    unit = schema["properties"]["offset_unit"]
    assert unit["default"] == "code_point"
    assert ["code_point", "utf16", "utf8"] in [
        option.get("enum") for option in unit.get("anyOf", [unit])
    ]
