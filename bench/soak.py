"""Bounded soak: mixed valid, invalid, cancelled and deadline-cut calls at concurrency 32.

Starts `textstream serve` (offline profile) as a subprocess and, for --seconds (default 600),
keeps 32 callers busy with a random mix of calls. Reports outcomes by status code, the
server's RSS at start (after warm-up), at the end and at its peak, and whether it still
serves a normal request afterwards. Run: python -m bench.soak [--seconds 600]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import time

import grpc
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from bench.server_process import serve
from bench.throughput import RESULTS, PeakRss, load_corpus, tree_rss

INVALID = [
    {"text": "too short"},
    {"text": "x" * 5001},
    {"text": " " * 40},
    {"text": "A perfectly fine text to read.", "chunk_size": 49},
    {"text": "A perfectly fine text to read.", "chunk_size": 501},
]


async def one_call(stub: pb_grpc.TextProcessorStub, texts: list[str], rng: random.Random) -> str:
    kind = rng.choices(["valid", "invalid", "cancel", "deadline"], weights=[5, 2, 2, 1])[0]
    text = rng.choice(texts)
    try:
        if kind == "invalid":
            await stub.Process(pb.ProcessRequest(**rng.choice(INVALID)))
        elif kind == "cancel":
            call = stub.ProcessStream(pb.ProcessRequest(text=text, include_entities=True))
            for _ in range(rng.randint(1, 8)):
                await call.read()
            call.cancel()
            return "CANCELLED (by client)"
        else:
            timeout = rng.uniform(0.01, 0.3) if kind == "deadline" else None
            call = stub.ProcessStream(
                pb.ProcessRequest(text=text, include_entities=True), timeout=timeout
            )
            last = None
            async for update in call:
                last = update.WhichOneof("update")
            if last != "completed":
                return "OK without completed (a bug)"
        return "OK"
    except grpc.aio.AioRpcError as error:
        return error.code().name


async def soak(target: str, texts: list[str], seconds: float, concurrency: int) -> dict[str, int]:
    outcomes: collections.Counter[str] = collections.Counter()
    deadline = time.monotonic() + seconds
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.TextProcessorStub(channel)

        async def caller(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                outcomes[await one_call(stub, texts, rng)] += 1

        await asyncio.gather(*(caller(seed) for seed in range(concurrency)))
    return dict(outcomes)


async def still_serves(target: str, text: str) -> bool:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.TextProcessorStub(channel)
        updates = [u async for u in stub.ProcessStream(pb.ProcessRequest(text=text))]
    return updates[-1].WhichOneof("update") == "completed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    texts = load_corpus()

    server, target = serve()
    try:
        asyncio.run(soak(target, texts, min(10.0, args.seconds), args.concurrency))  # warm-up
        rss_start = tree_rss(server.proc.pid)
        peak = PeakRss(server.proc.pid)
        began = time.monotonic()
        outcomes = asyncio.run(soak(target, texts, args.seconds, args.concurrency))
        elapsed = time.monotonic() - began
        rss_end = tree_rss(server.proc.pid)
        report = {
            "seconds": elapsed,
            "concurrency": args.concurrency,
            "calls": sum(outcomes.values()),
            "outcomes": dict(sorted(outcomes.items())),
            "rss_start_mib": rss_start / 2**20,
            "rss_end_mib": rss_end / 2**20,
            "rss_peak_mib": peak.stop() / 2**20,
            "still_serves": asyncio.run(still_serves(target, texts[0])),
            "server_alive": server.proc.poll() is None,
        }
    finally:
        server.proc.terminate()
        server.proc.wait(60)
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"soak-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
