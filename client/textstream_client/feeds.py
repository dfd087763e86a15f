"""Document feeds (ProcessFeed) for both clients: documents in, results out as each finishes."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

from textstream_client.protos import textstream_pb2 as pb
from textstream_client.requests import process_request
from textstream_client.streams import AsyncUpdateStream, UpdateStream

# A document: a text (its id is its position, "0", "1", ...), an (id, text) pair, or a whole
# FeedRequest (for options of its own).
Document = str | tuple[str, str] | pb.FeedRequest


@dataclass(frozen=True, slots=True)
class FeedResult:
    """One document's answer: its response, or the google.rpc.Status it failed with."""

    id: str
    response: pb.ProcessResponse | None = None
    error: status_pb2.Status | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> grpc.StatusCode:
        """OK, or the code a Process call with this document would have failed with."""
        if self.error is None:
            return grpc.StatusCode.OK
        return next(c for c in grpc.StatusCode if c.value[0] == self.error.code)

    def field_violations(self) -> dict[str, str]:
        """field -> description for each rejected field ("id", "request.text", ...)."""
        violations: dict[str, str] = {}
        for detail in self.error.details if self.error is not None else ():
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                violations.update({v.field: v.description for v in bad_request.field_violations})
        return violations


def as_update(result: FeedResult) -> pb.FeedUpdate:
    """The FeedUpdate a result came in (to print it as the server sent it)."""
    if result.error is not None:
        return pb.FeedUpdate(id=result.id, error=result.error)
    return pb.FeedUpdate(id=result.id, result=result.response)


def feed_request(position: int, document: Document, **options: Any) -> pb.FeedRequest:
    """The FeedRequest for a document; options (process_request's) apply to texts and pairs."""
    if isinstance(document, pb.FeedRequest):
        return document
    doc_id, text = (str(position), document) if isinstance(document, str) else document
    return pb.FeedRequest(id=doc_id, request=process_request(text, **options))


def feed_requests(documents: Iterable[Document], **options: Any) -> Iterator[pb.FeedRequest]:
    for position, document in enumerate(documents):
        yield feed_request(position, document, **options)


async def async_feed_requests(
    documents: Iterable[Document] | AsyncIterable[Document], **options: Any
) -> AsyncIterator[pb.FeedRequest]:
    if isinstance(documents, AsyncIterable):
        position = 0
        async for document in documents:
            yield feed_request(position, document, **options)
            position += 1
    else:
        for request in feed_requests(documents, **options):
            yield request


def _result(update: pb.FeedUpdate) -> FeedResult:
    if update.HasField("error"):
        return FeedResult(update.id, error=update.error)
    return FeedResult(update.id, response=update.result)


class FeedResults:
    """The results of one blocking ProcessFeed call as each document finishes; `summary` is
    the server's FeedSummary once the iteration has ended. Leaving a `with` block, or Ctrl-C,
    cancels the feed on the server."""

    def __init__(self, call: Any) -> None:
        self._updates: UpdateStream[pb.FeedUpdate] = UpdateStream(call)
        self.summary: pb.FeedSummary | None = None

    def __iter__(self) -> Iterator[FeedResult]:
        return self

    def __next__(self) -> FeedResult:
        update = next(self._updates)
        if update.HasField("summary"):
            self.summary = update.summary
            # The summary is the last update: this raises StopIteration.
            return _result(next(self._updates))
        return _result(update)

    def cancel(self) -> bool:
        return self._updates.cancel()

    def __enter__(self) -> FeedResults:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cancel()


class AsyncFeedResults:
    """FeedResults for grpc.aio: `async for`, and `async with` to cancel on the way out."""

    def __init__(self, call: Any) -> None:
        self._updates: AsyncUpdateStream[pb.FeedUpdate] = AsyncUpdateStream(call)
        self.summary: pb.FeedSummary | None = None

    def __aiter__(self) -> AsyncIterator[FeedResult]:
        return self

    async def __anext__(self) -> FeedResult:
        update = await self._updates.__anext__()
        if update.HasField("summary"):
            self.summary = update.summary
            return _result(await self._updates.__anext__())
        return _result(update)

    def cancel(self) -> bool:
        return self._updates.cancel()

    async def __aenter__(self) -> AsyncFeedResults:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cancel()
