"""Key/value caches of many rows: keep some rows, append others, pad to a common length."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

KV = list[tuple[torch.Tensor, torch.Tensor]]


def cache_kv(cache: DynamicCache) -> KV:
    """Each layer's keys and values, [rows, heads, length, head_dim]."""
    return [(_tensor(layer.keys), _tensor(layer.values)) for layer in _layers(cache)]


def build_cache(kv: KV) -> DynamicCache:
    return DynamicCache(ddp_cache_data=kv)


def select_rows(cache: DynamicCache, rows: torch.Tensor, start: int, end: int) -> None:
    """Keep `rows` (in that order) and cache positions [start, end), in place."""
    for layer in _layers(cache):
        layer.keys = _tensor(layer.keys)[rows, :, start:end]
        layer.values = _tensor(layer.values)[rows, :, start:end]


def concat_kv(first: KV, second: KV, *, left: bool) -> KV:
    """Stack two row groups; the shorter is padded on the left (self-attention, whose newest
    position is last) or on the right (cross-attention over the encoder's input)."""
    return [
        (_concat(k1, k2, left=left), _concat(v1, v2, left=left))
        for (k1, v1), (k2, v2) in zip(first, second, strict=True)
    ]


def concat_masks(first: torch.Tensor, second: torch.Tensor, *, left: bool) -> torch.Tensor:
    """Stack two [rows, length] attention masks, zero-padding the shorter."""
    return _concat(first.unsqueeze(-1), second.unsqueeze(-1), left=left).squeeze(-1)


def occupied(mask: torch.Tensor) -> tuple[int, int]:
    """The first and one past the last column any row attends to ([rows, length] mask)."""
    used = (mask != 0).any(dim=0).nonzero()
    if used.numel() == 0:
        return 0, 0
    return int(used[0]), int(used[-1]) + 1


def _layers(cache: DynamicCache) -> list[DynamicLayer]:
    """The cache's layers, which must be plain growing ones: windowed or linear-attention
    layers keep other state that rows cannot be cut from."""
    layers: list[DynamicLayer] = []
    for layer in cache.layers:
        if type(layer) is not DynamicLayer:
            raise TypeError(f"cannot regroup rows of a {type(layer).__name__} cache layer")
        layers.append(layer)
    return layers


def _tensor(value: torch.Tensor | None) -> torch.Tensor:
    if value is None:
        raise TypeError("a cache layer holds no keys or values yet")
    return value


def _concat(a: torch.Tensor, b: torch.Tensor, *, left: bool) -> torch.Tensor:
    """Concatenate on dim 0 after zero-padding dim -2 to the longer of the two."""
    width = max(a.shape[-2], b.shape[-2])
    return torch.cat([_pad(a, width, left=left), _pad(b, width, left=left)], dim=0)


def _pad(t: torch.Tensor, width: int, *, left: bool) -> torch.Tensor:
    missing = width - t.shape[-2]
    if missing == 0:
        return t
    # F.pad's last pair pads dim -1 (untouched here), the pair before it dim -2.
    return F.pad(t, (0, 0, missing, 0) if left else (0, 0, 0, missing))
