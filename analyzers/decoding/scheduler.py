"""Continuous batching: every decoding row of a model advances in one forward pass per step.

A row that arrives while others decode joins at the next step, after its own prefill (the
encoder pass, or the prompt). A row that ends (EOS, length) or whose caller leaves is
dropped at once and its cache memory freed; the others go on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import torch

from analyzers.config import ModelSettings
from analyzers.decoding.engine import DecodeEngine, DecodeRequest
from analyzers.decoding.plan import choose_tokens, row_generator
from analyzers.decoding.rows import RowDone, RowFailed, RowItem, RowJoined, RowStream, RowText
from analyzers.decoding.text import TextDelta
from analyzers.errors import AnalyzerError, OverloadedError
from analyzers.priority import lower_this_thread
from analyzers.types import FinishReason

log = logging.getLogger(__name__)

State = TypeVar("State")


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds of one model's scheduler (ModelSettings' decode_* and token timeout)."""

    # Rows in one forward pass.
    max_rows: int
    # Cache positions all rows may hold together (each row: input + new tokens).
    max_cache_tokens: int
    # Rows waiting to join; one more is refused with OverloadedError.
    max_queued: int
    # A joined row that gets nothing for this long fails as stalled.
    token_timeout_seconds: float
    # When nothing is decoding, how long the first arrival waits for others to share its
    # prefill (models.max_batch_wait_ms); arrivals during decoding join at the next step.
    join_wait_seconds: float = 0.0

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> DecodeLimits:
        return cls(
            max_rows=settings.decode_max_rows,
            max_cache_tokens=settings.decode_max_cache_tokens,
            max_queued=settings.decode_max_queued,
            token_timeout_seconds=settings.generation_token_timeout_seconds,
            join_wait_seconds=settings.max_batch_wait_ms / 1000,
        )


class DecodeObserver(Protocol):
    """Where a scheduler reports what it does (the server's metrics)."""

    def decode_step(self, model: str, rows: int) -> None:
        """One forward pass over `rows` rows, each of which got one token."""
        ...

    def decode_joined(self, model: str, waited_seconds: float) -> None: ...

    def decode_rows(self, model: str, rows: int) -> None: ...


class _Row:
    """A row on the scheduler's thread: its ids so far and its text decoder."""

    __slots__ = ("generated", "generator", "ids", "request", "stream", "submitted", "text")

    def __init__(
        self, stream: RowStream, request: DecodeRequest, tokenizer: Any, device: torch.device
    ) -> None:
        self.stream = stream
        self.request = request
        self.ids: list[int] = []
        self.generated = 0
        self.text = TextDelta(tokenizer)
        self.generator = row_generator(request.sampling, device)
        self.submitted = time.monotonic()


class DecodeScheduler(Generic[State]):
    """One thread per model runs the step loop; callers submit rows from the event loop."""

    def __init__(
        self,
        name: str,
        engine: DecodeEngine[State],
        tokenizer: Any,
        device: torch.device,
        limits: DecodeLimits,
        *,
        role: str,
    ) -> None:
        self.name = name
        self._observer: DecodeObserver | None = None
        self._engine = engine
        self._tokenizer = tokenizer
        self._device = device
        self._limits = limits
        self._max_rows = limits.max_rows if engine.mixes_positions else 1
        self._waiting: collections.deque[_Row] = collections.deque()
        self._wake = threading.Condition()
        self._closed = False
        self._decoding = 0
        self._thread = threading.Thread(target=self._run, name=f"model-{role}", daemon=True)
        self._thread.start()

    def observe(self, observer: DecodeObserver) -> None:
        """Report each decoding step, join and row count to observer from now on."""
        self._observer = observer

    @property
    def full(self) -> bool:
        """True when the next submit would be refused."""
        return len(self._waiting) >= self._limits.max_queued

    @property
    def decoding(self) -> int:
        """Rows in the running batch now."""
        return self._decoding

    def submit(self, request: DecodeRequest) -> RowStream:
        """Queue a row; on the event loop. Raises OverloadedError when the queue is full."""
        return self.submit_all([request])[0]

    def submit_all(self, requests: Sequence[DecodeRequest]) -> list[RowStream]:
        """Queue the rows of one call together: all of them, or none when the queue is full.

        The queue's bound is checked once, so a call with several rows (the sections of a
        long text) is never refused by an empty queue.
        """
        loop = asyncio.get_running_loop()
        timeout = self._limits.token_timeout_seconds
        rows = [
            _Row(
                RowStream(self.name, loop, timeout, self._forget),
                request,
                self._tokenizer,
                self._device,
            )
            for request in requests
        ]
        with self._wake:
            if self._closed:
                raise AnalyzerError(f"{self.name} is shut down")
            if len(self._waiting) >= self._limits.max_queued:
                raise OverloadedError(
                    f"{self.name} is overloaded: {len(self._waiting)} requests are waiting"
                )
            self._waiting.extend(rows)
            self._wake.notify()
        return [row.stream for row in rows]

    def close(self, wait_seconds: float = 5.0) -> None:
        """Stop the loop after the step in progress; rows still queued or decoding fail."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(wait_seconds)

    def _forget(self, stream: RowStream) -> None:
        """A caller left: a queued row leaves the queue now, a decoding one at its next step."""
        with self._wake:
            for row in self._waiting:
                if row.stream is stream:
                    self._waiting.remove(row)
                    break

    # Everything below runs on the scheduler's thread.

    def _run(self) -> None:
        lower_this_thread()
        # Grad mode is per thread and on by default: without this every step would record
        # an autograd graph.
        with torch.inference_mode():
            self._loop()

    def _loop(self) -> None:
        active: list[_Row] = []
        state: State | None = None
        while True:
            with self._wake:
                while not self._closed and not self._waiting and not active:
                    self._wake.wait()
                if not active:
                    self._gather_arrivals()
                if self._closed:
                    break
                joining = self._take(active)
            try:
                active, state = self._drop_cancelled(active, state)
                if joining:
                    active, state = self._join(joining, active, state)
                if active and state is not None:
                    active, state = self._step(active, state)
            except Exception as error:
                # Regrouping rows failed (out of memory, say): the rows in hand fail, the
                # loop and the queue go on.
                self._fail([*active, *joining], error)
                active, state = [], None
            self._set_decoding(len(active))
        self._shut_down(active)

    def _gather_arrivals(self) -> None:
        """Idle, with a first arrival: give calls sent together a moment to arrive together,
        so they share one prefill and need no padding between them (lock held)."""
        deadline = time.monotonic() + self._limits.join_wait_seconds
        while not self._closed and len(self._waiting) < self._max_rows:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._wake.wait(left)

    def _take(self, active: list[_Row]) -> list[_Row]:
        """Rows that fit beside the active ones, by row count and cache budget (lock held)."""
        engine = self._engine
        used = sum(engine.cache_tokens(row.request) for row in active)
        taken: list[_Row] = []
        while self._waiting and len(active) + len(taken) < self._max_rows:
            need = engine.cache_tokens(self._waiting[0].request)
            # A row larger than the whole budget still runs, alone.
            if used + need > self._limits.max_cache_tokens and (active or taken):
                break
            taken.append(self._waiting.popleft())
            used += need
        return taken

    def _join(
        self, joining: list[_Row], active: list[_Row], state: State | None
    ) -> tuple[list[_Row], State | None]:
        now = time.monotonic()
        rows = len(joining)
        for row in joining:
            row.ids = self._engine.start_ids(row.request)
        waits = [now - row.submitted for row in joining]
        self._report(lambda observer: _joined(observer, self.name, waits))
        _deliver([(row.stream, RowJoined()) for row in joining])
        try:
            new_state, logits = self._engine.prefill([row.request for row in joining])
            self._report(lambda observer: observer.decode_step(self.name, rows))
            kept = self._advance(joining, logits)
        except Exception as error:
            self._fail(joining, error)
            return active, state
        joined, joined_state = self._keep(joining, new_state, kept)
        if joined_state is None:
            return active, state
        if state is None:
            return joined, joined_state
        return active + joined, self._engine.concat(state, joined_state)

    def _step(self, active: list[_Row], state: State) -> tuple[list[_Row], State | None]:
        tokens = [row.ids[-1] for row in active]
        positions = [len(row.ids) - 1 for row in active]
        try:
            logits = self._engine.step(state, tokens, positions)
            rows = len(active)
            self._report(lambda observer: observer.decode_step(self.name, rows))
            kept = self._advance(active, logits)
        except Exception as error:
            # The step's rows share one forward pass: all of them fail, the loop goes on.
            self._fail(active, error)
            return [], None
        return self._keep(active, state, kept)

    def _advance(self, rows: list[_Row], logits: torch.Tensor) -> list[int]:
        """Pick each row's next token, stream its text, and return the rows still going."""
        scores = self._processed(rows, logits)
        tokens = choose_tokens(scores, [row.generator for row in rows])
        deliveries: list[tuple[RowStream, RowItem]] = []
        kept: list[int] = []
        for index, (row, token) in enumerate(zip(rows, tokens, strict=True)):
            row.ids.append(token)
            row.generated += 1
            reason = self._finished(row, token)
            # EOS is a special token: it has no text of its own.
            text = "" if reason is FinishReason.EOS else row.text.push(token)
            if reason is not None:
                text += row.text.flush()
            if text:
                deliveries.append((row.stream, RowText(text, row.generated)))
            if reason is not None:
                deliveries.append((row.stream, RowDone(reason, row.generated)))
            elif not row.stream.cancelled:
                kept.append(index)
        _deliver(deliveries)
        return kept

    def _processed(self, rows: list[_Row], logits: torch.Tensor) -> torch.Tensor:
        """The plans' processors, once per group of rows with the same plan and length."""
        groups: dict[tuple[int, int], list[int]] = {}
        for index, row in enumerate(rows):
            groups.setdefault((id(row.request.plan), len(row.ids)), []).append(index)
        for members in groups.values():
            plan = rows[members[0]].request.plan
            if not plan.processors:
                continue
            ids = torch.tensor(
                [rows[member].ids for member in members], dtype=torch.long, device=logits.device
            )
            if len(members) == len(rows):
                # One group holds every row, in order (rows that joined together).
                logits = plan.process(ids, logits)
                continue
            rows_at = torch.tensor(members, dtype=torch.long, device=logits.device)
            logits[rows_at] = plan.process(ids, logits[rows_at])
        return logits

    def _finished(self, row: _Row, token: int) -> FinishReason | None:
        if token in row.request.plan.eos_ids:
            return FinishReason.EOS
        if row.generated >= row.request.max_new_tokens:
            return FinishReason.LENGTH
        return None

    def _drop_cancelled(
        self, active: list[_Row], state: State | None
    ) -> tuple[list[_Row], State | None]:
        if state is None:
            return active, state
        kept = [index for index, row in enumerate(active) if not row.stream.cancelled]
        return self._keep(active, state, kept)

    def _keep(
        self, rows: list[_Row], state: State, kept: list[int]
    ) -> tuple[list[_Row], State | None]:
        """Only the rows at `kept`, their cache cut down to them (None when none is left)."""
        if len(kept) == len(rows):
            return rows, state
        if not kept:
            return [], None
        return [rows[index] for index in kept], self._engine.select(state, kept)

    def _fail(self, rows: Sequence[_Row], error: BaseException) -> None:
        # Type only by default: a model's message may quote the input.
        log.error(
            "%s: a decoding step failed: %s",
            self.name,
            type(error).__name__,
            exc_info=error if log.isEnabledFor(logging.DEBUG) else None,
        )
        message = f"{self.name} failed: {type(error).__name__}"
        _deliver([(row.stream, RowFailed(message, error)) for row in rows])

    def _shut_down(self, active: list[_Row]) -> None:
        with self._wake:
            waiting = list(self._waiting)
            self._waiting.clear()
        failed = RowFailed(f"{self.name} is shut down")
        _deliver([(row.stream, failed) for row in [*active, *waiting]])
        self._set_decoding(0)

    def _set_decoding(self, rows: int) -> None:
        if rows != self._decoding:
            self._decoding = rows
            self._report(lambda observer: observer.decode_rows(self.name, rows))

    def _report(self, tell: Callable[[DecodeObserver], None]) -> None:
        """Tell the observer; its failure must never stop the decoding loop."""
        if self._observer is None:
            return
        try:
            tell(self._observer)
        except Exception:
            log.exception("%s: the decoding observer failed", self.name)


def _joined(observer: DecodeObserver, name: str, waits: list[float]) -> None:
    for waited in waits:
        observer.decode_joined(name, waited)


def run_to_end(stream: AsyncGenerator[Any, None]) -> list[Any]:
    """Read an async stream to its end from blocking code (warm-up before serving).

    The stream runs on a thread with its own event loop, so this works whether or not the
    calling thread has a loop running.
    """

    async def collect() -> list[Any]:
        async with contextlib.aclosing(stream):
            return [item async for item in stream]

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm-up") as executor:
        return executor.submit(asyncio.run, collect()).result()


def _deliver(deliveries: list[tuple[RowStream, RowItem]]) -> None:
    """Hand items to their callers' event loops, one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[RowStream, RowItem]]] = {}
    for stream, item in deliveries:
        by_loop.setdefault(stream.loop, []).append((stream, item))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is reading
            loop.call_soon_threadsafe(_put_all, items)


def _put_all(items: list[tuple[RowStream, RowItem]]) -> None:
    for stream, item in items:
        stream.put(item)
