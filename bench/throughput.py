"""Throughput benchmark: the served pipeline at concurrency 1, 8, 32 against the stages' limit.

For each models.dtype measured (float32, and bfloat16 where the CPU computes it natively):
each stage alone in-process on the corpus in bench/corpus/ (bench/stages.py: r_i texts/s,
the raw encoder rate, and L = 1 / sum(1 / r_i), the most requests/s the stages sharing the
machine could give, and the CPU-time limit cores / CPU s per request), then `textstream serve`
(offline profile, its thread layout as it logs it) as a subprocess, driven with ProcessStream
at each concurrency for 30 s (in mirrored halves, 1, 8, 32, 32, 8, 1, so the machine's drift
does not read as a difference between levels), then the stages again, averaged with the
first: requests/s as a share of each limit, chunks/s, time to first update and first
sentiment, latency (p50, p99), peak RSS, and the server's CPU time per request and busy cores.
First updates under the top level come from a probe client in its own process and from the
server's histogram, beside the load generator's own reading.
One-at-a-time in-process (the original sequential design) is measured once, for comparison.
Run: make bench   (or python -m bench.throughput --help)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc
import psutil
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from analyzers.device import cpu_has_fast_bfloat16
from bench import histogram
from bench.inprocess import measure_one_at_a_time
from bench.server_process import ServerProcess, serve
from bench.stages import StageRates, measure_stages_as_served

CORPUS = Path(__file__).parent / "corpus"
# Load before a level's window opens, not counted: the pipeline fills.
WARM_UP_SECONDS = 3.0
RESULTS = Path(__file__).parent / "results"


def load_corpus() -> list[str]:
    return [path.read_text(encoding="utf-8").strip() for path in sorted(CORPUS.glob("*.txt"))]


@dataclass
class Level:
    concurrency: int
    requests: int
    seconds: float
    requests_per_second: float
    chunks_per_second: float
    first_update_ms_p50: float
    first_update_ms_p99: float
    first_sentiment_ms_p50: float
    first_sentiment_ms_p99: float
    latency_ms_p50: float
    latency_ms_p99: float
    server_peak_rss_mib: float
    # The server process's CPU time (all threads) per request, and the cores it kept busy.
    server_cpu_ms_per_request: float
    server_cores_busy: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _tree(pid: int) -> list[psutil.Process]:
    """The server and its model processes (spaCy and VADER run in children of their own)."""
    server = psutil.Process(pid)
    return [server, *server.children(recursive=True)]


def _tree_total(pid: int, of: Callable[[psutil.Process], float]) -> float:
    """of(process) summed over the server and its live model processes."""
    total = 0.0
    for process in _tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):  # a child that exited meanwhile
            total += of(process)
    return total


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of the server and its live model processes."""
    return _tree_total(pid, lambda process: sum(process.cpu_times()[:2]))


def tree_rss(pid: int) -> int:
    """Resident memory of the server and its live model processes, summed."""
    return int(_tree_total(pid, lambda process: process.memory_info().rss))


class PeakRss:
    """Samples the resident memory of the server and its model processes every 50 ms on a
    thread; keeps the peak of their sum."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.peak = tree_rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, tree_rss(self._pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


async def one_request(
    stub: pb_grpc.TextProcessorStub, text: str
) -> tuple[float, float, float, int]:
    request = pb.ProcessRequest(text=text, include_entities=True)
    began = time.perf_counter()
    first_update = first_sentiment = 0.0
    chunks = 0
    async for update in stub.ProcessStream(request):
        now = time.perf_counter() - began
        kind = update.WhichOneof("update")
        if not first_update:
            first_update = now
        if kind == "sentiment_progress" and not first_sentiment:
            first_sentiment = now
        if kind == "chunked":
            chunks = update.chunked.chunk_count
        if kind == "stage_error":
            raise RuntimeError(f"stage failed: {update.stage_error.message}")
    return first_update, first_sentiment, time.perf_counter() - began, chunks


@dataclass
class Pass:
    """One run of a level: each request's (first update, first sentiment, latency, chunks)."""

    results: list[tuple[float, float, float, int]]
    seconds: float
    peak_rss: int
    server_cpu_seconds: float


async def drive(target: str, texts: list[str], concurrency: int, seconds: float, pid: int) -> Pass:
    """`concurrency` callers, each sending the corpus's texts in turn, for `seconds`.

    Counted are the calls that end within the window, which opens after WARM_UP_SECONDS of
    load: until then the pipeline fills, and calls end more slowly than they start. Calls
    still running when it closes are cancelled.
    """
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.TextProcessorStub(channel)
        await one_request(stub, texts[0])  # connection and first-call warm-up
        turns = itertools.count()
        results: list[tuple[float, float, float, int]] = []
        counting = False

        async def caller() -> None:
            while True:
                result = await one_request(stub, texts[next(turns) % len(texts)])
                if counting:
                    results.append(result)

        callers = [asyncio.create_task(caller()) for _ in range(concurrency)]
        try:
            await asyncio.sleep(WARM_UP_SECONDS)
            cpu_before = tree_cpu_seconds(pid)
            rss = PeakRss(pid)
            began = time.perf_counter()
            counting = True
            await asyncio.sleep(seconds)
            counting = False
            elapsed = time.perf_counter() - began
            cpu = tree_cpu_seconds(pid) - cpu_before
            peak = rss.stop()
            for task in callers:
                if task.done():
                    task.result()  # a failed call stops the benchmark with its error
        finally:
            for task in callers:
                task.cancel()
            await asyncio.gather(*callers, return_exceptions=True)
    return Pass(results, elapsed, peak, cpu)


def level_of(concurrency: int, passes: list[Pass]) -> Level:
    """One level from its passes, pooled: every request's figures, all the passes' time."""
    results = [result for run in passes for result in run.results]
    seconds = sum(run.seconds for run in passes)
    first_updates = [r[0] * 1000 for r in results]
    first_sentiments = [r[1] * 1000 for r in results]
    latencies = [r[2] * 1000 for r in results]
    cpu = sum(run.server_cpu_seconds for run in passes)
    return Level(
        concurrency=concurrency,
        requests=len(results),
        seconds=seconds,
        requests_per_second=len(results) / seconds,
        chunks_per_second=sum(r[3] for r in results) / seconds,
        first_update_ms_p50=statistics.median(first_updates),
        first_update_ms_p99=percentile(first_updates, 0.99),
        first_sentiment_ms_p50=statistics.median(first_sentiments),
        first_sentiment_ms_p99=percentile(first_sentiments, 0.99),
        latency_ms_p50=statistics.median(latencies),
        latency_ms_p99=percentile(latencies, 0.99),
        server_peak_rss_mib=max(run.peak_rss for run in passes) / 2**20,
        server_cpu_ms_per_request=cpu / len(results) * 1000,
        server_cores_busy=cpu / seconds,
    )


@dataclass
class Latency:
    """First updates while the top level's load runs: a lone probe's and the server's own."""

    concurrency: int
    probe_calls: int
    probe_first_update_ms_p50: float
    probe_first_update_ms_p99: float
    # From textstream_time_to_first_update_seconds over the same minutes (every call, the
    # load's and the probe's): the share within 10 and 25 ms, and the bucket bound of p99.
    server_calls: int
    server_within_10ms: float
    server_within_25ms: float
    server_p99_bound_ms: float
    # The load generator's own reading of the same calls, for comparison.
    load_first_update_ms_p50: float


def measure_latency(
    server: ServerProcess, target: str, texts: list[str], concurrency: int, seconds: float
) -> Latency:
    """One more window at `concurrency` with the probe (bench/probe.py) in its own process."""
    assert server.metrics_port is not None, "the server's metrics are needed"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "probe.json"
        probe = subprocess.Popen(
            [sys.executable, "-m", "bench.probe", target, str(out)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert probe.stdout is not None
        probe.stdout.readline()  # "probing": connected and sending
        before = histogram.read_buckets(server.metrics_port)
        load = asyncio.run(drive(target, texts, concurrency, seconds, server.proc.pid))
        probe.terminate()
        probe.wait(30)
        probe.stdout.close()
        buckets = histogram.difference(histogram.read_buckets(server.metrics_port), before)
        probed = json.loads(out.read_text())["first_update_ms"]
    return Latency(
        concurrency=concurrency,
        probe_calls=len(probed),
        probe_first_update_ms_p50=statistics.median(probed),
        probe_first_update_ms_p99=percentile(probed, 0.99),
        server_calls=int(buckets.get(float("inf"), 0)),
        server_within_10ms=histogram.share_within(buckets, 0.01),
        server_within_25ms=histogram.share_within(buckets, 0.025),
        server_p99_bound_ms=histogram.quantile_bound(buckets, 0.99) * 1000,
        load_first_update_ms_p50=statistics.median(r[0] * 1000 for r in load.results),
    )


def serve_levels(
    texts: list[str], levels: list[int], seconds: float, dtype: str
) -> tuple[list[Level], Latency]:
    """Each level for `seconds`, in two halves, in the order given and then reversed
    (1, 8, 32, 32, 8, 1); then the top level once more for `seconds` with the probe.

    This machine's speed drifts by a fifth within minutes; run in one order only, a drift
    would read as a difference between levels. Mirrored halves cancel a steady drift.
    """
    server, target = serve(
        TEXTSTREAM_MODELS__DTYPE=dtype,
        TEXTSTREAM_METRICS_ENABLED="true",
        TEXTSTREAM_METRICS_PORT="0",
    )
    pid = server.proc.pid
    print(f"  thread layout: {server.serving.get('thread_layout')}")
    try:
        passes: dict[int, list[Pass]] = {concurrency: [] for concurrency in levels}
        for concurrency in [*levels, *reversed(levels)]:
            half = asyncio.run(drive(target, texts, concurrency, seconds / 2, pid))
            passes[concurrency].append(half)
        served = [level_of(concurrency, passes[concurrency]) for concurrency in levels]
        for level in served:
            print(
                f"  c={level.concurrency:>3}: {level.requests_per_second:6.2f} req/s "
                f"{level.chunks_per_second:7.1f} chunks/s  first update p50 "
                f"{level.first_update_ms_p50:6.2f} ms  first sentiment p50 "
                f"{level.first_sentiment_ms_p50:7.1f} ms  latency p50/p99 "
                f"{level.latency_ms_p50:7.1f}/{level.latency_ms_p99:7.1f} ms  "
                f"peak RSS {level.server_peak_rss_mib:.0f} MiB  server CPU "
                f"{level.server_cpu_ms_per_request:.0f} ms/request on "
                f"{level.server_cores_busy:.2f} cores"
            )
        latency = measure_latency(server, target, texts, max(levels), seconds)
        print(
            f"  first update at c={latency.concurrency}: probe p50/p99 "
            f"{latency.probe_first_update_ms_p50:.1f}/{latency.probe_first_update_ms_p99:.1f} ms "
            f"({latency.probe_calls} calls); server histogram {latency.server_within_10ms:.0%} "
            f"within 10 ms, {latency.server_within_25ms:.0%} within 25 ms, p99 <= "
            f"{latency.server_p99_bound_ms:g} ms ({latency.server_calls} calls); the load "
            f"generator's own p50 {latency.load_first_update_ms_p50:.1f} ms"
        )
        return served, latency
    finally:
        server.proc.terminate()
        server.proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=30, help="seconds per served level")
    parser.add_argument(
        "--requests", type=int, default=96, help="requests of the one-at-a-time baseline"
    )
    parser.add_argument("--texts", type=int, default=0, help="use only the first N texts")
    parser.add_argument(
        "--dtypes",
        nargs="+",
        default=["float32", "bfloat16"] if cpu_has_fast_bfloat16() else ["float32"],
        help="models.dtype values to measure (bfloat16 by default only where it is native)",
    )
    args = parser.parse_args()

    texts = load_corpus()[: args.texts or None]
    print(f"corpus: {len(texts)} texts, {sum(map(len, texts))} characters")
    sequential = measure_one_at_a_time(texts, args.requests)
    print(f"one at a time (the original design): {sequential['requests_per_second']:.2f} req/s")

    report: dict[str, object] = {"one_at_a_time": sequential, "dtypes": {}}
    for dtype in args.dtypes:
        # Each stage alone while no server competes for the CPU, before and after the served
        # levels, averaged: L then spans the same minutes as the served figures.
        before = measure_stages_as_served(args.texts, dtype)
        levels, latency = serve_levels(texts, args.levels, args.seconds, dtype)
        stages = StageRates.mean([before, measure_stages_as_served(args.texts, dtype)])
        print(
            f"{dtype}: encoder {stages.encoder_tokens_per_second:.0f} tokens/s "
            f"({stages.encoder_texts_per_second:.2f} texts/s); stages alone, texts/s: "
            f"sentiment {stages.sentiment:.1f}, summary {stages.summary:.2f} "
            f"({stages.summary / stages.encoder_texts_per_second:.2f} of its encoder), "
            f"entities {stages.entities:.1f}; L = {stages.limit:.2f} req/s"
        )
        print(
            f"  CPU s per text alone ({stages.intra_op_threads} intra-op thread(s)): sentiment "
            f"{stages.sentiment_cpu * 1000:.1f} ms, summary {stages.summary_cpu * 1000:.1f} ms, "
            f"entities {stages.entities_cpu * 1000:.1f} ms; CPU-time limit = {stages.cores} "
            f"cores / {stages.cpu_per_request * 1000:.1f} ms = {stages.cpu_limit:.2f} req/s"
        )
        for level in levels:
            print(
                f"  c={level.concurrency:>3}: {level.requests_per_second / stages.cpu_limit:.2f} "
                f"of the CPU-time limit ({level.requests_per_second / stages.limit:.2f} of L), "
                f"{level.requests_per_second / sequential['requests_per_second']:.2f}x the "
                "original design"
            )
        report["dtypes"][dtype] = {  # type: ignore[index]
            "stages": asdict(stages),
            "limit": stages.limit,
            "cpu_limit": stages.cpu_limit,
            "levels": [asdict(level) for level in levels],
            "latency": asdict(latency),
            "served_over_cpu_limit": [
                level.requests_per_second / stages.cpu_limit for level in levels
            ],
            "served_over_limit": [level.requests_per_second / stages.limit for level in levels],
        }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"throughput-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
