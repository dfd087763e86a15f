"""What the scheduler asks of a model: start rows, advance every row one token, regroup rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import torch

from analyzers.decoding.plan import DecodePlan, Sampling


@dataclass(frozen=True, slots=True)
class DecodeRequest:
    """One row to decode: its input ids (encoder input or prompt) and how to pick tokens."""

    input_ids: list[int]
    max_new_tokens: int
    plan: DecodePlan
    sampling: Sampling = field(default_factory=Sampling)


State = TypeVar("State")


class DecodeEngine(Protocol[State]):
    """A model's forward passes over a group of rows; the state holds their caches and masks.

    Every method runs on the scheduler's thread. Rows are identified by their index in the
    state, in the order they were given.
    """

    # False when rows at different positions cannot share a step (the scheduler then
    # decodes one row at a time).
    mixes_positions: bool

    def start_ids(self, request: DecodeRequest) -> list[int]:
        """The ids the row's logits processors see before its first token."""
        ...

    def cache_tokens(self, request: DecodeRequest) -> int:
        """Cache positions the row can hold at most (its input plus what it may generate)."""
        ...

    def prefill(self, requests: list[DecodeRequest]) -> tuple[State, torch.Tensor]:
        """Run the new rows' inputs; returns their state and next-token logits [rows, vocab]."""
        ...

    def step(self, state: State, tokens: list[int], positions: list[int]) -> torch.Tensor:
        """Feed each row its last token at its position; returns logits [rows, vocab]."""
        ...

    def select(self, state: State, keep: list[int]) -> State:
        """Only the rows at `keep`, their cache memory trimmed to what they still use."""
        ...

    def concat(self, first: State, second: State) -> State:
        """The rows of first, then those of second, in one state."""
        ...
