"""Property tests of the real CausalGenerator's stop strings (tiny GPT-2), through a server.

The reference is the greedy text of the same prompt with no stop strings, streamed piece by
piece: with stop strings, the output must be that text cut before the first stop string to
appear in it, ending in STOP after the piece that completed it; with none appearing, the
whole text and the greedy run's own finish.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from analyzers.base import Analyzers
from server.core.validation import MAX_STOP_CHARS, MAX_STOP_STRINGS
from tests.analyzers.conftest import hub_settings
from tests.analyzers.tiny import GENERATOR_PROMPT, TinyModels
from tests.threaded import threaded_server

MAX_NEW = 24
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Run:
    text: str
    # (end of the text so far, tokens so far) after each streamed piece.
    pieces: tuple[tuple[int, int], ...]
    reason: int
    tokens: int


def run(stub: pb_grpc.TextProcessorStub, max_new_tokens: int, stop: list[str]) -> Run:
    request = pb.GenerateRequest(prompt=GENERATOR_PROMPT, max_new_tokens=max_new_tokens, stop=stop)
    text = ""
    pieces: list[tuple[int, int]] = []
    updates = list(stub.GenerateStream(request, timeout=30))
    for update in updates[1:-1]:
        assert update.WhichOneof("update") == "delta"
        assert update.delta.text, "an empty delta"
        text += update.delta.text
        pieces.append((len(text), update.delta.tokens))
    assert updates[0].WhichOneof("update") == "started"
    completed = updates[-1].completed
    return Run(text, tuple(pieces), completed.finish_reason, completed.tokens)


class Greedy:
    """The stop-free greedy run for each max_new_tokens, made once."""

    def __init__(self, stub: pb_grpc.TextProcessorStub) -> None:
        self.stub = stub
        self._runs: dict[int, Run] = {}

    def __call__(self, max_new_tokens: int) -> Run:
        if max_new_tokens not in self._runs:
            self._runs[max_new_tokens] = run(self.stub, max_new_tokens, [])
            # Greedy decoding repeats: the reference is stable.
            assert run(self.stub, max_new_tokens, []) == self._runs[max_new_tokens]
        return self._runs[max_new_tokens]


@pytest.fixture(scope="module")
def greedy(hub: Analyzers, tiny_models: TinyModels) -> Iterator[Greedy]:
    with (
        threaded_server(hub, models=hub_settings(tiny_models)) as (target, _),
        grpc.insecure_channel(target) as channel,
    ):
        reference = Greedy(pb_grpc.TextProcessorStub(channel))
        full = reference(MAX_NEW)
        # Room for the strategies below: several pieces, and no early end.
        assert len(full.pieces) > 4
        assert full.reason == pb.FINISH_REASON_LENGTH
        yield reference


def expected(reference: Run, stops: list[str]) -> Run:
    """What the stream must be, from the stop-free run's pieces."""
    for end, tokens in reference.pieces:
        seen = reference.text[:end]
        found = [seen.find(stop) for stop in stops if stop in seen]
        if found:
            cut = min(found)
            return Run(reference.text[:cut], (), pb.FINISH_REASON_STOP, tokens)
    return Run(reference.text, (), reference.reason, reference.tokens)


def stop_strings(reference: Run) -> st.SearchStrategy[str]:
    text = reference.text
    size = len(text)

    def cut(start: int, length: int) -> str:
        return text[start : start + length]

    # Any piece of the output.
    inside = st.integers(0, size - 1).flatmap(
        lambda start: st.integers(1, min(MAX_STOP_CHARS, size - start)).map(
            lambda length: cut(start, length)
        )
    )
    # Across the boundary between two streamed pieces (two tokens or more).
    boundaries = [end for end, _ in reference.pieces[:-1]]
    spanning = st.sampled_from(boundaries).flatmap(
        lambda end: st.tuples(st.integers(1, min(8, end)), st.integers(1, min(8, size - end))).map(
            lambda around: text[end - around[0] : end + around[1]]
        )
    )
    # Never produced: arbitrary text, and text that starts like the output (held back while
    # it might still complete, then released), including at its very end.
    unrelated = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
    almost = st.tuples(inside, st.sampled_from(["\x00", "\u2603", "zq"])).map("".join)
    at_the_end = st.integers(max(0, size - 10), size - 1).map(lambda start: text[start:] + "\x00")
    never = (unrelated | almost | at_the_end).filter(lambda stop: stop not in text)
    return (inside | spanning | never).filter(lambda stop: 0 < len(stop) <= MAX_STOP_CHARS)


@FUZZ
@given(data=st.data(), max_new_tokens=st.integers(1, MAX_NEW))
def test_stream_ends_before_the_first_stop_string(greedy, data, max_new_tokens):
    reference = greedy(max_new_tokens)
    stops = data.draw(
        st.lists(stop_strings(greedy(MAX_NEW)), min_size=1, max_size=MAX_STOP_STRINGS),
        label="stop",
    )
    got = run(greedy.stub, max_new_tokens, stops)
    event(f"finish {pb.FinishReason.Name(got.reason)}")
    want = expected(reference, stops)
    assert (got.text, got.reason, got.tokens) == (want.text, want.reason, want.tokens)
    # What that means, said without the pieces: the output is the greedy text cut before a
    # stop string, and holds none; with one stop string, before its first occurrence.
    assert reference.text.startswith(got.text)
    assert not any(stop in got.text for stop in stops)
    if got.reason == pb.FINISH_REASON_STOP:
        assert any(reference.text.startswith(stop, len(got.text)) for stop in stops)
        assert got.tokens <= reference.tokens
    else:
        assert got.text == reference.text
    if len(stops) == 1:
        at = reference.text.find(stops[0])
        assert got.text == (reference.text[:at] if at >= 0 else reference.text)
