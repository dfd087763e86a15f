"""The offline profile (VADER, MiniLM centrality, spaCy) on real text nobody here wrote."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from analyzers.base import (
    Analyzers,
    EntityRecognizer,
    SentimentAnalyzer,
    Summarizer,
)
from analyzers.centrality import centrality
from analyzers.device import placement
from analyzers.entities import SpacyEntities
from analyzers.errors import AnalyzerError
from analyzers.sentiment import VaderSentiment
from analyzers.summary import CentralitySummarizer
from analyzers.types import EntityMention, SentimentLabel
from tests.analyzers.conftest import read_data


def entities_by_label(mentions: list[EntityMention], label: str) -> set[str]:
    return {mention.text for mention in mentions if mention.label == label}


def test_the_bundle_has_the_offline_analyzers(offline: Analyzers) -> None:
    assert isinstance(offline.sentiment, VaderSentiment)
    assert isinstance(offline.summarizer, CentralitySummarizer)
    assert isinstance(offline.entities, SpacyEntities)
    assert offline.generator is None
    assert isinstance(offline.sentiment, SentimentAnalyzer)
    assert isinstance(offline.summarizer, Summarizer)
    assert isinstance(offline.entities, EntityRecognizer)
    assert set(offline.load_seconds) == {
        offline.sentiment.name,
        offline.summarizer.name,
        offline.entities.name,
    }
    assert all(seconds > 0 for seconds in offline.load_seconds.values())


def test_spacy_and_vader_run_in_processes_of_their_own_below_the_loops_priority(
    offline: Analyzers,
) -> None:
    assert isinstance(offline.entities, SpacyEntities)
    assert isinstance(offline.sentiment, VaderSentiment)
    own = os.getpriority(os.PRIO_PROCESS, os.getpid())
    for child in (offline.entities.process_id, offline.sentiment.process_id):
        assert child is not None
        assert child != os.getpid()
        # models.work_niceness (default 10), applied by the loader.
        assert os.getpriority(os.PRIO_PROCESS, child) == min(19, own + 10)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own


def test_only_the_entity_components_run(offline: Analyzers) -> None:
    assert isinstance(offline.entities, SpacyEntities)
    assert offline.entities.active_components == ["ner"]


async def test_real_reviews_get_their_obvious_sentiment(offline: Analyzers) -> None:
    positive = await offline.sentiment.classify(read_data("review_positive.txt"))
    negative = await offline.sentiment.classify(read_data("review_negative.txt"))
    assert positive.label == SentimentLabel.POSITIVE
    assert negative.label == SentimentLabel.NEGATIVE
    for result in (positive, negative):
        assert sum(result.scores.values()) == pytest.approx(1.0)
        assert result.confidence == max(result.scores.values()) > 0.8


async def test_sentences_of_a_review_are_classified_in_one_shared_batch(
    offline: Analyzers,
) -> None:
    assert isinstance(offline.sentiment, VaderSentiment)
    batcher = offline.sentiment.queue
    before = batcher.batches
    chunks = read_data("review_negative.txt").split(". ")
    results = await asyncio.gather(*(offline.sentiment.classify(chunk) for chunk in chunks))
    assert results[0].label == SentimentLabel.NEGATIVE  # "worst piece of electronics i ever bought"
    assert batcher.batches - before < len(chunks)


async def test_a_5000_character_word_does_not_break_sentiment(offline: Analyzers) -> None:
    result = await offline.sentiment.classify("a" * 5000)
    assert result.label == SentimentLabel.NEUTRAL
    assert sum(result.scores.values()) == pytest.approx(1.0)


async def test_entities_a_reader_finds_in_the_sympy_history(offline: Analyzers) -> None:
    text = read_data("sympy_history.txt")
    mentions = await offline.entities.extract(text)
    people = entities_by_label(mentions, "PERSON")
    assert {"Ondřej Čertík", "Pearu Peterson", "Aaron Meurer", "Fredrik Johansson"} <= people
    assert any("Google Summer of Code" in mention.text for mention in mentions)
    for mention in mentions:
        # Offsets are code points: "Ondřej Čertík" must slice out exactly.
        assert text[mention.start : mention.end] == mention.text
    person = next(mention for mention in mentions if mention.label == "PERSON")
    assert person.description == "People, including fictional"


async def test_entities_a_reader_finds_in_the_census_text(offline: Analyzers) -> None:
    text = read_data("california_housing.txt")
    mentions = await offline.entities.extract(text)
    assert {"California", "U.S."} <= entities_by_label(mentions, "GPE")
    organisations = entities_by_label(mentions, "ORG")
    assert "StatLib" in organisations
    assert any("Census Bureau" in name for name in organisations)
    assert all(text[m.start : m.end] == m.text for m in mentions)


async def test_entity_requests_from_many_streams_share_nlp_pipe(offline: Analyzers) -> None:
    assert isinstance(offline.entities, SpacyEntities)
    texts = [read_data(name) for name in ("sympy_history.txt", "california_housing.txt")] * 4
    before = offline.entities.queue.batches
    results = await asyncio.gather(*(offline.entities.extract(text) for text in texts))
    assert results[0] == results[2] == results[4]
    assert offline.entities.queue.batches - before < len(texts)


async def test_entities_refuse_text_past_the_model_limit(offline: Analyzers) -> None:
    assert isinstance(offline.entities, SpacyEntities)
    with pytest.raises(AnalyzerError, match="characters"):
        await offline.entities.extract("word " * 250_000)


@pytest.fixture(scope="module")
def longer_summaries() -> Iterator[CentralitySummarizer]:
    summarizer = CentralitySummarizer(placement=placement("cpu"), min_tokens=80, max_tokens=130)
    yield summarizer
    summarizer.close()


@pytest.mark.parametrize("name", ["sympy_history.txt", "california_housing.txt"])
@pytest.mark.parametrize("min_tokens", [30, 80])
async def test_the_extractive_summary_is_central_sentences_in_text_order(
    offline: Analyzers, longer_summaries: CentralitySummarizer, name: str, min_tokens: int
) -> None:
    summarizer = offline.summarizer if min_tokens == 30 else longer_summaries
    assert isinstance(summarizer, CentralitySummarizer)
    text = read_data(name)
    pieces = [piece async for piece in summarizer.summarize(text)]
    summary = "".join(pieces)

    assert pieces
    assert len(summary) < len(text)
    assert all(piece.startswith(" ") and not piece.startswith("  ") for piece in pieces[1:])
    sentences = summarizer.sentences(text)
    texts = [sentence.text for sentence in sentences]
    chosen = [piece.strip() for piece in pieces]
    assert all(sentence in texts for sentence in chosen)
    positions = [texts.index(sentence) for sentence in chosen]
    assert positions == sorted(positions)

    # The most central sentence, computed here from the same encoder, is in the summary.
    encoder = summarizer.encoder
    embeddings = encoder.embed_now(encoder.encode(texts))
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert texts[int(np.argmax(centrality(embeddings)))] in chosen

    tokens = sum(encoder.count_tokens(chosen))
    assert tokens <= 130 or len(chosen) == 1
    if min_tokens == 80:
        assert len(chosen) > 1
        assert tokens >= 80


async def test_sentences_of_concurrent_summaries_share_forward_passes(offline: Analyzers) -> None:
    summarizer = offline.summarizer
    assert isinstance(summarizer, CentralitySummarizer)
    batcher = summarizer.encoder.batcher
    texts = [read_data("sympy_history.txt"), read_data("california_housing.txt")] * 3
    sentences = sum(len(summarizer.sentences(text)) for text in texts)
    before_batches, before_items = batcher.batches, batcher.processed_items

    async def summarize(text: str) -> str:
        return "".join([piece async for piece in summarizer.summarize(text)])

    summaries = await asyncio.gather(*(summarize(text) for text in texts))
    assert summaries[0] == summaries[2] == summaries[4]
    assert batcher.processed_items - before_items == sentences
    assert batcher.batches - before_batches < sentences


async def test_a_one_sentence_text_is_its_own_summary(offline: Analyzers) -> None:
    text = "  SymPy has participated in every Google Summer of Code since 2007.\n"
    pieces = [piece async for piece in offline.summarizer.summarize(text)]
    assert pieces == [text.strip()]
    assert [piece async for piece in offline.summarizer.summarize("   ")] == []
