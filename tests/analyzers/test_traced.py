"""The sentence encoder as a traced graph: the same embeddings and summaries as the eager model."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from analyzers.device import Placement
from analyzers.hf import pad_batch
from analyzers.summary import CentralitySummarizer
from analyzers.traced import traced_forward
from tests.analyzers.conftest import read_data

CPU = torch.device("cpu")
TEXTS = ["sympy_history.txt", "california_housing.txt", "review_positive.txt"]


@pytest.fixture(scope="module", params=[torch.float32, torch.bfloat16], ids=str)
def both(request: pytest.FixtureRequest) -> Iterator[tuple[CentralitySummarizer, ...]]:
    where = Placement(CPU, request.param)
    pair = (
        CentralitySummarizer(placement=where, trace_encoder=True),
        CentralitySummarizer(placement=where, trace_encoder=False),
    )
    yield pair
    for summarizer in pair:
        summarizer.close()


def test_the_encoder_is_traced_unless_told_not_to(
    both: tuple[CentralitySummarizer, CentralitySummarizer],
) -> None:
    traced, eager = both
    assert traced.encoder.traced
    assert not eager.encoder.traced


@pytest.mark.parametrize("name", TEXTS)
async def test_traced_and_eager_embeddings_and_summaries_agree(
    both: tuple[CentralitySummarizer, CentralitySummarizer], name: str
) -> None:
    traced, eager = both
    text = read_data(name)
    # Every sentence of the text in one call: batches of many shapes, padded rows among them.
    inputs = traced.encoder.encode([sentence.text for sentence in traced.sentences(text)])
    assert len({len(row) for row in inputs}) > 3
    fast, slow = traced.encoder.embed_now(inputs), eager.encoder.embed_now(inputs)
    tolerance = 1e-5 if traced.encoder.model_dtype == torch.float32 else 1e-2
    np.testing.assert_allclose(fast, slow, atol=tolerance)
    summaries = [[piece async for piece in s.summarize(text)] for s in (traced, eager)]
    assert summaries[0] == summaries[1]


class _Output(dict[str, torch.Tensor]):
    """What a transformers model returns: a dict whose keys are also attributes."""

    @property
    def last_hidden_state(self) -> torch.Tensor:
        return self["last_hidden_state"]


class _MaskSensitive(torch.nn.Module):
    """Branches in Python on the mask's contents: a trace records one branch only."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> _Output:
        scale = 2.0 if bool(attention_mask.all()) else 1.0
        return _Output(last_hidden_state=input_ids.float().unsqueeze(-1) * scale)


class _Untraceable(torch.nn.Module):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        return SimpleNamespace(last_hidden_state=input_ids.float())  # not a traceable output


def test_a_trace_that_disagrees_or_fails_keeps_the_eager_model(
    caplog: pytest.LogCaptureFixture,
) -> None:
    padded = pad_batch([[1, 2, 3], [4]], 0, CPU)
    full = pad_batch([[1, 2], [3, 4]], 0, CPU)
    with caplog.at_level(logging.WARNING, logger="analyzers.traced"):
        assert traced_forward(_MaskSensitive(), padded, full) is None
        assert traced_forward(_Untraceable(), padded, full) is None
    messages = [record.getMessage() for record in caplog.records]
    assert any("disagrees" in message for message in messages)
    assert any("tracing failed" in message for message in messages)
    # Where the trace generalises, it is used.
    assert traced_forward(_MaskSensitive(), padded, pad_batch([[1], [2, 3]], 0, CPU)) is not None
