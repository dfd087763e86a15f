"""Settings precedence: defaults < TOML file < TEXTSTREAM_* environment < flags."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from server.settings import Settings, load_settings


def test_each_source_overrides_the_one_before(tmp_path, monkeypatch):
    config = tmp_path / "textstream.toml"
    config.write_text(
        "port = 6000\nmax_text_chars = 100\ngrace_period_seconds = 3\n"
        '[models]\ndevice = "cpu"\nmax_batch_size = 4\nmax_batch_wait_ms = 9\n'
    )
    monkeypatch.setenv("TEXTSTREAM_MAX_TEXT_CHARS", "200")
    monkeypatch.setenv("TEXTSTREAM_MODELS__MAX_BATCH_SIZE", "8")

    settings = load_settings(config, grace_period_seconds=5, models={"max_batch_wait_ms": 1})

    assert settings.port == 6000  # TOML over default
    assert settings.max_text_chars == 200  # environment over TOML
    assert settings.grace_period_seconds == 5  # flag over TOML
    assert settings.models.device == "cpu"  # nested TOML kept beside nested env and flags
    assert settings.models.max_batch_size == 8
    assert settings.models.max_batch_wait_ms == 1
    assert settings.min_chunk_size == 50  # default


def test_defaults_follow_the_contract():
    settings = Settings()
    assert settings.port == 50051
    assert (settings.min_text_chars, settings.max_text_chars) == (10, 5000)
    assert (settings.min_chunk_size, settings.default_chunk_size, settings.max_chunk_size) == (
        50,
        200,
        500,
    )
    assert settings.models.profile == "offline"
    assert settings.models.generator_model == ""


def test_unknown_and_bad_settings_are_errors(tmp_path, monkeypatch):
    config = tmp_path / "typo.toml"
    config.write_text('[models]\ndevcie = "cuda"\n')
    with pytest.raises(ValidationError, match="devcie"):
        load_settings(config)
    monkeypatch.setenv("TEXTSTREAM_PORT", "not a port")
    with pytest.raises(ValidationError, match="port"):
        load_settings()
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "missing.toml")
