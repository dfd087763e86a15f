"""The NDJSON API and the live page on FastAPI: a thin adapter over the core's events."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from analyzers.types import GeneratedText, GenerationEvent
from server.core.auth import BearerTokens
from server.core.events import AnalysisRequest, Event
from server.core.feed import DocumentDone, DocumentFailed, Feed, FeedCounts
from server.core.offsets import Offsets, OffsetUnit
from server.core.settings import Settings
from server.core.state import Readiness, ServiceState
from server.core.validation import validate_generation, validate_process
from server.rest import models as api
from server.rest.calls import HttpCall, answered, decodable, request_id
from server.rest.convert import BatchCollector, NdjsonEvents, ndjson_line
from server.rest.errors import unprocessable
from server.rest.feed import BodyReader, Json, answer_line, body_lines, feed_documents
from server.rest.stream import LiveStream, unless_disconnected

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
_FEED_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "One JSON object per line, as each document finishes: "
            '{"id", "result"} (a /process-batch result), {"id", "error"} (the status and body '
            'a call with that document would get), then {"summary"}; a feed cut short by a '
            'drain ends with {"error"} (503) instead.'
        ),
        "content": {NDJSON: {"schema": {"type": "object"}}},
    },
    **_ERRORS,
}
_API_PATHS = ("/process-stream", "/process-batch", "/generate-stream", "/process-feed")


def _method(path: str) -> str:
    # Metric and log label: the transport and the path, beside gRPC's bare method names.
    return f"http:{path}"


def create_http_app(state: ServiceState) -> FastAPI:
    """The FastAPI app over state, which it shares with the gRPC servicer."""
    settings = state.settings
    tokens = BearerTokens([token.get_secret_value() for token in settings.auth_tokens])
    # Swagger UI and ReDoc from the package's own copies, not a CDN: /docs works offline.
    app = FastAPIOffline(
        title="textstream",
        version="1",
        summary="Text analysis streamed step by step as NDJSON, beside the gRPC API.",
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

    async def invalid_body(request: Request, detail: list[dict[str, Any]]) -> JSONResponse:
        # Bodies that are not the schema's JSON at all; counted like any other bad request.
        call_id = request_id(request.headers)
        if request.url.path in _API_PATHS:
            await HttpCall(state, _method(request.url.path), call_id).end("422")
        return unprocessable(detail, call_id)

    @app.exception_handler(RequestValidationError)
    async def invalid_json(request: Request, error: RequestValidationError) -> JSONResponse:
        keys = ("loc", "msg", "type")
        detail = [{key: item[key] for key in keys if key in item} for item in error.errors()]
        return await invalid_body(request, detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # FastAPI answers 400 for a body it cannot decode (not UTF-8); like any other bad
        # input (gRPC: INVALID_ARGUMENT) that is a 422 naming the body.
        if error.status_code == 400 and request.url.path in _API_PATHS:
            detail = [{"loc": ["body"], "msg": "must be UTF-8 JSON", "type": "body_invalid"}]
            return await invalid_body(request, detail)
        return await http_exception_handler(request, error)

    def answer(
        request: Request, start: Callable[[HttpCall], Awaitable[Response]]
    ) -> Awaitable[Response]:
        return answered(state, tokens, _method(request.url.path), request.headers, start)

    @app.post("/process-stream", response_class=LiveStream, status_code=200, responses=_STREAM_DOC)
    async def process_stream(body: api.ProcessRequest, request: Request) -> Response:
        """Runs the requested stages and streams every step as NDJSON, one line per event."""

        async def start(call: HttpCall) -> Response:
            analysis, offsets = _analysis(settings, body)
            started_at = await call.admit()
            events = state.ready_pipeline().run(analysis, call.request_id, started_at)
            # The first event comes before the 200, so a failure to start is still a status.
            first = await anext(events)
            lines = _ndjson(first, events, NdjsonEvents(started_at, offsets), call, started_at)
            return LiveStream(lines, NDJSON, call, {"x-request-id": call.request_id})

        return await answer(request, start)

    @app.post("/process-batch", response_model=api.BatchResponse, responses=_ERRORS)
    async def process_batch(body: api.ProcessRequest, request: Request) -> Response:
        """The same analysis, all results at once in one JSON object."""

        async def start(call: HttpCall) -> Response:
            analysis, offsets = _analysis(settings, body)
            started_at = await call.admit()
            collector = BatchCollector(call.request_id, offsets)
            events = state.ready_pipeline().run(analysis, call.request_id, started_at)
            finished = await unless_disconnected(_collect(events, collector), request.receive)
            await call.end("200" if finished else "CANCELLED")
            return JSONResponse(collector.body, headers={"x-request-id": call.request_id})

        return await answer(request, start)

    # Each line is bounded as a gRPC message is; the body as a whole by what a feed may send.
    feed_body_limit = settings.feed_max_documents * settings.max_receive_message_bytes

    @app.post(
        "/process-feed",
        response_class=LiveStream,
        status_code=200,
        responses=_FEED_DOC,
        max_body_size=feed_body_limit,
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "One document per line (NDJSON), read as it arrives.",
                "content": {NDJSON: {"schema": api.FeedDocument.model_json_schema()}},
            }
        },
    )
    async def process_feed(request: Request) -> Response:
        """Many documents over one call: each document's result as one NDJSON line as soon as
        it finishes, not in request order, then the feed's summary."""

        async def start(call: HttpCall) -> Response:
            await call.admit()
            pipeline = state.ready_pipeline()

            async def analyse(request: tuple[AnalysisRequest, Offsets], request_id: str) -> Json:
                analysis, offsets = request
                collector = BatchCollector(request_id, offsets)
                # The document's clock starts here, after any wait for room in the queues.
                events = pipeline.run(analysis, request_id, time.monotonic())
                await _collect(events, collector)
                return collector.body

            limit = settings.max_receive_message_bytes
            reader = BodyReader(request.receive, ahead=limit)
            lines = body_lines(reader.chunks(), limit)
            documents = feed_documents(lines, functools.partial(_analysis, settings), limit)
            answers = Feed(state, call.request_id, call.method, analyse).run(documents)
            reader.start()
            body = _feed_ndjson(answers, call, reader)
            headers = {"x-request-id": call.request_id}
            return LiveStream(body, NDJSON, call, headers, watch=reader.disconnected)

        return await answer(request, start)

    @app.post("/generate-stream", response_class=LiveStream, status_code=200, responses=_TEXT_DOC)
    async def generate_stream(body: api.GenerateRequest, request: Request) -> Response:
        """Streams generated text as plain text, piece by piece."""

        async def start(call: HttpCall) -> Response:
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
            started_at = await call.admit(generation=True)
            stream = state.ready_generation().run(prompt, params)
            try:
                await anext(stream)  # GenerationStarted: a failure to start is still a status
            except BaseException:
                await stream.aclose()
                raise
            pieces = _text(stream, call, started_at)
            return LiveStream(pieces, TEXT, call, {"x-request-id": call.request_id})

        return await answer(request, start)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: 200 whenever the process serves HTTP at all."""
        return {"status": "alive"}

    @app.get("/readyz", responses={503: {"description": "Not ready; see status."}})
    async def readyz() -> JSONResponse:
        """Readiness: 200 once models are loaded and until draining begins, else 503."""
        readiness = state.readiness
        if readiness is Readiness.READY:
            return JSONResponse({"status": readiness.value})
        return JSONResponse({"status": readiness.value}, 503, {"retry-after": "1"})

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


async def _ndjson(
    first: Event,
    events: AsyncGenerator[Event, None],
    lines: NdjsonEvents,
    call: HttpCall,
    started_at: float,
) -> AsyncGenerator[bytes, None]:
    async with aclosing(events):
        yield ndjson_line(lines.convert(first))
        call.first_update(started_at)
        try:
            async for event in events:
                yield ndjson_line(lines.convert(event))
        except Exception as error:
            # The 200 is already sent: the stream ends with an error line and no "completed".
            yield ndjson_line(lines.error(call.failed_midway(error)))


async def _feed_ndjson(
    answers: AsyncGenerator[DocumentDone[Json] | DocumentFailed | FeedCounts, None],
    call: HttpCall,
    reader: BodyReader,
) -> AsyncGenerator[bytes, None]:
    async with aclosing(answers):
        try:
            async for answer in answers:
                yield ndjson_line(answer_line(answer, call.request_id))
        except ClientDisconnect:
            return  # the client left while sending: recorded as CANCELLED, like a gRPC cancel
        except Exception as error:
            # The 200 is already sent (a drain, say): the last line is the feed's error.
            message = call.failed_midway(error)
            status = int(call.outcome or 500)
            yield ndjson_line(
                {"error": {"status": status, "detail": message, "request_id": call.request_id}}
            )
        finally:
            await reader.close()


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
