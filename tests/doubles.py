"""Honest test doubles for the analyzer interface: simple rules, real threads, no models."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor

from analyzers.base import Analyzers, WorkQueue
from analyzers.errors import AnalyzerError
from analyzers.types import (
    EntityMention,
    FinishReason,
    GeneratedText,
    GenerationEvent,
    GenerationFinished,
    GenerationParams,
    GenerationStarted,
    SentimentLabel,
    SentimentScores,
)


class Double:
    """What every analyzer has beside its calls (analyzers/base.py's Analyzer): here no model
    queue, and nothing to warm or close."""

    queue: WorkQueue | None = None

    def warm(self) -> None:
        pass

    def close(self) -> None:
        pass


POSITIVE_WORDS = {"good", "great", "love", "excellent", "happy", "wonderful"}
NEGATIVE_WORDS = {"bad", "awful", "hate", "terrible", "sad", "broken"}


def _word_scores(chunk: str) -> SentimentScores:
    words = re.findall(r"[a-z]+", chunk.lower())
    pos = sum(word in POSITIVE_WORDS for word in words)
    neg = sum(word in NEGATIVE_WORDS for word in words)
    raw = {
        SentimentLabel.POSITIVE: 1.0 + 2 * pos,
        SentimentLabel.NEGATIVE: 1.0 + 2 * neg,
        SentimentLabel.NEUTRAL: 1.5,
    }
    total = sum(raw.values())
    scores = {label: value / total for label, value in raw.items()}
    label = max(scores, key=lambda item: scores[item])
    return SentimentScores(label, scores[label], scores)


class WordListSentiment(Double):
    """Counts positive and negative words, one chunk at a time on its own thread, like a model.

    Chunks still queued for the thread when their caller goes away are never run.
    """

    name = "word-list"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.processed = 0
        self.threads: set[str] = set()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="word-list")

    def _run(self, chunk: str) -> SentimentScores:
        self.threads.add(threading.current_thread().name)
        if self.delay:
            threading.Event().wait(self.delay)
        self.processed += 1
        return _word_scores(chunk)

    async def classify(self, chunk: str) -> SentimentScores:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._run, chunk)


class LeadSentencesSummarizer(Double):
    """Yields the first two sentences, one piece each."""

    name = "lead-sentences"

    async def summarize(self, text: str) -> AsyncGenerator[str, None]:
        sentences = await asyncio.to_thread(re.findall, r"[^.!?]+[.!?]", text)
        for index, sentence in enumerate(sentences[:2]):
            yield sentence.strip() if index == 0 else " " + sentence.strip()


class CapitalisedEntities(Double):
    """Tags capitalised words that do not start a sentence as ORG."""

    name = "capitalised"

    def _run(self, text: str) -> list[EntityMention]:
        found = []
        for match in re.finditer(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+", text):
            found.append(
                EntityMention(match.group(), "ORG", "Companies", match.start(), match.end())
            )
        return found

    async def extract(self, text: str) -> list[EntityMention]:
        return await asyncio.to_thread(self._run, text)


class FailingSentiment(Double):
    name = "failing"

    async def classify(self, chunk: str) -> SentimentScores:
        raise AnalyzerError("sentiment model failed")


class CrashingEntities(Double):
    """Raises an unexpected exception (a bug), whose text must not reach the client."""

    name = "crashing"

    async def extract(self, text: str) -> list[EntityMention]:
        raise RuntimeError(f"secret internals: {text[:20]}")


class BlockedSummarizer(Double):
    """Never yields until released: stands in for a model that hangs or is slow."""

    name = "blocked"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.cancelled = threading.Event()

    def _wait(self) -> None:
        self.started.set()
        self.release.wait(60)

    async def summarize(self, text: str) -> AsyncGenerator[str, None]:
        try:
            await asyncio.to_thread(self._wait)
            yield "Released."
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


class EchoGenerator(Double):
    """Generates the prompt's words back, one token per word."""

    name = "echo"

    async def generate(
        self, prompt: str, params: GenerationParams
    ) -> AsyncGenerator[GenerationEvent, None]:
        words = prompt.split()
        yield GenerationStarted(self.name, len(words), params.max_new_tokens)
        produced = ""
        count = 0
        for word in words[: params.max_new_tokens]:
            piece = (" " if count else "") + word
            candidate = produced + piece
            hit = [candidate.index(stop) for stop in params.stop if stop in candidate]
            if hit:
                tail = candidate[: min(hit)][len(produced) :]
                if tail:
                    yield GeneratedText(tail, count)
                yield GenerationFinished(FinishReason.STOP, count)
                return
            count += 1
            produced = candidate
            yield GeneratedText(piece, count)
            await asyncio.sleep(0)
        reason = FinishReason.LENGTH if len(words) > params.max_new_tokens else FinishReason.EOS
        yield GenerationFinished(reason, count)


def word_analyzers(**overrides: object) -> Analyzers:
    parts: dict[str, object] = {
        "sentiment": WordListSentiment(),
        "summarizer": LeadSentencesSummarizer(),
        "entities": CapitalisedEntities(),
        "generator": None,
    }
    parts.update(overrides)
    return Analyzers(**parts)  # type: ignore[arg-type]
