"""The analyzers called directly in-process on the benchmark corpus, one request at a time.

Each "request" does what the server does for ProcessStream with entities on: sentiment for
every 200-character chunk, the summary and the entities of the text.
"""

from __future__ import annotations

import asyncio
import time

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from analyzers.cpu import available_cpus
from analyzers.loader import load_analyzers
from server.core.chunking import chunk_spans

CHUNK_SIZE = 200


async def _summary(analyzers: Analyzers, text: str) -> str:
    return "".join([piece async for piece in analyzers.summarizer.summarize(text)])


async def _sequential_request(analyzers: Analyzers, text: str) -> None:
    # The seed's loop: one chunk after another, then the summary, then the entities.
    for start, end in chunk_spans(text, CHUNK_SIZE):
        await analyzers.sentiment.classify(text[start:end])
    await _summary(analyzers, text)
    await analyzers.entities.extract(text)


def _timed(settings: ModelSettings, texts: list[str], requests: int) -> float:
    analyzers = load_analyzers(settings)
    work = [texts[index % len(texts)] for index in range(requests)]

    async def run() -> float:
        began = time.perf_counter()
        for text in work:
            await _sequential_request(analyzers, text)
        return time.perf_counter() - began

    try:
        asyncio.run(run())  # warm-up pass: allocator, caches, thread start
        return requests / asyncio.run(run())
    finally:
        analyzers.close()


def measure_one_at_a_time(texts: list[str], requests: int) -> dict[str, float]:
    """Requests/s one request, one chunk at a time, no batching (the seed's way).

    As the original service ran: float32 weights and torch's own thread count (every core),
    whatever the CPU and this service's thread layout would choose.
    """
    settings = ModelSettings(
        device="cpu",
        dtype="float32",
        intra_op_threads=available_cpus(),
        max_batch_size=1,
        max_batch_sentences=1,
        max_batch_wait_ms=0,
    )
    rate = _timed(settings, texts, requests)
    return {"batch_size": 1, "requests_per_second": rate}
