"""Prometheus metrics scraped over HTTP after real traffic: valid, invalid, cancelled."""

from __future__ import annotations

import asyncio
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from textstream_client.protos import textstream_pb2 as pb

from tests.doubles import BlockedSummarizer, word_analyzers
from tests.streams import REVIEW, rpc_error, stream


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_metrics_move_with_traffic(serve):
    blocked = BlockedSummarizer()
    async with serve(word_analyzers(summarizer=blocked), auth_tokens=["t"]) as srv:
        port = srv.state.metrics.serve_http("127.0.0.1", 0)
        auth = (("authorization", "Bearer t"),)
        blocked.release.set()
        for _ in range(3):
            await stream(srv.stub, metadata=auth, text=REVIEW, include_entities=True)
        await rpc_error(srv.stub.Process(pb.ProcessRequest(text="short"), metadata=auth))
        await rpc_error(srv.stub.Process(pb.ProcessRequest(text=REVIEW)))

        blocked.release.clear()
        blocked.started.clear()
        call = srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW), metadata=auth)
        await call.read()
        await asyncio.to_thread(blocked.started.wait, 10)
        during = await asyncio.to_thread(scrape, port)
        call.cancel()
        for _ in range(100):
            if srv.state.inflight == 0:
                break
            await asyncio.sleep(0.02)
        blocked.release.set()
        after = await asyncio.to_thread(scrape, port)

    def value(samples, name, **labels):
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value(during, "textstream_inflight_streams") == 1
    assert value(after, "textstream_inflight_streams") == 0
    assert value(after, "textstream_requests_total", method="ProcessStream", code="OK") == 3
    assert value(after, "textstream_requests_total", method="Process", code="INVALID_ARGUMENT") == 1
    assert value(after, "textstream_requests_total", method="Process", code="UNAUTHENTICATED") == 1
    assert value(after, "textstream_requests_total", method="ProcessStream", code="CANCELLED") == 1
    assert value(after, "textstream_cancelled_total") == 1
    assert value(after, "textstream_request_duration_seconds_count", method="ProcessStream") == 4
    assert value(after, "textstream_time_to_first_update_seconds_count") == 4
    for stage in ("chunking", "sentiment", "summary", "entities"):
        assert value(after, "textstream_stage_duration_seconds_count", stage=stage) >= 3


async def test_model_metrics_with_real_batchers(serve, offline):
    async with serve(offline) as srv:
        port = srv.state.metrics.serve_http("127.0.0.1", 0)
        await asyncio.gather(
            *(stream(srv.stub, text=REVIEW * 3, include_entities=True) for _ in range(4))
        )
        samples = await asyncio.to_thread(scrape, port)

    def labelled(name):
        return {dict(labels)["model"]: v for (n, labels), v in samples.items() if n == name}

    models = {batcher.name for batcher in offline.batchers()}
    assert len(models) == 3
    batches = labelled("textstream_batch_size_count")
    items = labelled("textstream_batch_size_sum")
    waits = labelled("textstream_queue_wait_seconds_count")
    for model in models:
        assert batches[model] > 0
        # Every item batched had its queue wait observed.
        assert waits[model] == items[model]
    loads = labelled("textstream_model_load_seconds")
    assert set(loads) == set(offline.load_seconds)
    assert all(seconds > 0 for seconds in loads.values())
    # The thread layout the loader chose for this CPU, as torch got it.
    assert offline.layout is not None
    threads = samples[("textstream_intra_op_threads", ())]
    assert threads == offline.layout.intra_op_threads >= 1


async def test_gpu_memory_is_read_at_scrape_time(serve):
    # No CUDA here: the reader stands in for analyzers.device.gpu_memory_in_use, which the
    # loader passes when the models run on a GPU (and the CUDA test in tests/analyzers runs).
    in_use = {"cuda:0": 1024}
    analyzers = word_analyzers()
    analyzers.gpu_memory = lambda: dict(in_use)
    async with serve(analyzers) as srv:
        port = srv.state.metrics.serve_http("127.0.0.1", 0)
        first = await asyncio.to_thread(scrape, port)
        in_use["cuda:0"] = 4096
        second = await asyncio.to_thread(scrape, port)
    key = ("textstream_gpu_memory_bytes", (("device", "cuda:0"),))
    assert first[key] == 1024
    assert second[key] == 4096


async def test_no_gpu_metric_on_cpu(serve, offline):
    assert offline.gpu_memory is None
    async with serve(offline) as srv:
        port = srv.state.metrics.serve_http("127.0.0.1", 0)
        samples = await asyncio.to_thread(scrape, port)
    assert not any(name == "textstream_gpu_memory_bytes" for name, _ in samples)
