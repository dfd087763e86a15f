"""Rank sentences by centrality and pick an extractive summary within a token budget."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Embeddings = npt.NDArray[np.float32]


def centrality(embeddings: Embeddings) -> npt.NDArray[np.float64]:
    """Each sentence's summed cosine similarity to every other sentence (rows L2-normalised).

    Degree centrality on the continuous similarity graph, as in LexRank without the random
    walk: the sentence most like the rest of the text says what the text is about.
    """
    matrix = embeddings.astype(np.float64)
    similarity = matrix @ matrix.T
    return np.asarray(similarity.sum(axis=1) - np.diag(similarity), dtype=np.float64)


def choose(
    scores: Sequence[float], token_counts: Sequence[int], min_tokens: int, max_tokens: int
) -> list[int]:
    """Indices (in text order) of the sentences that form the summary.

    The most central sentence always goes in. Then, by falling centrality, sentences are added
    until the summary has min_tokens, skipping any that would take it past max_tokens. With
    two or more sentences, at least one is left out, so the summary is shorter than the text.
    """
    count = len(scores)
    if count == 0:
        return []
    order = sorted(range(count), key=lambda i: (-scores[i], i))
    chosen = [order[0]]
    total = token_counts[order[0]]
    for index in order[1:]:
        if total >= min_tokens or len(chosen) >= count - 1:
            break
        if total + token_counts[index] > max_tokens:
            continue
        chosen.append(index)
        total += token_counts[index]
    return sorted(chosen)
