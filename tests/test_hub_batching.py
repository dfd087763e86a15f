"""Continuous batching of the hub's generative models, seen through a real server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
import torch
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from textstream_client.protos import textstream_pb2 as pb

from analyzers.base import Analyzers
from analyzers.loader import load_analyzers
from analyzers.summary import summary_generation_kwargs
from tests.analyzers.conftest import hub_settings, read_data
from tests.analyzers.tiny import GENERATOR_PROMPT, TinyModels
from tests.streams import case, rpc_error

# Guards against hangs only.
GUARD_SECONDS = 60
# Each forward pass is slowed by this much so that streams started one after another are
# still decoding when the next joins; the tokens themselves are the model's own.
STEP_SECONDS = 0.02


def summary_texts(count: int) -> list[str]:
    """Texts of different lengths, over the 100 characters a summary needs and within the
    tiny model's input (longer ones are summarised in sections)."""
    source = read_data("sympy_history.txt")
    return [source[index * 40 : index * 40 + 101 + 4 * index] for index in range(count)]


def solo_summary(analyzers: Analyzers, tiny: TinyModels, text: str) -> str:
    """The summary one generate() call makes of text alone, with the hub settings' lengths."""
    settings = hub_settings(tiny)
    summarizer: Any = analyzers.summarizer
    model, tokenizer = summarizer.model, summarizer.tokenizer
    encoded = tokenizer(text, return_tensors="pt")
    assert encoded["input_ids"].shape[1] <= tokenizer.model_max_length
    kwargs = summary_generation_kwargs(
        model, settings.summary_min_tokens, settings.summary_max_tokens
    )
    with torch.inference_mode():
        output = model.generate(**encoded, **kwargs)
    return str(tokenizer.decode(output[0], skip_special_tokens=True)).strip()


@contextmanager
def slowed(
    model: Any, monkeypatch: pytest.MonkeyPatch, seconds: float = STEP_SECONDS
) -> Iterator[Callable[[], int]]:
    """Every forward pass of model takes `seconds` longer; yields a reader of the count."""
    real = model.forward
    calls = 0

    def forward(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "forward", forward)
    try:
        yield lambda: calls
    finally:
        monkeypatch.setattr(model, "forward", real)


def sample(state: Any, name: str, **labels: str) -> float:
    value = state.metrics.registry.get_sample_value(name, labels)
    return float(value or 0.0)


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for condition, or fail when the deadline passes."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold before the deadline")
        await asyncio.sleep(0.005)


async def summary_of(stub: Any, text: str) -> str:
    deltas: list[str] = []
    summary = None
    call = stub.ProcessStream(pb.ProcessRequest(text=text, include_sentiment=False))
    async for update in call:
        kind = case(update)
        assert kind != "stage_error", update.stage_error.message
        if kind == "summary_delta":
            deltas.append(update.summary_delta.text)
        elif kind == "summary":
            summary = update.summary.text
    assert summary is not None
    assert summary == "".join(deltas).strip()
    return summary


async def test_concurrent_summaries_share_steps_and_equal_their_solo_output(
    serve, hub, tiny_models, monkeypatch
):
    texts = summary_texts(8)
    solos = [solo_summary(hub, tiny_models, text) for text in texts]
    assert len(set(solos)) > 1  # different inputs, different summaries
    name = hub.summarizer.name
    async with serve(hub) as srv:
        joined = lambda: sample(srv.state, "textstream_queue_wait_seconds_count", model=name)  # noqa: E731
        with slowed(hub.summarizer.model, monkeypatch):
            # Each stream starts once the one before it has joined the decoding batch, so
            # rows join a batch that is already decoding, each at a different step.
            tasks: list[asyncio.Task[str]] = []
            for text in texts:
                before = joined()
                tasks.append(asyncio.create_task(summary_of(srv.stub, text)))
                await until(lambda before=before: joined() > before)  # type: ignore[misc]
            summaries = await asyncio.wait_for(asyncio.gather(*tasks), GUARD_SECONDS)
        steps = sample(srv.state, "textstream_decode_rows_per_step_count", model=name)
        single = sample(srv.state, "textstream_decode_rows_per_step_bucket", model=name, le="1.0")
        rows = sample(srv.state, "textstream_decode_rows_per_step_sum", model=name)
    assert summaries == solos
    # More than one row per step: the streams advanced together.
    assert steps > single
    assert rows / steps > 2


async def test_generations_keep_their_limits_stops_and_seeds_when_batched(serve, hub, monkeypatch):
    requests = [
        pb.GenerateRequest(prompt=GENERATOR_PROMPT, max_new_tokens=4 + index) for index in range(4)
    ] + [
        pb.GenerateRequest(prompt="SymPy", max_new_tokens=9, temperature=1.3, seed=7),
        pb.GenerateRequest(prompt="SymPy", max_new_tokens=9, temperature=1.3, top_p=0.8, seed=8),
        pb.GenerateRequest(prompt="The", max_new_tokens=15),
        pb.GenerateRequest(prompt=GENERATOR_PROMPT, max_new_tokens=20),
    ]

    async def run(stub: Any, request: pb.GenerateRequest) -> tuple[str, int, int]:
        updates = [update async for update in stub.GenerateStream(request)]
        text = "".join(u.delta.text for u in updates if u.WhichOneof("update") == "delta")
        done = updates[-1].completed
        return text, done.tokens, done.finish_reason

    async with serve(hub) as srv:
        alone = [await run(srv.stub, request) for request in requests]
        # A stop string cut from the middle of the longest greedy output.
        longest = alone[-1][0]
        stop = longest[len(longest) // 2 : len(longest) // 2 + 3]
        requests[-1].stop.append(stop)
        alone[-1] = (longest[: longest.index(stop)], -1, pb.FINISH_REASON_STOP)
        name = hub.generator.name
        before = sample(srv.state, "textstream_decode_rows_per_step_sum", model=name)
        with slowed(hub.generator.model, monkeypatch):
            together = await asyncio.wait_for(
                asyncio.gather(*(run(srv.stub, request) for request in requests)), GUARD_SECONDS
            )
        after = sample(srv.state, "textstream_decode_rows_per_step_sum", model=name)
    for (text, tokens, reason), (want_text, want_tokens, want_reason) in zip(
        together, alone, strict=True
    ):
        assert text == want_text
        assert reason == want_reason
        if want_tokens >= 0:
            assert tokens == want_tokens
    assert [tokens for _, tokens, _ in together[:4]] == [4, 5, 6, 7]
    assert together[-1][1] < 20  # stopped at the stop string, not at max_new_tokens
    assert after > before


async def test_cancelling_one_row_leaves_the_others_whole_and_frees_it(serve, hub, monkeypatch):
    name = hub.generator.name
    request = pb.GenerateRequest(prompt=GENERATOR_PROMPT, max_new_tokens=60)
    async with serve(hub) as srv:
        solo = [update async for update in srv.stub.GenerateStream(request)]
        want = "".join(u.delta.text for u in solo if u.WhichOneof("update") == "delta")
        with slowed(hub.generator.model, monkeypatch):
            calls = [srv.stub.GenerateStream(request) for _ in range(8)]
            texts: list[list[str]] = [[] for _ in calls]

            async def read(index: int) -> pb.GenerateUpdate | grpc.StatusCode:
                last = None
                try:
                    async for update in calls[index]:
                        last = update
                        if update.WhichOneof("update") == "delta":
                            texts[index].append(update.delta.text)
                except asyncio.CancelledError:
                    # grpc.aio ends a locally cancelled call's iterator this way.
                    return await calls[index].code()
                assert last is not None
                return last

            readers = [asyncio.create_task(read(index)) for index in range(8)]
            await until(lambda: all(texts))
            await until(lambda: srv.state.analyzers.generator.scheduler.decoding == 8)
            calls[3].cancel()
            # The cancelled row leaves the batch while the others still decode.
            await until(
                lambda: (
                    sample(srv.state, "textstream_decode_rows", model=name) == 7
                    and srv.state.analyzers.generator.scheduler.decoding == 7
                )
            )
            finals = await asyncio.wait_for(asyncio.gather(*readers), GUARD_SECONDS)
        await until(lambda: sample(srv.state, "textstream_decode_rows", model=name) == 0)
    assert finals[3] == grpc.StatusCode.CANCELLED
    for index, final in enumerate(finals):
        if index == 3:
            continue
        assert isinstance(final, pb.GenerateUpdate)
        assert final.completed.tokens == 60
        assert "".join(texts[index]) == want


async def test_a_step_that_raises_fails_its_rows_and_the_server_goes_on(
    serve, hub, tiny_models, monkeypatch
):
    texts = summary_texts(4)
    model = hub.summarizer.model
    real = model.forward
    calls = 0

    def breaks_later(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        time.sleep(STEP_SECONDS)
        if calls > 6:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real(*args, **kwargs)

    async def stream(stub: Any, text: str) -> list[pb.StageUpdate]:
        call = stub.ProcessStream(pb.ProcessRequest(text=text))
        return [update async for update in call]

    async with serve(hub) as srv:
        monkeypatch.setattr(model, "forward", breaks_later)
        results = await asyncio.wait_for(
            asyncio.gather(*(stream(srv.stub, text) for text in texts)), GUARD_SECONDS
        )
        monkeypatch.setattr(model, "forward", real)
        for updates in results:
            kinds = [case(u) for u in updates]
            errors = [u.stage_error for u in updates if case(u) == "stage_error"]
            assert [e.stage for e in errors] == [pb.STAGE_SUMMARY]
            assert "RuntimeError" in errors[0].message
            assert "illegal" not in errors[0].message
            assert "sentiment" in kinds
            assert kinds[-1] == "completed"
        # The scheduler is still decoding for everyone else.
        assert await summary_of(srv.stub, texts[0]) == solo_summary(hub, tiny_models, texts[0])


@pytest.fixture
def one_row(tiny_models: TinyModels) -> Iterator[Analyzers]:
    """Hub analyzers that decode one row at a time and queue one more."""
    analyzers = load_analyzers(hub_settings(tiny_models, decode_max_rows=1, decode_max_queued=1))
    yield analyzers
    analyzers.close()


def retry_info(error: grpc.aio.AioRpcError) -> error_details_pb2.RetryInfo | None:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info
    return None


async def test_a_full_decoding_queue_refuses_calls_before_they_start(serve, one_row, monkeypatch):
    generator = one_row.generator
    request = pb.GenerateRequest(prompt=GENERATOR_PROMPT, max_new_tokens=64)
    async with serve(one_row) as srv:
        with slowed(generator.model, monkeypatch, seconds=0.2):
            decoding = srv.stub.GenerateStream(request)
            await decoding.read()  # started: this row is decoding
            await until(lambda: generator.scheduler.decoding == 1)
            waiting = srv.stub.GenerateStream(request)
            await waiting.read()  # started: this one waits in the queue
            await until(lambda: generator.scheduler.full)

            refused = srv.stub.GenerateStream(request)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await refused.read()  # refused before `started`: no update at all
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert retry_info(caught.value) is not None

            # Analyses do not wait in the generator's queue: they are still admitted.
            text = summary_texts(1)[0]
            analysis = await srv.stub.Process(pb.ProcessRequest(text=text, include_summary=False))
            assert analysis.sentiment.chunks
            decoding.cancel()
            waiting.cancel()
        await until(lambda: not generator.scheduler.full and generator.scheduler.decoding == 0)


async def test_a_full_summary_queue_refuses_analyses_at_admission(serve, one_row, monkeypatch):
    summarizer = one_row.summarizer
    text = read_data("sympy_history.txt")
    async with serve(one_row) as srv:
        with slowed(summarizer.model, monkeypatch, seconds=0.5):
            first = srv.stub.ProcessStream(pb.ProcessRequest(text=text))
            await until(lambda: summarizer.scheduler.decoding == 1)
            second = srv.stub.ProcessStream(pb.ProcessRequest(text=text))
            await until(lambda: summarizer.scheduler.full)
            error = await rpc_error(srv.stub.ProcessStream(pb.ProcessRequest(text=text)))
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "queue is full" in error.details()
            assert retry_info(error) is not None
            first.cancel()
            second.cancel()
        await until(lambda: not summarizer.scheduler.full)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
async def test_rows_decode_together_on_cuda_in_half_precision(serve, tiny_models):
    analyzers = load_analyzers(hub_settings(tiny_models, device="cuda"))
    try:
        summarizer: Any = analyzers.summarizer
        assert summarizer.model.dtype == torch.float16
        name = summarizer.name
        async with serve(analyzers) as srv:
            summaries = await asyncio.wait_for(
                asyncio.gather(*(summary_of(srv.stub, text) for text in summary_texts(8))),
                GUARD_SECONDS,
            )
            request = pb.GenerateRequest(prompt=GENERATOR_PROMPT, max_new_tokens=12)

            async def generation() -> list[pb.GenerateUpdate]:
                return [update async for update in srv.stub.GenerateStream(request)]

            generations = await asyncio.wait_for(
                asyncio.gather(*(generation() for _ in range(8))), GUARD_SECONDS
            )
            steps = sample(srv.state, "textstream_decode_rows_per_step_count", model=name)
            rows = sample(srv.state, "textstream_decode_rows_per_step_sum", model=name)
        assert all(summaries)
        assert [updates[-1].completed.tokens for updates in generations] == [12] * 8
        assert rows / steps > 1
    finally:
        analyzers.close()


@pytest.mark.parametrize(
    ("bounds", "most_rows"),
    [({"decode_max_rows": 2}, 2.0), ({"decode_max_cache_tokens": 100}, 1.0)],
)
async def test_rows_per_step_stay_within_the_row_and_cache_bounds(
    serve, tiny_models, monkeypatch, bounds, most_rows
):
    # A tiny summary row holds at most 64 input + 24 summary positions: 100 fit one row.
    analyzers = load_analyzers(hub_settings(tiny_models, **bounds))
    try:
        summarizer: Any = analyzers.summarizer
        texts = summary_texts(4)
        async with serve(analyzers) as srv:
            with slowed(summarizer.model, monkeypatch):
                summaries = await asyncio.wait_for(
                    asyncio.gather(*(summary_of(srv.stub, text) for text in texts)),
                    GUARD_SECONDS,
                )
            name = summarizer.name
            steps = sample(srv.state, "textstream_decode_rows_per_step_count", model=name)
            within = sample(
                srv.state, "textstream_decode_rows_per_step_bucket", model=name, le=str(most_rows)
            )
            fewer = sample(
                srv.state,
                "textstream_decode_rows_per_step_bucket",
                model=name,
                le=str(most_rows - 1),
            )
        assert summaries == [solo_summary(analyzers, tiny_models, text) for text in texts]
        assert within == steps  # never more rows than the bounds allow
        assert fewer < steps  # and the bound was reached
    finally:
        analyzers.close()
