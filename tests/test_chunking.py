"""Chunking of text without spaces: sentence ends of every script, else grapheme boundaries.

Through a real server (the spans a client sees, the chunks the model is given), and
chunk_spans itself over arbitrary text.
"""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from server.core.chunking import chunk_spans
from tests.doubles import WordListSentiment, word_analyzers
from tests.streams import case, stream

DATA = Path(__file__).resolve().parent / "data"
PROSE = {
    "chinese": (DATA / "zh_review.txt").read_text(encoding="utf-8"),
    "japanese": (DATA / "ja_ryokan.txt").read_text(encoding="utf-8"),
    "thai": (DATA / "th_chiang_mai.txt").read_text(encoding="utf-8"),
}

# Grapheme clusters of several code points each, spelled out so that the test knows where every
# cluster starts without asking the library under test.
CLUSTERS = [
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family: man, woman, girl, boy
    "\U0001f9d1\u200d\U0001f91d\u200d\U0001f9d1",  # people holding hands
    "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag
    "\U0001f469\U0001f3ff\u200d\U0001f4bb",  # woman technologist, dark skin tone
    "\U0001f1eb\U0001f1f7",  # flag: France
    "\U0001f1ef\U0001f1f5",  # flag: Japan
    "\U0001f44d\U0001f3fd",  # thumbs up, medium skin tone
    "\u2764\ufe0f",  # red heart, emoji presentation
    "\U0001f600",  # grinning face
    "e\u0301",  # e, combining acute
    "a\u0308\u0323",  # a, combining diaeresis, combining dot below
    "\u0915\u094d\u0937\u093f",  # Devanagari kssi
]


def emoji_run(length: int, seed: int) -> tuple[str, set[int]]:
    """About length code points of CLUSTERS with no space, and every cluster boundary."""
    rng = random.Random(seed)
    parts: list[str] = []
    bounds = {0}
    size = 0
    while size < length:
        part = rng.choice(CLUSTERS)
        parts.append(part)
        size += len(part)
        bounds.add(size)
    return "".join(parts), bounds


def grapheme_bounds(text: str) -> set[int]:
    return {0, *(m.end() for m in regex.finditer(r"\X", text))}


def check_spans(text: str, spans: list[tuple[int, int]], chunk_size: int, bounds: set[int]):
    assert spans
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        assert end - start <= chunk_size, text[start:end]
        assert start in bounds, start
        assert end in bounds, end
        assert not text[start].isspace()
        assert not text[end - 1].isspace()
    # Spans are in order, do not overlap, and cover every character but whitespace.
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start
        assert not text[end:start].strip()
    assert not text[: spans[0][0]].strip()
    assert not text[spans[-1][1] :].strip()
    # About len / chunk_size chunks: a break may leave a chunk short, but not often.
    assert math.ceil(len(text) / chunk_size) <= len(spans) <= 1.5 * len(text) / chunk_size + 1


class RecordingSentiment(WordListSentiment):
    """The word-list double, remembering every chunk it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    async def classify(self, chunk: str):  # type: ignore[no-untyped-def]
        self.chunks.append(chunk)
        return await super().classify(chunk)


async def chunked_by_server(serve, text: str, chunk_size: int):
    sentiment = RecordingSentiment()
    async with serve(word_analyzers(sentiment=sentiment)) as srv:
        updates = await stream(srv.stub, text=text, chunk_size=chunk_size, include_summary=False)
    assert case(updates[-1]) == "completed"
    [chunked] = [u.chunked for u in updates if case(u) == "chunked"]
    spans = [(span.start, span.end) for span in chunked.spans]
    assert chunked.chunk_count == len(spans)
    # Offsets are exact: each span is what the model was given, and what the progress reports.
    assert sorted(sentiment.chunks) == sorted(text[start:end] for start, end in spans)
    progress = [u.sentiment_progress.chunk for u in updates if case(u) == "sentiment_progress"]
    assert sorted((c.span.start, c.span.end) for c in progress) == spans
    return spans


@pytest.mark.parametrize("language", sorted(PROSE))
@pytest.mark.parametrize("chunk_size", [50, 100])
async def test_prose_without_spaces_is_chunked(serve, language, chunk_size):
    text = PROSE[language]
    assert len(text) >= 1000
    spans = await chunked_by_server(serve, text, chunk_size)
    check_spans(text, spans, chunk_size, grapheme_bounds(text))
    if language != "thai":
        # Chinese and Japanese break at their own punctuation (。！？ first, then 、，：), save
        # where a clause is longer than half a chunk.
        at_punctuation = [regex.match(r"\p{P}", text[end - 1]) for _, end in spans]
        assert sum(map(bool, at_punctuation)) >= 0.9 * len(spans)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_emoji_runs_are_cut_between_graphemes(serve, seed):
    text, bounds = emoji_run(2000, seed)
    spans = await chunked_by_server(serve, text, 100)
    check_spans(text, spans, 100, bounds)


async def test_one_long_word_and_url_are_cut(serve):
    url = "https://example.com/" + "/".join(f"section-{n}" for n in range(200))
    for text in ("w" * 5000, f"See {url} for the details, it is great."):
        spans = await chunked_by_server(serve, text, 200)
        check_spans(text, spans, 200, grapheme_bounds(text))


def test_english_still_breaks_at_sentence_ends_and_whitespace():
    text = (
        "I love this phone. The battery is great but the case is awful. "
        'Support at Acme in Berlin was wonderful. He said "never again." Then it broke!'
    )
    chunks = [text[start:end] for start, end in chunk_spans(text, 60)]
    assert chunks == [
        "I love this phone. The battery is great but the case is",
        "awful. Support at Acme in Berlin was wonderful.",
        'He said "never again." Then it broke!',
    ]


def test_a_url_that_fits_starts_the_next_chunk_whole():
    text = "Read the release notes at https://www.python.org/downloads/release/python-3110/ now."
    chunks = [text[start:end] for start, end in chunk_spans(text, 60)]
    assert chunks == [
        "Read the release notes at",
        "https://www.python.org/downloads/release/python-3110/ now.",
    ]


def test_one_grapheme_longer_than_a_chunk_is_kept_whole():
    zalgo = "a" + "\u0301" * 80
    text = "b" * 30 + zalgo + "c" * 30
    assert chunk_spans(text, 50) == [(0, 30), (30, 111), (111, 141)]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(st.characters(exclude_categories=("Cs",)), max_size=1500)
    | st.lists(st.sampled_from([*CLUSTERS, " ", "。", "，", "\n", "x", "\u0600"])).map("".join),
    chunk_size=st.integers(50, 500),
)
def test_spans_never_split_a_grapheme(text, chunk_size):
    spans = chunk_spans(text, chunk_size)
    bounds = grapheme_bounds(text)
    covered = "".join(text[start:end] for start, end in spans)
    assert "".join(covered.split()) == "".join(text.split())
    for start, end in spans:
        assert start in bounds
        assert end in bounds
        assert text[start:end].strip()
        longest = max(len(g) for g in regex.findall(r"\X", text[start:end]))
        assert end - start <= max(chunk_size, longest)
