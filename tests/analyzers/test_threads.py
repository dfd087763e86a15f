"""The thread layout: torch's threads per model, set aside a core for the rest, overridable."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch

from analyzers.config import ModelSettings
from analyzers.cpu import OMP_ENV, TOKENIZERS_ENV, apply_layout, plan_threads
from analyzers.loader import load_analyzers, torch_model_count
from analyzers.summary import CentralitySummarizer
from tests.analyzers.conftest import read_data


@pytest.fixture(autouse=True)
def no_operator_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OMP_ENV, raising=False)


@pytest.mark.parametrize(
    ("cores", "torch_models", "threads"),
    [
        (1, 1, 1),  # nothing to set aside on one core
        (2, 1, 1),  # the offline profile here: the encoder beside spaCy
        (2, 3, 1),
        (4, 1, 3),
        (16, 3, 5),  # hub profile on a larger CPU: sentiment, summary and generator
        (8, 0, 7),
    ],
)
def test_the_layout_never_asks_for_more_cores_than_there_are(
    cores: int, torch_models: int, threads: int
) -> None:
    layout = plan_threads(torch_models=torch_models, cores=cores)
    assert layout.intra_op_threads == threads
    assert layout.chosen_by == "layout"
    if cores > 1 and torch_models:
        assert layout.intra_op_threads * torch_models + 1 <= cores or threads == 1


def test_the_setting_replaces_the_rule_and_omp_num_threads_beats_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    by_setting = plan_threads(torch_models=1, cores=2, setting=2)
    assert (by_setting.intra_op_threads, by_setting.chosen_by) == (2, "setting")
    monkeypatch.setenv(OMP_ENV, "3")
    by_operator = plan_threads(torch_models=1, cores=2, setting=2)
    assert (by_operator.intra_op_threads, by_operator.chosen_by) == (3, OMP_ENV)


def test_torch_models_are_counted_from_the_sources() -> None:
    offline = {
        "sentiment": "vader",
        "summary": "extractive",
        "entities": "en_core",
        "generator": "",
    }
    assert torch_model_count(offline) == 1
    hub = {"sentiment": "roberta", "summary": "bart", "entities": "en_core", "generator": "gpt"}
    assert torch_model_count(hub) == 3


@pytest.mark.parametrize("threads", [1, 2])
async def test_the_encoder_computes_with_the_threads_it_was_given(
    threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzers = load_analyzers(ModelSettings(device="cpu", intra_op_threads=threads))
    try:
        summarizer = analyzers.summarizer
        assert isinstance(summarizer, CentralitySummarizer)
        encoder = summarizer.encoder
        seen: set[int] = set()
        real_forward = encoder.forward

        def recorded(*args: Any, **kwargs: Any) -> Any:
            seen.add(torch.get_num_threads())
            return real_forward(*args, **kwargs)

        monkeypatch.setattr(encoder, "forward", recorded)
        pieces = [piece async for piece in summarizer.summarize(read_data("sympy_history.txt"))]
        assert pieces
        # On the encoder's own thread, which started after the layout was applied.
        assert seen == {threads}
    finally:
        analyzers.close()


def test_the_tokenizers_pool_is_off_unless_the_operator_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layout = plan_threads(torch_models=1, cores=2)
    monkeypatch.delenv(TOKENIZERS_ENV, raising=False)
    apply_layout(layout)
    assert os.environ[TOKENIZERS_ENV] == "false"
    monkeypatch.setenv(TOKENIZERS_ENV, "true")
    apply_layout(layout)
    assert os.environ[TOKENIZERS_ENV] == "true"
