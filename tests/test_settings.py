"""Settings precedence: defaults < TOML file < TEXTSTREAM_* environment < flags."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from server.core.settings import Settings, load_settings
from tests.cli_runner import ROOT, cli_env


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


@pytest.mark.parametrize(
    ("toml", "env", "keys"),
    [
        (
            "default_chunk_size = 600\n",
            {},
            ["min_chunk_size", "default_chunk_size", "max_chunk_size"],
        ),
        ("", {"TEXTSTREAM_MIN_CHUNK_SIZE": "300"}, ["min_chunk_size", "default_chunk_size"]),
        ("max_chunk_size = 100\n", {}, ["default_chunk_size", "max_chunk_size"]),
        ("min_text_chars = 50\nmax_text_chars = 40\n", {}, ["min_text_chars", "max_text_chars"]),
        (
            "[models]\ndefault_max_new_tokens = 100\nmax_new_tokens_cap = 50\n",
            {},
            ["default_max_new_tokens", "max_new_tokens_cap"],
        ),
        (
            "",
            {"TEXTSTREAM_MODELS__MAX_NEW_TOKENS_CAP": "32"},
            ["default_max_new_tokens", "max_new_tokens_cap"],
        ),
        (
            "[models]\nsummary_min_tokens = 130\n",
            {},
            ["summary_min_tokens", "summary_max_tokens"],
        ),
        (
            "",
            {"TEXTSTREAM_MODELS__SUMMARY_MAX_TOKENS": "20"},
            ["summary_min_tokens", "summary_max_tokens"],
        ),
    ],
)
def test_settings_that_disagree_are_refused_naming_the_keys(tmp_path, monkeypatch, toml, env, keys):
    config = tmp_path / "textstream.toml"
    config.write_text(toml)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        load_settings(config)
    for key in keys:
        assert key in str(error.value)


def test_settings_may_meet_at_their_bounds():
    settings = Settings(
        min_chunk_size=100,
        default_chunk_size=100,
        max_chunk_size=100,
        min_text_chars=20,
        max_text_chars=20,
        models={"default_max_new_tokens": 16, "max_new_tokens_cap": 16, "summary_min_tokens": 29},
    )
    assert settings.models.summary_max_tokens == 130


def _serve(config, **env: str) -> subprocess.CompletedProcess[str]:
    # Should the settings be accepted, the server would start: on free ports, and cut short.
    return subprocess.run(
        [sys.executable, "-m", "textstream_client.cli", "serve", "--config", str(config)],
        cwd=ROOT,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_to_start_with_settings_that_disagree(tmp_path):
    config = tmp_path / "textstream.toml"
    config.write_text(
        "port = 0\nhttp_enabled = false\nmetrics_enabled = false\n"
        "min_chunk_size = 100\ndefault_chunk_size = 80\n"
    )
    from_file = _serve(config)
    config.write_text("port = 0\nhttp_enabled = false\nmetrics_enabled = false\n")
    from_env = _serve(config, TEXTSTREAM_MODELS__DEFAULT_MAX_NEW_TOKENS="1000")
    for result, keys in (
        (from_file, ["min_chunk_size", "default_chunk_size", "max_chunk_size"]),
        (from_env, ["default_max_new_tokens", "max_new_tokens_cap"]),
    ):
        assert result.returncode == 2, result.stderr
        assert "invalid settings" in result.stderr
        for key in keys:
            assert key in result.stderr
        assert "listening" not in result.stderr
