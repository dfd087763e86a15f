"""The service's lifecycle state: models ready or not, draining, calls in flight, health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer
from opentelemetry.sdk.trace import TracerProvider

from analyzers.base import Analyzers, TextGenerator
from server.metrics import Metrics
from server.pipeline import Pipeline, PipelineLimits
from server.settings import Settings
from server.tracing import pipeline_tracer

SERVICE_NAME = "textstream.v1.TextProcessor"
_HEALTH_NAMES = ("", SERVICE_NAME)
# Always SERVING while the process answers on its event loop: a liveness probe that does not
# follow model readiness (Kubernetes restarts pods whose liveness fails).
LIVENESS_NAME = "liveness"


class NotReady(Exception):
    """Models are still loading or the server is draining: the call gets UNAVAILABLE."""


class GeneratorMissing(Exception):
    """A generation call, but no generator model is configured."""


NO_GENERATOR = (
    "no generator model is configured: set models.generator_model in the settings file or "
    "TEXTSTREAM_MODELS__GENERATOR_MODEL to a causal language model id or folder"
)


class Overloaded(Exception):
    """Too many calls in flight: the call gets RESOURCE_EXHAUSTED with a retry hint."""

    retry_after_seconds = 1.0


class ServiceState:
    """Shared by the servicers: what can be served now, and who is being served."""

    def __init__(self, settings: Settings, tracer_provider: TracerProvider | None = None) -> None:
        self.settings = settings
        self.tracer_provider = tracer_provider
        self.health = HealthServicer()
        self.metrics = Metrics()
        self.analyzers: Analyzers | None = None
        self.pipeline: Pipeline | None = None
        self.draining = False
        self.load_error: str | None = None
        self.inflight = 0
        # Set whenever no call is in flight; the drain waits on it.
        self._idle = asyncio.Event()
        self._idle.set()
        self.completed_calls = 0

    async def set_alive(self) -> None:
        await self.health.set(LIVENESS_NAME, health_pb2.HealthCheckResponse.SERVING)

    async def set_loading(self) -> None:
        await self._set_readiness(health_pb2.HealthCheckResponse.NOT_SERVING)

    async def _set_readiness(self, status: health_pb2.HealthCheckResponse.ServingStatus) -> None:
        """Readiness ("" and the service), unless the drain has begun: draining is final, so a
        model load that ends during the drain cannot turn readiness back on."""
        for name in _HEALTH_NAMES:
            if self.draining:
                return
            await self.health.set(name, status)

    async def set_ready(self, analyzers: Analyzers) -> None:
        """Models are loaded and warmed: start serving."""
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
        self.metrics.models_loaded(analyzers.load_seconds)
        if analyzers.gpu_memory is not None:
            self.metrics.watch_gpu_memory(analyzers.gpu_memory)
        for batcher in analyzers.batchers():
            batcher.on_batch = self.metrics.batch_done
        for scheduler in analyzers.schedulers():
            scheduler.observer = self.metrics
        await self._set_readiness(health_pb2.HealthCheckResponse.SERVING)

    async def set_failed(self, reason: str) -> None:
        """Models failed to load: stay up, NOT_SERVING, with the reason kept for the log."""
        self.load_error = reason
        await self.set_loading()

    async def begin_drain(self) -> None:
        """Readiness goes NOT_SERVING for good and new calls are refused; calls in flight go on.

        Liveness stays SERVING while the process drains: it is alive, and a liveness probe
        that failed now would kill it before its streams finish. (The health servicer's
        enter_graceful_shutdown() would flip every name, liveness included.)
        """
        self.draining = True
        for name in _HEALTH_NAMES:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

    async def idle(self) -> None:
        """Returns once no call is in flight."""
        await self._idle.wait()

    def ready_pipeline(self) -> Pipeline:
        if self.draining:
            raise NotReady("the server is shutting down; retry on another instance")
        if self.pipeline is None:
            raise NotReady("models are still loading; retry shortly")
        return self.pipeline

    def generator(self) -> TextGenerator:
        """The configured generator, or GeneratorMissing saying how to configure one."""
        if self.analyzers is None or self.analyzers.generator is None:
            raise GeneratorMissing(NO_GENERATOR)
        return self.analyzers.generator

    @asynccontextmanager
    async def admitted(self, *, generation: bool = False) -> AsyncIterator[float]:
        """Counts one call in flight for its whole life; yields its arrival time.

        Only the queues the call would wait in are checked: a full generator queue does not
        refuse analyses, nor a full sentiment queue generations.
        """
        if self.inflight >= self.settings.max_concurrent_streams:
            raise Overloaded(
                f"server is at its limit of {self.settings.max_concurrent_streams} concurrent "
                "calls; retry later"
            )
        # A model queue already full would fail this call's stages one by one: refuse it
        # whole, at once, so the client retries elsewhere or later.
        queues = self.analyzers.queues(generation=generation) if self.analyzers else []
        for queue in queues:
            if queue.full:
                raise Overloaded(f"the {queue.name} queue is full; retry later")
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
