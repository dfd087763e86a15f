"""Domain events over one short text with astral, accented and CJK characters, whose offsets
differ in every unit; shared by the conversion tests of both transports."""

from __future__ import annotations

from analyzers.types import EntityMention, SentimentLabel, SentimentScores
from server.core import events as ev
from server.core.errors import ErrorKind

NEG, NEU, POS = SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL, SentimentLabel.POSITIVE

# 😀 is 2 UTF-16 units and 4 UTF-8 bytes, ü 2 UTF-8 bytes, 東 and 京 3 UTF-8 bytes each.
TEXT = "😀 Ana loves Zürich. 東京 is far."
assert len(TEXT) == 30

# Code point spans, and the same spans in UTF-16 units and UTF-8 bytes, worked out by hand.
SPANS = ((0, 19), (20, 30))
SPANS_UTF16 = ((0, 20), (21, 31))
SPANS_UTF8 = ((0, 23), (24, 38))

# Scores that float32 (ClassScore.score) holds exactly.
HAPPY = SentimentScores(POS, 0.75, {NEG: 0.0, NEU: 0.25, POS: 0.75})
UNSURE = SentimentScores(NEU, 0.5, {NEG: 0.25, NEU: 0.5, POS: 0.25})
CHUNKS = (
    ev.ChunkResult(0, *SPANS[0], HAPPY),
    ev.ChunkResult(1, *SPANS[1], UNSURE),
)
OVERALL = SentimentScores(POS, 0.5, {NEG: 0.125, NEU: 0.375, POS: 0.5})

ENTITIES = (
    EntityMention("Ana", "PERSON", "People, including fictional", 2, 5),
    EntityMention("Zürich", "GPE", "Countries, cities, states", 12, 18),
    EntityMention("東京", "GPE", "Countries, cities, states", 20, 22),
)
ENTITY_SPANS_UTF16 = ((3, 6), (13, 19), (21, 23))
ENTITY_SPANS_UTF8 = ((5, 8), (15, 22), (24, 30))

STARTED = ev.Started("req-1", len(TEXT), (ev.Stage.CHUNKING, ev.Stage.SENTIMENT, ev.Stage.ENTITIES))
CHUNKED = ev.Chunked(SPANS)
PROGRESS = ev.SentimentProgress(CHUNKS[1], 2)
SENTIMENT = ev.SentimentComplete(OVERALL, CHUNKS)
SUMMARY_DELTAS = (ev.SummaryDelta("Ana loves\n"), ev.SummaryDelta("  Zürich."))
SUMMARY = ev.SummaryComplete("Ana loves Zürich.", 0.5)
ENTITIES_DONE = ev.EntitiesComplete(ENTITIES)
SKIPPED = ev.StageSkipped(ev.Stage.SUMMARY, "text shorter than 100 characters")
FAILED = ev.StageFailed(ev.Stage.ENTITIES, ErrorKind.REJECTED, "text too long for the model")
COMPLETED = ev.Completed(1.5, ((ev.Stage.CHUNKING, 0.25), (ev.Stage.SENTIMENT, 1.25)))


def check_by_hand() -> None:
    """The hand-worked spans agree with Python's encoders (run by both conversion tests)."""
    for spans, encoding, width in ((SPANS_UTF16, "utf-16-le", 2), (SPANS_UTF8, "utf-8", 1)):
        encoded = TEXT.encode(encoding)
        for (start, end), (cp_start, cp_end) in zip(spans, SPANS, strict=True):
            assert encoded[start * width : end * width].decode(encoding) == TEXT[cp_start:cp_end]
    for spans, encoding, width in (
        (ENTITY_SPANS_UTF16, "utf-16-le", 2),
        (ENTITY_SPANS_UTF8, "utf-8", 1),
    ):
        encoded = TEXT.encode(encoding)
        for (start, end), entity in zip(spans, ENTITIES, strict=True):
            assert encoded[start * width : end * width].decode(encoding) == entity.text
