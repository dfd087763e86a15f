"""The protocols every analyzer implements, and the bundle of analyzers the server is given."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from analyzers.batcher import MicroBatcher
from analyzers.types import EntityMention, GenerationEvent, GenerationParams, SentimentScores

if TYPE_CHECKING:  # torch is not imported for a type
    from analyzers.cpu import ThreadLayout


class ModelObserver(Protocol):
    """Where model queues report their work (the server's metrics)."""

    def batch_done(self, model: str, size: int, waits: Sequence[float]) -> None:
        """A micro-batch of `size` items started; waits: each item's time in the queue."""
        ...

    def decode_step(self, model: str, rows: int) -> None:
        """One forward pass over `rows` decoding rows, each of which got one token."""
        ...

    def decode_joined(self, model: str, waited_seconds: float) -> None:
        """A decoding row got its first forward pass after waiting waited_seconds."""
        ...

    def decode_rows(self, model: str, rows: int) -> None:
        """A generative model is decoding `rows` rows now."""
        ...


class WorkQueue(Protocol):
    """A model's queue of waiting work (a micro-batcher or a decoding scheduler)."""

    name: str

    @property
    def full(self) -> bool:
        """No room for more work: a call that needs this queue would be refused."""
        ...

    def observe(self, observer: ModelObserver) -> None:
        """Report each batch or decoding step to observer from now on."""
        ...


@runtime_checkable
class Analyzer(Protocol):
    """What every analyzer has: a name, its model's queue, a warm-up and a shutdown."""

    name: str

    @property
    def queue(self) -> WorkQueue | None:
        """The queue its calls wait in (None for an analyzer without one, such as a double)."""
        ...

    def warm(self) -> None:
        """Run one real inference, blocking, so the first call pays no lazy set-up."""
        ...

    def close(self) -> None:
        """Release the model's threads; idempotent."""
        ...


@runtime_checkable
class Sampled(Protocol):
    """An analyzer whose work on one text can run blocking, to measure its CPU time at load.

    Generative models are not: a decoded summary costs seconds where the rest costs
    milliseconds, so their presence alone decides the thread layout.
    """

    def run_sample(self, text: str) -> None:
        """Do what one request asks of this analyzer for text, on the caller's thread."""
        ...


@runtime_checkable
class SentimentAnalyzer(Analyzer, Protocol):
    async def classify(self, chunk: str) -> SentimentScores:
        """The sentiment of one chunk. Model work runs off the event loop."""
        ...


@runtime_checkable
class Summarizer(Analyzer, Protocol):
    def summarize(self, text: str) -> AsyncGenerator[str, None]:
        """Yield the summary in order; "".join of the pieces is the whole summary.

        Closing the iterator early stops the work behind it.
        """
        ...


@runtime_checkable
class EntityRecognizer(Analyzer, Protocol):
    async def extract(self, text: str) -> list[EntityMention]:
        """Named entities with character offsets into text."""
        ...


@runtime_checkable
class TextGenerator(Analyzer, Protocol):
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
    # How torch's threads were laid out on the CPU's cores; None on CUDA.
    layout: ThreadLayout | None = None

    def _parts(self, *, generation: bool | None = None) -> list[Analyzer]:
        """All analyzers; with generation, only those an analysis (False) or generation
        (True) call uses."""
        analysis: list[Analyzer] = [self.sentiment, self.summarizer, self.entities]
        generating: list[Analyzer] = [self.generator] if self.generator is not None else []
        if generation is None:
            return analysis + generating
        return generating if generation else analysis

    def _queues(self, *, generation: bool | None = None) -> list[WorkQueue]:
        return [part.queue for part in self._parts(generation=generation) if part.queue]

    def observe(self, observer: ModelObserver) -> None:
        """Report every model's batches and decoding steps to observer."""
        for queue in self._queues():
            queue.observe(observer)

    def full_queue(self, *, generation: bool) -> str | None:
        """The name of a full queue an analysis call (or a generation call) would wait in.

        Only those queues count: a full generator queue does not refuse analyses, nor a
        full sentiment queue generations.
        """
        return next((q.name for q in self._queues(generation=generation) if q.full), None)

    def batchers(self) -> list[MicroBatcher[Any, Any]]:
        """The micro-batchers behind these analyzers, for tests and benchmarks."""
        return [queue for queue in self._queues() if isinstance(queue, MicroBatcher)]

    def close(self) -> None:
        """Release model threads; idempotent."""
        for part in self._parts():
            part.close()
