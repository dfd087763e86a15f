"""server/rest/convert.py: each domain event to its NDJSON line, offsets in the asked unit."""

from __future__ import annotations

import json
import time
import typing

import pytest

from server.core import events as ev
from server.core.errors import ErrorKind
from server.core.offsets import CODE_POINTS, Offsets, OffsetUnit
from server.rest.convert import STAGE_NAMES, BatchCollector, NdjsonEvents, ndjson_line
from tests.unit import samples as s

UNITS = {
    OffsetUnit.CODE_POINT: (s.SPANS, tuple((e.start, e.end) for e in s.ENTITIES)),
    OffsetUnit.UTF16: (s.SPANS_UTF16, s.ENTITY_SPANS_UTF16),
    OffsetUnit.UTF8: (s.SPANS_UTF8, s.ENTITY_SPANS_UTF8),
}
HAPPY_SCORES = {"NEGATIVE": 0.0, "NEUTRAL": 0.25, "POSITIVE": 0.75}
UNSURE_SCORES = {"NEGATIVE": 0.25, "NEUTRAL": 0.5, "POSITIVE": 0.25}


def line(event: ev.Event, unit: OffsetUnit = OffsetUnit.CODE_POINT) -> dict:
    """The line for event alone, without the sequence and time every line carries."""
    body = NdjsonEvents(time.monotonic(), Offsets(s.TEXT, unit)).convert(event)
    assert body.pop("sequence") == 0
    assert body.pop("elapsed_seconds") >= 0
    return body


def chunk_line(index: int, unit: OffsetUnit) -> dict:
    start, end = UNITS[unit][0][index]
    label, confidence, scores = (
        ("POSITIVE", 0.75, HAPPY_SCORES) if index == 0 else ("NEUTRAL", 0.5, UNSURE_SCORES)
    )
    return {
        "chunk": index + 1,
        "sentiment": label,
        "confidence": confidence,
        "start": start,
        "end": end,
        "scores": scores,
    }


def entity_lines(unit: OffsetUnit, which: range = range(3)) -> list[dict]:
    return [
        {
            "text": s.ENTITIES[i].text,
            "label": s.ENTITIES[i].label,
            "description": s.ENTITIES[i].description,
            "start": UNITS[unit][1][i][0],
            "end": UNITS[unit][1][i][1],
        }
        for i in which
    ]


def test_the_hand_worked_offsets_are_right():
    s.check_by_hand()


def test_stage_names():
    assert [STAGE_NAMES[stage] for stage in ev.Stage] == [
        "chunking",
        "sentiment",
        "summarization",
        "entities",
    ]


def test_started():
    body = line(s.STARTED)
    assert abs(body.pop("timestamp") - time.time()) < 60
    assert body == {
        "status": "started",
        "message": "Beginning text processing...",
        "text_length": 30,
        "request_id": "req-1",
        "stages": ["chunking", "sentiment", "entities"],
    }


@pytest.mark.parametrize(
    ("stage", "status", "message"),
    [
        (ev.Stage.CHUNKING, "chunking", "Splitting text into chunks..."),
        (ev.Stage.SENTIMENT, "sentiment_processing", "Analyzing sentiment..."),
        (ev.Stage.SUMMARY, "summarization_processing", "Generating summary..."),
        (ev.Stage.ENTITIES, "entities_processing", "Extracting entities..."),
    ],
)
def test_stage_started(stage, status, message):
    assert line(ev.StageStarted(stage)) == {"status": status, "message": message}


@pytest.mark.parametrize("unit", list(OffsetUnit))
def test_chunked(unit):
    assert line(s.CHUNKED, unit) == {
        "status": "chunked",
        "message": "Split into 2 chunks",
        "chunks": 2,
        "spans": [{"start": start, "end": end} for start, end in UNITS[unit][0]],
    }


@pytest.mark.parametrize("unit", list(OffsetUnit))
def test_sentiment_progress_numbers_chunks_from_one(unit):
    assert line(s.PROGRESS, unit) == {
        "status": "sentiment_progress",
        "message": "Chunk 2 of 2: NEUTRAL",
        "progress": 1.0,
        "chunk_count": 2,
        "chunk_result": chunk_line(1, unit),
    }


@pytest.mark.parametrize("unit", list(OffsetUnit))
def test_sentiment_complete(unit):
    assert line(s.SENTIMENT, unit) == {
        "status": "sentiment_complete",
        "message": "Overall sentiment: POSITIVE",
        "overall_sentiment": "POSITIVE",
        "confidence": 0.5,
        "scores": {"NEGATIVE": 0.125, "NEUTRAL": 0.375, "POSITIVE": 0.5},
        "chunk_sentiments": [chunk_line(0, unit), chunk_line(1, unit)],
        "positive_chunks": 1,
        "neutral_chunks": 1,
        "negative_chunks": 0,
    }


def test_summary_deltas_accumulate_and_their_message_is_one_line():
    events = NdjsonEvents(time.monotonic(), CODE_POINTS)
    first, second = (events.convert(delta) for delta in s.SUMMARY_DELTAS)
    assert (first["sequence"], second["sequence"]) == (0, 1)
    assert {key: first[key] for key in ("status", "message", "delta", "summary")} == {
        "status": "summarization_progress",
        "message": "Ana loves",
        "delta": "Ana loves\n",
        "summary": "Ana loves\n",
    }
    assert {key: second[key] for key in ("message", "delta", "summary")} == {
        "message": "Zürich.",
        "delta": "  Zürich.",
        "summary": "Ana loves\n  Zürich.",
    }


def test_summary_complete():
    assert line(s.SUMMARY) == {
        "status": "summarization_complete",
        "message": "Summary complete",
        "summary": "Ana loves Zürich.",
        "compression_ratio": 0.5,
    }


@pytest.mark.parametrize("unit", list(OffsetUnit))
def test_entities_complete(unit):
    assert line(s.ENTITIES_DONE, unit) == {
        "status": "entities_complete",
        "message": "Found 3 entities",
        "entities": entity_lines(unit),
        "entity_types": {
            "PERSON": entity_lines(unit, range(1)),
            "GPE": entity_lines(unit, range(1, 3)),
        },
        "total_entities": 3,
    }


def test_stage_skipped():
    assert line(s.SKIPPED) == {
        "status": "summarization_skipped",
        "message": "text shorter than 100 characters",
        "reason": "text shorter than 100 characters",
    }


@pytest.mark.parametrize("kind", list(ErrorKind)[:6])
def test_stage_failed_names_its_stage_and_kind(kind):
    failed = ev.StageFailed(ev.Stage.SENTIMENT, kind, "it broke")
    assert line(failed) == {
        "status": "sentiment_error",
        "message": "it broke",
        "stage": "sentiment",
        "error": "it broke",
        "kind": kind.value,
    }


def test_completed():
    body = line(s.COMPLETED)
    assert abs(body.pop("timestamp") - time.time()) < 60
    assert body == {
        "status": "completed",
        "message": "All processing complete!",
        "total_processing_time": 1.5,
        "stage_times": {"chunking": 0.25, "sentiment": 1.25},
    }


def test_every_event_type_has_a_line_numbered_in_order():
    events = (
        s.STARTED,
        ev.StageStarted(ev.Stage.CHUNKING),
        s.CHUNKED,
        s.PROGRESS,
        s.SENTIMENT,
        *s.SUMMARY_DELTAS,
        s.SUMMARY,
        s.ENTITIES_DONE,
        s.SKIPPED,
        s.FAILED,
        s.COMPLETED,
    )
    assert {type(event) for event in events} == set(typing.get_args(ev.Event))
    converter = NdjsonEvents(time.monotonic() - 10, CODE_POINTS)
    lines = [converter.convert(event) for event in events]
    assert [body["status"] for body in lines] == [
        "started",
        "chunking",
        "chunked",
        "sentiment_progress",
        "sentiment_complete",
        "summarization_progress",
        "summarization_progress",
        "summarization_complete",
        "entities_complete",
        "summarization_skipped",
        "entities_error",
        "completed",
    ]
    assert [body["sequence"] for body in lines] == list(range(len(events)))
    times = [body["elapsed_seconds"] for body in lines]
    assert times[0] >= 10
    assert times == sorted(times)
    # The error line after them takes the next number.
    error = converter.error("stream failed (request id req-1)")
    assert error.pop("elapsed_seconds") >= times[-1]
    assert error == {
        "status": "error",
        "message": "stream failed (request id req-1)",
        "error": "stream failed (request id req-1)",
        "sequence": len(events),
    }


def test_an_unknown_event_is_a_type_error():
    with pytest.raises(TypeError, match="no NDJSON line for str"):
        NdjsonEvents(0, CODE_POINTS).convert("not an event")  # type: ignore[arg-type]


def test_ndjson_line_is_one_compact_utf8_line():
    raw = ndjson_line({"summary": "Zürich\nand 東京", "n": 1})
    assert raw == '{"summary":"Zürich\\nand 東京","n":1}\n'.encode()
    assert raw.count(b"\n") == 1
    assert json.loads(raw) == {"summary": "Zürich\nand 東京", "n": 1}


def test_the_batch_result_folds_the_results_in():
    collector = BatchCollector("req-1", Offsets(s.TEXT, OffsetUnit.UTF16))
    for event in (
        s.STARTED,
        s.CHUNKED,
        s.PROGRESS,
        s.SENTIMENT,
        *s.SUMMARY_DELTAS,
        s.SUMMARY,
        s.ENTITIES_DONE,
        s.SKIPPED,
        s.FAILED,
        s.COMPLETED,
    ):
        collector.add(event)
    assert collector.body == {
        "request_id": "req-1",
        "sentiment": {
            "label": "POSITIVE",
            "confidence": 0.5,
            "scores": {"NEGATIVE": 0.125, "NEUTRAL": 0.375, "POSITIVE": 0.5},
            "positive_chunks": 1,
            "neutral_chunks": 1,
            "negative_chunks": 0,
        },
        "summary": "Ana loves Zürich.",
        "compression_ratio": 0.5,
        "entities": entity_lines(OffsetUnit.UTF16),
        "errors": [
            {"stage": "entities", "error": "text too long for the model", "kind": "rejected"}
        ],
        "skipped": [{"stage": "summarization", "reason": "text shorter than 100 characters"}],
        "processing_time": 1.5,
        "stage_times": {"chunking": 0.25, "sentiment": 1.25},
    }


def test_an_empty_batch_result():
    collector = BatchCollector("req-2", CODE_POINTS)
    assert collector.body == {"request_id": "req-2", "errors": [], "skipped": []}
