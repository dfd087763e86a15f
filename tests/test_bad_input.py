"""The README's table of bad and awkward inputs, each row sent to a real server and checked."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
from textstream_client.protos import textstream_pb2 as pb

from tests.analyzers.conftest import hub_settings
from tests.streams import bad_fields, case, stream

README = Path(__file__).resolve().parent.parent / "README.md"
FINE = "A fine text to analyse."

# Each README row's input, as the request that sends it: (method, fields or raw bytes).
REQUESTS: dict[str, tuple[str, object]] = {
    "empty text": ("ProcessStream", {"text": ""}),
    "text of 9 characters": ("ProcessStream", {"text": "x" * 9}),
    "text of 5001 characters": ("ProcessStream", {"text": "x" * 5001}),
    "whitespace-only text": ("ProcessStream", {"text": " \t\n" * 10}),
    "`chunk_size` 0": ("ProcessStream", {"text": FINE, "chunk_size": 0}),
    "`chunk_size` 49": ("ProcessStream", {"text": FINE, "chunk_size": 49}),
    "`chunk_size` 501": ("ProcessStream", {"text": FINE, "chunk_size": 501}),
    # Field 1 (text), length 12, bytes that are not UTF-8: only a raw client can send it.
    "a string field with bytes that are not UTF-8": ("raw", b"\x0a\x0c" + b"\xff\xfe" * 6),
    "a message over `max_receive_message_bytes`": ("ProcessStream", {"text": "x" * 2**21}),
    "text with NUL bytes": ("ProcessStream", {"text": "Apple\x00 opened in Paris.\x00 Great!"}),
    "text with emoji": ("ProcessStream", {"text": "😀 Apple opened in Paris 🇫🇷, great 😀."}),
    "text with combining marks": ("ProcessStream", {"text": "Zoe\u0301 met Rene\u0301e."}),
    "right-to-left text": ("ProcessStream", {"text": "שלום עולם. مرحبا بالعالم. Good."}),
    "one 5000-character word": ("ProcessStream", {"text": "w" * 5000}),
    "text without spaces (Chinese, Japanese, Thai, a long URL, a run of emoji)": (
        "ProcessStream",
        {
            "text": "今天天气很好，我们去公园散步。" * 8
            + "旅館の料理はとても美味しかったです！" * 6
            + "อากาศในช่วงปลายปีเย็นสบายมากตอนเช้ามีหมอกบางๆลอยอยู่ตามภูเขา" * 4
            + "https://example.com/"
            + "/".join(["path"] * 80)
            + "\U0001f468\u200d\U0001f469\u200d\U0001f467\U0001f1eb\U0001f1f7" * 40,
            "chunk_size": 50,
        },
    ),
    "`max_new_tokens` over the cap": ("GenerateStream", {"prompt": "Hi", "max_new_tokens": 65}),
    "negative `temperature`": ("GenerateStream", {"prompt": "Hi", "temperature": -1.0}),
    "NaN `temperature`": ("GenerateStream", {"prompt": "Hi", "temperature": float("nan")}),
    "tiny positive `temperature` (1e-30)": (
        "GenerateStream",
        {"prompt": "Hi", "temperature": 1e-30},
    ),
    "`temperature` above 5": ("GenerateStream", {"prompt": "Hi", "temperature": 5.5}),
    "`top_p` 0": ("GenerateStream", {"prompt": "Hi", "top_p": 0.0}),
    "`top_p` above 1": ("GenerateStream", {"prompt": "Hi", "top_p": 1.5}),
    # Sent to a server whose models are still loading: validation comes first.
    "requests refused while loading: a malformed one (text of 9 characters)": (
        "loading",
        {"text": "x" * 9},
    ),
    "requests refused while loading: a valid one": ("loading", {"text": FINE}),
}


def readme_rows() -> list[tuple[str, str, str]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- bad-input:start -->")[1].split("<!-- bad-input:end -->")[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows.append((cells[0], cells[1].strip("`"), cells[2].strip("`")))
    return rows


async def _send(srv, method: str, payload: object) -> tuple[grpc.StatusCode, object]:
    if method == "loading":
        call = srv.stub.ProcessStream(pb.ProcessRequest(**payload))
    elif method == "raw":
        call = srv.channel.unary_stream(
            "/textstream.v1.TextProcessor/ProcessStream",
            request_serializer=lambda data: data,
            response_deserializer=pb.StageUpdate.FromString,
        )(payload)
    elif method == "GenerateStream":
        call = srv.stub.GenerateStream(pb.GenerateRequest(**payload))
    else:
        call = srv.stub.ProcessStream(pb.ProcessRequest(**payload, include_entities=True))
    try:
        updates = [update async for update in call]
    except grpc.aio.AioRpcError as error:
        return error.code(), error
    return grpc.StatusCode.OK, updates


async def test_every_readme_row_gets_its_status(serve, hub, offline, tiny_models):
    rows = readme_rows()
    assert {row[0] for row in rows} == set(REQUESTS)
    # Offline models for the analysis rows, the tiny generator so generation rows reach
    # validation against a configured cap (65 is over the tiny profile's cap of 64).
    analyzers = offline.__class__(
        sentiment=offline.sentiment,
        summarizer=offline.summarizer,
        entities=offline.entities,
        generator=hub.generator,
    )
    async with (
        serve(analyzers, models=hub_settings(tiny_models)) as srv,
        serve(None, models=hub_settings(tiny_models)) as loading,
    ):
        for name, status, field in rows:
            method, payload = REQUESTS[name]
            code, result = await _send(loading if method == "loading" else srv, method, payload)
            assert code.name == status, name
            if field:
                assert list(bad_fields(result)) == [field], name
                assert field in result.details()
                assert not re.search(r"Traceback|File \"", result.details())
            elif code == grpc.StatusCode.OK:
                text = payload["text"]
                assert case(result[-1]) == "completed", name
                assert "stage_error" not in {case(u) for u in result}, name
                assert result[0].started.text_length == len(text)
                chunk_size = payload.get("chunk_size", 200)
                for span in next(u.chunked for u in result if case(u) == "chunked").spans:
                    assert 0 < span.end - span.start <= chunk_size, name
                for update in result:
                    if case(update) == "entities":
                        for entity in update.entities.entities:
                            assert text[entity.start : entity.end] == entity.text
        # After all of it, a normal request still succeeds.
        assert case((await stream(srv.stub, text=FINE))[-1]) == "completed"
