"""Tracing: a span per call, taken from incoming trace context, with a child per stage."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from server.core.settings import Settings
from server.core.state import ServiceState
from tests.doubles import FailingSentiment, word_analyzers
from tests.streams import REVIEW, case, stream


async def test_call_span_has_stage_children_under_the_callers_trace(serve):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    state = ServiceState(Settings(host="127.0.0.1", port=0), tracer_provider=provider)

    caller = provider.get_tracer("test-client")
    async with serve(word_analyzers(sentiment=FailingSentiment()), state=state) as srv:
        with caller.start_as_current_span("client operation") as parent:
            carrier: dict[str, str] = {}
            inject(carrier)
            updates = await stream(
                srv.stub, metadata=tuple(carrier.items()), text=REVIEW, include_entities=True
            )
    assert case(updates[-1]) == "completed"

    spans = exporter.get_finished_spans()
    [call] = [s for s in spans if s.name == "/textstream.v1.TextProcessor/ProcessStream"]
    assert call.kind == trace.SpanKind.SERVER
    assert call.context.trace_id == parent.get_span_context().trace_id
    assert call.parent.span_id == parent.get_span_context().span_id
    stages = {s.name: s for s in spans if s.parent and s.parent.span_id == call.context.span_id}
    assert set(stages) == {"stage chunking", "stage sentiment", "stage summary", "stage entities"}
    assert stages["stage sentiment"].status.status_code == trace.StatusCode.ERROR
    assert stages["stage summary"].status.status_code != trace.StatusCode.ERROR


async def test_tracing_is_off_by_default():
    assert Settings().tracing_enabled is False
    assert ServiceState(Settings()).tracer_provider is None
