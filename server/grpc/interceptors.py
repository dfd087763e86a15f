"""Server interceptors: bearer-token authentication (UNAUTHENTICATED otherwise) and call spans."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry.sdk.trace import TracerProvider

from server.core.auth import BearerTokens
from server.core.errors import ErrorKind, Unauthenticated
from server.core.settings import Settings
from server.core.state import ServiceState
from server.grpc.status import grpc_code_for

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
    Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    Interceptor = grpc.aio.ServerInterceptor

_UNAUTHENTICATED = grpc_code_for(ErrorKind.UNAUTHENTICATED)


def _service_of(method: str) -> str:
    # "/package.Service/Method" -> "package.Service"
    return method.lstrip("/").split("/", 1)[0]


def _rejecting(handler: Handler, message: str) -> Handler:
    """A handler of the same shape as handler that answers UNAUTHENTICATED without running."""

    async def reject(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(_UNAUTHENTICATED, message)

    async def reject_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(_UNAUTHENTICATED, message)
        yield  # pragma: no cover - makes this an async generator, as streaming handlers are

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(reject, **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(reject_stream, **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(reject, **kwargs)
    return grpc.stream_stream_rpc_method_handler(reject_stream, **kwargs)


class BearerTokenInterceptor(Interceptor):
    """Lets a call through only with `authorization: Bearer <token>` metadata.

    Services in `exempt` (health and reflection by default) need no token, so probes and
    grpcurl `list` keep working. Tokens are compared in constant time (server/core/auth.py).
    """

    def __init__(
        self,
        tokens: BearerTokens,
        exempt: frozenset[str],
        on_reject: Callable[[str], None] | None = None,
    ) -> None:
        self._tokens = tokens
        self._exempt = exempt
        self._on_reject = on_reject

    def _authorised(self, metadata: tuple[tuple[str, str | bytes], ...] | None) -> bool:
        presented: str | bytes = b""
        for key, value in metadata or ():
            if key == "authorization":
                presented = value
        return self._tokens.accepts(presented)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        if handler is None or _service_of(handler_call_details.method) in self._exempt:
            return handler
        if self._authorised(handler_call_details.invocation_metadata):
            return handler
        if self._on_reject is not None:
            self._on_reject(handler_call_details.method.rsplit("/", 1)[-1])
        return _rejecting(handler, str(Unauthenticated("missing or invalid bearer token")))


def _tracing(provider: TracerProvider | None) -> list[Any]:
    """The call-span interceptor; it takes the trace context from incoming metadata."""
    if provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor(tracer_provider=provider)]  # type: ignore[no-untyped-call]


def server_interceptors(settings: Settings, state: ServiceState) -> list[Any]:
    """Call spans first (when tracing), then authentication (when tokens are configured)."""
    interceptors = _tracing(state.tracer_provider)
    tokens = BearerTokens([token.get_secret_value() for token in settings.auth_tokens])
    if tokens.required:

        def rejected(method: str) -> None:
            state.metrics.call_ended(method, _UNAUTHENTICATED.name, 0.0)

        exempt = frozenset(settings.auth_exempt_services)
        interceptors.append(BearerTokenInterceptor(tokens, exempt, rejected))
    return interceptors
