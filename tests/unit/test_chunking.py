"""server/core/chunking.py: the break preferences, one example each.

tests/test_chunking.py checks the properties of chunk_spans over arbitrary text and prose in
several scripts; these are the rules of its docstring, each shown where it decides.
"""

from __future__ import annotations

import pytest
import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

from server.core.chunking import _grapheme_bounds, chunk_spans


def chunks(text: str, chunk_size: int) -> list[str]:
    return [text[start:end] for start, end in chunk_spans(text, chunk_size)]


@pytest.mark.parametrize("text", ["", " ", "  \n\t\u3000 "])
def test_no_text_no_spans(text):
    assert chunk_spans(text, 10) == []


def test_a_short_text_is_one_span_trimmed_of_whitespace():
    assert chunk_spans("  hello world \n", 50) == [(2, 13)]


def test_a_sentence_end_beats_a_later_space_and_keeps_its_closing_quote():
    assert chunks('He said "stop." Then he left the room.', 20) == [
        'He said "stop."',
        "Then he left the",
        "room.",
    ]


def test_a_sentence_end_in_the_first_half_gives_way_to_whitespace():
    # "One two." ends at 8, under half of 20: the last space that fits wins.
    assert chunks("One two. Three four five six seven", 20) == [
        "One two. Three four",
        "five six seven",
    ]


def test_a_full_width_sentence_end_needs_no_space_after_it():
    assert chunks("今日は晴れです。明日は雨でしょう。", 10) == [
        "今日は晴れです。",
        "明日は雨でしょう。",
    ]


def test_a_full_width_clause_end_breaks_text_without_spaces():
    assert chunks("今日は晴れ、明日は雨でしょう", 8) == ["今日は晴れ、", "明日は雨でしょう"]


def test_a_clause_end_then_the_last_grapheme_that_fits():
    assert chunks("aaaa,bbbbbbbbbbbbbbbbbbbbb", 10) == ["aaaa,", "b" * 10, "b" * 10, "b"]


def test_combining_marks_stay_with_their_letter():
    # Each é is e + U+0301: five code points would end between a letter and its accent.
    assert chunk_spans("e\u0301" * 6, 5) == [(0, 4), (4, 8), (8, 12)]


# Code points that join into clusters (combining marks, ZWJ, regional indicators, Hangul jamo,
# spacing marks, prepend, a virama), CR LF, and plain text: the cases the one-search shortcut
# must tell apart.
_JOINERS = [*"\u0301\u200d\U0001f1e9\U0001f1ea\u1100\u1161\u11a8\uac00\u0903\u0600\u094d", "\r\n"]
_PIECES = st.characters() | st.sampled_from(_JOINERS)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
@example("line one\r\nline two")
def test_grapheme_bounds_are_the_uax29_clusters(text):
    expected = [0, *(match.end() for match in regex.finditer(r"\X", text))]
    assert _grapheme_bounds(text) == expected
