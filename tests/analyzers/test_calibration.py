"""VADER class probabilities: they sum to 1 and their argmax is VADER's own label."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzers.calibration import THRESHOLD, vader_label, vader_scores
from analyzers.types import SentimentLabel

compounds = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
shares = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(compound=compounds, neu=shares)
def test_scores_are_a_distribution_whose_argmax_is_the_label(compound: float, neu: float) -> None:
    result = vader_scores(compound, neu)
    assert set(result.scores) == set(SentimentLabel)
    assert sum(result.scores.values()) == pytest.approx(1.0)
    assert all(0.0 <= score <= 1.0 for score in result.scores.values())
    assert result.label == vader_label(compound)
    others = [score for label, score in result.scores.items() if label != result.label]
    assert result.confidence == result.scores[result.label] > max(others)


@pytest.mark.parametrize(
    ("compound", "label"),
    [
        (THRESHOLD, SentimentLabel.POSITIVE),
        (-THRESHOLD, SentimentLabel.NEGATIVE),
        (0.0499, SentimentLabel.NEUTRAL),
        (-0.0499, SentimentLabel.NEUTRAL),
        (0.0, SentimentLabel.NEUTRAL),
    ],
)
def test_the_standard_thresholds_decide(compound: float, label: SentimentLabel) -> None:
    for neu in (0.0, 0.5, 1.0):
        result = vader_scores(compound, neu)
        assert result.label == label
        assert max(result.scores, key=lambda key: result.scores[key]) == label


def test_stronger_compound_means_more_confidence() -> None:
    confidences = [vader_scores(c, 0.5).confidence for c in (0.1, 0.3, 0.6, 0.9)]
    assert confidences == sorted(confidences)
    assert vader_scores(0.95, 0.3).confidence > 0.9


def test_text_without_sentiment_words_is_confidently_neutral() -> None:
    plain = vader_scores(0.0, 1.0)
    mixed = vader_scores(0.0, 0.3)
    assert plain.label == mixed.label == SentimentLabel.NEUTRAL
    assert plain.confidence > 0.85
    assert plain.confidence > mixed.confidence
