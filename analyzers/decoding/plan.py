"""How a row picks its next token: the model's logits processors, then argmax or a seeded draw."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling settings of one row; None temperature (or 0) means greedy."""

    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return not self.temperature


class DecodePlan:
    """The logits processors generate() would apply for these generation arguments.

    Built once per distinct set of arguments and shared by every row that uses it: the
    processors are pure functions of a row's ids and scores, so rows with the same ids
    length can go through them together.
    """

    def __init__(
        self,
        model: Any,
        generation_kwargs: dict[str, Any],
        device: torch.device,
        *,
        prompt_length: int,
        encoder_ids: torch.Tensor | None = None,
    ) -> None:
        # generate()'s own preparation, so the rows see the processors a solo generate()
        # call with the same arguments would (min_length, no_repeat_ngram_size, forced
        # BOS/EOS, suppressed tokens, and for sampling temperature, top-k, top-p). These
        # are private transformers methods: tests compare every row to a solo generate().
        config, _ = model._prepare_generation_config(None, **copy.deepcopy(generation_kwargs))
        model._prepare_special_tokens(config, True, device=device)
        self.config = config
        self.processors = model._get_logits_processor(
            generation_config=config,
            input_ids_seq_length=prompt_length,
            encoder_input_ids=encoder_ids,
            device=device,
        )
        self.max_length: int = config.max_length
        self.eos_ids = _ids(config.eos_token_id)
        # Encoder-decoder models start from decoder_start_token_id, else BOS, as in generate().
        start = config.decoder_start_token_id
        start = start if start is not None else config.bos_token_id
        self.decoder_start_id: int | None = next(iter(sorted(_ids(start))), None)

    def process(self, ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """Apply the processors to rows of equal length: ids [n, length], scores [n, vocab]."""
        if not self.processors:
            return scores
        processed: torch.Tensor = self.processors(ids, scores)
        return processed


def row_generator(sampling: Sampling, device: torch.device) -> torch.Generator | None:
    """A random generator of the row's own: a seeded row repeats whatever else is decoding."""
    if sampling.greedy:
        return None
    generator = torch.Generator(device=device)
    generator.manual_seed(sampling.seed if sampling.seed is not None else secrets.randbits(63))
    return generator


def choose_tokens(scores: torch.Tensor, generators: Iterable[torch.Generator | None]) -> list[int]:
    """The next token of each row: argmax for greedy rows, a draw from its own RNG otherwise.

    scores are processed logits [rows, vocab] in float32; a None generator means greedy.
    """
    tokens = scores.argmax(dim=-1)
    sampled = [(row, g) for row, g in enumerate(generators) if g is not None]
    if sampled:
        probs = torch.softmax(scores[[row for row, _ in sampled]], dim=-1)
        for index, (row, generator) in enumerate(sampled):
            tokens[row] = torch.multinomial(probs[index], 1, generator=generator)[0]
    return [int(token) for token in tokens.tolist()]


def _ids(value: int | list[int] | torch.Tensor | None) -> frozenset[int]:
    if value is None:
        return frozenset()
    if isinstance(value, torch.Tensor):
        return frozenset(int(v) for v in value.flatten().tolist())
    if isinstance(value, int):
        return frozenset({value})
    return frozenset(int(v) for v in value)
