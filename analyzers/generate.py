"""Text generation with a causal language model, streamed token by token."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncGenerator
from typing import Any

import torch
from transformers import AutoModelForCausalLM, StoppingCriteria, StoppingCriteriaList

from analyzers.base import AnalyzerError
from analyzers.device import Placement
from analyzers.hf import input_limit, load_model, load_tokenizer
from analyzers.streaming import ModelThread, StopOnEvent, StopOnStrings, TokenStreamer
from analyzers.types import (
    FinishReason,
    GeneratedText,
    GenerationEvent,
    GenerationFinished,
    GenerationParams,
    GenerationStarted,
)

WARM_UP_PROMPT = "Once upon a time"

# Sampling draws from torch's process-wide RNG, so a seeded run is repeatable only if no
# other sampling run (of any generator in the process) draws from it meanwhile.
_RNG_LOCK = threading.Lock()


class CausalGenerator:
    """Any AutoModelForCausalLM; one generation at a time on the model's own thread."""

    def __init__(
        self,
        source: str,
        *,
        placement: Placement,
        max_new_tokens_cap: int = 512,
        token_timeout_seconds: float = 30.0,
        max_queued: int = 4096,
    ) -> None:
        self.name = source
        self._placement = placement
        self._cap = max_new_tokens_cap
        self._token_timeout = token_timeout_seconds
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
        self._thread = ModelThread("generator", max_queued)

    async def generate(
        self, prompt: str, params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        # The server validates the cap; clamped again so no caller can exceed it.
        max_new = max(1, min(params.max_new_tokens, self._cap))
        prompt_ids, max_new = self._fit(self._tokenizer(prompt)["input_ids"], max_new)
        yield GenerationStarted(
            model=self.name, prompt_tokens=len(prompt_ids), max_new_tokens=max_new
        )

        stops = tuple(stop for stop in params.stop if stop)
        cancel = threading.Event()
        streamer = TokenStreamer(self._tokenizer, timeout=self._token_timeout)

        def generate() -> torch.Tensor:
            return self._generate(prompt_ids, max_new, params, stops, streamer, cancel)

        run = self._thread.start(self.name, generate, streamer, cancel)
        text = ""
        emitted = 0
        try:
            async with contextlib.aclosing(run.pieces()) as pieces:
                async for piece in pieces:
                    text += piece.text
                    cut = _first_stop(text, stops)
                    if cut is not None:
                        # The output ends before the stop string; the model is told to stop now.
                        run.stop()
                        if cut > emitted:
                            yield GeneratedText(text[emitted:cut], piece.tokens)
                        yield GenerationFinished(FinishReason.STOP, piece.tokens)
                        return
                    # Text that may be the start of a stop string waits for the next piece.
                    ready = len(text) - _held_back(text, stops)
                    if ready > emitted:
                        yield GeneratedText(text[emitted:ready], piece.tokens)
                        emitted = ready
            output = await run.result()
            if output is None:
                raise AnalyzerError(f"{self.name}: generation did not run")
            generated = output[0, len(prompt_ids) :].tolist()
            if len(text) > emitted:
                yield GeneratedText(text[emitted:], len(generated))
            yield GenerationFinished(self._reason(generated, max_new), len(generated))
        finally:
            # Closed early, failed or done: either way the model stops at its next token.
            run.stop()

    def warm(self) -> None:
        prompt_ids, _ = self._fit(self._tokenizer(WARM_UP_PROMPT)["input_ids"], 2)
        streamer = TokenStreamer(self._tokenizer, timeout=self._token_timeout)
        self._generate(prompt_ids, 2, GenerationParams(), (), streamer, threading.Event())

    @property
    def model(self) -> Any:
        return self._model

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def close(self) -> None:
        self._thread.close()

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

    def _reason(self, generated: list[int], max_new: int) -> FinishReason:
        if generated and generated[-1] in self._eos_ids:
            return FinishReason.EOS
        if len(generated) >= max_new:
            return FinishReason.LENGTH
        # Stopped early without EOS: a stop string the decoded stream split differently.
        return FinishReason.STOP

    def _generate(
        self,
        prompt_ids: list[int],
        max_new: int,
        params: GenerationParams,
        stops: tuple[str, ...],
        streamer: TokenStreamer,
        cancel: threading.Event,
    ) -> torch.Tensor:
        """On the model thread."""
        device = self._placement.device
        input_ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
        criteria: list[StoppingCriteria] = [StopOnEvent(cancel)]
        if stops:
            criteria.append(StopOnStrings(self._tokenizer, stops, len(prompt_ids)))
        sampling = bool(params.temperature)
        kwargs: dict[str, Any] = {
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": max_new,
            # A model config's minimum would forbid EOS; the caller asked for at most max_new.
            "min_length": 0,
            "min_new_tokens": None,
            "num_beams": 1,
            "num_return_sequences": 1,
            "do_sample": sampling,
            "pad_token_id": self._pad_id,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList(criteria),
        }
        if sampling:
            kwargs["temperature"] = params.temperature
            kwargs["top_p"] = params.top_p if params.top_p is not None else 1.0
        with torch.inference_mode():
            if not sampling:
                output: torch.Tensor = self._model.generate(input_ids, **kwargs)
                return output
            with _RNG_LOCK:
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                output = self._model.generate(input_ids, **kwargs)
                return output


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
