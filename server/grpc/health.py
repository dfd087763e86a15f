"""grpc.health.v1 for the gRPC transport: readiness follows the core's; liveness is always on."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from server.core.state import Readiness, ServiceState
from server.grpc.registration import SERVICE_NAME

# Always SERVING while the process answers on its event loop: a liveness probe that does not
# follow model readiness (Kubernetes restarts pods whose liveness fails).
LIVENESS_NAME = "liveness"
# Readiness: the whole server ("") and the TextProcessor service.
_READINESS_NAMES = (health.OVERALL_HEALTH, SERVICE_NAME)

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def add_health(state: ServiceState, server: grpc.aio.Server) -> None:
    """Registers the health service on server, following state's readiness from now on.

    Draining turns readiness NOT_SERVING but leaves liveness SERVING: the process is alive,
    and a liveness probe that failed now would kill it before its streams finish (the
    servicer's enter_graceful_shutdown() would flip every name, liveness included).
    """
    # The public asyncio servicer (health.aio); grpc-stubs predates it.
    servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    await servicer.set(LIVENESS_NAME, _SERVING)

    async def follow(readiness: Readiness) -> None:
        status = _SERVING if readiness is Readiness.READY else _NOT_SERVING
        for name in _READINESS_NAMES:
            await servicer.set(name, status)

    await state.follow_readiness(follow)
