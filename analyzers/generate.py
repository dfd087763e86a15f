"""Text generation with a causal language model, streamed token by token."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator
from typing import Any

from transformers import AutoModelForCausalLM

from analyzers.decoding.causal import CausalEngine
from analyzers.decoding.engine import DecodeRequest
from analyzers.decoding.plan import DecodePlan, Sampling
from analyzers.decoding.rows import RowDone
from analyzers.decoding.scheduler import DecodeLimits, DecodeScheduler, run_to_end
from analyzers.device import Placement
from analyzers.errors import AnalyzerError
from analyzers.hf import input_limit, load_model, load_tokenizer
from analyzers.priority import work_executor
from analyzers.types import (
    FinishReason,
    GeneratedText,
    GenerationEvent,
    GenerationFinished,
    GenerationParams,
    GenerationStarted,
)

WARM_UP_PROMPT = "Once upon a time"
# Distinct decoding plans kept (by sampling settings and lengths); each is a few objects.
_PLANS_KEPT = 256


class CausalGenerator:
    """Any AutoModelForCausalLM; concurrent generations share each decoding step."""

    def __init__(
        self,
        source: str,
        *,
        placement: Placement,
        limits: DecodeLimits,
        max_new_tokens_cap: int = 512,
    ) -> None:
        self.name = source
        self._placement = placement
        self._cap = max_new_tokens_cap
        self._tokenizer = load_tokenizer(source)
        self._model = load_model(AutoModelForCausalLM, source, placement)
        self._max_positions = input_limit(self._tokenizer, self._model.config, fallback=2048)
        self._eos_ids = _token_ids(self._model.generation_config.eos_token_id)
        self._eos_ids |= _token_ids(self._tokenizer.eos_token_id)
        self._pad_id = _first_of(
            self._model.generation_config.pad_token_id,
            self._tokenizer.pad_token_id,
            *sorted(self._eos_ids),
        )
        # The processors generate() would use for these settings, shared by equal requests.
        self._plan = functools.lru_cache(maxsize=_PLANS_KEPT)(self._new_plan)
        engine = CausalEngine(self._model, pad_id=self._pad_id if self._pad_id is not None else 0)
        self.scheduler = DecodeScheduler(
            source, engine, self._tokenizer, placement.device, limits, role="generator"
        )
        self._preparing = work_executor("generator-prepare", workers=2)

    async def generate(
        self, prompt: str, params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        # The server validates the cap; clamped again so no caller can exceed it.
        max_new = max(1, min(params.max_new_tokens, self._cap))
        # Tokenizing and preparing the processors are CPU work: not on the loop.
        loop = asyncio.get_running_loop()
        request = await loop.run_in_executor(
            self._preparing, self._request, prompt, max_new, params
        )
        # Queued before `started` goes out: a full queue refuses the call, not the stream.
        stream = self.scheduler.submit(request)
        try:
            yield GenerationStarted(
                model=self.name,
                prompt_tokens=len(request.input_ids),
                max_new_tokens=request.max_new_tokens,
            )
            stops = tuple(stop for stop in params.stop if stop)
            text = ""
            emitted = 0
            async with contextlib.aclosing(stream.items()) as items:
                async for item in items:
                    if isinstance(item, RowDone):
                        if len(text) > emitted:
                            yield GeneratedText(text[emitted:], item.tokens)
                        yield GenerationFinished(item.reason, item.tokens)
                        return
                    text += item.text
                    cut = _first_stop(text, stops)
                    if cut is not None:
                        # The output ends before the stop string; the row leaves the batch.
                        stream.cancel()
                        if cut > emitted:
                            yield GeneratedText(text[emitted:cut], item.tokens)
                        yield GenerationFinished(FinishReason.STOP, item.tokens)
                        return
                    # Text that may be the start of a stop string waits for the next piece.
                    ready = len(text) - _held_back(text, stops)
                    if ready > emitted:
                        yield GeneratedText(text[emitted:ready], item.tokens)
                        emitted = ready
        finally:
            # Closed early, failed or done: either way the row leaves at the next step.
            stream.cancel()

    @property
    def queue(self) -> DecodeScheduler[Any]:
        return self.scheduler

    def warm(self) -> None:
        run_to_end(self.generate(WARM_UP_PROMPT, GenerationParams(max_new_tokens=2)))

    @property
    def model(self) -> Any:
        return self._model

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def close(self) -> None:
        self.scheduler.close()
        self._preparing.shutdown(wait=False, cancel_futures=True)

    def _request(self, prompt: str, max_new: int, params: GenerationParams) -> DecodeRequest:
        prompt_ids, max_new = self._fit(self._tokenizer(prompt)["input_ids"], max_new)
        sampling = Sampling(params.temperature or None, params.top_p, params.seed)
        plan = self._plan(sampling.temperature, sampling.top_p, len(prompt_ids), max_new)
        return DecodeRequest(prompt_ids, max_new, plan, sampling)

    def _new_plan(
        self, temperature: float | None, top_p: float | None, prompt_tokens: int, max_new: int
    ) -> DecodePlan:
        kwargs: dict[str, Any] = {
            # generate() turns max_new_tokens into this; forced EOS and others read it.
            "max_length": prompt_tokens + max_new,
            "max_new_tokens": None,
            # A model config's minimum would forbid EOS; the caller asked for at most max_new.
            "min_length": 0,
            "min_new_tokens": None,
            "num_beams": 1,
            "num_return_sequences": 1,
            "do_sample": bool(temperature),
            "pad_token_id": self._pad_id,
        }
        if temperature:
            kwargs["temperature"] = temperature
            kwargs["top_p"] = top_p if top_p is not None else 1.0
        return DecodePlan(self._model, kwargs, self._placement.device, prompt_length=prompt_tokens)

    def _fit(self, prompt_ids: list[int], max_new: int) -> tuple[list[int], int]:
        """Make prompt plus new tokens fit the model's positions, keeping the prompt's end."""
        if not prompt_ids:
            start = _first_of(self._tokenizer.bos_token_id, *sorted(self._eos_ids))
            if start is None:
                raise AnalyzerError(f"{self.name}: the prompt is empty and the model has no BOS")
            prompt_ids = [start]
        if self._max_positions > 1:
            max_new = min(max_new, self._max_positions - 1)
            room = self._max_positions - max_new
            # The end of the prompt is what the continuation follows from.
            prompt_ids = prompt_ids[-room:]
        return prompt_ids, max_new


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    """Where the earliest stop string starts in text, if any does."""
    found = [index for index in (text.find(stop) for stop in stops) if index >= 0]
    return min(found) if found else None


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest end of text that is the start of a stop string."""
    longest = 0
    for stop in stops:
        for length in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:length]):
                longest = length
                break
    return longest


def _token_ids(value: int | list[int] | None) -> set[int]:
    if value is None:
        return set()
    if isinstance(value, int):
        return {value}
    return set(value)


def _first_of(*values: int | None) -> int | None:
    for value in values:
        if isinstance(value, int):
            return value
    return None
