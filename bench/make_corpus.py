"""Rebuilds bench/corpus/ from the prose of the Python Language Reference shipped with CPython.

Source: `pydoc_data/topics.py` of CPython 3.11 (the text of the Python documentation's
language reference topics), © Python Software Foundation, under the PSF License Agreement
(Python Software Foundation License Version 2). Only prose paragraphs are kept (grammar
and code blocks, which are indented, are dropped), joined into texts of 1,000 to 4,800
characters, in topic order. Run: python -m bench.make_corpus
"""

from __future__ import annotations

import pydoc_data.topics
import re
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
MIN_CHARS, MAX_CHARS = 1000, 4800


def prose_paragraphs(topic: str) -> list[str]:
    paragraphs = []
    for block in re.split(r"\n\s*\n", topic):
        lines = block.splitlines()
        # Headings are underlined; code, grammar and tables are indented.
        if not lines or any(line.startswith((" ", "\t")) for line in lines):
            continue
        if len(lines) > 1 and set(lines[-1]) <= set("*=-~^"):
            continue
        text = " ".join(line.strip() for line in lines)
        if len(text) >= 80 and text.endswith((".", ":")):
            paragraphs.append(text)
    return paragraphs


def texts() -> list[str]:
    out: list[str] = []
    for _name, topic in sorted(pydoc_data.topics.topics.items()):
        current = ""
        for paragraph in prose_paragraphs(topic):
            if len(current) + len(paragraph) + 1 > MAX_CHARS:
                if len(current) >= MIN_CHARS:
                    out.append(current)
                current = ""
            if len(paragraph) <= MAX_CHARS:
                current = f"{current} {paragraph}".strip()
        if len(current) >= MIN_CHARS:
            out.append(current)
    return out


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.glob("*.txt"):
        old.unlink()
    for index, text in enumerate(texts()):
        (CORPUS / f"{index:03d}.txt").write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(list(CORPUS.glob('*.txt')))} texts to {CORPUS}")


if __name__ == "__main__":
    main()
