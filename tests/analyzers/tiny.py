"""Tiny randomly initialised hub-style models, built offline and saved like downloaded ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
    RobertaConfig,
    RobertaForSequenceClassification,
)

DATA = Path(__file__).parent / "data"
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
BOS, PAD, EOS = 0, 1, 2
MAX_POSITIONS = 64
GENERATOR_POSITIONS = 128
LABELS = {0: "negative", 1: "neutral", 2: "positive"}
# The same classes named in another order: the analyzer must follow id2label.
PERMUTED_LABELS = {0: "Positive", 1: "NEGATIVE", 2: "neutral"}
GENERATOR_PROMPT = "The project was started"


@dataclass(frozen=True)
class TinyModels:
    sentiment: Path
    sentiment_permuted: Path
    summarizer: Path
    generator: Path
    # The generator again, with EOS set to the token that greedy decoding of
    # GENERATOR_PROMPT produces at step eos_step (its first occurrence).
    generator_eos: Path
    eos_step: int


def _tokenizer(with_template: bool) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on the test texts: encodes any text, decodes back to it."""
    corpus = [path.read_text() for path in sorted(DATA.glob("*.txt"))]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer)
    if with_template:
        # RoBERTa and BART wrap each input in <s> ... </s>.
        bpe.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", BOS), ("</s>", EOS)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=MAX_POSITIONS,
    )


def build(root: Path) -> TinyModels:
    transformers.utils.logging.disable_progress_bar()
    wrapped = _tokenizer(with_template=True)
    plain = _tokenizer(with_template=False)
    plain.model_max_length = GENERATOR_POSITIONS
    vocab = len(wrapped)

    torch.manual_seed(0)
    sentiment_config = RobertaConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        # RoBERTa positions start after the padding index: 64 tokens need 66.
        max_position_embeddings=MAX_POSITIONS + PAD + 1,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
        id2label=LABELS,
        label2id={name: index for index, name in LABELS.items()},
    )
    classifier = RobertaForSequenceClassification(sentiment_config).eval()
    sentiment = _save(root / "sentiment", classifier, wrapped)
    # Same weights, classes renamed.
    classifier.config.id2label = PERMUTED_LABELS
    classifier.config.label2id = {name: index for index, name in PERMUTED_LABELS.items()}
    sentiment_permuted = _save(root / "sentiment-permuted", classifier, wrapped)

    torch.manual_seed(1)
    bart = BartForConditionalGeneration(
        BartConfig(
            vocab_size=vocab,
            d_model=32,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=MAX_POSITIONS,
            pad_token_id=PAD,
            bos_token_id=BOS,
            eos_token_id=EOS,
            decoder_start_token_id=EOS,
            forced_eos_token_id=EOS,
            # Wider than the default 0.02, so that different texts get different summaries
            # (at the default 0.02 every input decodes to the same tokens).
            init_std=0.1,
        )
    ).eval()
    # Weird defaults a small hub model may carry: beam search (which cannot stream) and
    # a minimum longer than any summary the server allows.
    bart.generation_config.num_beams = 4
    bart.generation_config.min_length = 500
    # What bart-large-cnn asks for, so batched rows must apply the same processors per row.
    bart.generation_config.no_repeat_ngram_size = 3
    bart.generation_config.forced_bos_token_id = BOS
    summarizer = _save(root / "summarizer", bart, wrapped)

    torch.manual_seed(2)
    gpt2 = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=vocab,
            n_positions=GENERATOR_POSITIONS,
            n_embd=32,
            n_layer=2,
            n_head=2,
            bos_token_id=BOS,
            eos_token_id=EOS,
        )
    ).eval()
    # Random weights would sometimes pick </s> or <pad>; suppressing the special tokens makes
    # every run go to max_new_tokens (LENGTH) unless a stop string or EOS variant ends it.
    gpt2.generation_config.suppress_tokens = list(range(len(SPECIALS)))
    gpt2.generation_config.eos_token_id = None
    generator = _save(root / "generator", gpt2, plain)

    prompt = torch.tensor([plain(GENERATOR_PROMPT)["input_ids"]])
    with torch.inference_mode():
        greedy = gpt2.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=12,
            do_sample=False,
            pad_token_id=PAD,
        )[0, prompt.shape[1] :].tolist()
    # The fourth token, or an earlier first occurrence of it, becomes EOS.
    eos_token = greedy[min(3, len(greedy) - 1)]
    eos_step = greedy.index(eos_token)
    gpt2.generation_config.eos_token_id = eos_token
    generator_eos = _save(root / "generator-eos", gpt2, plain)
    return TinyModels(sentiment, sentiment_permuted, summarizer, generator, generator_eos, eos_step)


def _save(folder: Path, model: object, tokenizer: PreTrainedTokenizerFast) -> Path:
    model.save_pretrained(folder)  # type: ignore[attr-defined]
    tokenizer.save_pretrained(folder)
    return folder
