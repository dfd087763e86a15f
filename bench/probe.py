"""A latency probe in its own process: one ProcessStream at a time, its first update timed.

A load generator driving 32 streams from one Python process delays its own reads by its event
loop (about 100 ms measured at concurrency 32), which says nothing of the server. This probe
sends one call at a time beside the load and so measures what a lone caller would see. Each
call is cancelled at its first update: the probe asks what that takes, and a finished call
under load takes seconds, which would leave a handful of samples in a level.
Run: python -m bench.probe TARGET OUT.json   (stops on SIGTERM or SIGINT, then writes OUT)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path

import grpc
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

# A short review: what a caller asking for one text's first update typically sends.
TEXT = (
    "I love this phone. The battery is great but the case is awful. "
    "Support at Acme in Berlin was wonderful and fixed it the same day."
)
# A call every quarter second or so: over 100 samples in a 30-second level, without the probe
# itself adding load worth measuring.
PAUSE_SECONDS = 0.25


async def probe(target: str, out: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    first_updates_ms: list[float] = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.TextProcessorStub(channel)
        request = pb.ProcessRequest(text=TEXT, include_entities=True)
        print("probing", flush=True)  # the parent waits for this line
        while not stop.is_set():
            began = time.perf_counter()
            call = stub.ProcessStream(request)
            async for _ in call:
                first_updates_ms.append((time.perf_counter() - began) * 1000)
                break
            call.cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PAUSE_SECONDS)
    # The loop has stopped: nothing else waits on this write.
    out.write_text(json.dumps({"first_update_ms": first_updates_ms}))  # noqa: ASYNC240


if __name__ == "__main__":
    asyncio.run(probe(sys.argv[1], Path(sys.argv[2])))
