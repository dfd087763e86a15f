"""ClientOptions: where and how a client connects, in one small typed object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

DEFAULT_TARGET = "localhost:50051"
# gRPC caps retryPolicy.maxAttempts at 5; 1 turns retries off.
MAX_ATTEMPTS_CAP = 5
# gRPC's built-in policies: pick_first (its default) keeps one connection to the first address
# that answers; round_robin connects to every address the target resolves to and spreads the
# calls over those that are ready.
LOAD_BALANCING_POLICIES = ("pick_first", "round_robin")


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How to reach a textstream server. Every field has a working default for localhost.

    TLS is used when `tls` is set or any of `ca_file`, `cert_file`, `key_file` is given
    (without `ca_file`, the system's root certificates are trusted). `cert_file` and
    `key_file` together turn on mutual TLS. `token` is sent as `authorization: Bearer <token>`.
    `timeout` is the default deadline of every call, in seconds (None: no deadline).
    `max_attempts` applies to the unary calls only (Process, health checks), which are
    retried on UNAVAILABLE; streams are never retried. `compression` compresses requests
    (e.g. grpc.Compression.Gzip). `metadata` is sent with every call.
    `load_balancing` ("round_robin" or "pick_first"; None: gRPC's default, pick_first) chooses
    how calls spread over the addresses the target resolves to: with "round_robin" and a target
    such as `dns:///host:port` (every A/AAAA record) or `ipv4:10.0.0.1:50051,10.0.0.2:50051`,
    each call goes to the next ready address, and a draining replica's UNAVAILABLE sends a
    unary call on to another (within `max_attempts`).
    """

    target: str = DEFAULT_TARGET
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None
    token: str | None = None
    timeout: float | None = None
    wait_for_ready: bool = False
    max_attempts: int = 4
    compression: grpc.Compression | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    load_balancing: str | None = None

    def __post_init__(self) -> None:
        if not self.target:
            raise ValueError("target must not be empty")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file are needed together (mutual TLS)")
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS_CAP:
            raise ValueError(f"max_attempts must be between 1 and {MAX_ATTEMPTS_CAP}")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError("timeout must be positive (or None for no deadline)")
        if self.load_balancing is not None and self.load_balancing not in LOAD_BALANCING_POLICIES:
            raise ValueError(f"load_balancing must be one of {', '.join(LOAD_BALANCING_POLICIES)}")

    @property
    def uses_tls(self) -> bool:
        return self.tls or any(
            path is not None for path in (self.ca_file, self.cert_file, self.key_file)
        )


def as_options(target_or_options: str | ClientOptions) -> ClientOptions:
    """ClientOptions from a target string, or the options themselves."""
    if isinstance(target_or_options, ClientOptions):
        return target_or_options
    return ClientOptions(target=target_or_options)
