"""Summaries: extractive by sentence centrality (offline) or abstractive seq2seq (hub)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from transformers import AutoModelForSeq2SeqLM

from analyzers.batcher import BatchLimits, MicroBatcher
from analyzers.centrality import Embeddings, centrality, choose
from analyzers.decoding.engine import DecodeRequest
from analyzers.decoding.plan import DecodePlan
from analyzers.decoding.rows import RowText
from analyzers.decoding.scheduler import DecodeLimits, DecodeScheduler, run_to_end
from analyzers.decoding.seq2seq import Seq2SeqEngine
from analyzers.device import Placement
from analyzers.embeddings import SentenceEncoder, bundled_minilm
from analyzers.errors import AnalyzerError
from analyzers.failures import model_failures
from analyzers.hf import input_limit, load_model, load_tokenizer, pad_id_of
from analyzers.priority import work_executor
from analyzers.sections import sections
from analyzers.sentences import Sentence, SentenceSplitter
from analyzers.sources import HUB_SUMMARY

DEFAULT_HUB_MODEL = HUB_SUMMARY
# The shortest summary a section of a long text gets, in tokens (the decoder start included).
_SECTION_MIN_TOKENS = 16
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
        trace_encoder: bool = True,
    ) -> None:
        folder = encoder_folder or bundled_minilm()
        self.name = f"extractive:{folder.name if encoder_folder else 'all-MiniLM-L6-v2'}"
        self._min_tokens = min_tokens
        self._max_tokens = max_tokens
        self._splitter = SentenceSplitter()
        # Splitting waits on the splitter's process while tokenizing runs here: two threads.
        self._preparing = work_executor("summary-prepare", workers=2)
        self._encoder = SentenceEncoder(
            folder, placement=placement, limits=limits or BatchLimits(), trace=trace_encoder
        )

    @property
    def encoder(self) -> SentenceEncoder:
        return self._encoder

    @property
    def queue(self) -> MicroBatcher[list[int], Embeddings]:
        return self._encoder.batcher

    async def summarize(self, text: str) -> AsyncGenerator[str, None]:
        # Splitting and tokenizing a 5,000-character text takes milliseconds: not on the loop.
        loop = asyncio.get_running_loop()
        sentences, inputs, counts = await loop.run_in_executor(self._preparing, self._prepare, text)
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

    def run_sample(self, text: str) -> None:
        sentences, inputs, counts = self._prepare(text)
        if len(sentences) > 1:
            scores = centrality(self._encoder.embed_now(inputs)).tolist()
            choose(scores, counts, self._min_tokens, self._max_tokens)

    def close(self) -> None:
        self._encoder.close()
        self._splitter.close()
        self._preparing.shutdown(wait=False, cancel_futures=True)

    def _prepare(self, text: str) -> tuple[list[Sentence], list[list[int]], list[int]]:
        sentences = self._splitter.split(text)
        if not sentences:
            return [], [], []
        inputs, counts = self._encoder.tokenize([sentence.text for sentence in sentences])
        return sentences, inputs, counts


class Seq2SeqSummarizer:
    """An encoder-decoder summarization model; concurrent summaries share each decoding step."""

    def __init__(
        self,
        source: str = DEFAULT_HUB_MODEL,
        *,
        placement: Placement,
        limits: DecodeLimits,
        min_tokens: int = 30,
        max_tokens: int = 130,
    ) -> None:
        self.name = source
        self._placement = placement
        self._min_tokens = min_tokens
        self._max_tokens = max_tokens
        self._tokenizer = load_tokenizer(source)
        self._model = load_model(AutoModelForSeq2SeqLM, source, placement)
        self._max_input_tokens = input_limit(self._tokenizer, self._model.config)
        self._splitter = SentenceSplitter()
        self._preparing = work_executor("summary-prepare", workers=2)
        # Summaries share their processors: one plan per pair of length bounds (the sections
        # of a long text get their shares of the bounds).
        self._plan = functools.lru_cache(maxsize=256)(self._new_plan)
        start = self._plan(min_tokens, max_tokens).decoder_start_id
        if start is None:
            raise AnalyzerError(f"{source} has no decoder start token (nor BOS) to decode from")
        pad = pad_id_of(self._tokenizer)
        engine = Seq2SeqEngine(self._model, decoder_start_id=start, pad_id=pad)
        self.scheduler = DecodeScheduler(
            source, engine, self._tokenizer, placement.device, limits, role="summary"
        )

    async def summarize(self, text: str) -> AsyncGenerator[str, None]:
        """The summary of the whole text, streamed.

        A text longer than the model's input is cut into sections of whole sentences that
        fit; their summaries decode side by side, each given its share of the length bounds,
        and stream one after another, so the summary covers all of the text.
        """
        if not text.strip():
            return
        # Splitting and tokenizing take milliseconds: not on the loop.
        loop = asyncio.get_running_loop()
        requests = await loop.run_in_executor(self._preparing, self._requests, text)
        streams = self.scheduler.submit_all(requests)
        try:
            last = ""
            for stream in streams:
                section_started = False
                async with contextlib.aclosing(stream.items()) as items:
                    async for item in items:
                        if not isinstance(item, RowText):
                            continue
                        piece = item.text
                        if not last:
                            # The summary starts at its first visible character, not at the
                            # space that byte-level BPE tokens carry in front of a word.
                            piece = piece.lstrip()
                        elif (
                            not section_started
                            and piece
                            and not (piece[0].isspace() or last[-1].isspace())
                        ):
                            piece = " " + piece
                        if piece:
                            section_started = True
                            last = piece
                            yield piece
        finally:
            # Closed early or failed: every section leaves the batch at its next step.
            for stream in streams:
                stream.cancel()

    @property
    def queue(self) -> DecodeScheduler[Any]:
        return self.scheduler

    def warm(self) -> None:
        run_to_end(self.summarize(WARM_UP_TEXT))

    @property
    def model(self) -> Any:
        return self._model

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def close(self) -> None:
        self.scheduler.close()
        self._splitter.close()
        self._preparing.shutdown(wait=False, cancel_futures=True)

    def _requests(self, text: str) -> list[DecodeRequest]:
        """One row per section of the text that fits the model's input."""
        limit = self._max_input_tokens
        # One token over the limit is enough to tell that the text does not fit.
        whole = self._encode(text, limit + 1)
        if len(whole) <= limit:
            plan = self._plan(self._min_tokens, self._max_tokens)
            return [DecodeRequest(whole, plan.max_length - 1, plan)]
        sentences = self._splitter.split(text)
        counts = [
            len(ids)
            for ids in self._tokenizer(
                [sentence.text for sentence in sentences], add_special_tokens=False
            )["input_ids"]
        ]
        room = limit - self._tokenizer.num_special_tokens_to_add()
        parts = [
            self._encode(text[start:end], limit)
            for start, end in sections(text, sentences, counts, room)
        ]
        total = sum(len(ids) for ids in parts)
        requests: list[DecodeRequest] = []
        floor = min(self._max_tokens, _SECTION_MIN_TOKENS)
        for ids in parts:
            # Each section's summary gets its share of the summary's length bounds, but
            # room for a sentence at least.
            share = len(ids) / total
            most = max(floor, round(self._max_tokens * share))
            plan = self._plan(min(round(self._min_tokens * share), most - 1), most)
            # max_length counts the decoder start token, which is not generated.
            requests.append(DecodeRequest(ids, plan.max_length - 1, plan))
        return requests

    def _encode(self, text: str, limit: int) -> list[int]:
        ids: list[int] = self._tokenizer(text, truncation=True, max_length=limit)["input_ids"]
        return ids

    def _new_plan(self, min_tokens: int, max_tokens: int) -> DecodePlan:
        """The processors generate() would apply for these length bounds (made once each)."""
        kwargs = summary_generation_kwargs(self._model, min_tokens, max_tokens)
        return DecodePlan(self._model, kwargs, self._placement.device, prompt_length=1)


def summary_generation_kwargs(model: Any, min_tokens: int, max_tokens: int) -> dict[str, Any]:
    """generate() arguments that override whatever the model's generation config holds.

    Summaries stream, so they decode greedily: beam search settings (bart-large-cnn asks
    for 4 beams) give way, while the model's no_repeat_ngram_size, forced EOS and similar
    processors still apply. Lengths follow the original HTTP service: max_length and
    min_length.
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
