"""Encoder-decoder models (BART) decoded a step at a time, many rows per forward pass."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache, EncoderDecoderCache
from transformers.modeling_outputs import BaseModelOutput

from analyzers.decoding.engine import DecodeRequest
from analyzers.decoding.kv import (
    build_cache,
    cache_kv,
    concat_kv,
    concat_masks,
    occupied,
    select_rows,
)
from analyzers.hf import pad_batch

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Seq2SeqState:
    cache: EncoderDecoderCache
    # [rows, decoder length]: rows that joined later are padded on the left.
    decoder_mask: torch.Tensor
    # [rows, encoder length]: shorter inputs are padded on the right.
    encoder_mask: torch.Tensor


class RowPositions(torch.nn.Module):
    """Stands in for a decoder's position embedding so each row can be at its own position.

    BART's decoder numbers positions from the cache length, which is one number for the
    whole batch; rows that joined later are shorter and must keep their own numbering, or
    their output would differ from decoding them alone. With `rows` unset it is the
    original embedding, unchanged.
    """

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.rows: torch.Tensor | None = None

    def forward(
        self, input_ids: torch.Tensor, cache_length: int = 0, position_ids: Any = None
    ) -> torch.Tensor:
        if self.rows is None:
            out: torch.Tensor = self.inner(input_ids, cache_length, position_ids=position_ids)
            return out
        # position_ids of shape [rows] come back as [1, rows, dim]: one position per row.
        embedded: torch.Tensor = self.inner(input_ids, 0, position_ids=self.rows)
        return embedded.reshape(self.rows.shape[0], 1, -1)


class Seq2SeqEngine:
    """Encoder run once per row; its cross-attention keys and values are cached for the row."""

    def __init__(self, model: Any, *, decoder_start_id: int, pad_id: int) -> None:
        self._model = model
        self._device: torch.device = model.device
        self._start = decoder_start_id
        self._pad = pad_id
        self._positions = _install_row_positions(model)
        self.mixes_positions = self._positions is not None
        if not self.mixes_positions:
            log.warning(
                "%s: its decoder positions cannot differ by row; summaries decode one at a time",
                type(model).__name__,
            )

    def start_ids(self, request: DecodeRequest) -> list[int]:
        return [self._start]

    def cache_tokens(self, request: DecodeRequest) -> int:
        return len(request.input_ids) + request.max_new_tokens + 1

    def prefill(self, requests: list[DecodeRequest]) -> tuple[Seq2SeqState, torch.Tensor]:
        inputs = [request.input_ids for request in requests]
        input_ids, encoder_mask = pad_batch(inputs, self._pad, self._device)
        rows = len(requests)
        encoded = self._model.get_encoder()(input_ids=input_ids, attention_mask=encoder_mask)
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        decoder_mask = torch.ones((rows, 1), dtype=torch.long, device=self._device)
        # The first decoder step fills the cross-attention cache from the encoder's output.
        logits = self._decode(
            cache,
            torch.full((rows, 1), self._start, dtype=torch.long, device=self._device),
            decoder_mask,
            encoder_mask,
            encoded.last_hidden_state,
            positions=None,
        )
        return Seq2SeqState(cache, decoder_mask, encoder_mask), logits

    def step(self, state: Seq2SeqState, tokens: list[int], positions: list[int]) -> torch.Tensor:
        rows = len(tokens)
        ones = torch.ones((rows, 1), dtype=torch.long, device=self._device)
        state.decoder_mask = torch.cat([state.decoder_mask, ones], dim=1)
        hidden = self._model.config.d_model
        # The cross-attention keys and values are cached: the encoder output is read only
        # for its shape, so a zero-cost broadcast view stands in for it.
        placeholder = torch.zeros((), dtype=self._model.dtype, device=self._device).expand(
            rows, state.encoder_mask.shape[1], hidden
        )
        return self._decode(
            state.cache,
            torch.tensor(tokens, dtype=torch.long, device=self._device).unsqueeze(1),
            state.decoder_mask,
            state.encoder_mask,
            placeholder,
            positions=torch.tensor(positions, dtype=torch.long, device=self._device),
        )

    def select(self, state: Seq2SeqState, keep: list[int]) -> Seq2SeqState:
        index = torch.tensor(keep, dtype=torch.long, device=self._device)
        decoder_mask = state.decoder_mask[index]
        encoder_mask = state.encoder_mask[index]
        first, end = occupied(decoder_mask)
        _, encoder_end = occupied(encoder_mask)
        select_rows(state.cache.self_attention_cache, index, first, end)
        select_rows(state.cache.cross_attention_cache, index, 0, encoder_end)
        return Seq2SeqState(state.cache, decoder_mask[:, first:end], encoder_mask[:, :encoder_end])

    def concat(self, first: Seq2SeqState, second: Seq2SeqState) -> Seq2SeqState:
        self_kv = concat_kv(
            cache_kv(first.cache.self_attention_cache),
            cache_kv(second.cache.self_attention_cache),
            left=True,
        )
        cross_kv = concat_kv(
            cache_kv(first.cache.cross_attention_cache),
            cache_kv(second.cache.cross_attention_cache),
            left=False,
        )
        return Seq2SeqState(
            EncoderDecoderCache(build_cache(self_kv), build_cache(cross_kv)),
            concat_masks(first.decoder_mask, second.decoder_mask, left=True),
            concat_masks(first.encoder_mask, second.encoder_mask, left=False),
        )

    def _decode(
        self,
        cache: EncoderDecoderCache,
        decoder_input_ids: torch.Tensor,
        decoder_mask: torch.Tensor,
        encoder_mask: torch.Tensor,
        encoder_hidden: torch.Tensor,
        *,
        positions: torch.Tensor | None,
    ) -> torch.Tensor:
        if self._positions is not None:
            self._positions.rows = positions
        try:
            outputs = self._model(
                encoder_outputs=BaseModelOutput(last_hidden_state=encoder_hidden),
                attention_mask=encoder_mask,
                decoder_input_ids=decoder_input_ids,
                decoder_attention_mask=decoder_mask,
                cache=cache,
                use_cache=True,
            )
        finally:
            if self._positions is not None:
                self._positions.rows = None
        # As generate() does: the processors work on float32 copies of the last logits.
        logits: torch.Tensor = outputs.logits[:, -1, :].to(dtype=torch.float32, copy=True)
        return logits


def _install_row_positions(model: Any) -> RowPositions | None:
    """Wrap the decoder's position embedding, if it takes explicit position ids."""
    decoder = model.get_decoder()
    current = getattr(decoder, "embed_positions", None)
    if isinstance(current, RowPositions):
        return current
    if not isinstance(current, torch.nn.Module):
        return None
    if "position_ids" not in inspect.signature(current.forward).parameters:
        return None
    wrapper = RowPositions(current)
    decoder.embed_positions = wrapper
    return wrapper
