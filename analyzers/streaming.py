"""Run generate() on a model's own thread and stream its text, token by token, to async code."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch
from transformers import StoppingCriteria, TextIteratorStreamer

from analyzers.base import AnalyzerError, OverloadedError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Piece:
    """Newly decoded text and how many tokens had been generated when it was decoded."""

    text: str
    tokens: int


class TokenStreamer(TextIteratorStreamer):
    """A TextIteratorStreamer whose queue carries Pieces: the text and the running token count.

    The prompt is skipped and special tokens are not decoded.
    """

    def __init__(self, tokenizer: Any, timeout: float) -> None:
        super().__init__(tokenizer, skip_prompt=True, timeout=timeout, skip_special_tokens=True)
        self.generated_tokens = 0

    def put(self, value: torch.Tensor) -> None:
        # The first put is the prompt (decoder start token for seq2seq), which is not generated.
        if not (self.skip_prompt and self.next_tokens_are_prompt):
            self.generated_tokens += int(value.numel())
        super().put(value)  # type: ignore[no-untyped-call]  # unannotated upstream

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        self.text_queue.put(Piece(text, self.generated_tokens), timeout=self.timeout)
        if stream_end:
            self.text_queue.put(self.stop_signal, timeout=self.timeout)

    def finish(self) -> None:
        """End the stream from outside generate(), which failed before it could."""
        try:
            self.end()  # type: ignore[no-untyped-call]  # unannotated upstream
        except Exception:
            # Flushing decodes cached tokens, which can fail too; the end marker must still go.
            self.text_queue.put(self.stop_signal)


class StopOnEvent(StoppingCriteria):
    """Stops generation at the next token once the event is set (the consumer went away)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        stop = self._event.is_set()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


class StopOnStrings(StoppingCriteria):
    """Stops generation as soon as the generated text contains any of the stop strings."""

    def __init__(self, tokenizer: Any, stops: tuple[str, ...], prompt_tokens: int) -> None:
        self._tokenizer = tokenizer
        self._stops = stops
        self._prompt_tokens = prompt_tokens

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        # Decoding all generated tokens each step costs little next to a forward pass, and,
        # unlike matching token ids, finds stop strings that span token boundaries.
        text = self._tokenizer.decode(input_ids[0, self._prompt_tokens :], skip_special_tokens=True)
        stop = any(s in text for s in self._stops)
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


class GenerationRun:
    """One generate() call on the model thread, read as an async stream of Pieces."""

    def __init__(
        self,
        label: str,
        streamer: TokenStreamer,
        cancel: threading.Event,
        started: asyncio.Future[None],
        done: asyncio.Future[torch.Tensor | None],
        outcome: _Outcome,
    ) -> None:
        self._label = label
        self._streamer = streamer
        self._cancel = cancel
        self._started = started
        self._done = done
        self._outcome = outcome

    def stop(self) -> None:
        """Ask generate() to stop at the next token; returns at once."""
        self._cancel.set()

    async def pieces(self) -> AsyncGenerator[Piece, None]:
        """Non-empty pieces in order; raises AnalyzerError if generate() fails or stalls."""
        # The token timeout counts from the start of this run, not from when it was queued
        # behind other runs on the model thread.
        first: list[asyncio.Future[Any]] = [self._started, self._done]
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        if self._done.cancelled():
            raise AnalyzerError(f"{self._label}: the model thread is shut down")
        loop = asyncio.get_running_loop()
        timeout = self._streamer.timeout
        while True:
            try:
                # The blocking queue read happens on a worker thread, never on the loop.
                items = await loop.run_in_executor(None, self._drain)
            except queue.Empty:
                self.stop()
                raise AnalyzerError(
                    f"{self._label} produced nothing for {timeout:g} s and was stopped"
                ) from None
            for item in items:
                if item is None:
                    await self._check()
                    return
                if item.text:
                    yield item

    async def result(self) -> torch.Tensor | None:
        """The generated ids once generate() has returned; None if it never ran."""
        await self._check()
        return await self._done

    async def _check(self) -> None:
        try:
            # Shielded: a consumer being cancelled must not mark the run itself cancelled.
            await asyncio.shield(self._done)
        except asyncio.CancelledError:
            if self._done.cancelled():  # close() dropped the queued run
                raise AnalyzerError(f"{self._label}: the model thread is shut down") from None
            raise
        error = self._outcome.error
        if error is not None:
            raise AnalyzerError(f"{self._label} failed: {type(error).__name__}") from error

    def _drain(self) -> list[Piece | None]:
        """Block for the next item, then take whatever else is already queued."""
        text_queue = self._streamer.text_queue
        items: list[Piece | None] = [text_queue.get(timeout=self._streamer.timeout)]
        while items[-1] is not None:
            try:
                items.append(text_queue.get_nowait())
            except queue.Empty:
                break
        return items


@dataclass(slots=True)
class _Outcome:
    error: BaseException | None = None


class ModelThread:
    """The one thread a generative model runs on: runs execute one at a time, in order."""

    def __init__(self, name: str, max_waiting: int) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"model-{name}")
        self._max_waiting = max_waiting
        self._waiting = 0
        self._lock = threading.Lock()
        self._closed = False

    def start(
        self,
        label: str,
        generate: Callable[[], torch.Tensor],
        streamer: TokenStreamer,
        cancel: threading.Event,
    ) -> GenerationRun:
        """Queue generate() (which must pass streamer and a StopOnEvent(cancel) to the model)."""
        if self._closed:
            raise AnalyzerError(f"{self.name} is shut down")
        with self._lock:
            if self._waiting >= self._max_waiting:
                raise OverloadedError(f"{self.name} is overloaded: {self._waiting} runs queued")
            self._waiting += 1
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        outcome = _Outcome()

        def announce() -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
                loop.call_soon_threadsafe(_resolve, started)

        def call() -> torch.Tensor | None:
            with self._lock:
                self._waiting -= 1
            announce()
            if cancel.is_set():
                # The consumer left while this run was queued: skip the model entirely.
                streamer.finish()
                return None
            try:
                return generate()
            except BaseException as exc:
                outcome.error = exc
                # Type only by default: a model's message may quote the prompt.
                log.error(
                    "%s: generate() failed: %s",
                    label,
                    type(exc).__name__,
                    exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
                )
                # generate() never reached streamer.end(): end the stream here so the
                # consumer sees the failure at once instead of waiting out the timeout.
                streamer.finish()
                return None

        try:
            done = loop.run_in_executor(self._executor, call)
        except RuntimeError:
            with self._lock:
                self._waiting -= 1
            raise AnalyzerError(f"{self.name} is shut down") from None
        return GenerationRun(label, streamer, cancel, started, done, outcome)

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
