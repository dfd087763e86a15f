"""grpc.health.v1 helpers shared by both clients: the request and the status's name."""

from __future__ import annotations

from typing import Any

from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = "SERVING"


def health_stub(channel: Any) -> Any:
    return health_pb2_grpc.HealthStub(channel)


def health_request(service: str) -> Any:
    return health_pb2.HealthCheckRequest(service=service)


def status_name(response: Any) -> str:
    """The status as a string: "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" or "UNKNOWN"."""
    name: str = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return name
