"""Summaries: extractive by sentence centrality (offline) or abstractive seq2seq (hub)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSeq2SeqLM, StoppingCriteriaList

from analyzers.batcher import BatchLimits, MicroBatcher
from analyzers.centrality import Embeddings, centrality, choose
from analyzers.device import Placement
from analyzers.embeddings import SentenceEncoder, bundled_minilm
from analyzers.failures import model_failures
from analyzers.hf import input_limit, load_model, load_tokenizer
from analyzers.sentences import Sentence, SentenceSplitter
from analyzers.streaming import ModelThread, StopOnEvent, TokenStreamer

DEFAULT_HUB_MODEL = "facebook/bart-large-cnn"
WARM_UP_TEXT = (
    "The library opened a new reading room this spring. Visitors praised its light and quiet. "
    "The council plans to extend its opening hours next year."
)


class CentralitySummarizer:
    """Picks the text's most central sentences (MiniLM embeddings) and yields them in order.

    Each sentence is one piece; pieces after the first start with a space.
    """

    def __init__(
        self,
        *,
        placement: Placement,
        limits: BatchLimits | None = None,
        min_tokens: int = 30,
        max_tokens: int = 130,
        encoder_folder: Path | None = None,
    ) -> None:
        folder = encoder_folder or bundled_minilm()
        self.name = f"extractive:{folder.name if encoder_folder else 'all-MiniLM-L6-v2'}"
        self._min_tokens = min_tokens
        self._max_tokens = max_tokens
        self._splitter = SentenceSplitter()
        self._encoder = SentenceEncoder(folder, placement=placement, limits=limits or BatchLimits())

    @property
    def encoder(self) -> SentenceEncoder:
        return self._encoder

    @property
    def batcher(self) -> MicroBatcher[list[int], Embeddings]:
        return self._encoder.batcher

    async def summarize(self, text: str) -> AsyncGenerator[str, None]:
        # Splitting and tokenizing a 5,000-character text takes milliseconds: not on the loop.
        sentences, inputs, counts = await asyncio.to_thread(self._prepare, text)
        if len(sentences) > 1:
            with model_failures(self.name):
                embeddings = await self._encoder.embed(inputs)
            scores = centrality(embeddings).tolist()
            chosen = choose(scores, counts, self._min_tokens, self._max_tokens)
        else:
            # One sentence (or none) has no centrality to rank; it is its own summary.
            chosen = list(range(len(sentences)))
        for position, index in enumerate(chosen):
            yield sentences[index].text if position == 0 else " " + sentences[index].text

    def sentences(self, text: str) -> list[Sentence]:
        return self._splitter.split(text)

    def warm(self) -> None:
        _, inputs, _ = self._prepare(WARM_UP_TEXT)
        self._encoder.embed_now(inputs)

    def close(self) -> None:
        self._encoder.close()

    def _prepare(self, text: str) -> tuple[list[Sentence], list[list[int]], list[int]]:
        sentences = self._splitter.split(text)
        if not sentences:
            return [], [], []
        texts = [sentence.text for sentence in sentences]
        return sentences, self._encoder.encode(texts), self._encoder.count_tokens(texts)


class Seq2SeqSummarizer:
    """An encoder-decoder summarization model, its tokens streamed as they are generated."""

    def __init__(
        self,
        source: str = DEFAULT_HUB_MODEL,
        *,
        placement: Placement,
        min_tokens: int = 30,
        max_tokens: int = 130,
        token_timeout_seconds: float = 30.0,
        max_queued: int = 4096,
    ) -> None:
        self.name = source
        self._placement = placement
        self._tokenizer = load_tokenizer(source)
        self._model = load_model(AutoModelForSeq2SeqLM, source, placement)
        self._max_input_tokens = input_limit(self._tokenizer, self._model.config)
        self._generation = summary_generation_kwargs(self._model, min_tokens, max_tokens)
        self._token_timeout = token_timeout_seconds
        self._thread = ModelThread("summary", max_queued)

    async def summarize(self, text: str) -> AsyncGenerator[str, None]:
        if not text.strip():
            return
        cancel = threading.Event()
        streamer = TokenStreamer(self._tokenizer, timeout=self._token_timeout)

        def generate() -> torch.Tensor:
            return self._generate(text, streamer, cancel)

        run = self._thread.start(self.name, generate, streamer, cancel)
        started = False
        try:
            async with contextlib.aclosing(run.pieces()) as pieces:
                async for piece in pieces:
                    # The summary starts at its first visible character, not at the space that
                    # byte-level BPE tokens carry in front of a word.
                    piece_text = piece.text if started else piece.text.lstrip()
                    if piece_text:
                        started = True
                        yield piece_text
        finally:
            # Closed early, failed or done: either way the model stops at its next token.
            run.stop()

    def warm(self) -> None:
        streamer = TokenStreamer(self._tokenizer, timeout=self._token_timeout)
        self._generate(WARM_UP_TEXT, streamer, threading.Event())

    @property
    def model(self) -> Any:
        return self._model

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def close(self) -> None:
        self._thread.close()

    def _generate(
        self, text: str, streamer: TokenStreamer, cancel: threading.Event
    ) -> torch.Tensor:
        """On the model thread: tokenize (truncated to the model's input) and generate."""
        encoded = self._tokenizer(
            text, truncation=True, max_length=self._max_input_tokens, return_tensors="pt"
        )
        with torch.inference_mode():
            output: torch.Tensor = self._model.generate(
                input_ids=encoded["input_ids"].to(self._placement.device),
                attention_mask=encoded["attention_mask"].to(self._placement.device),
                streamer=streamer,
                stopping_criteria=StoppingCriteriaList([StopOnEvent(cancel)]),
                **self._generation,
            )
        return output


def summary_generation_kwargs(model: Any, min_tokens: int, max_tokens: int) -> dict[str, Any]:
    """generate() arguments that override whatever the model's generation config holds.

    The streamer only supports one greedy sequence, so beam search settings (bart-large-cnn
    asks for 4 beams) give way to greedy decoding; the model's no_repeat_ngram_size and
    similar processors still apply. Lengths follow the seed: max_length and min_length.
    """
    config = model.generation_config
    max_length = max(2, max_tokens)
    kwargs: dict[str, Any] = {
        "max_length": max_length,
        # A model's min_length at or past max_length would forbid EOS for the whole summary.
        "min_length": max(0, min(min_tokens, max_length - 1)),
        # Set in some configs; they would override max_length/min_length.
        "max_new_tokens": None,
        "min_new_tokens": None,
        "num_beams": 1,
        "do_sample": False,
        "num_return_sequences": 1,
    }
    eos = config.eos_token_id if config.eos_token_id is not None else model.config.eos_token_id
    if config.pad_token_id is None and model.config.pad_token_id is None and eos is not None:
        kwargs["pad_token_id"] = eos if isinstance(eos, int) else eos[0]
    start = config.decoder_start_token_id
    if start is None and getattr(model.config, "decoder_start_token_id", None) is None:
        # Tiny or converted configs sometimes omit it; BART-style models start with EOS or BOS.
        fallback = config.bos_token_id if config.bos_token_id is not None else eos
        if fallback is not None:
            kwargs["decoder_start_token_id"] = (
                fallback if isinstance(fallback, int) else fallback[0]
            )
    return kwargs
