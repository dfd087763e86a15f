"""Session fixtures for real analyzers: the offline profile and tiny hub-style models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from analyzers.loader import load_analyzers
from tests.analyzers.conftest import hub_settings
from tests.analyzers.tiny import TinyModels, build


@pytest.fixture(scope="session")
def offline() -> Iterator[Analyzers]:
    analyzers = load_analyzers(ModelSettings(profile="offline", device="cpu"))
    yield analyzers
    analyzers.close()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return build(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def hub(tiny_models: TinyModels) -> Iterator[Analyzers]:
    analyzers = load_analyzers(hub_settings(tiny_models))
    yield analyzers
    analyzers.close()
