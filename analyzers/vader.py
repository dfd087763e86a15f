"""VADER's lexicon scores for chunks, in the sentiment model's own process (no torch here)."""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from analyzers.calibration import vader_scores
from analyzers.types import SentimentScores


class VaderScorer:
    """VADER's compound and neutral scores, mapped to calibrated class probabilities."""

    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()

    def classify(self, chunks: list[str]) -> list[SentimentScores]:
        results = []
        for chunk in chunks:
            polarity = self._vader.polarity_scores(chunk)
            results.append(vader_scores(polarity["compound"], polarity["neu"]))
        return results
