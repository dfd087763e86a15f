"""Server-stream wrappers: iterate the updates, cancel on the server when the caller stops."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import grpc

T = TypeVar("T")


class UpdateStream(Generic[T]):
    """The updates of one blocking server-streaming call, in order, as they arrive.

    Leaving a `with` block, or Ctrl-C (KeyboardInterrupt) while waiting for the next
    update, cancels the call so the server stops its work too.
    """

    def __init__(self, call: Any) -> None:
        # grpc's _MultiThreadedRendezvous: an iterator, a grpc.Call and a grpc.Future.
        self.call = call

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        try:
            update: T = next(self.call)
        except KeyboardInterrupt:
            self.cancel()
            raise
        return update

    def cancel(self) -> bool:
        """Cancels the call on the server; False when it had already ended."""
        cancelled: bool = self.call.cancel()
        return cancelled

    def __enter__(self) -> UpdateStream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cancel()


class AsyncUpdateStream(Generic[T]):
    """The updates of one grpc.aio server-streaming call, in order, as they arrive.

    Leaving an `async with` block, or cancelling the task that reads, cancels the call
    so the server stops its work too.
    """

    def __init__(self, call: grpc.aio.UnaryStreamCall[Any, T]) -> None:
        self.call = call
        self._updates: AsyncIterator[T] = call.__aiter__()

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self._updates.__anext__()
        except BaseException as error:
            if not isinstance(error, (StopAsyncIteration, grpc.RpcError)):
                self.cancel()
            raise

    def cancel(self) -> bool:
        """Cancels the call on the server; False when it had already ended."""
        return self.call.cancel()

    async def __aenter__(self) -> AsyncUpdateStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cancel()
