"""Class probabilities from VADER's scores that always agree with VADER's own label."""

from __future__ import annotations

import math

from analyzers.types import SentimentLabel, SentimentScores

# VADER's documented decision rule: compound >= 0.05 positive, <= -0.05 negative.
THRESHOLD = 0.05
# Logit per unit of compound beyond the threshold: compound 1.0 gives about 0.98,
# 0.6 about 0.90 and 0.2 about 0.65 for the polar label.
POLAR_SLOPE = 4.0
# Inside the neutral band the polar logits fall this steeply per threshold width, scaled by
# how much of the text carries no sentiment: compound 0 with neu 1.0 gives NEUTRAL about 0.91,
# with neu 0.3 (balanced praise and blame) about 0.71.
NEUTRAL_SLOPE_BASE = 1.0
NEUTRAL_SLOPE_PER_NEU = 2.0
# A polar logit exactly at the threshold beats NEUTRAL by this much, as VADER's ">=" says.
TIE_BREAK = 1e-6


def vader_label(compound: float) -> SentimentLabel:
    if compound >= THRESHOLD:
        return SentimentLabel.POSITIVE
    if compound <= -THRESHOLD:
        return SentimentLabel.NEGATIVE
    return SentimentLabel.NEUTRAL


def vader_scores(compound: float, neu: float) -> SentimentScores:
    """Softmax over logits measured against NEUTRAL (whose logit is 0).

    Each polar class's logit is a piecewise-linear function of its distance past the
    threshold, d = compound - 0.05 for POSITIVE and -compound - 0.05 for NEGATIVE: zero at
    the threshold, positive beyond it, negative inside the neutral band. So a polar class
    outscores NEUTRAL exactly when VADER's rule picks it, and POSITIVE outscores NEGATIVE
    exactly when compound > 0: the argmax is always VADER's label, and the scores sum to 1.

    The evidence: compound is VADER's normalised, rule-adjusted sum of the text's pos and neg
    valences, so it carries those proportions; neu (the share of the text with no sentiment)
    is the independent evidence, and only it makes a text confidently neutral.
    """
    neutral_slope = (NEUTRAL_SLOPE_BASE + NEUTRAL_SLOPE_PER_NEU * neu) / THRESHOLD

    def logit(distance: float) -> float:
        if distance >= 0:
            return POLAR_SLOPE * distance + TIE_BREAK
        return neutral_slope * distance

    z_pos = logit(compound - THRESHOLD)
    z_neg = logit(-compound - THRESHOLD)
    # The largest logit is at most POLAR_SLOPE * 0.95, so exp cannot overflow.
    e_pos, e_neg, e_neu = math.exp(z_pos), math.exp(z_neg), 1.0
    total = e_pos + e_neg + e_neu
    scores = {
        SentimentLabel.NEGATIVE: e_neg / total,
        SentimentLabel.NEUTRAL: e_neu / total,
        SentimentLabel.POSITIVE: e_pos / total,
    }
    label = vader_label(compound)
    return SentimentScores(label=label, confidence=scores[label], scores=scores)
