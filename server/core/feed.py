"""Document feeds: many documents over one call, each answered as it finishes, within bounds."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from server.core.errors import (
    ErrorKind,
    Failure,
    FieldViolation,
    InvalidRequest,
    NotReady,
    ServiceError,
    call_failure,
)
from server.core.headroom import Headroom
from server.core.state import ServiceState
from server.core.validation import feed_id_violations

V = TypeVar("V")  # a document's validated request, in the transport's terms
R = TypeVar("R")  # a document's result, in the transport's shape


@dataclass(frozen=True, slots=True)
class FeedDocument(Generic[V]):
    """One document as a transport read it."""

    # None where the message could not be decoded far enough to read an id.
    id: str | None
    # Validates the document's request; raises InvalidRequest naming the fields as the
    # caller sent them (gRPC: "request.text").
    validate: Callable[[], V]


@dataclass(frozen=True, slots=True)
class DocumentDone(Generic[R]):
    id: str
    result: R


@dataclass(frozen=True, slots=True)
class DocumentFailed:
    id: str
    failure: Failure


@dataclass(frozen=True, slots=True)
class FeedCounts:
    """accepted: documents read, each answered once; finished + failed = accepted at the end."""

    accepted: int
    finished: int
    failed: int


class FeedFull(ServiceError):
    """A document past feed_max_documents."""

    kind = ErrorKind.OVERLOADED


class FeedDrained(NotReady):
    """The server began to drain: the documents read are answered, the rest must be resent."""

    def __init__(self, counts: FeedCounts) -> None:
        super().__init__(
            f"the server is shutting down: it read {counts.accepted} documents of this feed "
            f"and answered them all ({counts.finished} results, {counts.failed} errors); "
            "resend the documents that got no update to another instance"
        )
        self.counts = counts


@dataclass(frozen=True, slots=True)
class _Ended:
    """The reader's last word: every document it read is answered (or it failed)."""

    drained: bool = False
    error: BaseException | None = None


_Answer = DocumentDone[R] | DocumentFailed


class Feed(Generic[V, R]):
    """Runs one feed: reads documents while fewer than feed_max_in_flight are unanswered, runs
    each through analyse as soon as the model queues have room, and yields each answer as it
    comes, then the counts.

    Every document read holds one of feed_max_in_flight slots until its answer is in a
    buffer of stream_buffer_updates, so a caller that stops reading answers soon stops the
    reading of documents, and HTTP/2 (or TCP) flow control pushes back on the sender.
    """

    def __init__(
        self,
        state: ServiceState,
        request_id: str,
        method: str,
        analyse: Callable[[V, str], Awaitable[R]],
    ) -> None:
        assert state.headroom is not None, "a feed starts only once the server is ready"
        self._state = state
        self._headroom: Headroom = state.headroom
        self._metrics = state.metrics
        self._request_id = request_id
        self._method = method
        # analyse(request, request_id) runs one document through the pipeline; its clock
        # starts there, so the wait for queue room is not counted against stage_timeout.
        self._analyse = analyse
        settings = state.settings
        self._max_documents = settings.feed_max_documents
        self._slots = asyncio.Semaphore(settings.feed_max_in_flight)
        self._answers: asyncio.Queue[_Answer[R] | _Ended] = asyncio.Queue(
            maxsize=settings.stream_buffer_updates
        )
        # 16-byte digests of the ids seen, at most feed_max_documents of them: bounded
        # whatever ids the caller sends.
        self._seen: set[bytes] = set()
        self._read = 0
        self._documents: set[asyncio.Task[None]] = set()

    async def run(
        self, documents: AsyncIterator[FeedDocument[V]]
    ) -> AsyncGenerator[_Answer[R] | FeedCounts, None]:
        """Each document's answer as it finishes, then the counts; raises FeedDrained when the
        drain began first. Closing it cancels every document's work."""
        reader = asyncio.create_task(self._read_all(documents), name="feed-reader")
        finished = failed = 0
        try:
            while not isinstance(answer := await self._answers.get(), _Ended):
                if isinstance(answer, DocumentDone):
                    finished += 1
                    self._metrics.feed_answered("ok")
                else:
                    failed += 1
                    self._metrics.feed_answered(answer.failure.kind.value)
                yield answer
            if answer.error is not None:
                raise answer.error
            counts = FeedCounts(self._read, finished, failed)
            if answer.drained:
                raise FeedDrained(counts)
            yield counts
        finally:
            # Cancelled, or the caller went away: no document goes on in the models.
            for task in (reader, *self._documents):
                task.cancel()
            await asyncio.gather(reader, *self._documents, return_exceptions=True)
            self._metrics.feed_ended(self._read)

    async def _read_all(self, documents: AsyncIterator[FeedDocument[V]]) -> None:
        drain = asyncio.ensure_future(self._state.until_draining())
        ended = _Ended(drained=True)
        try:
            while await _before(drain, self._slots.acquire()):
                read = asyncio.ensure_future(anext(documents, None))
                if not await _before(drain, read):
                    self._slots.release()
                    break
                document = read.result()
                if document is None:
                    self._slots.release()
                    ended = _Ended()
                    break
                await self._take(document)
            await asyncio.gather(*self._documents)
        except Exception as error:
            # The request stream itself failed: the feed fails with it.
            ended = _Ended(error=error)
        finally:
            drain.cancel()
        await self._answers.put(ended)

    async def _take(self, document: FeedDocument[V]) -> None:
        """Starts a document that holds a slot, or answers it with its error at once."""
        self._read += 1
        self._metrics.feed_read.inc()
        ordinal = self._read - 1
        document_id = document.id or ""
        request_id = f"{self._request_id}:{ordinal}"
        try:
            request = self._admit(document)
        except Exception as error:
            # Released only once the answer is buffered: every document read holds a slot.
            try:
                failure = call_failure(error, request_id, self._method)
                await self._answers.put(DocumentFailed(document_id, failure))
            finally:
                self._slots.release()
            return
        task = asyncio.create_task(self._document(document_id, request, request_id))
        self._documents.add(task)
        task.add_done_callback(self._documents.discard)

    def _admit(self, document: FeedDocument[V]) -> V:
        if self._read > self._max_documents:
            raise FeedFull(
                f"this feed has sent its limit of {self._max_documents} documents "
                "(feed_max_documents); send the rest in another feed"
            )
        violations: list[FieldViolation] = []
        if document.id is not None:
            violations += feed_id_violations(document.id)
            if not violations:
                digest = hashlib.blake2b(document.id.encode(), digest_size=16).digest()
                if digest in self._seen:
                    violations.append(
                        FieldViolation("id", "must be unique within the feed: sent before")
                    )
                self._seen.add(digest)
        try:
            request = document.validate()
        except InvalidRequest as invalid:
            violations += invalid.violations
        if violations:
            raise InvalidRequest(violations)
        return request

    async def _document(self, document_id: str, request: V, request_id: str) -> None:
        self._metrics.feed_in_flight.inc()
        try:
            answer: _Answer[R]
            try:
                await self._headroom.wait()
                answer = DocumentDone(document_id, await self._analyse(request, request_id))
            except Exception as error:
                # A bug in one document fails that document, not the feed.
                answer = DocumentFailed(document_id, call_failure(error, request_id, self._method))
            await self._answers.put(answer)
        finally:
            self._metrics.feed_in_flight.dec()
            self._slots.release()


async def _before(drain: asyncio.Future[None], step: Awaitable[object]) -> bool:
    """Awaits step unless the drain begins first (then step is cancelled): True if it ran."""
    task = asyncio.ensure_future(step)
    try:
        await asyncio.wait((task, drain), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        _abandon(task)  # the feed is over; asyncio.wait leaves its steps running
        raise
    if task.done():
        task.result()
        return True
    _abandon(task)
    return False


def _abandon(task: asyncio.Future[object]) -> None:
    """Cancels a step nobody waits for now. Not awaited (that would also swallow a cancellation
    of the reader itself): what it ends with is retrieved, so it is never reported as lost."""
    task.cancel()
    task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Future[object]) -> None:
    if not task.cancelled():
        task.exception()
