"""Offsets in the unit a client asked for: code points, UTF-16 code units or UTF-8 bytes.

The pipeline works in code points (Python's str indices). A JavaScript, Java or C# client
indexes strings in UTF-16 code units, a Go, Rust or C one in UTF-8 bytes; both transports turn
every offset of a response (chunk spans, entity start/end) into the requested unit here, with
one table per request text, so the two cannot disagree.
"""

from __future__ import annotations

import enum
from itertools import accumulate


class OffsetUnit(enum.Enum):
    """What a response's offsets count; the value is the HTTP API's name for it."""

    CODE_POINT = "code_point"
    UTF16 = "utf16"
    UTF8 = "utf8"


def _utf16_units(char: str) -> int:
    # Code points past the Basic Multilingual Plane take a surrogate pair.
    return 2 if ord(char) > 0xFFFF else 1


def _utf8_bytes(char: str) -> int:
    code = ord(char)
    if code < 0x80:
        return 1
    if code < 0x800:
        return 2
    # Lone surrogates (which valid UTF-8 input never decodes to) count as their 3 bytes.
    return 3 if code < 0x10000 else 4


_WIDTH = {OffsetUnit.UTF16: _utf16_units, OffsetUnit.UTF8: _utf8_bytes}


class Offsets:
    """Converts code point offsets into text to offsets in unit.

    Built once per request text in O(len(text)); each conversion is then O(1). Offsets are
    positions between characters, 0 to len(text) inclusive.
    """

    __slots__ = ("_table", "unit")

    def __init__(self, text: str, unit: OffsetUnit = OffsetUnit.CODE_POINT) -> None:
        self.unit = unit
        width = _WIDTH.get(unit)
        # table[i] = the length of text[:i] in unit; code points need no table.
        self._table: list[int] | None = (
            None if width is None else list(accumulate(map(width, text), initial=0))
        )

    def __call__(self, offset: int) -> int:
        """The offset in unit of the code point offset `offset` (0 <= offset <= len(text))."""
        if self._table is None:
            return offset
        if not 0 <= offset < len(self._table):
            raise ValueError(f"offset {offset} is outside the text (0 to {len(self._table) - 1})")
        return self._table[offset]

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self(start), self(end)


CODE_POINTS = Offsets("")
"""The identity conversion: offsets stay code points, whatever the text."""
