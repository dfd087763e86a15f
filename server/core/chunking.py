"""Split text into chunks at the most natural break that fits, never inside a grapheme cluster.

Text with spaces breaks as it always has: at a sentence end, else at whitespace. Text without
spaces (Chinese, Japanese, Thai prose, long URLs, emoji runs) breaks at a sentence end of its
own script (。！？), else at clause punctuation (、，；：), else at a Unicode word boundary, else
at the last grapheme-cluster boundary that fits. Every property comes from the Unicode data in
the `regex` module (Sentence_Terminal, Terminal_Punctuation, East_Asian_Width, the UAX #29
word and grapheme boundaries, and the Grapheme_Cluster_Break values that tell a text whose
code points never join); there are no hand-written script or grapheme rules here.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from itertools import accumulate

import regex

# Closing quotes and brackets after a sentence or clause end belong to it (a brace is code).
_CLOSE = r"[[\p{Pe}\p{Pf}\"']--[}]]"
# A sentence ends at a sentence terminal (. ! ? । ؟ … and the like) with its closers, before
# whitespace; a wide or full-width terminal (。！？．｡) needs no whitespace after it, since the
# scripts that use one put none there.
_SENTENCE_END = regex.compile(
    rf"[\p{{Sentence_Terminal}}…]{_CLOSE}*(?=\s)"
    rf"|[\p{{Sentence_Terminal}}&&[\p{{ea=W}}\p{{ea=F}}\p{{ea=H}}]]{_CLOSE}*",
    regex.V1,
)
# Clause ends of the scripts that use no spaces (、，；：), which beat an early whitespace, and
# then those of every script (, ; : and the like).
_WIDE_CLAUSE_END = regex.compile(
    rf"[\p{{Terminal_Punctuation}}&&[\p{{ea=W}}\p{{ea=F}}\p{{ea=H}}]]{_CLOSE}*", regex.V1
)
_CLAUSE_END = regex.compile(rf"[\p{{Terminal_Punctuation}}…‥]{_CLOSE}*", regex.V1)
_WHITESPACE = regex.compile(r"\s+")
# Unicode default word boundaries (UAX #29): inside a URL or between ideographs. Thai and other
# scripts that need a dictionary get no more than their grapheme boundaries from it.
_WORD_BOUNDARY = regex.compile(r"\b", regex.WORD)
_GRAPHEME = regex.compile(r"\X")
# Where a text holds none of these, every code point is a cluster of its own: by UAX #29 only
# CR LF and the Grapheme_Cluster_Break values below ever join code points (rules GB3-GB9c,
# GB11-GB13); Other, Control, CR and LF alone break on both sides (GB4, GB5, GB999).
_JOINS = regex.compile(r"\r\n|[^\p{GCB=Other}\p{GCB=Control}\p{GCB=CR}\p{GCB=LF}]")


def chunk_spans(text: str, chunk_size: int) -> list[tuple[int, int]]:
    """[start, end) code point spans covering every non-space character of text.

    Each span is at most chunk_size code points (unless one grapheme cluster alone is longer),
    starts and ends on grapheme-cluster boundaries, and is trimmed of surrounding whitespace.
    A span ends at the last break that fits, in this order of preference: a sentence end, a
    whitespace or a full-width clause end (、，) that leaves it at least half full; any
    whitespace; a clause end or a word boundary in its second half; a grapheme boundary.
    """
    bounds = _grapheme_bounds(text)
    spans: list[tuple[int, int]] = []
    start = _skip_space(text, bounds, 0)
    while start < len(text):
        limit = start + chunk_size
        end = len(text) if limit >= len(text) else _best_break(text, bounds, start, limit)
        end = _trim_right(text, bounds, start, end)
        spans.append((start, end))
        start = _skip_space(text, bounds, end)
    return spans


def _grapheme_bounds(text: str) -> list[int]:
    """Every grapheme-cluster boundary of text, in order, 0 and len(text) included."""
    # Chunking runs on the event loop: a match object per cluster, read in Python, made it a
    # quarter of the loop's time under load. Most texts join no code points (one search);
    # the others take findall and accumulate, which run in C.
    if _JOINS.search(text) is None:
        return list(range(len(text) + 1))
    return [0, *accumulate(map(len, _GRAPHEME.findall(text)))]


def _best_break(text: str, bounds: list[int], start: int, limit: int) -> int:
    window = text[start : limit + 1]  # +1: a break exactly at limit still fits
    size = limit - start
    half = size // 2

    def on_boundary(index: int) -> bool:
        i = bisect_left(bounds, index)
        return i < len(bounds) and bounds[i] == index

    def fitting(offsets: list[int], least: int) -> int | None:
        # The last break in [least, size] that falls on a grapheme boundary.
        for offset in reversed(offsets):
            if offset < least:
                return None
            if offset <= size and on_boundary(start + offset):
                return start + offset
        return None

    searches: dict[str, Callable[[], list[int]]] = {
        "sentence end": lambda: [m.end() for m in _SENTENCE_END.finditer(window)],
        "space": lambda: [m.start() for m in _WHITESPACE.finditer(window)],
        "wide clause end": lambda: [m.end() for m in _WIDE_CLAUSE_END.finditer(window)],
        "clause end": lambda: [m.end() for m in _CLAUSE_END.finditer(window)],
        "word": lambda: [
            m.start() - start for m in _WORD_BOUNDARY.finditer(text, start, limit + 1)
        ],
    }
    found: dict[str, list[int]] = {}
    # A sentence end is the nicest break, unless it would leave the chunk less than half full;
    # then whitespace or a CJK clause end that leaves it at least half full; then whitespace
    # anywhere (a long word or URL starts the next chunk whole, if it can); then a clause end or
    # a word boundary in the second half of a window that holds no whitespace. Each kind is
    # searched for only once every kind before it has failed: usually the first one fits.
    for kind, least in (
        ("sentence end", half),
        ("space", half),
        ("wide clause end", half),
        ("space", 1),
        ("clause end", half),
        ("word", half),
    ):
        if kind not in found:
            found[kind] = searches[kind]()
        end = fitting(found[kind], least)
        if end is not None:
            return end
    # No break at all (a run of one letter, emoji, an unsegmented script): the last grapheme
    # boundary that fits, or past one grapheme cluster longer than chunk_size.
    index = bisect_right(bounds, limit) - 1
    return bounds[index] if bounds[index] > start else bounds[index + 1]


def _skip_space(text: str, bounds: list[int], index: int) -> int:
    """The first grapheme boundary from index that starts something other than whitespace."""
    i = bisect_left(bounds, index)
    while i + 1 < len(bounds) and text[bounds[i] : bounds[i + 1]].isspace():
        i += 1
    return bounds[i]


def _trim_right(text: str, bounds: list[int], start: int, end: int) -> int:
    """end moved back over the whole grapheme clusters of whitespace before it."""
    i = bisect_left(bounds, end)
    while bounds[i] > start and text[bounds[i - 1] : bounds[i]].isspace():
        i -= 1
    return bounds[i]
