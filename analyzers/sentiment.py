"""Sentiment of text chunks: VADER (offline) or a sequence-classification transformer (hub)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification

from analyzers.batcher import BatchLimits, MicroBatcher
from analyzers.device import Placement
from analyzers.errors import AnalyzerError
from analyzers.failures import model_failures
from analyzers.hf import input_limit, load_model, load_tokenizer, pad_batch, pad_id_of
from analyzers.process_worker import ProcessWorker
from analyzers.shapes import forward_shapes
from analyzers.sources import HUB_SENTIMENT
from analyzers.types import SentimentLabel, SentimentScores

DEFAULT_HUB_MODEL = HUB_SENTIMENT
WARM_UP_TEXT = "The service was quick and the food was wonderful."

# What a sample text is cut into to measure a request's cost: the server's default chunk size.
SAMPLE_CHUNK_CHARS = 200

_LABEL_NAMES = {label.value.lower(): label for label in SentimentLabel}


class VaderSentiment:
    """VADER's rule-based scores per chunk, mapped to calibrated class probabilities."""

    def __init__(self, limits: BatchLimits | None = None) -> None:
        limits = limits or BatchLimits()
        self.name = "vader"
        # VADER is pure Python: in this process it would hold the GIL the event loop needs
        # (see analyzers/process_worker.py), so it runs in a process of its own.
        self._scorer = ProcessWorker("vader", "analyzers.vader:VaderScorer")
        # Batching buys VADER no speed, but one batch is one round trip to its process, and
        # the batcher gives the same queue bound and cancellation as the models.
        self._batcher: MicroBatcher[str, SentimentScores] = MicroBatcher.with_limits(
            "sentiment-vader", self._classify_batch, limits
        )

    @property
    def queue(self) -> MicroBatcher[str, SentimentScores]:
        return self._batcher

    @property
    def process_id(self) -> int | None:
        """VADER's process (None while it restarts)."""
        return self._scorer.pid

    async def classify(self, chunk: str) -> SentimentScores:
        with model_failures(self.name):
            return await self._batcher.submit(chunk)

    def warm(self) -> None:
        self._batcher.run_now([WARM_UP_TEXT])

    def run_sample(self, text: str) -> None:
        self._batcher.run_now(sample_chunks(text))

    def close(self) -> None:
        self._batcher.close()
        self._scorer.close()

    def _classify_batch(self, chunks: list[str]) -> list[SentimentScores]:
        scores: list[SentimentScores] = self._scorer.call("classify", chunks)
        return scores


class TransformerSentiment:
    """A sequence-classification model whose id2label names negative/neutral/positive."""

    def __init__(
        self,
        source: str = DEFAULT_HUB_MODEL,
        *,
        placement: Placement,
        limits: BatchLimits | None = None,
    ) -> None:
        limits = limits or BatchLimits()
        self.name = source
        self._placement = placement
        self._tokenizer = load_tokenizer(source)
        self._model = load_model(AutoModelForSequenceClassification, source, placement)
        self._labels = labels_from_config(self._model.config.id2label, source)
        self._max_tokens = input_limit(self._tokenizer, self._model.config)
        self._pad_id = pad_id_of(self._tokenizer)
        self._shapes = forward_shapes(placement)
        # Chunks are tokenized on the tokenizer's own thread, as many as are waiting in one
        # call, never on the event loop; the model's batcher then gets each chunk's exact
        # token count as its cost. No wait: a batch forms from what has queued meanwhile.
        self._tokenizing: MicroBatcher[str, list[int]] = MicroBatcher(
            "sentiment-tokenizer",
            self._encode_batch,
            max_batch_size=limits.max_batch_size,
            max_wait_ms=0,
            max_queued_items=limits.max_queued_items,
        )
        self._batcher: MicroBatcher[list[int], SentimentScores] = MicroBatcher.with_limits(
            "sentiment", self._classify_batch, limits, cost=len
        )

    @property
    def queue(self) -> MicroBatcher[list[int], SentimentScores]:
        return self._batcher

    @property
    def labels(self) -> tuple[SentimentLabel, ...]:
        """The label of each of the model's classes, by class index."""
        return self._labels

    async def classify(self, chunk: str) -> SentimentScores:
        with model_failures(self.name):
            ids = await self._tokenizing.submit(chunk)
            return await self._batcher.submit(ids)

    def warm(self) -> None:
        self._batcher.run_now(self._encode_batch([WARM_UP_TEXT]))

    def run_sample(self, text: str) -> None:
        self._batcher.run_now(self._encode_batch(sample_chunks(text)))

    def close(self) -> None:
        self._tokenizing.close()
        self._batcher.close()

    def _encode_batch(self, chunks: list[str]) -> list[list[int]]:
        # Truncated to what the model's positions hold, so a long chunk never crashes it.
        encoded = self._tokenizer(chunks, truncation=True, max_length=self._max_tokens)
        ids: list[list[int]] = encoded["input_ids"]
        return ids

    def _classify_batch(self, batch: list[list[int]]) -> list[SentimentScores]:
        input_ids, attention_mask = pad_batch(
            batch, self._pad_id, self._placement.device, self._shapes
        )
        with torch.inference_mode():
            logits = self._model(input_ids=input_ids, attention_mask=attention_mask).logits
        # Rows past the batch are the rounded shape's padding.
        logits = logits[: len(batch)]
        # Softmax in float32: half-precision logits on CUDA round small probabilities to 0.
        probabilities: list[list[float]] = logits.float().softmax(dim=-1).cpu().tolist()
        return [self._scores(row) for row in probabilities]

    def _scores(self, probabilities: list[float]) -> SentimentScores:
        scores = dict.fromkeys(SentimentLabel, 0.0)
        for label, probability in zip(self._labels, probabilities, strict=True):
            scores[label] = probability
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        label = self._labels[best]
        return SentimentScores(label=label, confidence=scores[label], scores=scores)


def labels_from_config(id2label: Mapping[Any, str], source: str) -> tuple[SentimentLabel, ...]:
    """Map the model's class names to labels, case-insensitively, or refuse the model."""
    if not id2label:
        raise AnalyzerError(f"sentiment model {source}: its config has no id2label")
    # Keys are ints once transformers has parsed config.json, but strings in a raw dict.
    names = {int(key): str(name) for key, name in id2label.items()}
    if sorted(names) != list(range(len(names))):
        raise AnalyzerError(f"sentiment model {source}: id2label keys are not 0..{len(names) - 1}")
    labels: list[SentimentLabel] = []
    for index in range(len(names)):
        name = names[index]
        label = _LABEL_NAMES.get(name.strip().lower())
        if label is None:
            raise AnalyzerError(
                f"sentiment model {source}: class {index} is labelled {name!r}, not "
                "negative, neutral or positive; set id2label in its config.json"
            )
        if label in labels:
            raise AnalyzerError(f"sentiment model {source}: two classes are labelled {name!r}")
        labels.append(label)
    if SentimentLabel.NEGATIVE not in labels or SentimentLabel.POSITIVE not in labels:
        raise AnalyzerError(f"sentiment model {source}: needs both a negative and a positive class")
    return tuple(labels)


def sample_chunks(text: str) -> list[str]:
    """text in pieces of about SAMPLE_CHUNK_CHARS at spaces, as a request's chunks would be."""
    return textwrap.wrap(text, SAMPLE_CHUNK_CHARS) or [text]
