"""server/core/offsets.py: code point offsets to UTF-16 units and UTF-8 bytes, by example.

tests/test_offsets.py checks the same tables against Python's encoders over arbitrary text;
these are the cases a reader can check by hand.
"""

from __future__ import annotations

import pytest

from server.core.offsets import CODE_POINTS, Offsets, OffsetUnit

# a, é (precomposed, 2 UTF-8 bytes), e + combining acute (2 code points), 東 (3 UTF-8 bytes),
# 😀 (astral: a surrogate pair in UTF-16, 4 UTF-8 bytes), z.
TEXT = "a\u00e9e\u0301東😀z"


def table(unit: OffsetUnit, text: str = TEXT) -> list[int]:
    offsets = Offsets(text, unit)
    return [offsets(i) for i in range(len(text) + 1)]


def test_the_unit_values_are_the_http_apis_names():
    assert [unit.value for unit in OffsetUnit] == ["code_point", "utf16", "utf8"]


def test_code_points_are_the_identity():
    assert table(OffsetUnit.CODE_POINT) == list(range(8))
    assert Offsets(TEXT).unit is OffsetUnit.CODE_POINT
    assert CODE_POINTS.unit is OffsetUnit.CODE_POINT
    # The shared identity conversion takes any offset, whatever the text.
    assert CODE_POINTS(12345) == 12345
    assert CODE_POINTS.span(3, 9) == (3, 9)


def test_utf16_counts_an_astral_character_as_two_units():
    #                               a  é  e  ́  東 😀 z
    assert table(OffsetUnit.UTF16) == [0, 1, 2, 3, 4, 5, 7, 8]
    assert table(OffsetUnit.UTF16)[-1] == len(TEXT.encode("utf-16-le")) // 2


def test_utf8_counts_bytes():
    #                              a  é  e  ́  東  😀  z
    assert table(OffsetUnit.UTF8) == [0, 1, 3, 4, 6, 9, 13, 14]
    assert table(OffsetUnit.UTF8)[-1] == len(TEXT.encode("utf-8"))


def test_utf8_width_boundaries():
    # The last code point of each UTF-8 length and the first of the next.
    text = "\x7f\x80\u07ff\u0800\uffff\U00010000\U0010ffff"
    assert table(OffsetUnit.UTF8, text) == [0, 1, 3, 5, 8, 11, 15, 19]
    assert table(OffsetUnit.UTF16, text) == [0, 1, 2, 3, 4, 5, 7, 9]


def test_a_combining_mark_is_its_own_code_point():
    # e + U+0301 is one grapheme but two code points, one UTF-16 unit and two UTF-8 bytes each
    # way; an offset between them converts like any other.
    offsets = Offsets("e\u0301", OffsetUnit.UTF8)
    assert [offsets(0), offsets(1), offsets(2)] == [0, 1, 3]


def test_a_lone_surrogate_counts_as_encoded_with_surrogatepass():
    text = "a\ud83db"
    assert table(OffsetUnit.UTF16, text) == [0, 1, 2, 3]
    assert table(OffsetUnit.UTF8, text) == [0, 1, 4, 5]


def test_span_converts_both_ends():
    utf16 = Offsets(TEXT, OffsetUnit.UTF16)
    utf8 = Offsets(TEXT, OffsetUnit.UTF8)
    # The emoji alone.
    assert utf16.span(5, 6) == (5, 7)
    assert utf8.span(5, 6) == (9, 13)
    assert TEXT.encode("utf-8")[9:13].decode() == "😀"
    # An empty span at the end.
    assert utf8.span(7, 7) == (14, 14)


def test_the_empty_text_has_one_offset():
    for unit in (OffsetUnit.UTF16, OffsetUnit.UTF8):
        offsets = Offsets("", unit)
        assert offsets(0) == 0
        with pytest.raises(ValueError, match=r"offset 1 is outside the text \(0 to 0\)"):
            offsets(1)


@pytest.mark.parametrize("unit", [OffsetUnit.UTF16, OffsetUnit.UTF8])
@pytest.mark.parametrize("offset", [-1, 8, 100])
def test_offsets_outside_the_text_are_refused(unit, offset):
    with pytest.raises(ValueError, match=rf"offset {offset} is outside the text \(0 to 7\)"):
        Offsets(TEXT, unit)(offset)
    with pytest.raises(ValueError, match=f"offset {offset} is outside"):
        Offsets(TEXT, unit).span(0, offset)
