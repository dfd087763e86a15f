"""server/grpc/convert.py: each domain event to its StageUpdate case, offsets in the asked unit."""

from __future__ import annotations

import time
import typing

import grpc
import pytest
from textstream_client.protos import textstream_pb2 as pb

from analyzers.types import FinishReason, GeneratedText, GenerationFinished, GenerationStarted
from server.core import events as ev
from server.core.errors import ErrorKind
from server.core.offsets import CODE_POINTS, Offsets, OffsetUnit
from server.grpc.convert import (
    ResponseCollector,
    UpdateSequencer,
    offset_unit,
    stage_error_pb,
    stage_pb,
    update_fields,
)
from tests.unit import samples as s

UNITS = {
    OffsetUnit.CODE_POINT: (s.SPANS, tuple((e.start, e.end) for e in s.ENTITIES)),
    OffsetUnit.UTF16: (s.SPANS_UTF16, s.ENTITY_SPANS_UTF16),
    OffsetUnit.UTF8: (s.SPANS_UTF8, s.ENTITY_SPANS_UTF8),
}
LABELS = {
    s.NEG: pb.SENTIMENT_LABEL_NEGATIVE,
    s.NEU: pb.SENTIMENT_LABEL_NEUTRAL,
    s.POS: pb.SENTIMENT_LABEL_POSITIVE,
}


def spans(messages) -> list[tuple[int, int]]:
    return [(m.start, m.end) for m in messages]


def scores(message) -> dict[int, float]:
    return {score.label: score.score for score in message.scores}


def test_the_hand_worked_offsets_are_right():
    s.check_by_hand()


def test_stages():
    assert [stage_pb(stage) for stage in ev.Stage] == [
        pb.STAGE_CHUNKING,
        pb.STAGE_SENTIMENT,
        pb.STAGE_SUMMARY,
        pb.STAGE_ENTITIES,
    ]


def test_offset_units_from_the_wire():
    assert offset_unit(pb.OFFSET_UNIT_UNSPECIFIED) is OffsetUnit.CODE_POINT
    assert offset_unit(pb.OFFSET_UNIT_CODE_POINT) is OffsetUnit.CODE_POINT
    assert offset_unit(pb.OFFSET_UNIT_UTF16) is OffsetUnit.UTF16
    assert offset_unit(pb.OFFSET_UNIT_UTF8) is OffsetUnit.UTF8
    # A number no unit has is handed on, for validation to name.
    assert offset_unit(9) == 9


def test_started():
    assert update_fields(s.STARTED, CODE_POINTS) == {
        "started": pb.Started(
            request_id="req-1",
            text_length=30,
            stages=[pb.STAGE_CHUNKING, pb.STAGE_SENTIMENT, pb.STAGE_ENTITIES],
        )
    }


@pytest.mark.parametrize("unit", list(OffsetUnit))
def test_chunked_spans_in_each_unit(unit):
    [(name, message)] = update_fields(s.CHUNKED, Offsets(s.TEXT, unit)).items()
    assert name == "chunked"
    assert message.chunk_count == 2
    assert spans(message.spans) == list(UNITS[unit][0])


def test_stage_started():
    assert update_fields(ev.StageStarted(ev.Stage.SUMMARY), CODE_POINTS) == {
        "stage_started": pb.StageStarted(stage=pb.STAGE_SUMMARY)
    }


@pytest.mark.parametrize("unit", list(OffsetUnit))
def test_sentiment_progress(unit):
    [(name, message)] = update_fields(s.PROGRESS, Offsets(s.TEXT, unit)).items()
    assert name == "sentiment_progress"
    assert (message.chunk_index, message.chunk_count, message.progress) == (1, 2, 1.0)
    chunk = message.chunk
    assert (chunk.chunk_index, chunk.label, chunk.confidence) == (
        1,
        pb.SENTIMENT_LABEL_NEUTRAL,
        0.5,
    )
    assert scores(chunk) == {LABELS[label]: value for label, value in s.UNSURE.scores.items()}
    assert (chunk.span.start, chunk.span.end) == UNITS[unit][0][1]


def test_progress_of_the_first_chunk():
    progress = ev.SentimentProgress(s.CHUNKS[0], 4)
    assert update_fields(progress, CODE_POINTS)["sentiment_progress"].progress == 0.25  # type: ignore[attr-defined]


@pytest.mark.parametrize("unit", list(OffsetUnit))
def test_sentiment_complete(unit):
    [(name, message)] = update_fields(s.SENTIMENT, Offsets(s.TEXT, unit)).items()
    assert name == "sentiment"
    assert (message.label, message.confidence) == (pb.SENTIMENT_LABEL_POSITIVE, 0.5)
    assert scores(message) == {
        pb.SENTIMENT_LABEL_NEGATIVE: 0.125,
        pb.SENTIMENT_LABEL_NEUTRAL: 0.375,
        pb.SENTIMENT_LABEL_POSITIVE: 0.5,
    }
    assert [chunk.chunk_index for chunk in message.chunks] == [0, 1]
    assert [chunk.label for chunk in message.chunks] == [
        pb.SENTIMENT_LABEL_POSITIVE,
        pb.SENTIMENT_LABEL_NEUTRAL,
    ]
    assert [(c.span.start, c.span.end) for c in message.chunks] == list(UNITS[unit][0])
    counts = (message.positive_chunks, message.neutral_chunks, message.negative_chunks)
    assert counts == (1, 1, 0)


def test_summary_delta_and_result():
    assert update_fields(s.SUMMARY_DELTAS[1], CODE_POINTS) == {
        "summary_delta": pb.SummaryDelta(text="  Zürich.")
    }
    assert update_fields(s.SUMMARY, CODE_POINTS) == {
        "summary": pb.SummaryResult(text="Ana loves Zürich.", compression_ratio=0.5)
    }


@pytest.mark.parametrize("unit", list(OffsetUnit))
def test_entities_in_each_unit(unit):
    [(name, message)] = update_fields(s.ENTITIES_DONE, Offsets(s.TEXT, unit)).items()
    assert name == "entities"
    assert message.total == 3
    assert [e.text for e in message.entities] == ["Ana", "Zürich", "東京"]
    assert [(e.label, e.description) for e in message.entities] == [
        (entity.label, entity.description) for entity in s.ENTITIES
    ]
    assert spans(message.entities) == list(UNITS[unit][1])
    assert {
        label: [e.text for e in group.entities] for label, group in message.by_label.items()
    } == {
        "PERSON": ["Ana"],
        "GPE": ["Zürich", "東京"],
    }
    assert spans(message.by_label["GPE"].entities) == list(UNITS[unit][1][1:])


def test_stage_skipped():
    assert update_fields(s.SKIPPED, CODE_POINTS) == {
        "stage_skipped": pb.StageSkipped(
            stage=pb.STAGE_SUMMARY, reason="text shorter than 100 characters"
        )
    }


def test_stage_failed_carries_its_kinds_grpc_code():
    expected = pb.StageError(
        stage=pb.STAGE_ENTITIES,
        code=grpc.StatusCode.INVALID_ARGUMENT.value[0],
        code_name="INVALID_ARGUMENT",
        message="text too long for the model",
    )
    assert update_fields(s.FAILED, CODE_POINTS) == {"stage_error": expected}
    assert stage_error_pb(s.FAILED) == expected


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (ErrorKind.TIMEOUT, grpc.StatusCode.DEADLINE_EXCEEDED),
        (ErrorKind.OVERLOADED, grpc.StatusCode.RESOURCE_EXHAUSTED),
        (ErrorKind.FAILED, grpc.StatusCode.INTERNAL),
        (ErrorKind.STALLED, grpc.StatusCode.UNAVAILABLE),
    ],
)
def test_stage_error_codes(kind, code):
    error = stage_error_pb(ev.StageFailed(ev.Stage.SUMMARY, kind, "x"))
    assert (error.code, error.code_name) == (code.value[0], code.name)


def test_completed():
    assert update_fields(s.COMPLETED, CODE_POINTS) == {
        "completed": pb.Completed(
            total_seconds=1.5,
            stage_seconds=[
                pb.StageTiming(stage=pb.STAGE_CHUNKING, seconds=0.25),
                pb.StageTiming(stage=pb.STAGE_SENTIMENT, seconds=1.25),
            ],
        )
    }


def test_every_event_type_has_a_case():
    events = (
        s.STARTED,
        s.CHUNKED,
        ev.StageStarted(ev.Stage.CHUNKING),
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
    sequencer = UpdateSequencer(time.monotonic(), Offsets(s.TEXT, OffsetUnit.UTF16))
    updates = [sequencer.stage_update(event) for event in events]
    assert [update.WhichOneof("update") for update in updates] == [
        "started",
        "chunked",
        "stage_started",
        "sentiment_progress",
        "sentiment",
        "summary_delta",
        "summary_delta",
        "summary",
        "entities",
        "stage_skipped",
        "stage_error",
        "completed",
    ]
    assert [update.sequence for update in updates] == list(range(len(events)))
    assert spans(updates[1].chunked.spans) == list(s.SPANS_UTF16)


def test_an_unknown_event_is_a_type_error():
    with pytest.raises(TypeError, match="no StageUpdate for str"):
        update_fields("not an event", CODE_POINTS)  # type: ignore[arg-type]


def test_updates_are_stamped_with_the_time_since_the_request():
    sequencer = UpdateSequencer(time.monotonic() - 10)
    first = sequencer.stage_update(s.SKIPPED)
    second = sequencer.stage_update(s.COMPLETED)
    assert (first.sequence, second.sequence) == (0, 1)
    assert 10 <= first.elapsed_seconds <= second.elapsed_seconds < 70
    # Without offsets, a sequencer's spans stay code points.
    assert spans(UpdateSequencer(0).stage_update(s.CHUNKED).chunked.spans) == list(s.SPANS)


def test_generate_updates():
    sequencer = UpdateSequencer(time.monotonic() - 4)
    started = sequencer.generate_update(GenerationStarted("tiny-gpt", 7, 32), "req-9")
    delta = sequencer.generate_update(GeneratedText(" world", 3), "req-9")
    done = sequencer.generate_update(GenerationFinished(FinishReason.STOP, 8), "req-9")
    assert [u.sequence for u in (started, delta, done)] == [0, 1, 2]
    assert started.started == pb.GenerateStarted(
        request_id="req-9", model="tiny-gpt", prompt_tokens=7, max_new_tokens=32
    )
    assert delta.delta == pb.GenerateDelta(text=" world", tokens=3)
    completed = done.completed
    assert completed.finish_reason == pb.FINISH_REASON_STOP
    assert completed.tokens == 8
    assert completed.total_seconds == done.elapsed_seconds >= 4
    assert completed.tokens_per_second == pytest.approx(8 / completed.total_seconds)
    assert completed.tokens_per_second <= 2


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (FinishReason.LENGTH, pb.FINISH_REASON_LENGTH),
        (FinishReason.STOP, pb.FINISH_REASON_STOP),
        (FinishReason.EOS, pb.FINISH_REASON_EOS),
    ],
)
def test_finish_reasons(reason, expected):
    update = UpdateSequencer(time.monotonic()).generate_update(GenerationFinished(reason, 1), "r")
    assert update.completed.finish_reason == expected


def test_an_unknown_generation_event_is_a_type_error():
    with pytest.raises(TypeError, match="no GenerateUpdate for int"):
        UpdateSequencer(0).generate_update(3, "r")  # type: ignore[arg-type]


def test_the_unary_response_folds_the_results_in():
    collector = ResponseCollector("req-1", Offsets(s.TEXT, OffsetUnit.UTF8))
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
    response = collector.response
    assert response.request_id == "req-1"
    assert response.sentiment.label == pb.SENTIMENT_LABEL_POSITIVE
    assert [(c.span.start, c.span.end) for c in response.sentiment.chunks] == list(s.SPANS_UTF8)
    assert response.summary == pb.SummaryResult(text="Ana loves Zürich.", compression_ratio=0.5)
    assert spans(response.entities.entities) == list(s.ENTITY_SPANS_UTF8)
    assert list(response.errors) == [stage_error_pb(s.FAILED)]
    assert list(response.skipped) == [
        pb.StageSkipped(stage=pb.STAGE_SUMMARY, reason="text shorter than 100 characters")
    ]
    assert response.processing_seconds == 1.5
    assert [(t.stage, t.seconds) for t in response.stage_seconds] == [
        (pb.STAGE_CHUNKING, 0.25),
        (pb.STAGE_SENTIMENT, 1.25),
    ]


def test_an_empty_unary_response_has_no_results():
    collector = ResponseCollector("req-2", CODE_POINTS)
    collector.add(s.COMPLETED)
    response = collector.response
    assert not response.HasField("sentiment")
    assert not response.HasField("summary")
    assert not response.HasField("entities")
