"""Tracing over HTTP: a server span from the caller's traceparent, a child span per stage."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from server.core.settings import Settings
from server.core.state import ServiceState
from tests.doubles import word_analyzers
from tests.http_servers import http_server, read_all
from tests.streams import REVIEW

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
PARENT_ID = 0xB7AD6B7169203331


async def test_http_call_span_has_stage_children_under_the_callers_trace():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    state = ServiceState(Settings(host="127.0.0.1", port=0), tracer_provider=provider)
    headers = {"traceparent": f"00-{TRACE_ID:032x}-{PARENT_ID:016x}-01"}
    async with http_server(word_analyzers(), state=state) as srv:
        body = {"text": REVIEW, "include_entities": True}
        async with srv.session.post(
            f"{srv.url}/process-stream", json=body, headers=headers
        ) as response:
            assert (await read_all(response))[-1]["status"] == "completed"

    spans = exporter.get_finished_spans()
    [call] = [span for span in spans if span.kind == trace.SpanKind.SERVER]
    assert call.name == "POST /process-stream"
    assert call.context.trace_id == TRACE_ID
    assert call.parent.span_id == PARENT_ID
    children = {
        span.name for span in spans if span.parent and span.parent.span_id == call.context.span_id
    }
    assert children == {"stage chunking", "stage sentiment", "stage summary", "stage entities"}
