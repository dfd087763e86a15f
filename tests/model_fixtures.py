"""Session fixtures for real analyzers: the offline profile and tiny hub-style models."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from analyzers.generate import CausalGenerator
from analyzers.loader import load_analyzers
from tests.analyzers.conftest import decode_limits, hub_placement, hub_settings
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


@pytest.fixture
def stalling_generator(
    tiny_models: TinyModels, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CausalGenerator]:
    """The tiny causal model, whose forward pass hangs: each row stalls after 0.5 s."""
    generator = CausalGenerator(
        str(tiny_models.generator),
        placement=hub_placement(),
        limits=decode_limits(tiny_models, token_timeout_seconds=0.5),
    )
    release = threading.Event()
    real_forward = generator.model.forward

    def hanging(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        return real_forward(*args, **kwargs)

    monkeypatch.setattr(generator.model, "forward", hanging)
    try:
        yield generator
    finally:
        release.set()
        generator.close()
