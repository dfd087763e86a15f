"""The hub code path, loaded by load_analyzers from tiny models saved like downloaded ones."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator
from typing import Any

import pytest
import torch

from analyzers.base import Analyzers, Summarizer, TextGenerator
from analyzers.errors import AnalyzerError
from analyzers.generate import CausalGenerator
from analyzers.sentiment import TransformerSentiment
from analyzers.summary import Seq2SeqSummarizer, summary_generation_kwargs
from analyzers.types import (
    FinishReason,
    GeneratedText,
    GenerationEvent,
    GenerationFinished,
    GenerationParams,
    GenerationStarted,
    SentimentLabel,
)
from tests.analyzers.conftest import decode_limits, hub_placement, read_data
from tests.analyzers.tiny import GENERATOR_PROMPT, TinyModels

# Guards against hangs only; nothing here should take more than a fraction of this.
GUARD_SECONDS = 20


async def collect(stream: AsyncGenerator[Any, None]) -> list[Any]:
    async def drain() -> list[Any]:
        return [item async for item in stream]

    return await asyncio.wait_for(drain(), GUARD_SECONDS)


async def generate(generator: TextGenerator, params: GenerationParams) -> list[GenerationEvent]:
    return await collect(generator.generate(GENERATOR_PROMPT, params))


def text_of(events: list[GenerationEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, GeneratedText))


def finish_of(events: list[GenerationEvent]) -> GenerationFinished:
    finished = events[-1]
    assert isinstance(finished, GenerationFinished)
    return finished


def model_of(analyzer: object) -> Any:
    model = getattr(analyzer, "model", None)
    assert model is not None
    return model


def test_the_bundle_has_the_hub_analyzers(hub: Analyzers, tiny_models: TinyModels) -> None:
    assert isinstance(hub.sentiment, TransformerSentiment)
    assert isinstance(hub.summarizer, Seq2SeqSummarizer)
    assert isinstance(hub.generator, CausalGenerator)
    assert isinstance(hub.summarizer, Summarizer)
    assert isinstance(hub.generator, TextGenerator)
    assert hub.sentiment.name == str(tiny_models.sentiment)
    assert len(hub.load_seconds) == 4


async def test_sentiment_labels_come_from_id2label(hub: Analyzers, tiny_models: TinyModels) -> None:
    assert isinstance(hub.sentiment, TransformerSentiment)
    assert hub.sentiment.labels == (
        SentimentLabel.NEGATIVE,
        SentimentLabel.NEUTRAL,
        SentimentLabel.POSITIVE,
    )
    permuted = TransformerSentiment(str(tiny_models.sentiment_permuted), placement=hub_placement())
    try:
        assert permuted.labels == (
            SentimentLabel.POSITIVE,
            SentimentLabel.NEGATIVE,
            SentimentLabel.NEUTRAL,
        )
        text = read_data("review_positive.txt")
        original = await hub.sentiment.classify(text)
        renamed = await permuted.classify(text)
        # Same weights, so class i has the same probability; only its name moved.
        for index in range(3):
            before = original.scores[hub.sentiment.labels[index]]
            after = renamed.scores[permuted.labels[index]]
            assert after == pytest.approx(before, abs=1e-6)
        assert renamed.label == permuted.labels[hub.sentiment.labels.index(original.label)]
        for result in (original, renamed):
            assert sum(result.scores.values()) == pytest.approx(1.0, abs=1e-5)
            assert result.confidence == max(result.scores.values())
    finally:
        permuted.close()


async def test_long_chunks_are_truncated_not_fatal(hub: Analyzers) -> None:
    results = await asyncio.gather(
        hub.sentiment.classify("x" * 5000),
        hub.sentiment.classify("word " * 1000),
        hub.sentiment.classify("short"),
    )
    assert all(sum(r.scores.values()) == pytest.approx(1.0, abs=1e-5) for r in results)


async def test_concurrent_chunks_share_forward_passes(hub: Analyzers) -> None:
    assert isinstance(hub.sentiment, TransformerSentiment)
    batcher = hub.sentiment.queue
    before = batcher.batches
    chunks = read_data("sympy_history.txt").split(". ")
    results = await asyncio.gather(*(hub.sentiment.classify(chunk) for chunk in chunks))
    assert len(results) == len(chunks)
    assert batcher.batches - before < len(chunks)
    # The same chunk alone gets the same answer it got inside a padded batch.
    alone = await hub.sentiment.classify(chunks[0])
    assert alone.scores[alone.label] == pytest.approx(results[0].scores[alone.label], abs=1e-4)


async def test_summary_tokens_stream_as_several_pieces(hub: Analyzers) -> None:
    # Within the tiny model's 64-token input: one section, one row.
    text = read_data("sympy_history.txt")[:150]
    pieces = await collect(hub.summarizer.summarize(text))
    assert len(pieces) >= 3
    assert all(isinstance(piece, str) and piece for piece in pieces)
    assert not pieces[0].startswith(" ")
    # Lengths honour the settings despite the model's own min_length of 500 and 4 beams.
    summarizer = hub.summarizer
    assert isinstance(summarizer, Seq2SeqSummarizer)
    tokenizer, model = summarizer.tokenizer, summarizer.model
    encoded = tokenizer(
        text, truncation=True, max_length=tokenizer.model_max_length, return_tensors="pt"
    )
    with torch.inference_mode():
        alone = model.generate(**encoded, **summary_generation_kwargs(model, 8, 24))
    # At most summary_max_tokens (24 in the hub settings), start token included, and the
    # streamed pieces are exactly what generate() makes of the text alone.
    assert encoded["input_ids"].shape[1] < tokenizer.model_max_length
    assert alone.shape[1] <= 24
    assert "".join(pieces) == tokenizer.decode(alone[0], skip_special_tokens=True).lstrip()


async def test_summarizing_a_text_longer_than_the_model_input(hub: Analyzers) -> None:
    text = read_data("sympy_history.txt") * 20
    assert await collect(hub.summarizer.summarize(text))


async def test_generation_honours_max_new_tokens(hub: Analyzers) -> None:
    assert hub.generator is not None
    events = await generate(hub.generator, GenerationParams(max_new_tokens=7))
    started = events[0]
    assert isinstance(started, GenerationStarted)
    assert started.max_new_tokens == 7
    assert started.prompt_tokens > 0
    finished = finish_of(events)
    assert finished.reason == FinishReason.LENGTH
    assert finished.tokens == 7
    pieces = [event for event in events if isinstance(event, GeneratedText)]
    assert pieces
    counts = [piece.tokens for piece in pieces]
    assert counts == sorted(counts)
    assert counts[-1] <= 7


async def test_max_new_tokens_is_clamped_to_the_cap(hub: Analyzers) -> None:
    assert hub.generator is not None
    events = await generate(hub.generator, GenerationParams(max_new_tokens=10_000))
    started = events[0]
    assert isinstance(started, GenerationStarted)
    assert started.max_new_tokens == 64  # max_new_tokens_cap in the hub settings
    assert finish_of(events).tokens == 64


async def test_generation_ends_before_the_first_stop_string(hub: Analyzers) -> None:
    assert hub.generator is not None
    full = text_of(await generate(hub.generator, GenerationParams(max_new_tokens=20)))
    assert len(full) >= 8
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    cut = full.index(stop)
    events = await generate(
        hub.generator, GenerationParams(max_new_tokens=20, stop=("never-there", stop))
    )
    assert text_of(events) == full[:cut]
    finished = finish_of(events)
    assert finished.reason == FinishReason.STOP
    # Stopped right away, not at max_new_tokens.
    assert finished.tokens < 20


async def test_greedy_and_seeded_generation_repeat(hub: Analyzers) -> None:
    assert hub.generator is not None
    greedy = GenerationParams(max_new_tokens=12, temperature=0)
    assert text_of(await generate(hub.generator, greedy)) == text_of(
        await generate(hub.generator, greedy)
    )
    seeded = GenerationParams(max_new_tokens=12, temperature=1.5, top_p=0.95, seed=1234)
    first, second = [text_of(await generate(hub.generator, seeded)) for _ in range(2)]
    assert first == second


async def test_eos_finishes_with_reason_eos(tiny_models: TinyModels) -> None:
    generator = CausalGenerator(
        str(tiny_models.generator_eos),
        placement=hub_placement(),
        limits=decode_limits(tiny_models),
    )
    try:
        events = await generate(generator, GenerationParams(max_new_tokens=12))
        finished = finish_of(events)
        assert finished.reason == FinishReason.EOS
        assert finished.tokens == tiny_models.eos_step + 1
    finally:
        generator.close()


async def test_a_failing_generate_surfaces_as_analyzer_error(
    hub: Analyzers, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hub.generator is not None

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("CUDA error: device-side assert triggered")

    monkeypatch.setattr(model_of(hub.generator), "forward", broken)
    with pytest.raises(AnalyzerError, match="RuntimeError"):
        await generate(hub.generator, GenerationParams(max_new_tokens=5))
    monkeypatch.setattr(model_of(hub.summarizer), "forward", broken)
    with pytest.raises(AnalyzerError, match="RuntimeError"):
        await collect(hub.summarizer.summarize(read_data("sympy_history.txt")))
    monkeypatch.undo()
    # The model thread is fine afterwards.
    assert finish_of(await generate(hub.generator, GenerationParams(max_new_tokens=3))).tokens == 3


async def test_a_stalled_generate_is_abandoned_after_the_token_timeout(
    stalling_generator: CausalGenerator,
) -> None:
    with pytest.raises(AnalyzerError, match="produced nothing"):
        await generate(stalling_generator, GenerationParams(max_new_tokens=50))


async def test_closing_the_stream_early_stops_generation(
    tiny_models: TinyModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = CausalGenerator(
        str(tiny_models.generator), placement=hub_placement(), limits=decode_limits(tiny_models)
    )
    calls = 0
    real_forward = generator.model.forward

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        time.sleep(0.005)
        return real_forward(*args, **kwargs)

    monkeypatch.setattr(generator.model, "forward", counted)
    try:
        stream = generator.generate(GENERATOR_PROMPT, GenerationParams(max_new_tokens=500))
        async for event in stream:
            if isinstance(event, GeneratedText):
                break
        await stream.aclose()
        # A second run queues behind the first on the model thread, so it finishes only
        # once the first has stopped.
        events = await generate(generator, GenerationParams(max_new_tokens=2))
        assert finish_of(events).tokens == 2
        assert calls < 40
    finally:
        generator.close()


async def test_cancelling_a_summary_stops_its_generation(
    hub: Analyzers, monkeypatch: pytest.MonkeyPatch
) -> None:
    summarizer = hub.summarizer
    assert isinstance(summarizer, Seq2SeqSummarizer)
    steps = 0
    real_forward = summarizer.model.forward

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal steps
        steps += 1
        time.sleep(0.05)
        return real_forward(*args, **kwargs)

    monkeypatch.setattr(summarizer.model, "forward", counted)

    text = read_data("sympy_history.txt")[:150]
    pieces = await collect(summarizer.summarize(text))
    whole = steps  # the forward passes of one summary of the text, read to its end
    assert pieces
    assert whole > 4
    steps = 0

    async def read_then_stall() -> None:
        async for _ in summarizer.summarize(text):
            await asyncio.sleep(10)  # a client that stops reading, then goes away

    task = asyncio.ensure_future(read_then_stall())
    deadline = time.monotonic() + GUARD_SECONDS
    while steps < 2:  # generation has started, through the counted forward
        assert time.monotonic() < deadline, "the summary never started"
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stopped_at = steps
    await asyncio.sleep(0.5)  # ten steps' time
    assert steps <= stopped_at + 1
    assert steps < whole - 1


def test_generation_runs_off_the_event_loop_thread(tiny_models: TinyModels) -> None:
    generator = CausalGenerator(
        str(tiny_models.generator), placement=hub_placement(), limits=decode_limits(tiny_models)
    )
    threads: set[tuple[str, bool]] = set()
    real_forward = generator.model.forward

    def recorded(*args: Any, **kwargs: Any) -> Any:
        threads.add((threading.current_thread().name, torch.is_inference_mode_enabled()))
        return real_forward(*args, **kwargs)

    generator.model.forward = recorded
    try:
        events = asyncio.run(generate(generator, GenerationParams(max_new_tokens=3)))
        assert finish_of(events).tokens == 3
        # On the model's own thread, recording no autograd graph.
        assert threads == {("model-generator", True)}
    finally:
        generator.close()


def test_cpu_weights_load_in_float32(hub: Analyzers) -> None:
    for analyzer in (hub.generator, hub.summarizer):
        assert model_of(analyzer).dtype == torch.float32
