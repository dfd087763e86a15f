"""Each stage alone, in-process, with the machine to itself: the rates that bound the service.

Every text of the corpus goes through one analyzer at once (sentiment: all chunks of all
texts; summary and entities: all texts), giving r_i texts/s per stage. The stages share the
machine's cores, so the service cannot do much better than L = 1 / sum(1 / r_i) requests/s.
The raw encoder rate (the summary's MiniLM on all sentences at once, sorted by length and
cut into the cheapest forward passes, nothing else) shows how close the summary stage runs to
its own model; it is measured before and after the stages and averaged, since this machine's
speed drifts by a fifth from one minute to the next.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import torch

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from analyzers.embeddings import FORWARD_MAX_TOKENS, FORWARD_OVERHEAD_TOKENS
from analyzers.hf import length_groups, pad_batch
from analyzers.loader import load_analyzers
from analyzers.summary import CentralitySummarizer
from server.core.chunking import chunk_spans

CHUNK_SIZE = 200


@dataclass
class StageRates:
    dtype: str
    encoder_tokens_per_second: float
    encoder_texts_per_second: float
    sentiment: float
    summary: float
    entities: float

    @classmethod
    def mean(cls, runs: list[StageRates]) -> StageRates:
        """Each rate averaged over runs measured at different times (the machine drifts)."""
        fields = (
            "encoder_tokens_per_second",
            "encoder_texts_per_second",
            "sentiment",
            "summary",
            "entities",
        )
        means = {name: sum(getattr(run, name) for run in runs) / len(runs) for name in fields}
        return cls(dtype=runs[0].dtype, **means)

    @property
    def limit(self) -> float:
        """L: requests/s if the stages shared the machine perfectly."""
        return 1 / (1 / self.sentiment + 1 / self.summary + 1 / self.entities)


def _rate(texts: list[str], work: Callable[[], Awaitable[object]]) -> float:
    asyncio.run(work())  # warm-up: allocator, caches, threads
    began = time.perf_counter()
    asyncio.run(work())
    return len(texts) / (time.perf_counter() - began)


def _encoder_rate(summarizer: CentralitySummarizer, texts: list[str]) -> tuple[float, float]:
    """Tokens/s and texts/s of the bare encoder forward on every sentence of the texts."""
    encoder = summarizer.encoder
    inputs = encoder.encode([s.text for text in texts for s in summarizer.sentences(text)])
    model = encoder.model

    def run() -> None:
        with torch.inference_mode():
            for group in length_groups(
                inputs, overhead_tokens=FORWARD_OVERHEAD_TOKENS, max_tokens=FORWARD_MAX_TOKENS
            ):
                ids, mask = pad_batch([inputs[i] for i in group], encoder.pad_id, model.device)
                model(input_ids=ids, attention_mask=mask)

    run()
    began = time.perf_counter()
    run()
    seconds = time.perf_counter() - began
    return sum(map(len, inputs)) / seconds, len(texts) / seconds


def measure_stages(texts: list[str], dtype: str) -> StageRates:
    analyzers = load_analyzers(ModelSettings(device="cpu", dtype=dtype, max_queued_items=10**6))
    try:
        return _measure(analyzers, texts, dtype)
    finally:
        analyzers.close()


def _measure(analyzers: Analyzers, texts: list[str], dtype: str) -> StageRates:
    chunks = [text[a:b] for text in texts for a, b in chunk_spans(text, CHUNK_SIZE)]

    async def sentiment() -> object:
        return await asyncio.gather(*(analyzers.sentiment.classify(c) for c in chunks))

    async def summary() -> object:
        async def one(text: str) -> str:
            return "".join([piece async for piece in analyzers.summarizer.summarize(text)])

        return await asyncio.gather(*(one(text) for text in texts))

    async def entities() -> object:
        return await asyncio.gather(*(analyzers.entities.extract(text) for text in texts))

    summarizer = analyzers.summarizer
    assert isinstance(summarizer, CentralitySummarizer), "the offline profile's summarizer"
    tokens, encoded_texts = _encoder_rate(summarizer, texts)
    rates = {
        "sentiment": _rate(texts, sentiment),
        "summary": _rate(texts, summary),
        "entities": _rate(texts, entities),
    }
    tokens_after, encoded_texts_after = _encoder_rate(summarizer, texts)
    return StageRates(
        dtype=dtype,
        encoder_tokens_per_second=(tokens + tokens_after) / 2,
        encoder_texts_per_second=(encoded_texts + encoded_texts_after) / 2,
        **rates,
    )
