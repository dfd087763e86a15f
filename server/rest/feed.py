"""POST /process-feed's lines: NDJSON documents read as they arrive, each answer one NDJSON line."""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, NoReturn, TypeVar

from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive

from server.core.errors import FieldViolation, InvalidRequest
from server.core.feed import DocumentDone, DocumentFailed, FeedCounts, FeedDocument
from server.rest import models as api
from server.rest.errors import failure_json

V = TypeVar("V")
Json = dict[str, Any]


class BodyReader:
    """Reads a streamed request body at most `ahead` bytes ahead of the feed, and listens on
    once it has ended: a client that leaves is seen at once even while the feed reads no
    documents (at its in-flight bound), unless the read-ahead is full and waits for the feed.
    """

    def __init__(self, receive: Receive, ahead: int) -> None:
        self._receive = receive
        self._ahead = ahead
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._ended = False
        self._changed = asyncio.Condition()
        self.gone = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._read(), name="feed-body")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: self._buffered < self._ahead)
            message = await self._receive()
            async with self._changed:
                if message["type"] == "http.disconnect":
                    self.gone.set()
                elif not self._ended:
                    if body := message.get("body", b""):
                        self._chunks.append(body)
                        self._buffered += len(body)
                    self._ended = not message.get("more_body", False)
                self._changed.notify_all()
            if self.gone.is_set():
                return

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive; ClientDisconnect if the client leaves first."""
        while True:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: bool(self._chunks) or self._ended or self.gone.is_set()
                )
                if not self._chunks:
                    if self.gone.is_set() and not self._ended:
                        raise ClientDisconnect
                    return
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                self._changed.notify_all()
            yield chunk

    async def disconnected(self) -> Message:
        """A receive for the response's watcher: returns once the client has gone."""
        await self.gone.wait()
        return {"type": "http.disconnect"}


async def body_lines(
    chunks: AsyncIterator[bytes], limit: int
) -> AsyncIterator[tuple[int, bytes | None]]:
    """Each line of a streamed body with its number (from 1), as soon as it is complete; None
    for a line over limit bytes, dropped as it arrives so that no line is held whole."""
    number = 0
    line = bytearray()
    too_long = False
    async for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            number += 1
            too_long = too_long or len(line) + end - start > limit
            yield number, None if too_long else bytes(line + chunk[start:end])
            line.clear()
            too_long = False
            start = end + 1
        too_long = too_long or len(line) + len(chunk) - start > limit
        if too_long:
            line.clear()
        else:
            line += chunk[start:]
    if line or too_long:
        yield number + 1, None if too_long else bytes(line)


async def feed_documents(
    lines: AsyncIterator[tuple[int, bytes | None]],
    analysis: Callable[[api.ProcessRequest], V],
    limit: int,
) -> AsyncIterator[FeedDocument[V]]:
    """The document of each non-blank line: {"id": ..., and /process-stream's fields}; a line
    that holds none is a document whose validation names the line."""
    async for number, line in lines:
        if line is None:
            yield _unreadable(number, f"longer than max_receive_message_bytes ({limit} bytes)")
            continue
        if not line.strip():
            continue
        try:
            body = json.loads(line)
        except ValueError:
            yield _unreadable(number, "must be a JSON object in UTF-8")
            continue
        if not isinstance(body, dict):
            yield _unreadable(number, "must be a JSON object")
            continue
        doc_id = body.get("id", "")
        yield FeedDocument(doc_id if isinstance(doc_id, str) else None, _validator(body, analysis))


def _validator(body: Json, analysis: Callable[[api.ProcessRequest], V]) -> Callable[[], V]:
    def validate() -> V:
        try:
            document = api.FeedDocument.model_validate(body)
        except ValidationError as error:
            raise InvalidRequest(
                [
                    FieldViolation("".join(_part(part) for part in e["loc"]).lstrip("."), e["msg"])
                    for e in error.errors()
                ]
            ) from None
        return analysis(document)

    return validate


def _part(part: object) -> str:
    # ("stop", 1) -> "stop[1]", as server/rest/errors.py reads a field back into a location.
    return f"[{part}]" if isinstance(part, int) else f".{part}"


def _unreadable(number: int, description: str) -> FeedDocument[Any]:
    def validate() -> NoReturn:
        raise InvalidRequest([FieldViolation(f"line[{number}]", description)])

    return FeedDocument(None, validate)


def answer_line(answer: DocumentDone[Json] | DocumentFailed | FeedCounts, call_id: str) -> Json:
    """One feed answer as its NDJSON line: a result, an error (the status and body the HTTP API
    would answer a call with), or the summary."""
    match answer:
        case DocumentDone():
            return {"id": answer.id, "result": answer.result}
        case DocumentFailed():
            status, body = failure_json(answer.failure, call_id)
            error: Json = {"status": status, **body}
            if answer.failure.retry_after_seconds is not None:
                error["retry_after_seconds"] = answer.failure.retry_after_seconds
            return {"id": answer.id, "error": error}
        case FeedCounts():
            counts = {"accepted": answer.accepted, "finished": answer.finished}
            return {"summary": {**counts, "failed": answer.failed}}
