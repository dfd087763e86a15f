"""A micro-batcher: items from many request streams share one blocking model call."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from analyzers.errors import AnalyzerError, OverloadedError
from analyzers.priority import work_executor

if TYPE_CHECKING:
    from analyzers.base import ModelObserver
from analyzers.config import ModelSettings

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

# How many recent batch sizes are kept for metrics.
RECENT_BATCHES = 256


def _default(name: str) -> Any:
    # One source for the batching defaults: the settings' own field defaults.
    return ModelSettings.model_fields[name].default


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """The knobs of every batcher in the process (from ModelSettings)."""

    max_batch_size: int = _default("max_batch_size")
    max_wait_ms: float = _default("max_batch_wait_ms")
    max_queued_items: int = _default("max_queued_items")
    # Summed token count per batch, for batchers of transformer inputs.
    max_batch_tokens: int = _default("max_batch_tokens")

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> BatchLimits:
        return cls(
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_batch_wait_ms,
            max_queued_items=settings.max_queued_items,
            max_batch_tokens=settings.max_batch_tokens,
        )


@dataclass(slots=True)
class _Pending(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    cost: int
    enqueued_at: float


class MicroBatcher(Generic[T, R]):
    """Collects items submitted from any number of coroutines into batches for run_batch.

    run_batch is a blocking call (a model's forward pass). It runs on this batcher's own
    single thread, so the event loop only moves items and results, and the model sees one
    batch at a time. While a batch runs, new items queue up and form the next, larger batch.
    """

    def __init__(
        self,
        name: str,
        run_batch: Callable[[list[T]], Sequence[R]],
        *,
        max_batch_size: int,
        max_wait_ms: float,
        max_queued_items: int,
        cost: Callable[[T], int] | None = None,
        max_batch_cost: int | None = None,
    ) -> None:
        if max_batch_size < 1 or max_queued_items < 1:
            raise ValueError("max_batch_size and max_queued_items must be at least 1")
        if (cost is None) != (max_batch_cost is None):
            raise ValueError("cost and max_batch_cost go together")
        self.name = name
        self._run_batch = run_batch
        self._max_batch_size = max_batch_size
        self._max_wait = max_wait_ms / 1000.0
        self._max_queued = max_queued_items
        self._cost = cost
        self._max_cost = max_batch_cost
        self._executor = work_executor(name)
        self._queue: collections.deque[_Pending[T, R]] = collections.deque()
        self._queued_cost = 0
        # Bound to one event loop at a time; see _bind.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self._close_lock = threading.Lock()

        self.processed_items = 0
        self.batches = 0
        self.dropped_items = 0
        # Items tried again alone after their batch failed.
        self.retried_items = 0
        self.recent_batch_sizes: collections.deque[int] = collections.deque(maxlen=RECENT_BATCHES)
        # Told on the event loop as each batch starts: its size and each item's queue wait.
        self._observer: ModelObserver | None = None

    @classmethod
    def with_limits(
        cls,
        name: str,
        run_batch: Callable[[list[T]], Sequence[R]],
        limits: BatchLimits,
        *,
        cost: Callable[[T], int] | None = None,
    ) -> MicroBatcher[T, R]:
        """A batcher bounded by limits; with cost, also by limits.max_batch_tokens."""
        return cls(
            name,
            run_batch,
            max_batch_size=limits.max_batch_size,
            max_wait_ms=limits.max_wait_ms,
            max_queued_items=limits.max_queued_items,
            cost=cost,
            max_batch_cost=limits.max_batch_tokens if cost is not None else None,
        )

    def observe(self, observer: ModelObserver) -> None:
        """Report each batch to observer (its size and each item's queue wait) from now on."""
        self._observer = observer

    @property
    def queued_items(self) -> int:
        return len(self._queue)

    @property
    def full(self) -> bool:
        """No room for another item (items whose callers left are pruned first)."""
        if len(self._queue) >= self._max_queued:
            self._prune_cancelled()
        return len(self._queue) >= self._max_queued

    async def submit(self, item: T) -> R:
        """Queue one item and wait for its result.

        Raises OverloadedError at once when the queue is full. Cancelling the caller drops
        the item if its batch has not started yet.
        """
        (future,) = self._enqueue([item])
        return await future

    async def submit_many(self, items: Sequence[T]) -> list[R]:
        """Queue several items together (all or none) and wait for all their results.

        Cancelling the caller, or a failure of any item, cancels the items still queued.
        """
        if not items:
            return []
        futures = self._enqueue(items)
        try:
            return [await future for future in futures]
        finally:
            # Cancelled or failed part-way: the rest must not reach the model.
            for future in futures:
                future.cancel()

    def run_now(self, items: list[T]) -> Sequence[R]:
        """Run one batch synchronously on the caller's thread (warm-up at load time)."""
        return self._run_batch(items)

    def close(self) -> None:
        """Stop the model thread; queued items fail. Safe from any thread, idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        loop, worker = self._loop, self._worker
        if loop is not None and worker is not None and not loop.is_closed():
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(worker.cancel)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _enqueue(self, items: Sequence[T]) -> list[asyncio.Future[R]]:
        if self._closed:
            raise AnalyzerError(f"{self.name} is shut down")
        loop = self._bind()
        if len(self._queue) + len(items) > self._max_queued:
            self._prune_cancelled()
            if len(items) > self._max_queued:
                raise AnalyzerError(
                    f"{self.name}: {len(items)} items at once exceed the queue of "
                    f"{self._max_queued}"
                )
            if len(self._queue) + len(items) > self._max_queued:
                raise OverloadedError(f"{self.name} is overloaded: {len(self._queue)} items queued")
        now = loop.time()
        futures: list[asyncio.Future[R]] = []
        for item in items:
            cost = self._cost(item) if self._cost is not None else 1
            future: asyncio.Future[R] = loop.create_future()
            self._queue.append(_Pending(item, future, cost, now))
            self._queued_cost += cost
            futures.append(future)
        assert self._wakeup is not None
        self._wakeup.set()
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._work(), name=f"batcher-{self.name}")
        return futures

    def _bind(self) -> asyncio.AbstractEventLoop:
        """Attach to the running loop; a batcher outlives event loops in tests and reloads."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._queue:
                # Items of a previous loop can never be answered there: that loop is gone
                # or no longer drives this batcher.
                log.warning(
                    "%s: dropping %d items of a previous event loop", self.name, len(self._queue)
                )
                self.dropped_items += len(self._queue)
                self._queue.clear()
                self._queued_cost = 0
            self._loop = loop
            self._wakeup = asyncio.Event()
            self._worker = None
        return loop

    def _release(self, pending: list[_Pending[T, R]]) -> None:
        for p in pending:
            if p.future.done():
                continue
            if self._closed:
                p.future.set_exception(AnalyzerError(f"{self.name} is shut down"))
            else:
                p.future.cancel()

    def _prune_cancelled(self) -> None:
        live = collections.deque(p for p in self._queue if not p.future.done())
        self.dropped_items += len(self._queue) - len(live)
        self._queue = live
        self._queued_cost = sum(p.cost for p in live)

    def _ready(self) -> bool:
        if len(self._queue) >= self._max_batch_size:
            return True
        return self._max_cost is not None and self._queued_cost >= self._max_cost

    async def _work(self) -> None:
        """Form and run batches until the queue is empty, then end (restarted on submit)."""
        loop = asyncio.get_running_loop()
        wakeup = self._wakeup
        assert wakeup is not None
        while self._queue:
            # Wait up to max_wait after the oldest item arrived, unless a full batch is here.
            deadline = self._queue[0].enqueued_at + self._max_wait
            while not self._ready() and loop.time() < deadline:
                wakeup.clear()
                try:
                    async with asyncio.timeout_at(deadline):
                        await wakeup.wait()
                except TimeoutError:
                    break
            batch = self._take_batch()
            if batch:
                await self._run(loop, batch)

    def _take_batch(self) -> list[_Pending[T, R]]:
        batch: list[_Pending[T, R]] = []
        cost = 0
        while self._queue and len(batch) < self._max_batch_size:
            pending = self._queue[0]
            if pending.future.done():
                # The caller went away (cancelled): its item never reaches the model.
                self._queue.popleft()
                self._queued_cost -= pending.cost
                self.dropped_items += 1
                continue
            if batch and self._max_cost is not None and cost + pending.cost > self._max_cost:
                break
            self._queue.popleft()
            self._queued_cost -= pending.cost
            batch.append(pending)
            cost += pending.cost
        return batch

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending[T, R]]) -> None:
        items = [pending.item for pending in batch]
        self.batches += 1
        self.processed_items += len(batch)
        self.recent_batch_sizes.append(len(batch))
        if self._observer is not None:
            now = loop.time()
            waits = [now - pending.enqueued_at for pending in batch]
            self._observer.batch_done(self.name, len(batch), waits)
        try:
            results = await loop.run_in_executor(self._executor, self._run_batch, items)
            if len(results) != len(items):
                raise AnalyzerError(
                    f"{self.name} returned {len(results)} results for {len(items)} items"
                )
        except asyncio.CancelledError:
            # The worker itself is being cancelled (close, loop shutdown): nobody will answer
            # these callers, so release them rather than leave them waiting forever.
            self._release([*batch, *self._queue])
            raise
        except BaseException as exc:
            if isinstance(exc, RuntimeError) and self._closed:
                exc = AnalyzerError(f"{self.name} is shut down")
            elif isinstance(exc, Exception) and self._retryable(exc, batch):
                # One bad item must not fail the others, which may belong to other requests:
                # each item gets one more try, alone, so only the item at fault fails.
                log.warning(
                    "%s: a batch of %d failed (%s); retrying its items one by one",
                    self.name,
                    len(batch),
                    type(exc).__name__,
                    exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
                )
                await self._run_alone(loop, batch)
                return
            else:
                # Type only by default: a model's message may quote the request text.
                log.error(
                    "%s: a batch of %d failed: %s",
                    self.name,
                    len(batch),
                    type(exc).__name__,
                    exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
                )
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)

    def _retryable(self, exc: Exception, batch: list[_Pending[T, R]]) -> bool:
        """Whether a failed batch's items are worth a try each on their own."""
        if isinstance(exc, OverloadedError):
            # Nothing about the items: trying them again would only add to the load.
            return False
        return sum(not pending.future.done() for pending in batch) > 1

    async def _run_alone(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Pending[T, R]]
    ) -> None:
        """Runs each item of a failed batch as a batch of one; each caller gets its own outcome.

        One pass only: a model that fails for every item costs one failed batch plus one call
        per item, never more. Items whose callers left meanwhile are skipped.
        """
        failed = 0
        for index, pending in enumerate(batch):
            if pending.future.done():
                continue
            self.retried_items += 1
            try:
                results = await loop.run_in_executor(
                    self._executor, self._run_batch, [pending.item]
                )
                if len(results) != 1:
                    raise AnalyzerError(f"{self.name} returned {len(results)} results for 1 item")
            except asyncio.CancelledError:
                self._release([*batch[index:], *self._queue])
                raise
            except BaseException as exc:
                if isinstance(exc, RuntimeError) and self._closed:
                    exc = AnalyzerError(f"{self.name} is shut down")
                else:
                    failed += 1
                if not pending.future.done():
                    pending.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    self._release([*batch[index + 1 :], *self._queue])
                    raise
                continue
            if not pending.future.done():
                pending.future.set_result(results[0])
        if failed:
            log.error("%s: %d items failed on their own", self.name, failed)
