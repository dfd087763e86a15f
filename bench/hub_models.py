"""Scaled-down (or full-size) seed architectures with random weights, saved like downloaded models.

The hub models cannot be fetched here; their architectures can be built from a config. The
tokenizer is the real-size WordPiece vocabulary (30,522 pieces) of the bundled MiniLM
package, so input lengths, embedding tables and the output layer have production sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import (
    AutoTokenizer,
    BartConfig,
    BartForConditionalGeneration,
    GPT2Config,
    GPT2LMHeadModel,
    RobertaConfig,
    RobertaForSequenceClassification,
)

from analyzers.embeddings import bundled_minilm

# Sizes: (BART, RoBERTa, GPT-2) hyperparameters. "full" is facebook/bart-large-cnn,
# cardiffnlp/twitter-roberta-base-sentiment-latest and gpt2 (vocabularies: 50,265 / 50,257).
SIZES: dict[str, dict[str, dict[str, int]]] = {
    "small": {
        "bart": {"d_model": 256, "layers": 2, "heads": 4, "ffn": 1024, "vocab": 0},
        "roberta": {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024, "vocab": 0},
        "gpt2": {"hidden": 256, "layers": 4, "heads": 4, "vocab": 0},
    },
    "medium": {
        "bart": {"d_model": 512, "layers": 6, "heads": 8, "ffn": 2048, "vocab": 0},
        "roberta": {"hidden": 512, "layers": 6, "heads": 8, "ffn": 2048, "vocab": 0},
        "gpt2": {"hidden": 512, "layers": 6, "heads": 8, "vocab": 0},
    },
    "full": {
        "bart": {"d_model": 1024, "layers": 12, "heads": 16, "ffn": 4096, "vocab": 50265},
        "roberta": {"hidden": 768, "layers": 12, "heads": 12, "ffn": 3072, "vocab": 50265},
        "gpt2": {"hidden": 768, "layers": 12, "heads": 12, "vocab": 50257},
    },
}
LABELS = {0: "negative", 1: "neutral", 2: "positive"}


@dataclass(frozen=True)
class HubModels:
    sentiment: Path
    summarizer: Path
    generator: Path


def build(root: Path, size: str) -> HubModels:
    """Build (or reuse, when already saved under root) the three models of one size."""
    spec = SIZES[size]
    folders = HubModels(root / "sentiment", root / "summarizer", root / "generator")
    if all((folder / "config.json").is_file() for folder in vars(folders).values()):
        return folders
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    tokenizer = AutoTokenizer.from_pretrained(bundled_minilm())
    # MiniLM's tokenizer says 128 (its training length); BART reads up to 1,024 tokens.
    tokenizer.model_max_length = 1024
    pad, cls, sep = tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id

    def vocab(part: str) -> int:
        return max(len(tokenizer), spec[part]["vocab"])

    torch.manual_seed(0)
    bart = spec["bart"]
    summarizer = BartForConditionalGeneration(
        BartConfig(
            vocab_size=vocab("bart"),
            d_model=bart["d_model"],
            encoder_layers=bart["layers"],
            decoder_layers=bart["layers"],
            encoder_attention_heads=bart["heads"],
            decoder_attention_heads=bart["heads"],
            encoder_ffn_dim=bart["ffn"],
            decoder_ffn_dim=bart["ffn"],
            max_position_embeddings=1024,
            pad_token_id=pad,
            bos_token_id=cls,
            eos_token_id=sep,
            decoder_start_token_id=sep,
            forced_bos_token_id=cls,
            forced_eos_token_id=sep,
        )
    ).eval()
    # bart-large-cnn's generation settings.
    config = summarizer.generation_config
    config.num_beams, config.length_penalty, config.no_repeat_ngram_size = 4, 2.0, 3
    config.min_length, config.max_length, config.early_stopping = 56, 142, True
    _save(folders.summarizer, summarizer, tokenizer)

    roberta = spec["roberta"]
    classifier = RobertaForSequenceClassification(
        RobertaConfig(
            vocab_size=vocab("roberta"),
            hidden_size=roberta["hidden"],
            num_hidden_layers=roberta["layers"],
            num_attention_heads=roberta["heads"],
            intermediate_size=roberta["ffn"],
            max_position_embeddings=514,
            pad_token_id=pad,
            id2label=LABELS,
            label2id={name: index for index, name in LABELS.items()},
        )
    ).eval()
    _save(folders.sentiment, classifier, tokenizer)

    gpt2 = spec["gpt2"]
    generator = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=vocab("gpt2"),
            n_positions=1024,
            n_embd=gpt2["hidden"],
            n_layer=gpt2["layers"],
            n_head=gpt2["heads"],
            bos_token_id=cls,
            eos_token_id=sep,
        )
    ).eval()
    # Random weights end at a random EOS, or never: every generation runs to its limit, so
    # the served and in-process runs decode the same number of tokens.
    generator.generation_config.eos_token_id = None
    _save(folders.generator, generator, tokenizer)
    return folders


def _save(folder: Path, model: Any, tokenizer: Any) -> None:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
