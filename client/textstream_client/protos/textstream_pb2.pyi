from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OffsetUnit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFSET_UNIT_UNSPECIFIED: _ClassVar[OffsetUnit]
    OFFSET_UNIT_CODE_POINT: _ClassVar[OffsetUnit]
    OFFSET_UNIT_UTF16: _ClassVar[OffsetUnit]
    OFFSET_UNIT_UTF8: _ClassVar[OffsetUnit]

class Stage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_UNSPECIFIED: _ClassVar[Stage]
    STAGE_CHUNKING: _ClassVar[Stage]
    STAGE_SENTIMENT: _ClassVar[Stage]
    STAGE_SUMMARY: _ClassVar[Stage]
    STAGE_ENTITIES: _ClassVar[Stage]

class SentimentLabel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENTIMENT_LABEL_UNSPECIFIED: _ClassVar[SentimentLabel]
    SENTIMENT_LABEL_NEGATIVE: _ClassVar[SentimentLabel]
    SENTIMENT_LABEL_NEUTRAL: _ClassVar[SentimentLabel]
    SENTIMENT_LABEL_POSITIVE: _ClassVar[SentimentLabel]

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINISH_REASON_UNSPECIFIED: _ClassVar[FinishReason]
    FINISH_REASON_LENGTH: _ClassVar[FinishReason]
    FINISH_REASON_STOP: _ClassVar[FinishReason]
    FINISH_REASON_EOS: _ClassVar[FinishReason]
OFFSET_UNIT_UNSPECIFIED: OffsetUnit
OFFSET_UNIT_CODE_POINT: OffsetUnit
OFFSET_UNIT_UTF16: OffsetUnit
OFFSET_UNIT_UTF8: OffsetUnit
STAGE_UNSPECIFIED: Stage
STAGE_CHUNKING: Stage
STAGE_SENTIMENT: Stage
STAGE_SUMMARY: Stage
STAGE_ENTITIES: Stage
SENTIMENT_LABEL_UNSPECIFIED: SentimentLabel
SENTIMENT_LABEL_NEGATIVE: SentimentLabel
SENTIMENT_LABEL_NEUTRAL: SentimentLabel
SENTIMENT_LABEL_POSITIVE: SentimentLabel
FINISH_REASON_UNSPECIFIED: FinishReason
FINISH_REASON_LENGTH: FinishReason
FINISH_REASON_STOP: FinishReason
FINISH_REASON_EOS: FinishReason

class ProcessRequest(_message.Message):
    __slots__ = ("text", "include_sentiment", "include_summary", "include_entities", "chunk_size", "offset_unit")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ENTITIES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_UNIT_FIELD_NUMBER: _ClassVar[int]
    text: str
    include_sentiment: bool
    include_summary: bool
    include_entities: bool
    chunk_size: int
    offset_unit: OffsetUnit
    def __init__(self, text: _Optional[str] = ..., include_sentiment: _Optional[bool] = ..., include_summary: _Optional[bool] = ..., include_entities: _Optional[bool] = ..., chunk_size: _Optional[int] = ..., offset_unit: _Optional[_Union[OffsetUnit, str]] = ...) -> None: ...

class StageUpdate(_message.Message):
    __slots__ = ("sequence", "elapsed_seconds", "started", "chunked", "stage_started", "sentiment_progress", "sentiment", "summary_delta", "summary", "entities", "stage_skipped", "stage_error", "completed")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    CHUNKED_FIELD_NUMBER: _ClassVar[int]
    STAGE_STARTED_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_DELTA_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    STAGE_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    STAGE_ERROR_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    elapsed_seconds: float
    started: Started
    chunked: Chunked
    stage_started: StageStarted
    sentiment_progress: SentimentProgress
    sentiment: SentimentResult
    summary_delta: SummaryDelta
    summary: SummaryResult
    entities: EntitiesResult
    stage_skipped: StageSkipped
    stage_error: StageError
    completed: Completed
    def __init__(self, sequence: _Optional[int] = ..., elapsed_seconds: _Optional[float] = ..., started: _Optional[_Union[Started, _Mapping]] = ..., chunked: _Optional[_Union[Chunked, _Mapping]] = ..., stage_started: _Optional[_Union[StageStarted, _Mapping]] = ..., sentiment_progress: _Optional[_Union[SentimentProgress, _Mapping]] = ..., sentiment: _Optional[_Union[SentimentResult, _Mapping]] = ..., summary_delta: _Optional[_Union[SummaryDelta, _Mapping]] = ..., summary: _Optional[_Union[SummaryResult, _Mapping]] = ..., entities: _Optional[_Union[EntitiesResult, _Mapping]] = ..., stage_skipped: _Optional[_Union[StageSkipped, _Mapping]] = ..., stage_error: _Optional[_Union[StageError, _Mapping]] = ..., completed: _Optional[_Union[Completed, _Mapping]] = ...) -> None: ...

class Started(_message.Message):
    __slots__ = ("request_id", "text_length", "stages")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    text_length: int
    stages: _containers.RepeatedScalarFieldContainer[Stage]
    def __init__(self, request_id: _Optional[str] = ..., text_length: _Optional[int] = ..., stages: _Optional[_Iterable[_Union[Stage, str]]] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Chunked(_message.Message):
    __slots__ = ("chunk_count", "spans")
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    chunk_count: int
    spans: _containers.RepeatedCompositeFieldContainer[Span]
    def __init__(self, chunk_count: _Optional[int] = ..., spans: _Optional[_Iterable[_Union[Span, _Mapping]]] = ...) -> None: ...

class StageStarted(_message.Message):
    __slots__ = ("stage",)
    STAGE_FIELD_NUMBER: _ClassVar[int]
    stage: Stage
    def __init__(self, stage: _Optional[_Union[Stage, str]] = ...) -> None: ...

class ClassScore(_message.Message):
    __slots__ = ("label", "score")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    label: SentimentLabel
    score: float
    def __init__(self, label: _Optional[_Union[SentimentLabel, str]] = ..., score: _Optional[float] = ...) -> None: ...

class ChunkSentiment(_message.Message):
    __slots__ = ("chunk_index", "label", "confidence", "scores", "span")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    SPAN_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    label: SentimentLabel
    confidence: float
    scores: _containers.RepeatedCompositeFieldContainer[ClassScore]
    span: Span
    def __init__(self, chunk_index: _Optional[int] = ..., label: _Optional[_Union[SentimentLabel, str]] = ..., confidence: _Optional[float] = ..., scores: _Optional[_Iterable[_Union[ClassScore, _Mapping]]] = ..., span: _Optional[_Union[Span, _Mapping]] = ...) -> None: ...

class SentimentProgress(_message.Message):
    __slots__ = ("chunk_index", "chunk_count", "progress", "chunk")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    chunk_count: int
    progress: float
    chunk: ChunkSentiment
    def __init__(self, chunk_index: _Optional[int] = ..., chunk_count: _Optional[int] = ..., progress: _Optional[float] = ..., chunk: _Optional[_Union[ChunkSentiment, _Mapping]] = ...) -> None: ...

class SentimentResult(_message.Message):
    __slots__ = ("label", "confidence", "scores", "chunks", "positive_chunks", "neutral_chunks", "negative_chunks")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    label: SentimentLabel
    confidence: float
    scores: _containers.RepeatedCompositeFieldContainer[ClassScore]
    chunks: _containers.RepeatedCompositeFieldContainer[ChunkSentiment]
    positive_chunks: int
    neutral_chunks: int
    negative_chunks: int
    def __init__(self, label: _Optional[_Union[SentimentLabel, str]] = ..., confidence: _Optional[float] = ..., scores: _Optional[_Iterable[_Union[ClassScore, _Mapping]]] = ..., chunks: _Optional[_Iterable[_Union[ChunkSentiment, _Mapping]]] = ..., positive_chunks: _Optional[int] = ..., neutral_chunks: _Optional[int] = ..., negative_chunks: _Optional[int] = ...) -> None: ...

class SummaryDelta(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class SummaryResult(_message.Message):
    __slots__ = ("text", "compression_ratio")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_RATIO_FIELD_NUMBER: _ClassVar[int]
    text: str
    compression_ratio: float
    def __init__(self, text: _Optional[str] = ..., compression_ratio: _Optional[float] = ...) -> None: ...

class Entity(_message.Message):
    __slots__ = ("text", "label", "description", "start", "end")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    text: str
    label: str
    description: str
    start: int
    end: int
    def __init__(self, text: _Optional[str] = ..., label: _Optional[str] = ..., description: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class EntityList(_message.Message):
    __slots__ = ("entities",)
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    def __init__(self, entities: _Optional[_Iterable[_Union[Entity, _Mapping]]] = ...) -> None: ...

class EntitiesResult(_message.Message):
    __slots__ = ("entities", "by_label", "total")
    class ByLabelEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: EntityList
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[EntityList, _Mapping]] = ...) -> None: ...
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    BY_LABEL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    by_label: _containers.MessageMap[str, EntityList]
    total: int
    def __init__(self, entities: _Optional[_Iterable[_Union[Entity, _Mapping]]] = ..., by_label: _Optional[_Mapping[str, EntityList]] = ..., total: _Optional[int] = ...) -> None: ...

class StageSkipped(_message.Message):
    __slots__ = ("stage", "reason")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    stage: Stage
    reason: str
    def __init__(self, stage: _Optional[_Union[Stage, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class StageError(_message.Message):
    __slots__ = ("stage", "code", "message", "code_name")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CODE_NAME_FIELD_NUMBER: _ClassVar[int]
    stage: Stage
    code: int
    message: str
    code_name: str
    def __init__(self, stage: _Optional[_Union[Stage, str]] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., code_name: _Optional[str] = ...) -> None: ...

class StageTiming(_message.Message):
    __slots__ = ("stage", "seconds")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    stage: Stage
    seconds: float
    def __init__(self, stage: _Optional[_Union[Stage, str]] = ..., seconds: _Optional[float] = ...) -> None: ...

class Completed(_message.Message):
    __slots__ = ("total_seconds", "stage_seconds")
    TOTAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STAGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    total_seconds: float
    stage_seconds: _containers.RepeatedCompositeFieldContainer[StageTiming]
    def __init__(self, total_seconds: _Optional[float] = ..., stage_seconds: _Optional[_Iterable[_Union[StageTiming, _Mapping]]] = ...) -> None: ...

class ProcessResponse(_message.Message):
    __slots__ = ("request_id", "sentiment", "summary", "entities", "errors", "processing_seconds", "skipped", "stage_seconds")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    STAGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    sentiment: SentimentResult
    summary: SummaryResult
    entities: EntitiesResult
    errors: _containers.RepeatedCompositeFieldContainer[StageError]
    processing_seconds: float
    skipped: _containers.RepeatedCompositeFieldContainer[StageSkipped]
    stage_seconds: _containers.RepeatedCompositeFieldContainer[StageTiming]
    def __init__(self, request_id: _Optional[str] = ..., sentiment: _Optional[_Union[SentimentResult, _Mapping]] = ..., summary: _Optional[_Union[SummaryResult, _Mapping]] = ..., entities: _Optional[_Union[EntitiesResult, _Mapping]] = ..., errors: _Optional[_Iterable[_Union[StageError, _Mapping]]] = ..., processing_seconds: _Optional[float] = ..., skipped: _Optional[_Iterable[_Union[StageSkipped, _Mapping]]] = ..., stage_seconds: _Optional[_Iterable[_Union[StageTiming, _Mapping]]] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("prompt", "max_new_tokens", "temperature", "top_p", "seed", "stop")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    max_new_tokens: int
    temperature: float
    top_p: float
    seed: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, prompt: _Optional[str] = ..., max_new_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., seed: _Optional[int] = ..., stop: _Optional[_Iterable[str]] = ...) -> None: ...

class GenerateStarted(_message.Message):
    __slots__ = ("request_id", "model", "prompt_tokens", "max_new_tokens")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    model: str
    prompt_tokens: int
    max_new_tokens: int
    def __init__(self, request_id: _Optional[str] = ..., model: _Optional[str] = ..., prompt_tokens: _Optional[int] = ..., max_new_tokens: _Optional[int] = ...) -> None: ...

class GenerateDelta(_message.Message):
    __slots__ = ("text", "tokens")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    text: str
    tokens: int
    def __init__(self, text: _Optional[str] = ..., tokens: _Optional[int] = ...) -> None: ...

class GenerateCompleted(_message.Message):
    __slots__ = ("finish_reason", "tokens", "tokens_per_second", "total_seconds")
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    finish_reason: FinishReason
    tokens: int
    tokens_per_second: float
    total_seconds: float
    def __init__(self, finish_reason: _Optional[_Union[FinishReason, str]] = ..., tokens: _Optional[int] = ..., tokens_per_second: _Optional[float] = ..., total_seconds: _Optional[float] = ...) -> None: ...

class GenerateUpdate(_message.Message):
    __slots__ = ("sequence", "elapsed_seconds", "started", "delta", "completed")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    elapsed_seconds: float
    started: GenerateStarted
    delta: GenerateDelta
    completed: GenerateCompleted
    def __init__(self, sequence: _Optional[int] = ..., elapsed_seconds: _Optional[float] = ..., started: _Optional[_Union[GenerateStarted, _Mapping]] = ..., delta: _Optional[_Union[GenerateDelta, _Mapping]] = ..., completed: _Optional[_Union[GenerateCompleted, _Mapping]] = ...) -> None: ...

class FeedRequest(_message.Message):
    __slots__ = ("id", "request")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    id: str
    request: ProcessRequest
    def __init__(self, id: _Optional[str] = ..., request: _Optional[_Union[ProcessRequest, _Mapping]] = ...) -> None: ...

class FeedUpdate(_message.Message):
    __slots__ = ("id", "result", "error", "summary")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    id: str
    result: ProcessResponse
    error: _status_pb2.Status
    summary: FeedSummary
    def __init__(self, id: _Optional[str] = ..., result: _Optional[_Union[ProcessResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., summary: _Optional[_Union[FeedSummary, _Mapping]] = ...) -> None: ...

class FeedSummary(_message.Message):
    __slots__ = ("accepted", "finished", "failed")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    finished: int
    failed: int
    def __init__(self, accepted: _Optional[int] = ..., finished: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...
