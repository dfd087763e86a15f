"""Forward passes in rounded shapes: few distinct shapes, the same embeddings as exact ones."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from analyzers.batcher import BatchLimits
from analyzers.device import Placement
from analyzers.embeddings import SentenceEncoder, bundled_minilm
from analyzers.hf import EXACT, length_groups, pad_batch
from analyzers.shapes import FLOAT32_CPU, REDUCED_PRECISION_CPU, ForwardShapes, forward_shapes

CPU = torch.device("cpu")
ROUNDED = ForwardShapes(overhead_tokens=48, max_tokens=512, row_multiple=8, width_multiple=8)


def test_reduced_precision_on_a_cpu_rounds_and_float32_or_cuda_does_not() -> None:
    assert forward_shapes(Placement(CPU, torch.bfloat16)) == REDUCED_PRECISION_CPU
    assert forward_shapes(Placement(CPU, torch.float32)) == FLOAT32_CPU
    # Only a placement is built: no CUDA is needed to choose its shapes.
    assert forward_shapes(Placement(torch.device("cuda"), torch.float16)) == FLOAT32_CPU
    assert REDUCED_PRECISION_CPU.row_multiple > 1
    assert REDUCED_PRECISION_CPU.width_multiple > 1


def test_padding_rounds_rows_and_width_and_the_extra_rows_are_all_padding() -> None:
    sequences = [[7] * length for length in (3, 13, 5, 1, 9, 2, 4, 6, 11)]
    ids, mask = pad_batch(sequences, 0, CPU, ROUNDED)
    exact_ids, exact_mask = pad_batch(sequences, 0, CPU)
    assert tuple(ids.shape) == (16, 16)
    assert tuple(exact_ids.shape) == (9, 13)
    assert torch.equal(ids[:9, :13], exact_ids)
    assert torch.equal(mask[:9, :13], exact_mask)
    assert int(mask[9:].sum()) == 0
    assert int(mask[:, 13:].sum()) == 0
    # A handful of rows stays exact: rounding 3 rows up to 8 would more than double the pass.
    assert pad_batch(sequences[:3], 0, CPU, ROUNDED)[0].shape[0] == 3


def test_rounded_passes_stay_within_the_bound_and_cover_every_sequence() -> None:
    lengths = [(index * 37) % 97 + 3 for index in range(300)]
    sequences = [[1] * length for length in lengths]
    groups = length_groups(sequences, ROUNDED)
    assert sorted(index for group in groups for index in group) == list(range(300))
    for group in groups:
        rows = ROUNDED.rows(len(group))
        width = ROUNDED.width(max(lengths[index] for index in group))
        assert rows * width <= ROUNDED.max_tokens or len(group) == 1


@pytest.fixture(scope="module")
def encoder() -> Iterator[SentenceEncoder]:
    # float32, eager: rounding must change the shapes only, never the numbers.
    built = SentenceEncoder(
        bundled_minilm(), placement=Placement(CPU, torch.float32), limits=BatchLimits(), trace=False
    )
    yield built
    built.close()


def test_rounded_shapes_give_the_exact_shapes_embeddings_from_few_shapes(
    encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [
        "the",
        "council",
        "met",
        "on",
        "a",
        "quiet",
        "morning",
        "to",
        "weigh",
        "the",
        "new",
        "library",
        "plans",
    ]
    generator = random.Random(5)
    sentences = [
        " ".join(generator.choice(words) for _ in range(generator.randint(1, 40)))
        for _ in range(120)
    ]
    inputs = encoder.encode(sentences)
    monkeypatch.setattr(encoder, "shapes", EXACT)
    exact = np.stack(encoder._embed_batch(inputs))

    seen: set[tuple[int, int]] = set()
    forward = encoder.forward

    def recording(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        seen.add((int(ids.shape[0]), int(ids.shape[1])))
        return forward(ids, mask)

    monkeypatch.setattr(encoder, "forward", recording)
    monkeypatch.setattr(encoder, "shapes", ROUNDED)
    rounded = np.stack(encoder._embed_batch(inputs))
    np.testing.assert_allclose(rounded, exact, atol=1e-5)
    for rows, width in seen:
        assert width % 8 == 0
        assert rows <= 8 or rows % 8 == 0
