"""Split text into sentences that keep their character offsets into the text."""

from __future__ import annotations

import re
from dataclasses import dataclass

import spacy

from analyzers.process_worker import ProcessWorker

# Text between blank lines: a heading or list item without a full stop still ends there.
_PARAGRAPH = re.compile(r"(?:[^\n]|\n(?![ \t]*\n))+")
_WORDLIKE = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    # Code point offsets into the split text, [start, end); text == source[start:end].
    start: int
    end: int


class SentenceSplitter:
    """Sentences by spaCy's rule-based sentencizer, run in a process of its own (Sentencizer).

    spaCy's tokenizer keeps the GIL: in the server's process it would hold up the event loop
    (see analyzers/process_worker.py). Safe to call from several threads: they take turns.
    """

    def __init__(self) -> None:
        self._sentencizer = ProcessWorker("sentences", f"{__name__}:Sentencizer")

    def split(self, text: str) -> list[Sentence]:
        sentences: list[Sentence] = self._sentencizer.call("split", text)
        return sentences

    def close(self) -> None:
        self._sentencizer.close()


class Sentencizer:
    """In the splitter's process: spaCy's sentencizer, whose tokenizer knows "Dr." and "U.S."."""

    def __init__(self) -> None:
        self._nlp = spacy.blank("en")
        self._nlp.add_pipe("sentencizer")

    def split(self, text: str) -> list[Sentence]:
        paragraphs = [(m.start(), m.group()) for m in _PARAGRAPH.finditer(text)]
        sentences: list[Sentence] = []
        docs = self._nlp.pipe(paragraph for _, paragraph in paragraphs)
        for (offset, _), doc in zip(paragraphs, docs, strict=True):
            for span in doc.sents:
                sentence = _trimmed(text, offset + span.start_char, offset + span.end_char)
                if sentence is not None:
                    sentences.append(sentence)
        return sentences


def _trimmed(text: str, start: int, end: int) -> Sentence | None:
    """The sentence without surrounding whitespace; None if it has no word at all."""
    piece = text[start:end]
    stripped = piece.strip()
    if not _WORDLIKE.search(stripped):
        return None
    start += len(piece) - len(piece.lstrip())
    return Sentence(text=stripped, start=start, end=start + len(stripped))
