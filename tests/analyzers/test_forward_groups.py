"""How the encoder cuts a batch of token lists into forward passes, and tokenizes them once."""

from __future__ import annotations

import pytest

from analyzers.base import Analyzers
from analyzers.hf import length_groups
from analyzers.shapes import ForwardShapes
from analyzers.summary import CentralitySummarizer


def _cost(sequences: list[list[int]], groups: list[list[int]], overhead: int) -> int:
    return sum(overhead + len(group) * max(len(sequences[i]) for i in group) for group in groups)


def test_every_sequence_lands_in_exactly_one_pass() -> None:
    sequences = [[1] * length for length in (7, 3, 3, 50, 12, 3, 7, 120, 1)]
    groups = length_groups(sequences, ForwardShapes(overhead_tokens=48, max_tokens=4096))
    assert sorted(index for group in groups for index in group) == list(range(len(sequences)))


def test_a_long_sentence_does_not_pad_the_short_ones() -> None:
    # Ten 5-token sentences and one of 120: one pass would pad 55 positions to 1,320.
    sequences = [[1] * 5] * 10 + [[1] * 120]
    groups = length_groups(sequences, ForwardShapes(overhead_tokens=48, max_tokens=4096))
    assert groups == [list(range(10)), [10]]


def test_equal_lengths_share_one_pass_and_passes_respect_the_token_bound() -> None:
    sequences = [[1] * 30] * 40
    assert len(length_groups(sequences, ForwardShapes(overhead_tokens=48, max_tokens=4096))) == 1
    bounded = length_groups(sequences, ForwardShapes(overhead_tokens=48, max_tokens=300))
    assert all(len(group) * 30 <= 300 for group in bounded)
    assert len(bounded) == 4


@pytest.mark.parametrize("overhead", [0, 48, 500])
def test_the_cut_costs_no_more_than_fixed_groups_of_sixteen(overhead: int) -> None:
    lengths = [(index * 37) % 97 + 3 for index in range(200)]
    sequences = [[1] * length for length in lengths]
    groups = length_groups(sequences, ForwardShapes(overhead_tokens=overhead, max_tokens=4096))
    order = sorted(range(len(sequences)), key=lambda index: lengths[index])
    sixteen = [order[start : start + 16] for start in range(0, len(order), 16)]
    assert _cost(sequences, groups, overhead) <= _cost(sequences, sixteen, overhead)


def test_one_tokenizer_pass_gives_the_truncated_inputs_and_the_true_counts(
    offline: Analyzers,
) -> None:
    summarizer = offline.summarizer
    assert isinstance(summarizer, CentralitySummarizer)
    encoder = summarizer.encoder
    texts = ["SymPy is a Python library.", "", "word " * 400, "Dr. Smith met the U.S. team."]
    inputs, counts = encoder.tokenize(texts)
    tokenizer = encoder.tokenizer
    expected = tokenizer(texts, truncation=True, max_length=encoder.max_tokens)["input_ids"]
    assert inputs == expected
    assert counts == [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert counts[2] == 400 > encoder.max_tokens
