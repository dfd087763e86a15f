"""Build, load and warm the analyzers a ModelSettings asks for."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from analyzers.base import Analyzer, Analyzers, Sampled
from analyzers.batcher import BatchLimits
from analyzers.config import ModelSettings
from analyzers.cpu import ThreadLayout, apply_layout, plan_threads
from analyzers.decoding.scheduler import DecodeLimits
from analyzers.device import Placement, gpu_memory_in_use, placement
from analyzers.entities import SpacyEntities
from analyzers.errors import AnalyzerError
from analyzers.generate import CausalGenerator
from analyzers.priority import set_work_niceness
from analyzers.request_cost import measure_request_cost
from analyzers.sentiment import TransformerSentiment, VaderSentiment
from analyzers.sources import EXTRACTIVE, VADER, model_sources, torch_model_count
from analyzers.summary import CentralitySummarizer, Seq2SeqSummarizer

log = logging.getLogger(__name__)

# The longest reason quoted from a loading error.
_REASON_CHARS = 300


L = TypeVar("L", bound=Analyzer)


def load_analyzers(settings: ModelSettings) -> Analyzers:
    """Load every analyzer the settings name, warm each with one real inference, and time it.

    Blocking (seconds to minutes): the server calls it in a thread. An explicit model setting
    replaces the profile's default; "vader" and "extractive" name the built-in sentiment and
    summary analyzers. Raises AnalyzerError naming the model that failed and why.
    """
    where = placement(settings.device, settings.dtype)
    limits = BatchLimits.from_settings(settings)
    # Before any model thread or process starts: each takes the priority when it does.
    set_work_niceness(settings.work_niceness)
    sources = model_sources(settings)
    layout = None
    if not where.is_cuda:
        # Until the request's cost is measured, one thread per model (the layout to measure
        # with), unless an operator chose.
        layout = plan_threads(
            torch_models=torch_model_count(sources),
            cores=settings.cpu_cores,
            setting=settings.intra_op_threads,
        )
        apply_layout(layout)
    loader = _Loader()
    try:
        sentiment_analyzer = loader.load(
            "sentiment", sources["sentiment"], _sentiment(sources["sentiment"], where, limits)
        )
        summarizer = loader.load(
            "summary", sources["summary"], _summarizer(sources["summary"], where, limits, settings)
        )
        recognizer = loader.load(
            "entities",
            sources["entities"],
            lambda: SpacyEntities(sources["entities"], limits=limits),
        )
        generator = None
        if sources["generator"]:
            generator = loader.load(
                "generator",
                sources["generator"],
                lambda: CausalGenerator(
                    sources["generator"],
                    placement=where,
                    limits=DecodeLimits.from_settings(settings),
                    max_new_tokens_cap=settings.max_new_tokens_cap,
                ),
            )
        if layout is not None and layout.needs_cost:
            layout = _measured_layout(
                layout,
                [
                    (sentiment_analyzer, sources["sentiment"].lower() != VADER),
                    (summarizer, True),
                    (recognizer, False),
                ],
            )
            apply_layout(layout)
    except BaseException:
        loader.close_all()
        raise
    return Analyzers(
        sentiment=sentiment_analyzer,
        summarizer=summarizer,
        entities=recognizer,
        generator=generator,
        load_seconds=loader.seconds,
        gpu_memory=gpu_memory_in_use if where.is_cuda else None,
        layout=layout,
    )


def _measured_layout(provisional: ThreadLayout, parts: list[tuple[Analyzer, bool]]) -> ThreadLayout:
    """The layout for the request's measured CPU cost; parts pair each analysis model with
    whether it computes in torch. A generative model cannot be sampled cheaply, and its
    decoding outweighs the rest: torch then gets every core."""
    sampled = [(part, on_torch) for part, on_torch in parts if isinstance(part, Sampled)]
    if len(sampled) < len(parts):
        return plan_threads(
            torch_models=provisional.torch_models, cores=provisional.cores, measured=False
        )
    return plan_threads(
        torch_models=provisional.torch_models,
        cores=provisional.cores,
        cost=measure_request_cost(sampled),
    )


def _sentiment(
    source: str, where: Placement, limits: BatchLimits
) -> Callable[[], VaderSentiment | TransformerSentiment]:
    if source.lower() == VADER:
        return lambda: VaderSentiment(limits)
    return lambda: TransformerSentiment(source, placement=where, limits=limits)


def _summarizer(
    source: str, where: Placement, limits: BatchLimits, settings: ModelSettings
) -> Callable[[], CentralitySummarizer | Seq2SeqSummarizer]:
    if source.lower() == EXTRACTIVE:
        return lambda: CentralitySummarizer(
            placement=where,
            limits=dataclasses.replace(limits, max_batch_size=settings.max_batch_sentences),
            min_tokens=settings.summary_min_tokens,
            max_tokens=settings.summary_max_tokens,
            trace_encoder=settings.trace_encoder,
        )
    return lambda: Seq2SeqSummarizer(
        source,
        placement=where,
        limits=DecodeLimits.from_settings(settings),
        min_tokens=settings.summary_min_tokens,
        max_tokens=settings.summary_max_tokens,
    )


class _Loader:
    """Loads analyzers one by one, timing each and remembering them for cleanup."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._loaded: list[Analyzer] = []

    def load(self, role: str, source: str, build: Callable[[], L]) -> L:
        started = time.perf_counter()
        try:
            analyzer = build()
        except Exception as exc:
            raise _load_error(role, source, "could not be loaded", exc) from exc
        self._loaded.append(analyzer)
        try:
            analyzer.warm()
        except Exception as exc:
            raise _load_error(role, source, "loaded but failed its warm-up run", exc) from exc
        elapsed = time.perf_counter() - started
        self.seconds[analyzer.name] = elapsed
        log.info('loaded %s model "%s" in %.2f s', role, source, elapsed)
        return analyzer

    def close_all(self) -> None:
        for analyzer in self._loaded:
            analyzer.close()


def _load_error(role: str, source: str, what: str, exc: Exception) -> AnalyzerError:
    """The reason's first line only: loading errors run to paragraphs and never need a trace."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else ""
    if len(reason) > _REASON_CHARS:
        reason = reason[: _REASON_CHARS - 1] + "…"
    if not isinstance(exc, AnalyzerError):
        reason = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
    return AnalyzerError(f'the {role} model "{source}" {what}: {reason}')
