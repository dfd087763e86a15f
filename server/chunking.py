"""Split text into chunks that never cut a word: at sentence ends, else at whitespace."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")
_WHITESPACE = re.compile(r"\s+")


def chunk_spans(text: str, chunk_size: int) -> list[tuple[int, int]]:
    """[start, end) code point spans covering every non-space character of text.

    Each span is at most chunk_size characters, unless one word alone is longer, and is
    trimmed of surrounding whitespace. A span ends at the last sentence end that fits,
    else at the last whitespace that fits, else after the over-long word.
    """
    spans: list[tuple[int, int]] = []
    start = _skip_space(text, 0)
    while start < len(text):
        limit = start + chunk_size
        end = len(text) if limit >= len(text) else _best_break(text, start, limit)
        end = _trim_right(text, start, end)
        spans.append((start, end))
        start = _skip_space(text, end)
    return spans


def _best_break(text: str, start: int, limit: int) -> int:
    window = text[start : limit + 1]  # +1: a break exactly at limit still fits
    # A sentence end is the nicest break, unless it would leave the chunk less than half full.
    half = (limit - start) // 2
    sentence_ends = [
        m.end() for m in _SENTENCE_END.finditer(window) if half <= m.end() <= limit - start
    ]
    if sentence_ends:
        return start + sentence_ends[-1]
    spaces = [m.start() for m in _WHITESPACE.finditer(window) if 0 < m.start() <= limit - start]
    if spaces:
        return start + spaces[-1]
    # A single word longer than chunk_size: keep it whole rather than cut it.
    following = _WHITESPACE.search(text, limit)
    return following.start() if following else len(text)


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _trim_right(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end
