"""Channels from ClientOptions: credentials, retry service config and per-call metadata."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import grpc

from textstream_client.options import ClientOptions

SERVICE = "textstream.v1.TextProcessor"
HEALTH_SERVICE = "grpc.health.v1.Health"

# Only unary methods are retried: a stream that has yielded updates must never be replayed.
RETRIED_METHODS = (
    {"service": SERVICE, "method": "Process"},
    {"service": HEALTH_SERVICE, "method": "Check"},
)

Metadata = tuple[tuple[str, str], ...]
# What callers may pass as a call's metadata: a mapping or (key, value) pairs.
MetadataLike = Mapping[str, str] | Iterable[tuple[str, str]]
ChannelArgs = list[tuple[str, Any]]


def service_config(max_attempts: int, load_balancing: str | None = None) -> str:
    """The channel's service config: retry UNAVAILABLE on the unary methods only, and the
    load-balancing policy (None: gRPC's default, pick_first)."""
    config: dict[str, Any] = {"methodConfig": []}
    if max_attempts >= 2:
        policy = {
            "maxAttempts": max_attempts,
            "initialBackoff": "0.1s",
            "maxBackoff": "2s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        }
        config["methodConfig"] = [{"name": list(RETRIED_METHODS), "retryPolicy": policy}]
    if load_balancing is not None:
        config["loadBalancingConfig"] = [{load_balancing: {}}]
    return json.dumps(config)


def channel_args(options: ClientOptions) -> ChannelArgs:
    args: ChannelArgs = [
        ("grpc.service_config", service_config(options.max_attempts, options.load_balancing)),
        ("grpc.enable_retries", 1 if options.max_attempts > 1 else 0),
        # The server's default largest update is 4 MiB; accept that much.
        ("grpc.max_receive_message_length", 4 * 1024 * 1024),
    ]
    if options.server_name and options.uses_tls:
        args.append(("grpc.ssl_target_name_override", options.server_name))
        args.append(("grpc.default_authority", options.server_name))
    return args


def _read(path: Path | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


def channel_credentials(options: ClientOptions) -> grpc.ChannelCredentials:
    """TLS (mutual when a client certificate is given), with the bearer token attached."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(options.ca_file),
        private_key=_read(options.key_file),
        certificate_chain=_read(options.cert_file),
    )
    if options.token:
        return grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(options.token)
        )
    return credentials


def call_metadata(options: ClientOptions, extra: MetadataLike | None = None) -> Metadata:
    """The options' metadata, the bearer token where TLS cannot carry it, then a call's own."""
    metadata = list(options.metadata)
    if options.token and not options.uses_tls:
        # Call credentials need a secure channel; on plaintext the token rides as metadata.
        metadata.append(("authorization", f"Bearer {options.token}"))
    if extra is not None:
        items = extra.items() if isinstance(extra, Mapping) else extra
        metadata.extend((str(key), str(value)) for key, value in items)
    return tuple(metadata)


def sync_channel(options: ClientOptions) -> grpc.Channel:
    args = channel_args(options)
    if options.uses_tls:
        return grpc.secure_channel(
            options.target, channel_credentials(options), args, options.compression
        )
    return grpc.insecure_channel(options.target, args, options.compression)


def aio_channel(options: ClientOptions) -> grpc.aio.Channel:
    args = channel_args(options)
    if options.uses_tls:
        return grpc.aio.secure_channel(
            options.target, channel_credentials(options), args, options.compression
        )
    return grpc.aio.insecure_channel(options.target, args, options.compression)


def deadline(options: ClientOptions, timeout: float | None) -> float | None:
    """A call's own timeout, else the options' default (None: no deadline)."""
    return options.timeout if timeout is None else timeout
