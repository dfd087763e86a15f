"""The hub sentiment model's tokenizer never runs on the event loop, through a real server."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from analyzers.sentiment import TransformerSentiment
from tests.doubles import word_analyzers
from tests.streams import REVIEW, case, stream


class RecordingTokenizer:
    """Delegates to a tokenizer and records the thread of every call."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self.threads: list[threading.Thread] = []
        self.texts = 0

    def __call__(self, text: Any, *args: Any, **kwargs: Any) -> Any:
        self.threads.append(threading.current_thread())
        self.texts += 1 if isinstance(text, str) else len(text)
        return self._tokenizer(text, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)


async def test_sentiment_chunks_are_tokenized_off_the_event_loop(serve, hub, monkeypatch):
    sentiment = hub.sentiment
    assert isinstance(sentiment, TransformerSentiment)
    recording = RecordingTokenizer(sentiment._tokenizer)
    monkeypatch.setattr(sentiment, "_tokenizer", recording)
    loop_thread = threading.current_thread()  # the server runs on the test's event loop
    async with serve(word_analyzers(sentiment=sentiment)) as srv:
        updates = await stream(srv.stub, text=REVIEW * 3, chunk_size=50, include_summary=False)
    assert case(updates[-1]) == "completed"
    chunks = [u for u in updates if case(u) == "sentiment_progress"]
    assert len(chunks) > 5
    assert recording.texts == len(chunks)
    assert recording.threads
    assert loop_thread not in recording.threads
    assert all(thread is not threading.main_thread() for thread in recording.threads)
    # The scores are those of each chunk classified on its own.
    text = REVIEW * 3
    for update in chunks[:3]:
        chunk = update.sentiment_progress.chunk
        alone = await sentiment.classify(text[chunk.span.start : chunk.span.end])
        assert chunk.confidence == pytest.approx(alone.confidence, abs=1e-4)
    assert loop_thread not in recording.threads
