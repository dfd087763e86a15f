"""OpenTelemetry tracing, off by default: the tracer provider and the pipeline's stage spans."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from server.core.settings import Settings


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


def pipeline_tracer(provider: TracerProvider | None) -> trace.Tracer:
    """Stage spans; a no-op tracer when tracing is off."""
    if provider is None:
        return trace.NoOpTracer()
    return provider.get_tracer("textstream.pipeline")
