"""Cut a text longer than a model's input into sections of whole sentences that each fit."""

from __future__ import annotations

from collections.abc import Sequence

from analyzers.sentences import Sentence


def sections(
    text: str, sentences: Sequence[Sentence], tokens: Sequence[int], limit: int
) -> list[tuple[int, int]]:
    """[start, end) character spans covering every sentence, in order, each of whole
    sentences whose token counts add up to at most `limit`.

    A sentence longer than `limit` alone is a section of its own (the model reads its start).
    Sections are balanced: the text is cut into as few sections as fit, of similar sizes,
    rather than full sections and a short remainder.
    """
    if not sentences:
        return [(0, len(text))] if text.strip() else []
    total = sum(tokens)
    # As few sections as the budget allows, each aiming at an equal share of the tokens.
    wanted = max(1, -(-total // max(1, limit)))
    target = total / wanted
    spans: list[tuple[int, int]] = []
    start = sentences[0].start
    used = 0
    for index, (sentence, count) in enumerate(zip(sentences, tokens, strict=True)):
        if used and (used + count > limit or used >= target):
            spans.append((start, sentences[index - 1].end))
            start, used = sentence.start, 0
        used += count
    spans.append((start, sentences[-1].end))
    return spans
