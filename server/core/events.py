"""Transport-neutral domain events that the pipeline yields and each transport converts."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from analyzers.types import EntityMention, SentimentLabel, SentimentScores
from server.core.errors import ErrorKind


class Stage(enum.Enum):
    CHUNKING = "chunking"
    SENTIMENT = "sentiment"
    SUMMARY = "summary"
    ENTITIES = "entities"


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """A validated request: text within bounds, defaults applied."""

    text: str
    include_sentiment: bool
    include_summary: bool
    include_entities: bool
    chunk_size: int


@dataclass(frozen=True, slots=True)
class ChunkResult:
    index: int
    start: int
    end: int
    sentiment: SentimentScores


@dataclass(frozen=True, slots=True)
class Started:
    request_id: str
    text_length: int
    stages: tuple[Stage, ...]


@dataclass(frozen=True, slots=True)
class Chunked:
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class StageStarted:
    stage: Stage


@dataclass(frozen=True, slots=True)
class SentimentProgress:
    chunk: ChunkResult
    chunk_count: int

    @property
    def progress(self) -> float:
        return (self.chunk.index + 1) / self.chunk_count


@dataclass(frozen=True, slots=True)
class SentimentComplete:
    overall: SentimentScores
    chunks: tuple[ChunkResult, ...]

    def count(self, label: SentimentLabel) -> int:
        return sum(1 for chunk in self.chunks if chunk.sentiment.label is label)


@dataclass(frozen=True, slots=True)
class SummaryDelta:
    text: str


@dataclass(frozen=True, slots=True)
class SummaryComplete:
    text: str
    compression_ratio: float


@dataclass(frozen=True, slots=True)
class EntitiesComplete:
    entities: tuple[EntityMention, ...]

    def by_label(self) -> dict[str, list[EntityMention]]:
        groups: dict[str, list[EntityMention]] = {}
        for entity in self.entities:
            groups.setdefault(entity.label, []).append(entity)
        return groups


@dataclass(frozen=True, slots=True)
class StageSkipped:
    stage: Stage
    reason: str


@dataclass(frozen=True, slots=True)
class StageFailed:
    stage: Stage
    kind: ErrorKind
    message: str


@dataclass(frozen=True, slots=True)
class Completed:
    total_seconds: float
    stage_seconds: tuple[tuple[Stage, float], ...]


Event = (
    Started
    | Chunked
    | StageStarted
    | SentimentProgress
    | SentimentComplete
    | SummaryDelta
    | SummaryComplete
    | EntitiesComplete
    | StageSkipped
    | StageFailed
    | Completed
)
