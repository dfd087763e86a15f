"""server/core/aggregate.py: each class's score averaged over chunks, weighted by length."""

from __future__ import annotations

import pytest

from analyzers.types import SentimentLabel, SentimentScores
from server.core.aggregate import overall_sentiment
from server.core.events import ChunkResult

NEG, NEU, POS = SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL, SentimentLabel.POSITIVE


def chunk(start: int, end: int, negative: float, neutral: float, positive: float) -> ChunkResult:
    scores = {NEG: negative, NEU: neutral, POS: positive}
    label = max(scores, key=scores.__getitem__)
    return ChunkResult(0, start, end, SentimentScores(label, scores[label], scores))


def test_no_chunks_is_an_error():
    with pytest.raises(ValueError, match="no chunks"):
        overall_sentiment([])


def test_one_chunk_is_its_own_overall():
    overall = overall_sentiment([chunk(0, 40, 0.1, 0.2, 0.7)])
    assert overall.label is POS
    assert overall.confidence == pytest.approx(0.7)
    assert overall.scores == pytest.approx({NEG: 0.1, NEU: 0.2, POS: 0.7})


def test_equal_chunks_are_a_plain_mean():
    overall = overall_sentiment([chunk(0, 10, 0.6, 0.3, 0.1), chunk(10, 20, 0.0, 0.2, 0.8)])
    assert overall.scores == pytest.approx({NEG: 0.3, NEU: 0.25, POS: 0.45})
    assert overall.label is POS
    assert overall.confidence == pytest.approx(0.45)


def test_a_long_chunk_outweighs_a_short_one():
    # A majority vote would say POSITIVE (two chunks to one); by length, 300 of 400 characters
    # are negative.
    chunks = [
        chunk(0, 50, 0.0, 0.1, 0.9),
        chunk(50, 100, 0.0, 0.1, 0.9),
        chunk(100, 400, 0.9, 0.1, 0.0),
    ]
    overall = overall_sentiment(chunks)
    assert overall.scores == pytest.approx({NEG: 0.675, NEU: 0.1, POS: 0.225})
    assert overall.label is NEG
    assert overall.confidence == pytest.approx(0.675)


def test_weights_are_span_lengths_not_positions():
    # The same chunks anywhere in the text weigh the same.
    near = overall_sentiment([chunk(0, 10, 1, 0, 0), chunk(10, 40, 0, 0, 1)])
    far = overall_sentiment([chunk(1000, 1010, 1, 0, 0), chunk(5000, 5030, 0, 0, 1)])
    assert near.scores == pytest.approx({NEG: 0.25, NEU: 0.0, POS: 0.75})
    assert far.scores == pytest.approx(near.scores)


def test_an_empty_span_still_weighs_one_character():
    overall = overall_sentiment([chunk(5, 5, 1, 0, 0), chunk(5, 8, 0, 0, 1)])
    assert overall.scores == pytest.approx({NEG: 0.25, NEU: 0.0, POS: 0.75})


def test_every_label_has_a_score_even_when_chunks_omit_one():
    partial = SentimentScores(POS, 1.0, {POS: 1.0})
    overall = overall_sentiment([ChunkResult(0, 0, 10, partial)])
    assert overall.scores == {NEG: 0.0, NEU: 0.0, POS: 1.0}


def test_a_tie_with_neutral_goes_to_neutral():
    overall = overall_sentiment([chunk(0, 10, 0.0, 0.5, 0.5)])
    assert overall.label is NEU
    assert overall.confidence == 0.5


def test_a_tie_between_positive_and_negative_goes_by_enum_order_not_to_neutral():
    # Two equal chunks that disagree: the classes tie, and NEUTRAL, lower, does not win.
    overall = overall_sentiment([chunk(0, 10, 0.8, 0.1, 0.1), chunk(10, 20, 0.1, 0.1, 0.8)])
    assert overall.scores[NEG] == overall.scores[POS]
    assert overall.label is NEG  # first in SentimentLabel's order
    assert overall.confidence == pytest.approx(0.45)


def test_a_three_way_tie_goes_to_neutral():
    third = 1 / 3
    assert overall_sentiment([chunk(0, 9, third, third, third)]).label is NEU
