"""Sentence splitting with offsets, and the centrality ranking and selection."""

from __future__ import annotations

import numpy as np

from analyzers.centrality import centrality, choose
from analyzers.sentences import SentenceSplitter


def test_sentences_keep_offsets_into_the_text() -> None:
    text = (
        "Introduction\n\n  Dr. Smith moved to the U.S. in 1990. She liked it!  "
        "Did he?\nYes.\n\n* * *\n"
    )
    sentences = SentenceSplitter().split(text)
    assert [s.text for s in sentences] == [
        "Introduction",
        "Dr. Smith moved to the U.S. in 1990.",
        "She liked it!",
        "Did he?",
        "Yes.",
    ]
    for sentence in sentences:
        assert text[sentence.start : sentence.end] == sentence.text


def test_offsets_count_code_points() -> None:
    text = "Ondřej Čertík wrote it. Ça marche très bien 🙂. Fin."
    for sentence in SentenceSplitter().split(text):
        assert text[sentence.start : sentence.end] == sentence.text


def test_empty_and_blank_text_have_no_sentences() -> None:
    splitter = SentenceSplitter()
    assert splitter.split("") == []
    assert splitter.split(" \n\n \t") == []


def test_centrality_favours_the_sentence_most_like_the_rest() -> None:
    embeddings = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    scores = centrality(embeddings)
    assert scores.shape == (4,)
    assert int(np.argmax(scores)) in (1, 2)
    assert scores[0] < scores[1]


def test_choose_fills_to_the_minimum_without_passing_the_maximum() -> None:
    scores = [0.1, 0.9, 0.5, 0.7, 0.3]
    counts = [10, 10, 40, 10, 10]
    # Most central first (1), then 3; 2 would pass the maximum and is skipped; then 4.
    assert choose(scores, counts, min_tokens=30, max_tokens=35) == [1, 3, 4]


def test_choose_always_takes_the_most_central_and_never_everything() -> None:
    assert choose([0.2, 0.8], [500, 500], min_tokens=30, max_tokens=100) == [1]
    assert choose([0.2, 0.8, 0.5], [1, 1, 1], min_tokens=1000, max_tokens=2000) == [1, 2]
    assert choose([0.4], [3], min_tokens=30, max_tokens=100) == [0]
    assert choose([], [], min_tokens=30, max_tokens=100) == []
