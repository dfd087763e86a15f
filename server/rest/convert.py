"""Domain events to the NDJSON API's JSON shapes: the HTTP transport's one conversion module."""

from __future__ import annotations

import json
import time
from typing import Any

from analyzers.types import EntityMention, SentimentLabel, SentimentScores
from server.core import events as ev
from server.core.offsets import Offsets

Json = dict[str, Any]

# The NDJSON API's name for each stage in its status strings ("summarization_complete", ...).
STAGE_NAMES = {
    ev.Stage.CHUNKING: "chunking",
    ev.Stage.SENTIMENT: "sentiment",
    ev.Stage.SUMMARY: "summarization",
    ev.Stage.ENTITIES: "entities",
}
# Each stage's starting message, for clients that print the lines as they come.
_STARTING = {
    ev.Stage.CHUNKING: "Splitting text into chunks...",
    ev.Stage.SENTIMENT: "Analyzing sentiment...",
    ev.Stage.SUMMARY: "Generating summary...",
    ev.Stage.ENTITIES: "Extracting entities...",
}


def _scores(scores: SentimentScores) -> dict[str, float]:
    return {label.value: value for label, value in scores.scores.items()}


def chunk_json(chunk: ev.ChunkResult, offsets: Offsets) -> Json:
    """A chunk_result (chunk numbered from 1), with the span and class scores."""
    start, end = offsets.span(chunk.start, chunk.end)
    return {
        "chunk": chunk.index + 1,
        "sentiment": chunk.sentiment.label.value,
        "confidence": chunk.sentiment.confidence,
        "start": start,
        "end": end,
        "scores": _scores(chunk.sentiment),
    }


def entity_json(entity: EntityMention, offsets: Offsets) -> Json:
    start, end = offsets.span(entity.start, entity.end)
    return {
        "text": entity.text,
        "label": entity.label,
        "description": entity.description,
        "start": start,
        "end": end,
    }


def _counts(event: ev.SentimentComplete) -> Json:
    return {
        "positive_chunks": event.count(SentimentLabel.POSITIVE),
        "neutral_chunks": event.count(SentimentLabel.NEUTRAL),
        "negative_chunks": event.count(SentimentLabel.NEGATIVE),
    }


def _stage_times(event: ev.Completed) -> dict[str, float]:
    return {STAGE_NAMES[stage]: seconds for stage, seconds in event.stage_seconds}


def _failure(event: ev.StageFailed) -> Json:
    return {"stage": STAGE_NAMES[event.stage], "error": event.message, "kind": event.kind.value}


def ndjson_line(body: Json) -> bytes:
    # One object per line: json.dumps never writes a raw newline (it escapes them in strings).
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


class NdjsonEvents:
    """One stream's events as the NDJSON API's status objects, numbered and timed like StageUpdate,
    their offsets converted by offsets."""

    def __init__(self, started_at: float, offsets: Offsets) -> None:
        self._started_at = started_at
        self._offsets = offsets
        self._sequence = 0
        self._summary = ""

    def convert(self, event: ev.Event) -> Json:
        body = self._body(event)
        body["sequence"] = self._sequence
        body["elapsed_seconds"] = time.monotonic() - self._started_at
        self._sequence += 1
        return body

    def error(self, message: str) -> Json:
        """The last line of a stream that failed after its 200 status was sent."""
        return {
            "status": "error",
            "message": message,
            "error": message,
            "sequence": self._sequence,
            "elapsed_seconds": time.monotonic() - self._started_at,
        }

    def _body(self, event: ev.Event) -> Json:
        match event:
            case ev.Started():
                return {
                    "status": "started",
                    "message": "Beginning text processing...",
                    "timestamp": time.time(),
                    "text_length": event.text_length,
                    "request_id": event.request_id,
                    "stages": [STAGE_NAMES[stage] for stage in event.stages],
                }
            case ev.StageStarted():
                name = STAGE_NAMES[event.stage]
                status = name if event.stage is ev.Stage.CHUNKING else f"{name}_processing"
                return {"status": status, "message": _STARTING[event.stage]}
            case ev.Chunked():
                return {
                    "status": "chunked",
                    "message": f"Split into {len(event.spans)} chunks",
                    "chunks": len(event.spans),
                    "spans": [
                        dict(zip(("start", "end"), self._offsets.span(start, end), strict=True))
                        for start, end in event.spans
                    ],
                }
            case ev.SentimentProgress():
                result = chunk_json(event.chunk, self._offsets)
                return {
                    "status": "sentiment_progress",
                    "message": f"Chunk {result['chunk']} of {event.chunk_count}: "
                    f"{result['sentiment']}",
                    "progress": event.progress,
                    "chunk_count": event.chunk_count,
                    "chunk_result": result,
                }
            case ev.SentimentComplete():
                return {
                    "status": "sentiment_complete",
                    "message": f"Overall sentiment: {event.overall.label.value}",
                    "overall_sentiment": event.overall.label.value,
                    "confidence": event.overall.confidence,
                    "scores": _scores(event.overall),
                    "chunk_sentiments": [
                        chunk_json(chunk, self._offsets) for chunk in event.chunks
                    ],
                    **_counts(event),
                }
            case ev.SummaryDelta():
                self._summary += event.text
                return {
                    "status": "summarization_progress",
                    # One line for clients that print messages; the text keeps its spacing.
                    "message": " ".join(event.text.split()),
                    "delta": event.text,
                    "summary": self._summary,
                }
            case ev.SummaryComplete():
                return {
                    "status": "summarization_complete",
                    "message": "Summary complete",
                    "summary": event.text,
                    "compression_ratio": event.compression_ratio,
                }
            case ev.EntitiesComplete():
                return {
                    "status": "entities_complete",
                    "message": f"Found {len(event.entities)} entities",
                    "entities": [entity_json(entity, self._offsets) for entity in event.entities],
                    "entity_types": {
                        label: [entity_json(entity, self._offsets) for entity in group]
                        for label, group in event.by_label().items()
                    },
                    "total_entities": len(event.entities),
                }
            case ev.StageSkipped():
                return {
                    "status": f"{STAGE_NAMES[event.stage]}_skipped",
                    "message": event.reason,
                    "reason": event.reason,
                }
            case ev.StageFailed():
                return {
                    "status": f"{STAGE_NAMES[event.stage]}_error",
                    "message": event.message,
                    **_failure(event),
                }
            case ev.Completed():
                return {
                    "status": "completed",
                    "message": "All processing complete!",
                    "total_processing_time": event.total_seconds,
                    "timestamp": time.time(),
                    "stage_times": _stage_times(event),
                }
        raise TypeError(f"no NDJSON line for {type(event).__name__}")


class BatchCollector:
    """Folds a stream's events into the /process-batch result, its offsets converted
    by offsets."""

    def __init__(self, request_id: str, offsets: Offsets) -> None:
        self.body: Json = {"request_id": request_id, "errors": [], "skipped": []}
        self._offsets = offsets

    def add(self, event: ev.Event) -> None:
        match event:
            case ev.SentimentComplete():
                self.body["sentiment"] = {
                    "label": event.overall.label.value,
                    "confidence": event.overall.confidence,
                    "scores": _scores(event.overall),
                    **_counts(event),
                }
            case ev.SummaryComplete():
                self.body["summary"] = event.text
                self.body["compression_ratio"] = event.compression_ratio
            case ev.EntitiesComplete():
                self.body["entities"] = [
                    entity_json(entity, self._offsets) for entity in event.entities
                ]
            case ev.StageFailed():
                self.body["errors"].append(_failure(event))
            case ev.StageSkipped():
                self.body["skipped"].append(
                    {"stage": STAGE_NAMES[event.stage], "reason": event.reason}
                )
            case ev.Completed():
                self.body["processing_time"] = event.total_seconds
                self.body["stage_times"] = _stage_times(event)
            case _:
                pass
