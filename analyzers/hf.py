"""Loading Hugging Face tokenizers and models, and the small tensor chores around them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoTokenizer

from analyzers.device import Placement
from analyzers.errors import AnalyzerError
from analyzers.shapes import ForwardShapes

# Models whose position ids start after the padding index, so max_position_embeddings
# overstates the usable length by padding_idx + 1 (514 positions hold 512 tokens).
_OFFSET_POSITIONS = {
    "roberta",
    "xlm-roberta",
    "xlm-roberta-xl",
    "camembert",
    "longformer",
    "data2vec-text",
    "roberta-prelayernorm",
    "ibert",
    "mpnet",
}

# Padding to the longest sequence and no further.
EXACT = ForwardShapes(row_multiple=1, width_multiple=1)

# Tokenizers without a known limit report this huge sentinel as model_max_length.
_NO_LIMIT = 1_000_000


def _quiet() -> None:
    # Progress bars would interleave with the server's structured log lines.
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def _check_folder(source: str) -> None:
    """A source written as a path must be a folder; hub ids ("org/name") are not paths."""
    if source.startswith(("/", ".", "~")) and not Path(source).expanduser().is_dir():
        raise AnalyzerError(f"there is no model folder at {source}")


def load_tokenizer(source: str) -> Any:
    _check_folder(source)
    _quiet()
    return AutoTokenizer.from_pretrained(source)


def load_model(auto_class: Any, source: str, placement: Placement) -> Any:
    """from_pretrained in the placement's dtype, moved to its device, in eval mode."""
    _check_folder(source)
    _quiet()
    model = auto_class.from_pretrained(source, dtype=placement.dtype)
    model.to(placement.device)
    model.eval()
    return model


def input_limit(tokenizer: Any, config: Any, fallback: int = 512) -> int:
    """The most tokens one input may have: the tighter of the tokenizer's and the model's."""
    limits: list[int] = []
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < _NO_LIMIT:
        limits.append(tokenizer_limit)
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int):
        positions = getattr(config, "n_positions", None)
    if isinstance(positions, int) and positions > 0:
        if getattr(config, "model_type", "") in _OFFSET_POSITIONS:
            positions -= (getattr(config, "pad_token_id", None) or 0) + 1
        limits.append(positions)
    return max(1, min(limits)) if limits else fallback


def pad_batch(
    sequences: list[list[int]],
    pad_id: int,
    device: torch.device,
    shapes: ForwardShapes = EXACT,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id lists into input_ids and attention_mask tensors on device.

    The tensors take the rounded shape of `shapes`: rows past the sequences are all padding
    (attention mask 0), and their outputs are the caller's to drop.
    """
    width = shapes.width(max(len(ids) for ids in sequences))
    rows = shapes.rows(len(sequences))
    input_ids = torch.full((rows, width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((rows, width), dtype=torch.long)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, : len(ids)] = 1
    return input_ids.to(device), attention_mask.to(device)


def length_groups(sequences: list[list[int]], shapes: ForwardShapes) -> list[list[int]]:
    """Indices of sequences sorted by length, split into the forward passes that cost least.

    A forward pass costs about `shapes.overhead_tokens` (streaming the weights once) plus one
    unit per padded position: rows x longest member, each rounded as `shapes` rounds them.
    Sorting keeps neighbours of similar length;
    an exact partition of the sorted order then weighs one more pass against the padding it
    saves, so a 5-token sentence never pays for a 120-token one and a run of equal lengths
    shares one pass. No pass holds more than `shapes.max_tokens` padded positions (memory,
    cache).
    """
    order = sorted(range(len(sequences)), key=lambda index: len(sequences[index]))
    lengths = [shapes.width(len(sequences[index])) for index in order]
    count = len(order)
    # best[j]: least cost of the first j sorted sequences; cut[j]: where their last pass starts.
    best = [0.0] + [float("inf")] * count
    cut = [0] * (count + 1)
    for end in range(1, count + 1):
        width = lengths[end - 1]
        rows_allowed = max(1, shapes.max_tokens // width)
        for start in range(max(0, end - rows_allowed), end):
            cost = best[start] + shapes.overhead_tokens + shapes.rows(end - start) * width
            if cost < best[end]:
                best[end], cut[end] = cost, start
    groups: list[list[int]] = []
    end = count
    while end > 0:
        groups.append(order[cut[end] : end])
        end = cut[end]
    groups.reverse()
    return groups


def pad_id_of(tokenizer: Any) -> int:
    for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id):
        if isinstance(token_id, int):
            return token_id
    return 0
