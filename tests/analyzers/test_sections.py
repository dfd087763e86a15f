"""Sections of a long text: whole sentences, in order, each within the model's input."""

from __future__ import annotations

import itertools

from analyzers.sections import sections
from analyzers.sentences import Sentence


def sentences_of(text: str) -> list[Sentence]:
    found: list[Sentence] = []
    start = 0
    for part in text.split(". "):
        end = start + len(part)
        found.append(Sentence(part, start, end))
        start = end + 2
    return found


TEXT = ". ".join(f"Sentence number {index} says a little more" for index in range(12))


def test_every_sentence_lands_in_one_section_in_order() -> None:
    found = sentences_of(TEXT)
    tokens = [10] * len(found)
    spans = sections(TEXT, found, tokens, limit=35)
    assert spans[0][0] == 0
    assert spans[-1][1] == len(TEXT)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert TEXT[end:start] == ". "
    # 120 tokens in sections of at most 35: four of 30, not three full ones and a remainder.
    assert len(spans) == 4
    assert {TEXT[a:b].count("Sentence") for a, b in spans} == {3}


def test_a_text_that_fits_is_one_section() -> None:
    found = sentences_of(TEXT)
    assert sections(TEXT, found, [1] * len(found), limit=100) == [(0, len(TEXT))]


def test_a_sentence_longer_than_the_input_is_a_section_of_its_own() -> None:
    found = sentences_of(TEXT)
    tokens = [5] * len(found)
    tokens[4] = 500
    spans = sections(TEXT, found, tokens, limit=40)
    alone = [TEXT[a:b] for a, b in spans if "number 4 " in TEXT[a:b]]
    assert alone == [found[4].text]
