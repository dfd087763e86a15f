"""The seed-compatible HTTP API and the live page: a thin adapter over the pipeline's events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from analyzers.types import GeneratedText, GenerationEvent
from server import http_models as api
from server.events import AnalysisRequest, Event
from server.http_calls import HttpCall, check_token, decodable, request_id
from server.http_convert import BatchCollector, SeedEvents, ndjson_line
from server.http_stream import LiveStream, unless_disconnected
from server.offsets import Offsets, OffsetUnit
from server.pipeline import Pipeline
from server.settings import Settings
from server.state import ServiceState
from server.validation import validate_generation, validate_process

STATIC = Path(__file__).parent / "static"
NDJSON = "application/x-ndjson"
TEXT = "text/plain; charset=utf-8"

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": api.Problem, "description": "Bearer tokens are configured and none matched."},
    413: {
        "description": "The body is larger than max_receive_message_bytes.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    429: {"model": api.Problem, "description": "Too many calls in flight; see Retry-After."},
    500: {"model": api.Problem, "description": "A model's failure or a bug; quote the request id."},
    503: {
        "model": api.Problem,
        "description": "Models loading, server draining, or a model stalled; Retry-After.",
    },
}
_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One JSON object per line, sent as each step happens.",
        "content": {NDJSON: {"schema": api.STREAM_LINE_SCHEMA}},
    },
    **_ERRORS,
}
_TEXT_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The generated text, sent as it is produced.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    501: {"model": api.Problem, "description": "No generator model is configured."},
    **_ERRORS,
}
_API_PATHS = ("/process-stream", "/process-batch", "/generate-stream")


def _method(path: str) -> str:
    # Metric and log label: the transport and the path, beside gRPC's bare method names.
    return f"http:{path}"


def create_http_app(state: ServiceState) -> FastAPI:
    """The FastAPI app over state, which it shares with the gRPC servicer."""
    settings = state.settings
    tokens = [f"Bearer {token.get_secret_value()}".encode() for token in settings.auth_tokens]
    app = FastAPI(
        title="textstream",
        version="1",
        summary="Text analysis streamed step by step, the seed's HTTP API beside gRPC.",
        # Spans only when the server traces, into the same provider as gRPC's.
        telemetry={
            "tracer_provider": state.tracer_provider,
            "tracing": state.tracer_provider is not None,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
        },
        max_body_size=settings.max_receive_message_bytes,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = api.document_bounds(FastAPI.openapi(app), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    async def unprocessable(request: Request, detail: list[dict[str, Any]]) -> JSONResponse:
        # Bodies that are not the schema's JSON at all; counted like any other bad request.
        call_id = request_id(request.headers)
        if request.url.path in _API_PATHS:
            await HttpCall(state, _method(request.url.path), call_id).end("422")
        return JSONResponse(
            {"detail": detail, "request_id": call_id}, 422, {"x-request-id": call_id}
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_json(request: Request, error: RequestValidationError) -> JSONResponse:
        keys = ("loc", "msg", "type")
        detail = [{key: item[key] for key in keys if key in item} for item in error.errors()]
        return await unprocessable(request, detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # FastAPI answers 400 for a body it cannot decode (not UTF-8); like any other bad
        # input (gRPC: INVALID_ARGUMENT) that is a 422 naming the body.
        if error.status_code == 400 and request.url.path in _API_PATHS:
            detail = [{"loc": ["body"], "msg": "must be UTF-8 JSON", "type": "body_invalid"}]
            return await unprocessable(request, detail)
        return await http_exception_handler(request, error)

    @app.post("/process-stream", response_class=LiveStream, status_code=200, responses=_STREAM_DOC)
    async def process_stream(body: api.ProcessRequest, request: Request) -> Response:
        """Runs the requested stages and streams every step as NDJSON (the seed's events)."""
        call = HttpCall(state, _method(request.url.path), request_id(request.headers))
        try:
            check_token(request.headers, tokens)
            analysis, offsets = _analysis(settings, body)
            started_at, pipeline = await call.admit()
            events = _events(pipeline, analysis, call.request_id, started_at)
            # The first event comes before the 200, so a failure to start is still a status.
            first = await anext(events)
        except Exception as error:
            return await call.fail(error)
        lines = _ndjson(first, events, SeedEvents(started_at, offsets), call, started_at)
        return LiveStream(lines, NDJSON, call, {"x-request-id": call.request_id})

    @app.post("/process-batch", response_model=api.BatchResponse, responses=_ERRORS)
    async def process_batch(body: api.ProcessRequest, request: Request) -> Response:
        """The same analysis, all results at once (the seed's batch endpoint)."""
        call = HttpCall(state, _method(request.url.path), request_id(request.headers))
        try:
            check_token(request.headers, tokens)
            analysis, offsets = _analysis(settings, body)
            started_at, pipeline = await call.admit()
            collector = BatchCollector(call.request_id, offsets)
            events = _events(pipeline, analysis, call.request_id, started_at)
            finished = await unless_disconnected(_collect(events, collector), request.receive)
        except Exception as error:
            return await call.fail(error)
        await call.end("200" if finished else "CANCELLED")
        return JSONResponse(collector.body, headers={"x-request-id": call.request_id})

    @app.post("/generate-stream", response_class=LiveStream, status_code=200, responses=_TEXT_DOC)
    async def generate_stream(body: api.GenerateRequest, request: Request) -> Response:
        """Streams generated text as plain text, piece by piece."""
        call = HttpCall(state, _method(request.url.path), request_id(request.headers))
        stream: AsyncGenerator[GenerationEvent, None] | None = None
        try:
            check_token(request.headers, tokens)
            prompt, params = validate_generation(
                settings,
                body.prompt,
                max_new_tokens=body.max_new_tokens,
                temperature=body.temperature,
                top_p=body.top_p,
                seed=body.seed,
                stop=tuple(body.stop),
            )
            for index, text in enumerate((prompt, *params.stop)):
                decodable("prompt" if index == 0 else f"stop[{index - 1}]", text)
            started_at, _ = await call.admit(generation=True)
            stream = call.generator().generate(prompt, params)
            await anext(stream)  # GenerationStarted: a failure to start is still a status
        except Exception as error:
            if stream is not None:
                await stream.aclose()
            return await call.fail(error)
        pieces = _text(stream, call, started_at)
        return LiveStream(pieces, TEXT, call, {"x-request-id": call.request_id})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: 200 whenever the process serves HTTP at all."""
        return {"status": "alive"}

    @app.get("/readyz", responses={503: {"description": "Not ready; see status."}})
    async def readyz() -> JSONResponse:
        """Readiness: 200 once models are loaded and until draining begins, else 503."""
        if state.draining:
            status = "draining"
        elif state.pipeline is None:
            status = "failed" if state.load_error is not None else "loading"
        else:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": status}, 503, {"retry-after": "1"})

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _analysis(settings: Settings, body: api.ProcessRequest) -> tuple[AnalysisRequest, Offsets]:
    analysis, unit = validate_process(
        settings,
        body.text,
        include_sentiment=body.include_sentiment,
        include_summary=body.include_summary,
        include_entities=body.include_entities,
        chunk_size=body.chunk_size,
        offset_unit=None if body.offset_unit is None else OffsetUnit(body.offset_unit),
    )
    decodable("text", analysis.text)
    # The response's offsets in the unit the client asked for, from one table per text.
    return analysis, Offsets(analysis.text, unit)


def _events(
    pipeline: Pipeline, analysis: AnalysisRequest, call_id: str, started_at: float
) -> AsyncGenerator[Event, None]:
    # Closing the generator cancels its stages: the adapter closes it once the client leaves.
    return pipeline.run(analysis, call_id, started_at)


async def _ndjson(
    first: Event,
    events: AsyncGenerator[Event, None],
    seed: SeedEvents,
    call: HttpCall,
    started_at: float,
) -> AsyncGenerator[bytes, None]:
    async with aclosing(events):
        yield ndjson_line(seed.convert(first))
        call.first_update(started_at)
        try:
            async for event in events:
                yield ndjson_line(seed.convert(event))
        except Exception as error:
            # The 200 is already sent: the stream ends with an error line and no "completed".
            yield ndjson_line(seed.error(call.failed_midway(error)))


async def _text(
    stream: AsyncGenerator[GenerationEvent, None], call: HttpCall, started_at: float
) -> AsyncGenerator[bytes, None]:
    first = True
    async with aclosing(stream):
        try:
            async for event in stream:
                if isinstance(event, GeneratedText) and event.text:
                    if first:
                        call.first_update(started_at)
                        first = False
                    yield event.text.encode()
        except Exception as error:
            call.failed_midway(error)
            raise


async def _collect(events: AsyncGenerator[Event, None], collector: BatchCollector) -> None:
    async with aclosing(events):
        async for event in events:
            collector.add(event)
