"""The overall sentiment of a text: chunk class scores averaged, weighted by chunk length."""

from __future__ import annotations

from collections.abc import Sequence

from analyzers.types import SentimentLabel, SentimentScores
from server.core.events import ChunkResult


def overall_sentiment(chunks: Sequence[ChunkResult]) -> SentimentScores:
    """Length-weighted mean of each class's score; the label is the best class.

    Unlike a majority vote of chunk labels, a long negative chunk outweighs a short positive one,
    and ties between chunk counts do not collapse to NEUTRAL.
    """
    if not chunks:
        raise ValueError("no chunks to aggregate")
    total = sum(max(chunk.end - chunk.start, 1) for chunk in chunks)
    scores = {label: 0.0 for label in SentimentLabel}
    for chunk in chunks:
        weight = max(chunk.end - chunk.start, 1) / total
        for label, score in chunk.sentiment.scores.items():
            scores[label] += weight * score
    # Ties resolve toward NEUTRAL (then the enum order) rather than dict order.
    label = max(scores, key=lambda item: (scores[item], item is SentimentLabel.NEUTRAL))
    return SentimentScores(label=label, confidence=scores[label], scores=scores)
