"""Optional bearer-token authentication, as a server interceptor (UNAUTHENTICATED otherwise)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
    Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    Interceptor = grpc.aio.ServerInterceptor


def token_matches(presented: bytes, expected: list[bytes]) -> bool:
    """Whether presented is one of expected (`Bearer <token>`), in constant time."""
    # Compare against every token, always, so timing says nothing about which matched.
    return any([hmac.compare_digest(presented, token) for token in expected])


def _service_of(method: str) -> str:
    # "/package.Service/Method" -> "package.Service"
    return method.lstrip("/").split("/", 1)[0]


def _rejecting(handler: Handler, message: str) -> Handler:
    """A handler of the same shape as handler that answers UNAUTHENTICATED without running."""

    async def reject(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def reject_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
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
    grpcurl `list` keep working. Tokens are compared in constant time.
    """

    def __init__(
        self,
        tokens: list[str],
        exempt: frozenset[str],
        on_reject: Callable[[str], None] | None = None,
    ) -> None:
        self._expected = [f"Bearer {token}".encode() for token in tokens]
        self._exempt = exempt
        self._on_reject = on_reject

    def _authorised(self, metadata: tuple[tuple[str, str | bytes], ...] | None) -> bool:
        presented = b""
        for key, value in metadata or ():
            if key == "authorization":
                presented = value.encode() if isinstance(value, str) else value
        return token_matches(presented, self._expected)

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
        return _rejecting(handler, "missing or invalid bearer token")
