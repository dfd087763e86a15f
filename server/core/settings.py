"""Every server setting in one typed object: defaults < TOML file < TEXTSTREAM_* env < flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from analyzers.config import ModelSettings

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """Server settings. Nested model settings read from TEXTSTREAM_MODELS__<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="TEXTSTREAM_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    host: str = "[::]"
    port: int = Field(50051, ge=0, le=65535)
    # Let several processes bind the port (set by `serve --workers N`). Off otherwise, so a
    # second server on a taken port fails loudly instead of silently sharing it.
    reuse_port: bool = False

    # Request bounds (the contract's defaults).
    min_text_chars: int = Field(10, ge=1)
    max_text_chars: int = Field(5000, ge=10)
    min_chunk_size: int = Field(50, ge=1)
    max_chunk_size: int = Field(500, ge=1)
    default_chunk_size: int = Field(200, ge=1)
    # The summary stage runs only on texts longer than this: shorter ones need none.
    summary_min_text_chars: int = Field(100, ge=0)
    max_prompt_chars: int = Field(5000, ge=1)

    # Admission control: calls past this many in flight get RESOURCE_EXHAUSTED at once.
    max_concurrent_streams: int = Field(256, ge=1)
    # Seconds a stage may run before it is cut into a DEADLINE_EXCEEDED stage_error.
    stage_timeout_seconds: float = Field(120.0, gt=0)
    # Seconds in-flight calls get to finish after SIGTERM/SIGINT.
    grace_period_seconds: float = Field(30.0, ge=0)
    # Seconds between SIGTERM and closing the port, with health NOT_SERVING and new calls
    # refused, so load balancers see the instance leave before connections are refused.
    shutdown_delay_seconds: float = Field(0.0, ge=0)
    # Updates buffered per stream before stages wait for the client to read.
    stream_buffer_updates: int = Field(64, ge=1)
    # Sentiment chunks each stream has queued or running at once: enough to fill the
    # batcher's batches (with other streams' chunks), few enough that a stream whose client
    # stops reading soon stops its own model work too.
    stream_chunks_in_flight: int = Field(32, ge=1)
    # Document feeds (ProcessFeed, POST /process-feed). Documents of one feed in the pipeline
    # at once, its request stream left unread while it is at the bound: enough for one feed
    # to fill the batchers, few enough that it cannot starve other callers.
    feed_max_in_flight: int = Field(32, ge=1)
    # Documents one feed may send; each one past it gets its own RESOURCE_EXHAUSTED.
    feed_max_documents: int = Field(100_000, ge=1)
    # A feed document starts only while every model queue holds less than this share of its
    # bound (models.max_queued_items), so direct calls always find room in the queues.
    feed_queue_share: float = Field(0.5, gt=0, le=1)

    max_receive_message_bytes: int = Field(1024 * 1024, ge=1024)
    max_send_message_bytes: int = Field(4 * 1024 * 1024, ge=1024)

    log_level: LogLevel = "INFO"

    # TLS: a certificate and key turn TLS on; a client CA also requires client certificates.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    # Bearer tokens (any one is accepted); empty: no authentication.
    auth_tokens: list[SecretStr] = Field(default_factory=list)
    # Services callable without a token, so probes and grpcurl `list` keep working.
    auth_exempt_services: list[str] = Field(
        default_factory=lambda: [
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
            "grpc.reflection.v1.ServerReflection",
        ]
    )
    # Connections are closed (with a grace) after this age, so clients reconnect and load
    # spreads over new replicas; None: never.
    max_connection_age_seconds: float | None = Field(None, gt=0)
    max_connection_age_grace_seconds: float = Field(30.0, ge=0)

    # The HTTP NDJSON API and live page, in the same process and event loop.
    http_enabled: bool = True
    http_host: str = "0.0.0.0"
    http_port: int = Field(8000, ge=0, le=65535)

    # OpenTelemetry traces exported over OTLP/gRPC; off by default.
    tracing_enabled: bool = False
    tracing_otlp_endpoint: str = "http://localhost:4317"

    # Prometheus metrics on their own HTTP port (0: any free port, logged at start).
    metrics_enabled: bool = True
    metrics_port: int = Field(9464, ge=0, le=65535)

    models: ModelSettings = Field(default_factory=ModelSettings)

    @model_validator(mode="after")
    def _bounds_agree(self) -> Settings:
        """Bounds that are each valid alone must also agree with each other."""
        problems = []
        chunks = (self.min_chunk_size, self.default_chunk_size, self.max_chunk_size)
        if not chunks[0] <= chunks[1] <= chunks[2]:
            problems.append(
                "min_chunk_size <= default_chunk_size <= max_chunk_size must hold "
                f"(got {chunks[0]}, {chunks[1]}, {chunks[2]})"
            )
        if self.min_text_chars > self.max_text_chars:
            problems.append(
                f"min_text_chars ({self.min_text_chars}) must be at most max_text_chars "
                f"({self.max_text_chars})"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _tls_pairs(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file must be set together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_client_ca_file (mutual TLS) needs tls_cert_file and tls_key_file")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: flags (init kwargs) > environment > TOML file > field defaults.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from a TOML file, the environment and explicit overrides (None ones dropped)."""
    flags = {key: value for key, value in overrides.items() if value is not None}
    if config_file is None:
        return Settings(**flags)
    if not config_file.is_file():
        raise FileNotFoundError(f"settings file not found: {config_file}")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    return FileSettings(**flags)
