"""Feed benchmark: one ProcessFeed of N documents against `concurrency` concurrent Process calls.

Against one `textstream serve` (offline profile) subprocess: the corpus in bench/corpus/
repeated to --documents texts (all stages, entities on), sent as one feed, and the same texts
as Process calls from --concurrency workers, in two halves around the feed (half, feed, half)
so that the machine's drift falls on both sides alike. Prints documents/s of both and their
ratio; figures go to bench/results/feed.json.
Run: python -m bench.feed   (make bench runs it after the throughput benchmark)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from bench.server_process import serve
from bench.throughput import load_corpus

RESULTS = Path(__file__).parent / "results"


@dataclass
class FeedFigures:
    documents: int
    concurrency: int
    feed_seconds: float
    feed_docs_per_second: float
    process_seconds: float
    process_docs_per_second: float
    # feed / concurrent Process, from the same run.
    ratio: float
    # Documents whose answer had a stage error or was an error (should be 0).
    feed_failures: int
    process_failures: int


def request(text: str) -> pb.ProcessRequest:
    return pb.ProcessRequest(text=text, include_entities=True)


async def feed(stub: pb_grpc.TextProcessorStub, texts: list[str]) -> tuple[float, int]:
    """Seconds for one feed of texts, and the documents that failed in any way."""
    requests = (pb.FeedRequest(id=str(n), request=request(t)) for n, t in enumerate(texts))
    began = time.perf_counter()
    failures = answered = 0
    async for update in stub.ProcessFeed(requests):
        if update.HasField("summary"):
            assert update.summary.accepted == len(texts), update.summary
            break
        answered += 1
        failures += update.HasField("error") or bool(update.result.errors)
    assert answered == len(texts), answered
    return time.perf_counter() - began, failures


async def concurrent(
    stub: pb_grpc.TextProcessorStub, texts: list[str], concurrency: int
) -> tuple[float, int]:
    """Seconds for texts as Process calls from concurrency workers, and the failed ones."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for text in texts:
        queue.put_nowait(text)
    failures = 0

    async def worker() -> None:
        nonlocal failures
        while not queue.empty():
            response = await stub.Process(request(queue.get_nowait()))
            failures += bool(response.errors)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, failures


async def measure(target: str, texts: list[str], concurrency: int) -> FeedFigures:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.TextProcessorStub(channel)
        await concurrent(stub, texts[:concurrency], concurrency)  # warm-up, not counted
        half = len(texts) // 2
        first, first_failed = await concurrent(stub, texts[:half], concurrency)
        feed_seconds, feed_failed = await feed(stub, texts)
        second, second_failed = await concurrent(stub, texts[half:], concurrency)
    process_seconds = first + second
    feed_rate = len(texts) / feed_seconds
    process_rate = len(texts) / process_seconds
    return FeedFigures(
        documents=len(texts),
        concurrency=concurrency,
        feed_seconds=feed_seconds,
        feed_docs_per_second=feed_rate,
        process_seconds=process_seconds,
        process_docs_per_second=process_rate,
        ratio=feed_rate / process_rate,
        feed_failures=feed_failed,
        process_failures=first_failed + second_failed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    corpus = load_corpus()
    texts = [corpus[n % len(corpus)] for n in range(args.documents)]
    server, target = serve()
    try:
        figures = asyncio.run(measure(target, texts, args.concurrency))
    finally:
        server.stop()
    print(
        f"{figures.documents} documents ({len(corpus)}-text corpus, all stages): "
        f"one feed {figures.feed_docs_per_second:.2f} docs/s ({figures.feed_seconds:.1f} s), "
        f"{figures.concurrency} concurrent Process {figures.process_docs_per_second:.2f} docs/s "
        f"({figures.process_seconds:.1f} s); feed / Process = {figures.ratio:.2f}; failures "
        f"{figures.feed_failures} (feed), {figures.process_failures} (Process)"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "feed.json"
    out.write_text(json.dumps(asdict(figures), indent=2) + "\n", encoding="utf-8")
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
