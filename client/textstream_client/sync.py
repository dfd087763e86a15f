"""SyncTextStreamClient: the blocking client, one grpc channel per client."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

from textstream_client.channel import MetadataLike, call_metadata, deadline, sync_channel
from textstream_client.feeds import Document, FeedResults, feed_requests
from textstream_client.health import health_request, health_stub, status_name
from textstream_client.options import DEFAULT_TARGET, ClientOptions, as_options
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc
from textstream_client.requests import generate_request, process_request
from textstream_client.streams import UpdateStream


class SyncTextStreamClient:
    """Talks to a textstream server over one blocking channel; use it as a context manager.

    Errors are the grpc.RpcError gRPC raises (see client.errors.field_violations).
    Ctrl-C while a call waits cancels that call on the server before it propagates.
    """

    def __init__(self, target: str | ClientOptions = DEFAULT_TARGET) -> None:
        self.options = as_options(target)
        self._channel = sync_channel(self.options)
        # The generated stub is untyped; its methods return grpc's own call objects.
        self._stub = pb_grpc.TextProcessorStub(self._channel)  # type: ignore[no-untyped-call]
        self._health = health_stub(self._channel)

    def _call_args(self, timeout: float | None, metadata: MetadataLike | None) -> dict[str, Any]:
        return {
            "timeout": deadline(self.options, timeout),
            "metadata": call_metadata(self.options, metadata),
            "wait_for_ready": self.options.wait_for_ready,
        }

    def _unary(self, method: Any, request: Any, args: dict[str, Any]) -> Any:
        # A future's result() waits in short slices, so Ctrl-C is seen and can cancel.
        future = method.future(request, **args)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def process_stream(
        self,
        text: str,
        *,
        include_sentiment: bool | None = None,
        include_summary: bool | None = None,
        include_entities: bool | None = None,
        chunk_size: int | None = None,
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
    ) -> UpdateStream[pb.StageUpdate]:
        """The StageUpdates of ProcessStream as they arrive; None leaves a field to the server."""
        request = process_request(
            text,
            include_sentiment=include_sentiment,
            include_summary=include_summary,
            include_entities=include_entities,
            chunk_size=chunk_size,
        )
        return UpdateStream(self._stub.ProcessStream(request, **self._call_args(timeout, metadata)))

    def process(
        self,
        text: str,
        *,
        include_sentiment: bool | None = None,
        include_summary: bool | None = None,
        include_entities: bool | None = None,
        chunk_size: int | None = None,
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
    ) -> pb.ProcessResponse:
        """All results at once (Process); retried on UNAVAILABLE per ClientOptions.max_attempts."""
        request = process_request(
            text,
            include_sentiment=include_sentiment,
            include_summary=include_summary,
            include_entities=include_entities,
            chunk_size=chunk_size,
        )
        response: pb.ProcessResponse = self._unary(
            self._stub.Process, request, self._call_args(timeout, metadata)
        )
        return response

    def process_feed(
        self,
        documents: Iterable[Document],
        *,
        include_sentiment: bool | None = None,
        include_summary: bool | None = None,
        include_entities: bool | None = None,
        chunk_size: int | None = None,
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
    ) -> FeedResults:
        """Many documents over one ProcessFeed call; a FeedResult per document as it finishes.

        documents: texts (ids "0", "1", ...), (id, text) pairs or FeedRequests, read (on
        grpc's thread) only as fast as the server takes them.
        """
        requests = feed_requests(
            documents,
            include_sentiment=include_sentiment,
            include_summary=include_summary,
            include_entities=include_entities,
            chunk_size=chunk_size,
        )
        return FeedResults(self._stub.ProcessFeed(requests, **self._call_args(timeout, metadata)))

    def generate_stream(
        self,
        prompt: str,
        *,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        stop: Iterable[str] = (),
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
    ) -> UpdateStream[pb.GenerateUpdate]:
        """The GenerateUpdates of GenerateStream as they arrive."""
        request = generate_request(
            prompt,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            stop=stop,
        )
        return UpdateStream(
            self._stub.GenerateStream(request, **self._call_args(timeout, metadata))
        )

    def health(
        self,
        service: str = "",
        *,
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
    ) -> str:
        """The serving status ("SERVING", "NOT_SERVING", ...) of the server or one service."""
        response = self._unary(
            self._health.Check, health_request(service), self._call_args(timeout, metadata)
        )
        return status_name(response)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> SyncTextStreamClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
