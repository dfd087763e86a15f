"""Transport-neutral pipeline: turns a validated request into the stream of domain events."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from opentelemetry import trace

from analyzers.base import Analyzers
from analyzers.errors import AnalyzerError
from analyzers.types import SentimentScores
from server.core.aggregate import overall_sentiment
from server.core.chunking import chunk_spans
from server.core.errors import ErrorKind, error_kind
from server.core.events import (
    AnalysisRequest,
    Chunked,
    ChunkResult,
    Completed,
    EntitiesComplete,
    Event,
    SentimentComplete,
    SentimentProgress,
    Stage,
    StageFailed,
    StageSkipped,
    StageStarted,
    Started,
    SummaryComplete,
    SummaryDelta,
)

log = logging.getLogger(__name__)

StageEvents = Callable[[], AsyncGenerator[Event, None]]


@dataclass(frozen=True, slots=True)
class PipelineLimits:
    stage_timeout_seconds: float
    summary_min_text_chars: int
    stream_buffer_updates: int
    # Sentiment chunks one stream has queued or running at once.
    stream_chunks_in_flight: int


class _StageDone:
    """Marks the end of one stage's events in the merged queue."""


class Pipeline:
    """Runs the requested stages concurrently and merges their events into one stream.

    Each stage's own events stay in order; stages interleave. A stage that fails or times
    out becomes a StageFailed event and the others go on. Closing the stream cancels every
    stage, which cancels their queued model work.
    """

    def __init__(
        self,
        analyzers: Analyzers,
        limits: PipelineLimits,
        on_stage_done: Callable[[Stage, float], None] | None = None,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._analyzers = analyzers
        self._limits = limits
        self._on_stage_done = on_stage_done
        self._tracer = tracer or trace.NoOpTracer()

    async def run(
        self, request: AnalysisRequest, request_id: str, started_at: float
    ) -> AsyncGenerator[Event, None]:
        text = request.text
        summary_too_short = request.include_summary and (
            len(text) <= self._limits.summary_min_text_chars
        )
        stage_runners: dict[Stage, StageEvents] = {}
        spans = chunk_spans(text, request.chunk_size)
        if request.include_sentiment:
            stage_runners[Stage.SENTIMENT] = lambda: self._sentiment(text, spans)
        if request.include_summary and not summary_too_short:
            stage_runners[Stage.SUMMARY] = lambda: self._summary(text)
        if request.include_entities:
            stage_runners[Stage.ENTITIES] = lambda: self._entities(text)

        yield Started(request_id, len(text), (Stage.CHUNKING, *stage_runners))
        # Chunking is pure Python and fast: it is done before the first update, so the
        # first update never waits for a model.
        chunk_started = time.monotonic()
        with self._tracer.start_as_current_span("stage chunking") as span:
            span.set_attribute("textstream.chunks", len(spans))
        yield StageStarted(Stage.CHUNKING)
        yield Chunked(tuple(spans))
        timings: dict[Stage, float] = {}
        self._record(timings, Stage.CHUNKING, chunk_started)
        if summary_too_short:
            yield StageSkipped(
                Stage.SUMMARY,
                f"text is {len(text)} characters; only texts longer than "
                f"{self._limits.summary_min_text_chars} are summarised",
            )

        # Closed here, not when garbage-collected: a call that ends early stops its stage
        # tasks before its slot is freed.
        async with contextlib.aclosing(self._merge(stage_runners, timings, request_id)) as merged:
            async for event in merged:
                yield event
        yield Completed(
            total_seconds=time.monotonic() - started_at,
            stage_seconds=tuple(timings.items()),
        )

    def _record(self, timings: dict[Stage, float], stage: Stage, started: float) -> None:
        timings[stage] = time.monotonic() - started
        if self._on_stage_done is not None:
            self._on_stage_done(stage, timings[stage])

    async def _merge(
        self, runners: dict[Stage, StageEvents], timings: dict[Stage, float], request_id: str
    ) -> AsyncGenerator[Event, None]:
        # Bounded: a client that stops reading pauses its stages instead of growing memory.
        queue: asyncio.Queue[Event | _StageDone] = asyncio.Queue(
            maxsize=self._limits.stream_buffer_updates
        )
        tasks = [
            asyncio.create_task(
                self._drive(stage, runner, queue, timings, request_id), name=f"{stage.value}"
            )
            for stage, runner in runners.items()
        ]
        try:
            remaining = len(tasks)
            while remaining:
                item = await queue.get()
                if isinstance(item, _StageDone):
                    remaining -= 1
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _drive(
        self,
        stage: Stage,
        runner: StageEvents,
        queue: asyncio.Queue[Event | _StageDone],
        timings: dict[Stage, float],
        request_id: str,
    ) -> None:
        started = time.monotonic()
        failure: StageFailed | None = None
        events = runner()
        span = self._tracer.start_span(f"stage {stage.value}")
        try:
            # Stage tasks copy the call's context, so this span is a child of the call's.
            with trace.use_span(span, end_on_exit=False):
                await self._forward(events, queue)
        except TimeoutError:
            failure = StageFailed(
                stage,
                ErrorKind.TIMEOUT,
                f"{stage.value} did not finish within {self._limits.stage_timeout_seconds:g}s",
            )
        except AnalyzerError as error:
            # Overload, rejected input, a stalled model or a fault: the error says which.
            failure = StageFailed(stage, error_kind(error), str(error))
        except Exception as error:
            # A bug: the log gets the type, the client a request id to quote; neither the text.
            log.error(
                "stage failed",
                extra={"request_id": request_id, "stage": stage.value, "error": repr(error)},
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            failure = StageFailed(
                stage,
                ErrorKind.INTERNAL,
                f"internal error in the {stage.value} stage (request id {request_id})",
            )
        finally:
            self._record(timings, stage, started)
            with contextlib.suppress(Exception):
                await events.aclose()
            if failure is not None:
                span.set_status(trace.StatusCode.ERROR, failure.message)
                span.set_attribute("textstream.error_kind", failure.kind.value)
            span.end()
        if failure is not None:
            await queue.put(failure)
        await queue.put(_StageDone())

    async def _forward(
        self, events: AsyncGenerator[Event, None], queue: asyncio.Queue[Event | _StageDone]
    ) -> None:
        """Moves a stage's events to the queue; the stage timeout counts its own work only.

        A reader that stops reading makes queue.put wait: that time is the client's, not the
        model's, so the deadline moves on by as much and a slow reader never gets a
        DEADLINE_EXCEEDED stage_error.
        """
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._limits.stage_timeout_seconds) as deadline:
            async for event in events:
                if not queue.full():
                    # Room in the queue: put does not wait, and moving the deadline (a timer
                    # cancelled and scheduled again) would cost the loop twice per update.
                    queue.put_nowait(event)
                    continue
                paused = loop.time()
                due = deadline.when()
                deadline.reschedule(None)
                await queue.put(event)
                if due is not None:
                    deadline.reschedule(due + (loop.time() - paused))

    async def _sentiment(
        self, text: str, spans: list[tuple[int, int]]
    ) -> AsyncGenerator[Event, None]:
        yield StageStarted(Stage.SENTIMENT)
        classify = self._analyzers.sentiment.classify
        window = self._limits.stream_chunks_in_flight
        # A window of chunks is queued at once, so the batcher can put them in one forward
        # pass (with other streams' chunks); the next chunk is queued only as the oldest one's
        # result is taken. A client that stops reading stalls this generator at its yield,
        # so its stream stops queuing work within a window of chunks. Results stream in
        # chunk order.
        upcoming = iter(spans)
        pending: collections.deque[asyncio.Future[SentimentScores]] = collections.deque()

        def top_up() -> None:
            while len(pending) < window and (span := next(upcoming, None)) is not None:
                pending.append(asyncio.ensure_future(classify(text[span[0] : span[1]])))

        try:
            top_up()
            results: list[ChunkResult] = []
            for index, (start, end) in enumerate(spans):
                scores = await pending[0]
                pending.popleft()
                top_up()
                chunk = ChunkResult(index, start, end, scores)
                results.append(chunk)
                yield SentimentProgress(chunk, len(spans))
            yield SentimentComplete(overall_sentiment(results), tuple(results))
        finally:
            for future in pending:
                future.cancel()
            # Retrieve exceptions of futures that failed after the first failure.
            await asyncio.gather(*pending, return_exceptions=True)

    async def _summary(self, text: str) -> AsyncGenerator[Event, None]:
        yield StageStarted(Stage.SUMMARY)
        pieces: list[str] = []
        stream = self._analyzers.summarizer.summarize(text)
        try:
            async for piece in stream:
                if piece:
                    pieces.append(piece)
                    yield SummaryDelta(piece)
        finally:
            # Stops the model's generation at once when the client has gone.
            await stream.aclose()
        summary = "".join(pieces).strip()
        yield SummaryComplete(summary, len(summary) / len(text))

    async def _entities(self, text: str) -> AsyncGenerator[Event, None]:
        yield StageStarted(Stage.ENTITIES)
        entities = await self._analyzers.entities.extract(text)
        yield EntitiesComplete(tuple(entities))
