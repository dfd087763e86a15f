"""create_server: the grpc.aio server with TextProcessor, health and reflection registered."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as reflection_v1alpha
from textstream_client.protos import textstream_pb2 as pb

from analyzers.base import Analyzers
from server.core.settings import Settings
from server.core.state import ServiceState
from server.grpc.health import add_health
from server.grpc.interceptors import server_interceptors
from server.grpc.registration import SERVICE_NAME, add_text_processor
from server.grpc.servicer import TextProcessorServicer

# grpcio-reflection ships only v1alpha; v1 has the same messages on the wire under another
# service name, so newer grpcurl and Postman find the service too.
_REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


def _server_options(settings: Settings) -> list[tuple[str, int]]:
    options = [
        ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
        ("grpc.max_send_message_length", settings.max_send_message_bytes),
        # Keepalive enforcement: clients may ping at most every 10 s, even when idle.
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.so_reuseport", int(settings.reuse_port)),
    ]
    if settings.max_connection_age_seconds is not None:
        options += [
            ("grpc.max_connection_age_ms", int(settings.max_connection_age_seconds * 1000)),
            (
                "grpc.max_connection_age_grace_ms",
                int(settings.max_connection_age_grace_seconds * 1000),
            ),
        ]
    return options


def _credentials(settings: Settings) -> grpc.ServerCredentials | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    client_ca = settings.tls_client_ca_file
    return grpc.ssl_server_credentials(
        [(settings.tls_key_file.read_bytes(), settings.tls_cert_file.read_bytes())],
        root_certificates=client_ca.read_bytes() if client_ca else None,
        require_client_auth=client_ca is not None,
    )


def _add_reflection(server: grpc.aio.Server) -> None:
    names = (
        SERVICE_NAME,
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(names, server)
    # The public asyncio servicer (reflection.aio); grpc-stubs predates it.
    servicer = reflection.aio.ReflectionServicer(names)  # type: ignore[attr-defined]
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_v1alpha.ServerReflectionRequest.FromString,
        response_serializer=reflection_v1alpha.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(_REFLECTION_V1, {"ServerReflectionInfo": handler}),)
    )


async def create_server(
    settings: Settings,
    analyzers: Analyzers | None = None,
    state: ServiceState | None = None,
) -> tuple[grpc.aio.Server, int]:
    """A server bound to settings.host:settings.port (0 picks a free port), not yet started.

    With analyzers it serves at once; without, health stays NOT_SERVING and calls get
    UNAVAILABLE until state.set_ready(analyzers) is awaited.
    """
    state = state or ServiceState(settings)
    interceptors = server_interceptors(settings, state)
    server = grpc.aio.server(options=_server_options(settings), interceptors=interceptors)
    add_text_processor(TextProcessorServicer(state), server)
    await add_health(state, server)
    _add_reflection(server)
    if analyzers is not None:
        await state.set_ready(analyzers)
    address = f"{settings.host}:{settings.port}"
    credentials = _credentials(settings)
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    if port == 0:
        raise OSError(f"could not bind {settings.host}:{settings.port}")
    return server, port


__all__ = ["create_server", "pb"]
