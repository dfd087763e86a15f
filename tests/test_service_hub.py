"""The hub profile's code path (tiny RoBERTa, BART, GPT-2 built by the tests) through the server."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from textstream_client.protos import textstream_pb2 as pb

from tests.analyzers.conftest import hub_settings, read_data
from tests.analyzers.tiny import GENERATOR_PROMPT
from tests.streams import case, rpc_error, stream

# Guards against hangs only (a hang is the failure these tests exist to catch).
GUARD_SECONDS = 20


async def generate(stub, **fields) -> list[pb.GenerateUpdate]:
    call = stub.GenerateStream(pb.GenerateRequest(prompt=GENERATOR_PROMPT, **fields))
    return [update async for update in call]


def generated_text(updates) -> str:
    return "".join(u.delta.text for u in updates if u.WhichOneof("update") == "delta")


async def test_hub_stream_labels_from_id2label_and_streamed_summary(serve, hub):
    text = read_data("sympy_history.txt")
    async with serve(hub) as srv:
        updates = await asyncio.wait_for(stream(srv.stub, text=text), GUARD_SECONDS)
    kinds = [case(u) for u in updates]
    assert kinds[-1] == "completed"
    assert "stage_error" not in kinds
    # The tiny model's id2label names all three classes; every chunk carries all of them.
    for progress in (u.sentiment_progress for u in updates if case(u) == "sentiment_progress"):
        assert {s.label for s in progress.chunk.scores} == {
            pb.SENTIMENT_LABEL_NEGATIVE,
            pb.SENTIMENT_LABEL_NEUTRAL,
            pb.SENTIMENT_LABEL_POSITIVE,
        }
    deltas = [u.summary_delta.text for u in updates if case(u) == "summary_delta"]
    assert len(deltas) > 1
    summary_at = kinds.index("summary")
    assert all(i < summary_at for i, k in enumerate(kinds) if k == "summary_delta")
    assert updates[summary_at].summary.text == "".join(deltas).strip()


async def test_generate_stream_honours_max_new_tokens_and_stop(serve, hub, tiny_models):
    # The server validates with the same model settings the generator was loaded with.
    async with serve(hub, models=hub_settings(tiny_models)) as srv:
        full = await generate(srv.stub, max_new_tokens=20)
        text = generated_text(full)
        finished = full[-1].completed
        assert full[0].started.model
        assert finished.tokens == 20
        assert finished.finish_reason == pb.FINISH_REASON_LENGTH
        assert [u.sequence for u in full] == list(range(len(full)))

        stop = text[len(text) // 2 : len(text) // 2 + 3]
        stopped = await generate(srv.stub, max_new_tokens=20, stop=["never-there", stop])
        assert generated_text(stopped) == text[: text.index(stop)]
        assert stopped[-1].completed.finish_reason == pb.FINISH_REASON_STOP
        assert stopped[-1].completed.tokens < 20

        cap = hub_settings(tiny_models).max_new_tokens_cap
        over = await rpc_error(
            srv.stub.GenerateStream(pb.GenerateRequest(prompt="x", max_new_tokens=cap + 1))
        )
        assert over.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"between 1 and {cap}" in over.details()


async def test_failing_models_become_stage_error_and_failed_status(serve, hub, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("CUDA error: device-side assert triggered")

    async with serve(hub) as srv:
        monkeypatch.setattr(hub.summarizer.model, "forward", broken)  # type: ignore[attr-defined]
        monkeypatch.setattr(hub.generator.model, "forward", broken)  # type: ignore[union-attr]
        text = read_data("sympy_history.txt")
        updates = await asyncio.wait_for(stream(srv.stub, text=text), GUARD_SECONDS)
        errors = [u.stage_error for u in updates if case(u) == "stage_error"]
        assert [e.stage for e in errors] == [pb.STAGE_SUMMARY]
        assert "CUDA" not in errors[0].message
        assert case(updates[-1]) == "completed"
        assert "sentiment" in {case(u) for u in updates}

        error = await asyncio.wait_for(
            rpc_error(srv.stub.GenerateStream(pb.GenerateRequest(prompt=GENERATOR_PROMPT))),
            GUARD_SECONDS,
        )
        assert error.code() == grpc.StatusCode.INTERNAL
        assert "request id" in error.details()

        monkeypatch.undo()
        assert (await generate(srv.stub, max_new_tokens=3))[-1].completed.tokens == 3


@pytest.mark.parametrize(
    "sampling",
    [{"temperature": 1.3}, {"temperature": 1.3, "top_p": 0.9}],
    ids=["temperature", "top_p"],
)
async def test_sampling_is_repeatable_with_a_seed(serve, hub, sampling):
    async def sampled(seed: int) -> str:
        return generated_text(await generate(srv.stub, max_new_tokens=10, seed=seed, **sampling))

    async with serve(hub) as srv:
        greedy = generated_text(await generate(srv.stub, max_new_tokens=10))
        first, again = await sampled(7), await sampled(7)
        others = {await sampled(seed) for seed in (8, 9, 10)}
        # top_p without a temperature does not sample: greedy decoding, as when unset.
        top_p_alone = generated_text(await generate(srv.stub, max_new_tokens=10, top_p=0.9))
    assert first == again
    # The seed is what decides: other seeds give other texts, none of them the greedy one.
    assert others - {first}
    assert greedy not in others | {first}
    assert top_p_alone == greedy


async def test_a_text_longer_than_the_summarizer_input_is_summarised_whole(serve, hub, monkeypatch):
    summarizer: Any = hub.summarizer
    tokenizer, encoder = summarizer.tokenizer, summarizer.model.get_encoder()
    text = read_data("sympy_history.txt")
    sentences = [s for s in text.replace("\n", " ").split(". ") if len(s) > 20]
    assert len(tokenizer(text)["input_ids"]) > 3 * tokenizer.model_max_length
    seen: list[str] = []
    real = encoder.forward

    def recorded(*args: Any, **kwargs: Any) -> Any:
        for ids, mask in zip(kwargs["input_ids"], kwargs["attention_mask"], strict=True):
            seen.append(tokenizer.decode(ids[mask.bool()], skip_special_tokens=True))
        return real(*args, **kwargs)

    monkeypatch.setattr(encoder, "forward", recorded)
    async with serve(hub) as srv:
        updates = await asyncio.wait_for(
            stream(srv.stub, text=text, include_sentiment=False), GUARD_SECONDS
        )
    kinds = [case(u) for u in updates]
    assert "stage_error" not in kinds
    summary = updates[kinds.index("summary")].summary.text
    assert summary
    # The model read every part of the text, its last sentence included, in sections that
    # each fit its input; nothing was cut off silently.
    assert len(seen) > 1
    read = " ".join(seen)
    assert sentences[-1].strip()[:40] in read
    assert all(len(tokenizer(part)["input_ids"]) <= tokenizer.model_max_length for part in seen)
