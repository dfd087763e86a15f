"""Plain domain values that analyzers take and return (no protobuf, no torch)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class SentimentLabel(enum.Enum):
    NEGATIVE = "NEGATIVE"
    NEUTRAL = "NEUTRAL"
    POSITIVE = "POSITIVE"


@dataclass(frozen=True, slots=True)
class SentimentScores:
    """The sentiment of one piece of text: the chosen label and every class's probability."""

    label: SentimentLabel
    confidence: float
    # One entry per label, summing to 1.
    scores: dict[SentimentLabel, float]


@dataclass(frozen=True, slots=True)
class EntityMention:
    text: str
    label: str
    description: str
    # Character (code point) offsets into the analysed text, [start, end).
    start: int
    end: int


class FinishReason(enum.Enum):
    LENGTH = "LENGTH"
    STOP = "STOP"
    EOS = "EOS"


@dataclass(frozen=True, slots=True)
class GenerationParams:
    max_new_tokens: int = 64
    # None or 0 means greedy decoding.
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class GenerationStarted:
    model: str
    prompt_tokens: int
    max_new_tokens: int


@dataclass(frozen=True, slots=True)
class GeneratedText:
    """The next piece of generated text and the number of tokens generated so far."""

    text: str
    tokens: int


@dataclass(frozen=True, slots=True)
class GenerationFinished:
    reason: FinishReason
    tokens: int


GenerationEvent = GenerationStarted | GeneratedText | GenerationFinished
