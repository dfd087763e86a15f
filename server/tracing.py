"""OpenTelemetry tracing, off by default: a span per call (from incoming context) and per stage."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from server.settings import Settings


def tracer_provider_for(settings: Settings) -> TracerProvider | None:
    """A provider exporting OTLP/gRPC to settings.tracing_otlp_endpoint, or None when off."""
    if not settings.tracing_enabled:
        return None
    # Imported only when tracing is on: the exporter pulls in its own gRPC stubs.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": "textstream"}))
    exporter = OTLPSpanExporter(endpoint=settings.tracing_otlp_endpoint, insecure=True)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def server_interceptors(provider: TracerProvider | None) -> list[Any]:
    """The call-span interceptor; it takes the trace context from incoming metadata."""
    if provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor(tracer_provider=provider)]  # type: ignore[no-untyped-call]


def pipeline_tracer(provider: TracerProvider | None) -> trace.Tracer:
    """Stage spans; a no-op tracer when tracing is off."""
    if provider is None:
        return trace.NoOpTracer()
    return provider.get_tracer("textstream.pipeline")
