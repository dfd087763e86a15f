"""The interface every analyzer implements, and the bundle the server is given."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from analyzers.types import EntityMention, GenerationEvent, GenerationParams, SentimentScores

if TYPE_CHECKING:
    from analyzers.batcher import MicroBatcher
    from analyzers.decoding.scheduler import DecodeScheduler


class AnalyzerError(Exception):
    """A failure whose message is safe to show a user (no stack trace, no request text).

    `kind` names the cause, as the value of the server's ErrorKind (server/events.py) that
    each transport maps to its status. A plain AnalyzerError is a fault of the model or its
    code ("failed": INTERNAL, HTTP 500); the subclasses below are the causes a client can
    act on. Raise the subclass wherever the cause is known.
    """

    kind: ClassVar[str] = "failed"


class OverloadedError(AnalyzerError):
    """The analyzer's queue is full; the caller should retry later."""

    kind = "overloaded"

    def __init__(self, message: str, retry_after_seconds: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class InputRejectedError(AnalyzerError):
    """The model cannot take this input (over its length limit, say): retrying will not help."""

    kind = "rejected"


class StalledError(AnalyzerError):
    """The model produced nothing for too long and its work was stopped; a later try may do."""

    kind = "stalled"


class BoundedQueue(Protocol):
    """A model's queue of waiting work, which refuses more once full."""

    name: str

    @property
    def full(self) -> bool: ...


@runtime_checkable
class SentimentAnalyzer(Protocol):
    name: str

    async def classify(self, chunk: str) -> SentimentScores:
        """The sentiment of one chunk. Model work runs off the event loop."""
        ...


@runtime_checkable
class Summarizer(Protocol):
    name: str

    def summarize(self, text: str) -> AsyncGenerator[str, None]:
        """Yield the summary in order; "".join of the pieces is the whole summary.

        Closing the iterator early stops the work behind it.
        """
        ...


@runtime_checkable
class EntityRecognizer(Protocol):
    name: str

    async def extract(self, text: str) -> list[EntityMention]:
        """Named entities with character offsets into text."""
        ...


@runtime_checkable
class TextGenerator(Protocol):
    name: str

    def generate(
        self, prompt: str, params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        """Yield GenerationStarted, then GeneratedText pieces, then one GenerationFinished.

        Closing the iterator early stops generation at the next token.
        """
        ...


@dataclass
class Analyzers:
    """Everything the pipeline needs; generator is None when none is configured."""

    sentiment: SentimentAnalyzer
    summarizer: Summarizer
    entities: EntityRecognizer
    generator: TextGenerator | None = None
    # Seconds each model took to load and warm, by model name.
    load_seconds: dict[str, float] = field(default_factory=dict)
    # Reads GPU memory in use by device, when the models run on CUDA; None on CPU.
    gpu_memory: Callable[[], dict[str, int]] | None = None

    def batchers(self) -> list[MicroBatcher[Any, Any]]:
        """The micro-batchers behind these analyzers, for metrics and tests."""
        parts = (self.sentiment, self.summarizer, self.entities, self.generator)
        return [batcher for part in parts if (batcher := getattr(part, "batcher", None))]

    def schedulers(self) -> list[DecodeScheduler[Any]]:
        """The decoding schedulers of the generative models, for metrics and tests."""
        parts = (self.summarizer, self.generator)
        return [found for part in parts if (found := getattr(part, "scheduler", None))]

    def queues(self, *, generation: bool) -> list[BoundedQueue]:
        """The model queues an analysis call (or a generation call) may wait in."""
        parts = (
            (self.generator,) if generation else (self.sentiment, self.summarizer, self.entities)
        )
        return [
            queue
            for part in parts
            for queue in (getattr(part, "batcher", None), getattr(part, "scheduler", None))
            if queue is not None
        ]

    def close(self) -> None:
        """Release model threads; idempotent."""
        for part in (self.sentiment, self.summarizer, self.entities, self.generator):
            closer = getattr(part, "close", None)
            if callable(closer):
                closer()
