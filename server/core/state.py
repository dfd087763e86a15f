"""The service's lifecycle state: readiness, draining, admission of calls and calls in flight."""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from opentelemetry.sdk.trace import TracerProvider

from analyzers.base import Analyzers
from analyzers.errors import OverloadedError
from server.core.errors import NotReady
from server.core.generation import Generation
from server.core.headroom import Headroom
from server.core.metrics import Metrics
from server.core.pipeline import Pipeline, PipelineLimits
from server.core.settings import Settings
from server.core.tracing import pipeline_tracer


class Readiness(enum.Enum):
    """Whether calls can be served now; the values are the HTTP /readyz statuses."""

    LOADING = "loading"
    READY = "ready"
    # Models failed to load: the process stays up, not ready, with the reason in the log.
    FAILED = "failed"
    # Final: once the drain has begun, no model load turns readiness back on.
    DRAINING = "draining"


ReadinessListener = Callable[[Readiness], Awaitable[None]]


class ServiceState:
    """Shared by both transports: what can be served now, and who is being served."""

    def __init__(self, settings: Settings, tracer_provider: TracerProvider | None = None) -> None:
        self.settings = settings
        self.tracer_provider = tracer_provider
        self.metrics = Metrics()
        self.analyzers: Analyzers | None = None
        self.pipeline: Pipeline | None = None
        self.generation: Generation | None = None
        # Room in the model queues for feed documents; set with the pipeline.
        self.headroom: Headroom | None = None
        self.draining = False
        # Set once the drain begins: feeds stop reading then, without polling.
        self._drain_begun = asyncio.Event()
        self.load_error: str | None = None
        self.inflight = 0
        # Set whenever no call is in flight; the drain waits on it.
        self._idle = asyncio.Event()
        self._idle.set()
        self.completed_calls = 0
        self._listeners: list[ReadinessListener] = []

    @property
    def readiness(self) -> Readiness:
        if self.draining:
            return Readiness.DRAINING
        if self.pipeline is None:
            return Readiness.FAILED if self.load_error is not None else Readiness.LOADING
        return Readiness.READY

    async def follow_readiness(self, listener: ReadinessListener) -> None:
        """Tell listener the readiness now and after every change (a transport's health)."""
        self._listeners.append(listener)
        await listener(self.readiness)

    async def _readiness_changed(self) -> None:
        readiness = self.readiness
        for listener in self._listeners:
            await listener(readiness)

    async def set_loading(self) -> None:
        """Models are (re)loading: not ready until set_ready. The drain stays final."""
        self.pipeline = None
        self.generation = None
        self.load_error = None
        await self._readiness_changed()

    async def set_ready(self, analyzers: Analyzers) -> None:
        """Models are loaded and warmed: start serving (unless the drain has begun)."""
        settings = self.settings
        self.analyzers = analyzers
        self.pipeline = Pipeline(
            analyzers,
            PipelineLimits(
                stage_timeout_seconds=settings.stage_timeout_seconds,
                summary_min_text_chars=settings.summary_min_text_chars,
                stream_buffer_updates=settings.stream_buffer_updates,
                stream_chunks_in_flight=settings.stream_chunks_in_flight,
            ),
            on_stage_done=lambda stage, seconds: self.metrics.stage_done(stage.value, seconds),
            tracer=pipeline_tracer(self.tracer_provider),
        )
        self.generation = Generation(analyzers.generator)
        self.headroom = Headroom(
            analyzers, settings.models.max_queued_items, settings.feed_queue_share
        )
        self.metrics.models_loaded(analyzers.load_seconds)
        if analyzers.layout is not None:
            self.metrics.threads_laid_out(analyzers.layout.intra_op_threads)
        if analyzers.gpu_memory is not None:
            self.metrics.watch_gpu_memory(analyzers.gpu_memory)
        analyzers.observe(self.metrics)
        await self._readiness_changed()

    async def set_failed(self, reason: str) -> None:
        """Models failed to load: stay up, not ready, with the reason kept for the log."""
        self.load_error = reason
        await self._readiness_changed()

    async def begin_drain(self) -> None:
        """Readiness goes DRAINING for good and new calls are refused; calls in flight go on."""
        self.draining = True
        self._drain_begun.set()
        await self._readiness_changed()

    async def until_draining(self) -> None:
        """Returns once the drain has begun."""
        await self._drain_begun.wait()

    async def idle(self) -> None:
        """Returns once no call is in flight."""
        await self._idle.wait()

    def ready_pipeline(self) -> Pipeline:
        self.check_ready()
        assert self.pipeline is not None
        return self.pipeline

    def ready_generation(self) -> Generation:
        self.check_ready()
        assert self.generation is not None
        return self.generation

    def check_ready(self) -> None:
        """Raises NotReady while models load or once the drain has begun."""
        if self.draining:
            raise NotReady("the server is shutting down; retry on another instance")
        if self.pipeline is None:
            raise NotReady("models are still loading; retry shortly")

    @asynccontextmanager
    async def admitted(self, *, generation: bool = False) -> AsyncIterator[float]:
        """Counts one call in flight for its whole life; yields its arrival time.

        Only the queues the call would wait in are checked: a full generator queue does not
        refuse analyses, nor a full sentiment queue generations.
        """
        if self.inflight >= self.settings.max_concurrent_streams:
            raise OverloadedError(
                f"server is at its limit of {self.settings.max_concurrent_streams} concurrent "
                "calls; retry later"
            )
        # A model queue already full would fail this call's stages one by one: refuse it
        # whole, at once, so the client retries elsewhere or later.
        full = self.analyzers.full_queue(generation=generation) if self.analyzers else None
        if full is not None:
            raise OverloadedError(f"the {full} queue is full; retry later")
        self.inflight += 1
        self._idle.clear()
        self.metrics.inflight.inc()
        try:
            yield time.monotonic()
        finally:
            self.inflight -= 1
            if self.inflight == 0:
                self._idle.set()
            self.metrics.inflight.dec()
            self.completed_calls += 1
