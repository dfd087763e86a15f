"""Reading the rich error details (google.rpc.Status) a textstream server attaches to errors."""

from __future__ import annotations

from typing import Any, cast

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


def _details(error: grpc.RpcError) -> list[Any]:
    """The google.protobuf.Any details of an error's google.rpc.Status, if it carries one."""
    try:
        # Every RpcError gRPC raises is also the grpc.Call it ended.
        status = rpc_status.from_call(cast(grpc.Call, error))
    except (ValueError, AttributeError):
        # No call attached, or a status that disagrees with the call's code or message.
        return []
    return list(status.details) if status is not None else []


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    """field -> description for each google.rpc.BadRequest violation (empty when none)."""
    violations: dict[str, str] = {}
    for detail in _details(error):
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            for violation in bad_request.field_violations:
                field, description = violation.field, violation.description
                if field in violations:
                    description = f"{violations[field]}; {description}"
                violations[field] = description
    return violations


def retry_delay(error: grpc.RpcError) -> float | None:
    """Seconds the server asks the caller to wait (google.rpc.RetryInfo), if it says."""
    for detail in _details(error):
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return float(info.retry_delay.ToNanoseconds()) / 1e9
    return None
