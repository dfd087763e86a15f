"""The thread layout: torch's threads per model from the measured cost, overridable."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from analyzers.cpu import (
    LAYOUT,
    OMP_ENV,
    TOKENIZERS_ENV,
    RequestCost,
    apply_layout,
    plan_threads,
)
from analyzers.loader import load_analyzers
from analyzers.request_cost import RUNS, measure_request_cost
from analyzers.sources import torch_model_count
from analyzers.summary import CentralitySummarizer
from tests.analyzers.conftest import hub_settings, read_data
from tests.analyzers.tiny import TinyModels


@pytest.fixture(autouse=True)
def no_operator_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OMP_ENV, raising=False)


# Measured at load on this kind of 2-core Xeon: CPU seconds per request in torch, and beside.
BFLOAT16_COST = RequestCost(torch_seconds=0.053, beside_seconds=0.047)
FLOAT32_COST = RequestCost(torch_seconds=0.138, beside_seconds=0.048)
# A request whose spaCy work is tiny beside a large torch model (hub sentiment, say).
TORCH_BOUND = RequestCost(torch_seconds=0.400, beside_seconds=0.010)


@pytest.mark.parametrize(
    ("cores", "torch_models", "cost", "threads", "set_aside"),
    [
        (1, 1, BFLOAT16_COST, 1, 0),  # nothing to set aside on one core
        # The offline profile here: in bfloat16 spaCy costs nearly what the encoder does, and
        # would stall a two-thread team; in float32 the encoder is worth both cores.
        (2, 1, BFLOAT16_COST, 1, 1),
        (2, 1, FLOAT32_COST, 2, 0),
        (2, 3, BFLOAT16_COST, 1, 1),
        (4, 1, FLOAT32_COST, 3, 1),  # b * 4 * 3 > t: on more cores the set-aside pays sooner
        (2, 1, TORCH_BOUND, 2, 0),
        (16, 3, TORCH_BOUND, 5, 1),  # hub profile on a larger CPU
        (8, 0, BFLOAT16_COST, 7, 1),
    ],
)
def test_the_layout_follows_the_measured_cost_and_never_asks_for_more_cores(
    cores: int, torch_models: int, cost: RequestCost, threads: int, set_aside: int
) -> None:
    layout = plan_threads(torch_models=torch_models, cores=cores, cost=cost)
    assert (layout.intra_op_threads, layout.set_aside) == (threads, set_aside)
    assert layout.chosen_by == LAYOUT
    assert layout.cost == cost
    if torch_models:
        assert layout.intra_op_threads * torch_models + layout.set_aside <= cores or threads == 1


def test_before_the_cost_is_measured_each_model_gets_one_thread() -> None:
    layout = plan_threads(torch_models=1, cores=2)
    assert (layout.intra_op_threads, layout.needs_cost) == (1, True)
    # On one core there is nothing to decide.
    alone = plan_threads(torch_models=1, cores=1)
    assert (alone.intra_op_threads, alone.needs_cost) == (1, False)


def test_without_a_measured_cost_torch_gets_every_core() -> None:
    # A generative model decodes: its seconds per request outweigh the rest.
    layout = plan_threads(torch_models=2, cores=4, measured=False)
    assert (layout.intra_op_threads, layout.set_aside, layout.needs_cost) == (2, 0, False)


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


async def threads_the_encoder_computes_with(
    analyzers: Analyzers, monkeypatch: pytest.MonkeyPatch
) -> set[int]:
    """torch's thread counts seen by the encoder's forward passes while it summarizes."""
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
    return seen


@pytest.mark.parametrize("threads", [1, 2])
async def test_the_encoder_computes_with_the_threads_it_was_given(
    threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzers = load_analyzers(ModelSettings(device="cpu", intra_op_threads=threads))
    try:
        # On the encoder's own thread, which started after the layout was applied.
        assert await threads_the_encoder_computes_with(analyzers, monkeypatch) == {threads}
    finally:
        analyzers.close()


async def test_the_loader_measures_the_request_and_the_encoder_computes_with_its_layout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analyzers = load_analyzers(ModelSettings(device="cpu", cpu_cores=2))
    try:
        layout = analyzers.layout
        assert layout is not None
        assert layout.chosen_by == LAYOUT
        cost = layout.cost
        # Both kinds of work were measured on the sample: the encoder, and spaCy with VADER.
        assert cost is not None
        assert cost.torch_seconds > 0
        assert cost.beside_seconds > 0
        expected = 1 if cost.sets_aside_a_core(2) else 2
        assert (layout.intra_op_threads, layout.set_aside) == (expected, 2 - expected)
        assert await threads_the_encoder_computes_with(analyzers, monkeypatch) == {expected}
    finally:
        analyzers.close()


def test_a_transformer_sentiment_model_counts_as_torch_work(tiny_models: TinyModels) -> None:
    settings = hub_settings(
        tiny_models, summary_model="extractive", generator_model="", cpu_cores=4
    )
    analyzers = load_analyzers(settings)
    try:
        layout = analyzers.layout
        assert layout is not None
        assert layout.cost is not None
        # Two torch models (the sentiment transformer and the encoder) share what is left.
        assert layout.torch_models == 2
        assert layout.intra_op_threads == (4 - layout.set_aside) // 2
    finally:
        analyzers.close()


def test_with_a_generative_summary_the_cost_is_not_sampled_and_torch_gets_every_core(
    tiny_models: TinyModels,
) -> None:
    analyzers = load_analyzers(hub_settings(tiny_models, generator_model="", cpu_cores=4))
    try:
        layout = analyzers.layout
        assert layout is not None
        assert (layout.chosen_by, layout.cost, layout.set_aside) == (LAYOUT, None, 0)
        assert layout.intra_op_threads == 2  # sentiment and the seq2seq summary, 4 cores
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


def test_numpy_blas_runs_on_the_calling_thread_unless_the_operator_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with threadpool_limits(limits=2, user_api="blas"):
        apply_layout(plan_threads(torch_models=1, cores=2))
        assert _blas_threads() == [1]
    monkeypatch.setenv(OMP_ENV, "2")
    with threadpool_limits(limits=2, user_api="blas"):
        apply_layout(plan_threads(torch_models=1, cores=2))
        assert _blas_threads() == [2]


def _blas_threads() -> list[int]:
    return sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})


class _RecordedSample:
    """Records each sample run in a log shared by the parts of one request."""

    def __init__(self, name: str, runs: list[str]) -> None:
        self.name = name
        self._runs = runs

    def run_sample(self, text: str) -> None:
        assert text
        self._runs.append(self.name)


def test_the_parts_of_a_request_take_turns_so_drift_falls_on_each_alike() -> None:
    runs: list[str] = []
    parts = [(_RecordedSample("encoder", runs), True), (_RecordedSample("spacy", runs), False)]
    measure_request_cost(parts)
    assert runs == ["encoder", "spacy"] * RUNS
