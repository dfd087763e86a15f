"""Decoder-only models (GPT-2 and kin) decoded a step at a time, many rows per forward pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache

from analyzers.decoding.engine import DecodeRequest
from analyzers.decoding.kv import (
    build_cache,
    cache_kv,
    concat_kv,
    concat_masks,
    occupied,
    select_rows,
)


@dataclass(slots=True)
class CausalState:
    cache: DynamicCache
    # [rows, length]: prompts and rows that joined later are padded on the left.
    mask: torch.Tensor


class CausalEngine:
    """Prompts are left-padded and every row carries explicit position ids."""

    mixes_positions = True

    def __init__(self, model: Any, *, pad_id: int) -> None:
        self._model = model
        self._device: torch.device = model.device
        self._pad = pad_id

    def start_ids(self, request: DecodeRequest) -> list[int]:
        return list(request.input_ids)

    def cache_tokens(self, request: DecodeRequest) -> int:
        return len(request.input_ids) + request.max_new_tokens

    def prefill(self, requests: list[DecodeRequest]) -> tuple[CausalState, torch.Tensor]:
        width = max(len(r.input_ids) for r in requests)
        ids = torch.full((len(requests), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(requests), width), dtype=torch.long)
        for row, request in enumerate(requests):
            ids[row, width - len(request.input_ids) :] = torch.tensor(request.input_ids)
            mask[row, width - len(request.input_ids) :] = 1
        ids, mask = ids.to(self._device), mask.to(self._device)
        # Padding takes no position: each prompt's first real token is at 0.
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        cache = DynamicCache()
        logits = self._forward(cache, ids, mask, positions, keep_last=True)
        return CausalState(cache, mask), logits

    def step(self, state: CausalState, tokens: list[int], positions: list[int]) -> torch.Tensor:
        rows = len(tokens)
        ones = torch.ones((rows, 1), dtype=torch.long, device=self._device)
        state.mask = torch.cat([state.mask, ones], dim=1)
        ids = torch.tensor(tokens, dtype=torch.long, device=self._device).unsqueeze(1)
        at = torch.tensor(positions, dtype=torch.long, device=self._device).unsqueeze(1)
        return self._forward(state.cache, ids, state.mask, at, keep_last=False)

    def select(self, state: CausalState, keep: list[int]) -> CausalState:
        index = torch.tensor(keep, dtype=torch.long, device=self._device)
        mask = state.mask[index]
        first, end = occupied(mask)
        select_rows(state.cache, index, first, end)
        return CausalState(state.cache, mask[:, first:end])

    def concat(self, first: CausalState, second: CausalState) -> CausalState:
        kv = concat_kv(cache_kv(first.cache), cache_kv(second.cache), left=True)
        return CausalState(build_cache(kv), concat_masks(first.mask, second.mask, left=True))

    def _forward(
        self,
        cache: DynamicCache,
        ids: torch.Tensor,
        mask: torch.Tensor,
        positions: torch.Tensor,
        *,
        keep_last: bool,
    ) -> torch.Tensor:
        kwargs: dict[str, Any] = {"logits_to_keep": 1} if keep_last else {}
        outputs = self._model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
            **kwargs,
        )
        # As generate() does: the processors work on float32 copies of the last logits.
        logits: torch.Tensor = outputs.logits[:, -1, :].to(dtype=torch.float32, copy=True)
        return logits
