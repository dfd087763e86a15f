"""Each stage alone, in-process, with the machine to itself: the rates that bound the service.

Every text of the corpus goes through one analyzer at once (sentiment: all chunks of all
texts; summary and entities: all texts), giving r_i texts/s per stage. The stages share the
machine's cores, so the service cannot do much better than L = 1 / sum(1 / r_i) requests/s.
The raw encoder rate (the summary's MiniLM on all sentences at once, sorted by length and
cut into the cheapest forward passes, nothing else) shows how close the summary stage runs to
its own model; it is measured right before and right after the summary stage and averaged,
since this machine's speed drifts by a third from one minute to the next.

The bound that holds, though, is CPU time: the stages do not take turns on the whole machine
(spaCy computes on one core, the encoder on the threads the layout gives it), so each stage's
CPU seconds per text, measured alone with those threads, give the CPU-time limit
cores / sum(CPU s per request).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import torch

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from analyzers.hf import length_groups, pad_batch
from analyzers.loader import load_analyzers
from analyzers.openmp import wait_policy_env
from analyzers.process_worker import cpu_seconds_with_children
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
    # CPU seconds (all the process's threads) per text of each stage, measured alone.
    sentiment_cpu: float
    summary_cpu: float
    entities_cpu: float
    # The cores the process lays its threads out for, and torch's intra-op threads.
    cores: int
    intra_op_threads: int

    @classmethod
    def mean(cls, runs: list[StageRates]) -> StageRates:
        """Each rate averaged over runs measured at different times (the machine drifts)."""
        fields = (
            "encoder_tokens_per_second",
            "encoder_texts_per_second",
            "sentiment",
            "summary",
            "entities",
            "sentiment_cpu",
            "summary_cpu",
            "entities_cpu",
        )
        means = {name: sum(getattr(run, name) for run in runs) / len(runs) for name in fields}
        first = runs[0]
        return cls(
            dtype=first.dtype,
            cores=first.cores,
            intra_op_threads=first.intra_op_threads,
            **means,
        )

    @property
    def limit(self) -> float:
        """L: requests/s if the stages shared the machine perfectly."""
        return 1 / (1 / self.sentiment + 1 / self.summary + 1 / self.entities)

    @property
    def cpu_per_request(self) -> float:
        """CPU seconds one request's stages cost, each measured alone."""
        return self.sentiment_cpu + self.summary_cpu + self.entities_cpu

    @property
    def cpu_limit(self) -> float:
        """Requests/s if every core were busy with the stages' own work: cores / CPU s."""
        return self.cores / self.cpu_per_request


def _rate(texts: list[str], work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Texts/s and CPU seconds per text (every thread of this process and its model
    processes) of one stage alone."""
    asyncio.run(work())  # warm-up: allocator, caches, threads
    began, cpu_began = time.perf_counter(), cpu_seconds_with_children()
    asyncio.run(work())
    seconds, cpu = time.perf_counter() - began, cpu_seconds_with_children() - cpu_began
    return len(texts) / seconds, cpu / len(texts)


def _encoder_rate(summarizer: CentralitySummarizer, texts: list[str]) -> tuple[float, float]:
    """Tokens/s and texts/s of the bare encoder forward on every sentence of the texts."""
    encoder = summarizer.encoder
    inputs = encoder.encode([s.text for text in texts for s in summarizer.sentences(text)])
    device = encoder.model.device

    def run() -> None:
        # The forward pass the stage itself uses: the traced graph where the encoder has one.
        with torch.inference_mode():
            for group in length_groups(inputs, encoder.shapes):
                rows = [inputs[i] for i in group]
                ids, mask = pad_batch(rows, encoder.pad_id, device, encoder.shapes)
                encoder.forward(ids, mask)

    run()
    began = time.perf_counter()
    run()
    seconds = time.perf_counter() - began
    return sum(map(len, inputs)) / seconds, len(texts) / seconds


def _stage_settings(dtype: str) -> ModelSettings:
    return ModelSettings(device="cpu", dtype=dtype, max_queued_items=10**6)


def measure_stages(texts: list[str], dtype: str) -> StageRates:
    """Each stage alone in this process, with the thread layout the server chooses here
    (the loader's); see measure_stages_as_served for the server's OpenMP settings too."""
    analyzers = load_analyzers(_stage_settings(dtype))
    try:
        return _measure(analyzers, texts, dtype)
    finally:
        analyzers.close()


def _measure(analyzers: Analyzers, texts: list[str], dtype: str) -> StageRates:
    layout = analyzers.layout
    assert layout is not None, "measured on the CPU"
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
    measured = {"sentiment": _rate(texts, sentiment), "entities": _rate(texts, entities)}
    # The encoder right before and right after the summary stage: this machine's speed drifts
    # by a third from one minute to the next, and a ratio is only worth as much as its
    # two measurements are close in time.
    tokens, encoded_texts = _encoder_rate(summarizer, texts)
    measured["summary"] = _rate(texts, summary)
    tokens_after, encoded_texts_after = _encoder_rate(summarizer, texts)
    rates = {name: rate for name, (rate, _) in measured.items()}
    cpu = {f"{name}_cpu": per_text for name, (_, per_text) in measured.items()}
    return StageRates(
        dtype=dtype,
        encoder_tokens_per_second=(tokens + tokens_after) / 2,
        encoder_texts_per_second=(encoded_texts + encoded_texts_after) / 2,
        cores=layout.cores,
        intra_op_threads=layout.intra_op_threads,
        **rates,
        **cpu,
    )


def measure_stages_as_served(text_count: int, dtype: str) -> StageRates:
    """measure_stages on the corpus's first text_count texts (0: all) in a process of its
    own, started with the OpenMP settings the server gives these models: they are read once,
    when torch loads, and this process may have loaded torch already."""
    env = {**os.environ, **wait_policy_env(_stage_settings(dtype))}
    done = subprocess.run(
        [sys.executable, "-m", "bench.stages", dtype, str(text_count)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return StageRates(**json.loads(done.stdout.splitlines()[-1]))


if __name__ == "__main__":
    from bench.throughput import load_corpus

    dtype, count = sys.argv[1], int(sys.argv[2])
    print(json.dumps(asdict(measure_stages(load_corpus()[: count or None], dtype))))
