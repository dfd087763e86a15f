"""Domain events to protobuf: the gRPC transport's one conversion module."""

from __future__ import annotations

import time

from textstream_client.protos import textstream_pb2 as pb

from analyzers.types import (
    EntityMention,
    FinishReason,
    GeneratedText,
    GenerationEvent,
    GenerationFinished,
    GenerationStarted,
    SentimentLabel,
    SentimentScores,
)
from server.core import events as ev
from server.core.feed import DocumentDone, DocumentFailed, FeedCounts
from server.core.offsets import CODE_POINTS, Offsets, OffsetUnit
from server.grpc.status import grpc_code_for, rpc_status_pb

_STAGES = {
    ev.Stage.CHUNKING: pb.STAGE_CHUNKING,
    ev.Stage.SENTIMENT: pb.STAGE_SENTIMENT,
    ev.Stage.SUMMARY: pb.STAGE_SUMMARY,
    ev.Stage.ENTITIES: pb.STAGE_ENTITIES,
}
_LABELS = {
    SentimentLabel.NEGATIVE: pb.SENTIMENT_LABEL_NEGATIVE,
    SentimentLabel.NEUTRAL: pb.SENTIMENT_LABEL_NEUTRAL,
    SentimentLabel.POSITIVE: pb.SENTIMENT_LABEL_POSITIVE,
}
# OFFSET_UNIT_UNSPECIFIED (a request that does not set the field) means code points.
_OFFSET_UNITS: dict[int, OffsetUnit] = {
    pb.OFFSET_UNIT_UNSPECIFIED: OffsetUnit.CODE_POINT,
    pb.OFFSET_UNIT_CODE_POINT: OffsetUnit.CODE_POINT,
    pb.OFFSET_UNIT_UTF16: OffsetUnit.UTF16,
    pb.OFFSET_UNIT_UTF8: OffsetUnit.UTF8,
}
_FINISH = {
    FinishReason.LENGTH: pb.FINISH_REASON_LENGTH,
    FinishReason.STOP: pb.FINISH_REASON_STOP,
    FinishReason.EOS: pb.FINISH_REASON_EOS,
}


def stage_pb(stage: ev.Stage) -> pb.Stage:
    return _STAGES[stage]


def offset_unit(value: int) -> OffsetUnit | int:
    """The OffsetUnit a request's offset_unit names, or the number itself when it names none
    (validation rejects it)."""
    return _OFFSET_UNITS.get(value, value)


def _span(start: int, end: int, offsets: Offsets) -> pb.Span:
    start, end = offsets.span(start, end)
    return pb.Span(start=start, end=end)


def _scores(scores: SentimentScores) -> list[pb.ClassScore]:
    return [
        pb.ClassScore(label=_LABELS[label], score=value) for label, value in scores.scores.items()
    ]


def chunk_pb(chunk: ev.ChunkResult, offsets: Offsets) -> pb.ChunkSentiment:
    return pb.ChunkSentiment(
        chunk_index=chunk.index,
        label=_LABELS[chunk.sentiment.label],
        confidence=chunk.sentiment.confidence,
        scores=_scores(chunk.sentiment),
        span=_span(chunk.start, chunk.end, offsets),
    )


def sentiment_pb(event: ev.SentimentComplete, offsets: Offsets) -> pb.SentimentResult:
    return pb.SentimentResult(
        label=_LABELS[event.overall.label],
        confidence=event.overall.confidence,
        scores=_scores(event.overall),
        chunks=[chunk_pb(chunk, offsets) for chunk in event.chunks],
        positive_chunks=event.count(SentimentLabel.POSITIVE),
        neutral_chunks=event.count(SentimentLabel.NEUTRAL),
        negative_chunks=event.count(SentimentLabel.NEGATIVE),
    )


def _entity(entity: EntityMention, offsets: Offsets) -> pb.Entity:
    start, end = offsets.span(entity.start, entity.end)
    return pb.Entity(
        text=entity.text,
        label=entity.label,
        description=entity.description,
        start=start,
        end=end,
    )


def entities_pb(event: ev.EntitiesComplete, offsets: Offsets) -> pb.EntitiesResult:
    return pb.EntitiesResult(
        entities=[_entity(entity, offsets) for entity in event.entities],
        by_label={
            label: pb.EntityList(entities=[_entity(entity, offsets) for entity in group])
            for label, group in event.by_label().items()
        },
        total=len(event.entities),
    )


def stage_error_pb(event: ev.StageFailed) -> pb.StageError:
    code = grpc_code_for(event.kind)
    return pb.StageError(
        stage=stage_pb(event.stage),
        code=code.value[0],
        code_name=code.name,
        message=event.message,
    )


def _timings(stage_seconds: tuple[tuple[ev.Stage, float], ...]) -> list[pb.StageTiming]:
    return [pb.StageTiming(stage=stage_pb(stage), seconds=secs) for stage, secs in stage_seconds]


def update_fields(event: ev.Event, offsets: Offsets) -> dict[str, object]:
    """The oneof case of StageUpdate for one event, as constructor keyword arguments, with
    its offsets converted by offsets."""
    match event:
        case ev.Started():
            stages = [stage_pb(stage) for stage in event.stages]
            return {
                "started": pb.Started(
                    request_id=event.request_id, text_length=event.text_length, stages=stages
                )
            }
        case ev.Chunked():
            spans = [_span(start, end, offsets) for start, end in event.spans]
            return {"chunked": pb.Chunked(chunk_count=len(spans), spans=spans)}
        case ev.StageStarted():
            return {"stage_started": pb.StageStarted(stage=stage_pb(event.stage))}
        case ev.SentimentProgress():
            return {
                "sentiment_progress": pb.SentimentProgress(
                    chunk_index=event.chunk.index,
                    chunk_count=event.chunk_count,
                    progress=event.progress,
                    chunk=chunk_pb(event.chunk, offsets),
                )
            }
        case ev.SentimentComplete():
            return {"sentiment": sentiment_pb(event, offsets)}
        case ev.SummaryDelta():
            return {"summary_delta": pb.SummaryDelta(text=event.text)}
        case ev.SummaryComplete():
            return {
                "summary": pb.SummaryResult(
                    text=event.text, compression_ratio=event.compression_ratio
                )
            }
        case ev.EntitiesComplete():
            return {"entities": entities_pb(event, offsets)}
        case ev.StageSkipped():
            return {
                "stage_skipped": pb.StageSkipped(stage=stage_pb(event.stage), reason=event.reason)
            }
        case ev.StageFailed():
            return {"stage_error": stage_error_pb(event)}
        case ev.Completed():
            return {
                "completed": pb.Completed(
                    total_seconds=event.total_seconds,
                    stage_seconds=_timings(event.stage_seconds),
                )
            }
    raise TypeError(f"no StageUpdate for {type(event).__name__}")


class UpdateSequencer:
    """Numbers updates 0, 1, 2, ... and stamps the time since the request arrived; offsets
    converts the offsets of StageUpdates to the request's unit."""

    def __init__(self, started_at: float, offsets: Offsets = CODE_POINTS) -> None:
        self._started_at = started_at
        self._offsets = offsets
        self._next = 0

    def _stamp(self) -> tuple[int, float]:
        sequence, self._next = self._next, self._next + 1
        return sequence, time.monotonic() - self._started_at

    def stage_update(self, event: ev.Event) -> pb.StageUpdate:
        sequence, elapsed = self._stamp()
        fields = update_fields(event, self._offsets)
        return pb.StageUpdate(sequence=sequence, elapsed_seconds=elapsed, **fields)  # type: ignore[arg-type]

    def generate_update(self, event: GenerationEvent, request_id: str) -> pb.GenerateUpdate:
        sequence, elapsed = self._stamp()
        match event:
            case GenerationStarted():
                started = pb.GenerateStarted(
                    request_id=request_id,
                    model=event.model,
                    prompt_tokens=event.prompt_tokens,
                    max_new_tokens=event.max_new_tokens,
                )
                return pb.GenerateUpdate(
                    sequence=sequence, elapsed_seconds=elapsed, started=started
                )
            case GeneratedText():
                delta = pb.GenerateDelta(text=event.text, tokens=event.tokens)
                return pb.GenerateUpdate(sequence=sequence, elapsed_seconds=elapsed, delta=delta)
            case GenerationFinished():
                completed = pb.GenerateCompleted(
                    finish_reason=_FINISH[event.reason],
                    tokens=event.tokens,
                    tokens_per_second=event.tokens / elapsed if elapsed > 0 else 0.0,
                    total_seconds=elapsed,
                )
                return pb.GenerateUpdate(
                    sequence=sequence, elapsed_seconds=elapsed, completed=completed
                )
        raise TypeError(f"no GenerateUpdate for {type(event).__name__}")


class ResponseCollector:
    """Folds a stream's events into the ProcessResponse of the unary Process call, its
    offsets converted by offsets."""

    def __init__(self, request_id: str, offsets: Offsets) -> None:
        self.response = pb.ProcessResponse(request_id=request_id)
        self._offsets = offsets

    def add(self, event: ev.Event) -> None:
        match event:
            case ev.SentimentComplete():
                self.response.sentiment.CopyFrom(sentiment_pb(event, self._offsets))
            case ev.SummaryComplete():
                self.response.summary.text = event.text
                self.response.summary.compression_ratio = event.compression_ratio
            case ev.EntitiesComplete():
                self.response.entities.CopyFrom(entities_pb(event, self._offsets))
            case ev.StageFailed():
                self.response.errors.append(stage_error_pb(event))
            case ev.StageSkipped():
                self.response.skipped.append(
                    pb.StageSkipped(stage=stage_pb(event.stage), reason=event.reason)
                )
            case ev.Completed():
                self.response.processing_seconds = event.total_seconds
                self.response.stage_seconds.extend(_timings(event.stage_seconds))
            case _:
                pass


def feed_update_pb(
    answer: DocumentDone[pb.ProcessResponse] | DocumentFailed | FeedCounts,
) -> pb.FeedUpdate:
    """A feed's answer for one document, or its counts (the summary, with no id)."""
    match answer:
        case DocumentDone():
            return pb.FeedUpdate(id=answer.id, result=answer.result)
        case DocumentFailed():
            return pb.FeedUpdate(id=answer.id, error=rpc_status_pb(answer.failure))
        case FeedCounts():
            summary = pb.FeedSummary(
                accepted=answer.accepted, finished=answer.finished, failed=answer.failed
            )
            return pb.FeedUpdate(summary=summary)
