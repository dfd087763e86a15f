"""The TextProcessor gRPC servicer: validates, delegates to the core, converts; nothing more."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Generic, NoReturn, TypeVar

import grpc
from textstream_client.protos import textstream_pb2 as pb

from analyzers.types import GenerationParams
from server.core.errors import (
    DeadlineExpired,
    FieldViolation,
    InvalidRequest,
    call_failure,
)
from server.core.events import AnalysisRequest
from server.core.feed import Feed, FeedDocument
from server.core.offsets import Offsets
from server.core.pipeline import Pipeline
from server.core.request_ids import request_id as accepted_request_id
from server.core.state import ServiceState
from server.core.validation import validate_generation, validate_process
from server.grpc.convert import (
    ResponseCollector,
    UpdateSequencer,
    feed_update_pb,
    offset_unit,
)
from server.grpc.registration import Undecodable
from server.grpc.status import Context, abort_with_status, failure_status

log = logging.getLogger(__name__)

Request = TypeVar("Request")


@dataclass(frozen=True, slots=True)
class Call(Generic[Request]):
    request_id: str
    started_at: float
    # The validated request, with the contract's defaults applied.
    request: Request


def _request_id(context: Context) -> str:
    presented = dict(context.invocation_metadata() or ()).get("x-request-id")
    return accepted_request_id(presented if isinstance(presented, str) else None)


def _undecodable(request: Undecodable) -> InvalidRequest:
    return InvalidRequest(
        [
            FieldViolation(
                "request",
                f"the {request.type_name} could not be decoded (string fields must be valid UTF-8)",
            )
        ]
    )


def _raise(error: Exception) -> NoReturn:
    raise error


def _in_feed(violation: FieldViolation) -> FieldViolation:
    # A feed document's fields sit in FeedRequest.request: "request.text", "request.chunk_size".
    return FieldViolation(f"request.{violation.field}", violation.description)


async def _response(
    pipeline: Pipeline,
    request: tuple[AnalysisRequest, Offsets],
    request_id: str,
    started_at: float,
) -> pb.ProcessResponse:
    """One analysis folded into its ProcessResponse (Process, and each document of a feed)."""
    analysis, offsets = request
    collector = ResponseCollector(request_id, offsets)
    events = pipeline.run(analysis, request_id, started_at)
    async with aclosing(events):
        async for event in events:
            collector.add(event)
    return collector.response


def _optional(message: pb.ProcessRequest | pb.GenerateRequest, name: str) -> object:
    # proto3 `optional`: unset fields take the contract's defaults, not the zero value.
    return getattr(message, name) if message.HasField(name) else None


class TextProcessorServicer:
    """Implements textstream.v1.TextProcessor over the shared ServiceState."""

    def __init__(self, state: ServiceState) -> None:
        self._state = state
        self._settings = state.settings

    @asynccontextmanager
    async def _serving(
        self,
        context: Context,
        method: str,
        validate: Callable[[], Request],
        *,
        generation: bool = False,
    ) -> AsyncIterator[Call[Request]]:
        """Validation, admission, readiness and the one mapping of failures to statuses."""
        request_id = _request_id(context)
        began = time.monotonic()
        outcome = "OK"
        try:
            # Validation first: a request that can never succeed is INVALID_ARGUMENT even while
            # models load or the server is at its limit, so no client retries it in vain.
            request = validate()
            async with self._state.admitted(generation=generation) as started_at:
                self._state.check_ready()
                remaining = context.time_remaining()
                if remaining is not None and remaining <= 0:
                    # Arrived already expired: grpc has not cancelled it yet, but no model
                    # should start on it.
                    raise DeadlineExpired("the call's deadline passed before it started")
                # Headers only once the call is accepted: until then a failure may be retried.
                await context.send_initial_metadata((("x-request-id", request_id),))
                yield Call(request_id, started_at, request)
        except (asyncio.CancelledError, GeneratorExit):
            # grpc cancels the handler when the client cancels or its deadline passes (or
            # closes the stream while an update is being written); the time left tells which.
            remaining = context.time_remaining()
            expired = remaining is not None and remaining <= 0
            outcome = "DEADLINE_EXCEEDED" if expired else "CANCELLED"
            raise
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            # A bug's type and request id go to the log; no trace or text reaches the client.
            status = failure_status(call_failure(error, request_id, method), request_id)
            outcome = status.code.name
            await abort_with_status(context, status)
        finally:
            seconds = time.monotonic() - began
            self._state.metrics.call_ended(method, outcome, seconds)
            log.info(
                "call ended",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "code": outcome,
                    "seconds": round(seconds, 6),
                },
            )

    def _analysis_request(
        self, request: pb.ProcessRequest | Undecodable
    ) -> tuple[AnalysisRequest, Offsets]:
        if isinstance(request, Undecodable):
            raise _undecodable(request)
        analysis, unit = validate_process(
            self._settings,
            request.text,
            include_sentiment=_optional(request, "include_sentiment"),  # type: ignore[arg-type]
            include_summary=_optional(request, "include_summary"),  # type: ignore[arg-type]
            include_entities=_optional(request, "include_entities"),  # type: ignore[arg-type]
            chunk_size=_optional(request, "chunk_size"),  # type: ignore[arg-type]
            offset_unit=offset_unit(request.offset_unit),
        )
        # The response's offsets in the unit the client asked for, from one table per text.
        return analysis, Offsets(analysis.text, unit)

    def _generation_request(
        self, request: pb.GenerateRequest | Undecodable
    ) -> tuple[str, GenerationParams]:
        if isinstance(request, Undecodable):
            raise _undecodable(request)
        return validate_generation(
            self._settings,
            request.prompt,
            max_new_tokens=_optional(request, "max_new_tokens"),  # type: ignore[arg-type]
            temperature=_optional(request, "temperature"),  # type: ignore[arg-type]
            top_p=_optional(request, "top_p"),  # type: ignore[arg-type]
            seed=_optional(request, "seed"),  # type: ignore[arg-type]
            stop=tuple(request.stop),
        )

    async def ProcessStream(
        self, request: pb.ProcessRequest | Undecodable, context: Context
    ) -> AsyncIterator[pb.StageUpdate]:
        validate = functools.partial(self._analysis_request, request)
        async with self._serving(context, "ProcessStream", validate) as call:
            analysis, offsets = call.request
            sequencer = UpdateSequencer(call.started_at, offsets)
            # Closed here, inside the call, whichever way it ends: grpc leaves a handler that
            # was cancelled mid-write suspended at its yield, and the stages would run on
            # until the pipeline's stream was garbage-collected.
            events = self._state.ready_pipeline().run(analysis, call.request_id, call.started_at)
            async with aclosing(events):
                async for event in events:
                    update = sequencer.stage_update(event)
                    if update.sequence == 0:
                        self._state.metrics.first_update(update.elapsed_seconds)
                    yield update

    async def Process(
        self, request: pb.ProcessRequest | Undecodable, context: Context
    ) -> pb.ProcessResponse:
        validate = functools.partial(self._analysis_request, request)
        async with self._serving(context, "Process", validate) as call:
            pipeline = self._state.ready_pipeline()
            return await _response(pipeline, call.request, call.request_id, call.started_at)
        raise AssertionError("unreachable: _serving aborts on every failure")

    async def ProcessFeed(
        self, requests: AsyncIterator[pb.FeedRequest | Undecodable], context: Context
    ) -> AsyncIterator[pb.FeedUpdate]:
        # Nothing to validate before the first document: each is validated as it is read.
        async with self._serving(context, "ProcessFeed", lambda: None) as call:
            pipeline = self._state.ready_pipeline()

            async def analyse(
                request: tuple[AnalysisRequest, Offsets], request_id: str
            ) -> pb.ProcessResponse:
                # The document's clock starts as it enters the pipeline, after any wait for
                # room in the model queues.
                return await _response(pipeline, request, request_id, time.monotonic())

            feed = Feed(self._state, call.request_id, "ProcessFeed", analyse)
            answers = feed.run(self._feed_documents(requests))
            async with aclosing(answers):
                async for answer in answers:
                    yield feed_update_pb(answer)

    async def _feed_documents(
        self, requests: AsyncIterator[pb.FeedRequest | Undecodable]
    ) -> AsyncIterator[FeedDocument[tuple[AnalysisRequest, Offsets]]]:
        async for message in requests:
            if isinstance(message, Undecodable):
                yield FeedDocument(None, functools.partial(_raise, _undecodable(message)))
            else:
                validate = functools.partial(self._feed_request, message.request)
                yield FeedDocument(message.id, validate)

    def _feed_request(self, request: pb.ProcessRequest) -> tuple[AnalysisRequest, Offsets]:
        try:
            return self._analysis_request(request)
        except InvalidRequest as invalid:
            raise InvalidRequest([_in_feed(v) for v in invalid.violations]) from None

    async def GenerateStream(
        self, request: pb.GenerateRequest | Undecodable, context: Context
    ) -> AsyncIterator[pb.GenerateUpdate]:
        validate = functools.partial(self._generation_request, request)
        async with self._serving(context, "GenerateStream", validate, generation=True) as call:
            prompt, params = call.request
            generation = self._state.ready_generation()
            sequencer = UpdateSequencer(call.started_at)
            stream = generation.run(prompt, params)
            # Stops generation at the next token when the client has gone.
            async with aclosing(stream):
                async for event in stream:
                    update = sequencer.generate_update(event, call.request_id)
                    if update.sequence == 0:
                        self._state.metrics.first_update(update.elapsed_seconds)
                    yield update
