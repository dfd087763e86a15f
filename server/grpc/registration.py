"""Registers TextProcessor handlers whose deserializers never turn bad bytes into INTERNAL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf.message import DecodeError
from textstream_client.protos import textstream_pb2 as pb

# The service's full name in the contract (protos/textstream.proto).
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TextProcessor"].full_name


@dataclass(frozen=True, slots=True)
class Undecodable:
    """Stands in for a request whose bytes did not parse (e.g. a string that is not UTF-8)."""

    type_name: str


def _tolerant(parse: Callable[[bytes], Any], type_name: str) -> Callable[[bytes], Any]:
    # grpc answers INTERNAL when a deserializer raises; the servicer answers INVALID_ARGUMENT
    # for an Undecodable instead, as the contract asks.
    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError:
            return Undecodable(type_name)

    return deserialize


class TextProcessorHandlers(Protocol):
    def ProcessStream(self, request: Any, context: Any) -> Any: ...
    async def Process(self, request: Any, context: Any) -> Any: ...
    def GenerateStream(self, request: Any, context: Any) -> Any: ...
    def ProcessFeed(self, requests: Any, context: Any) -> Any: ...


def add_text_processor(servicer: TextProcessorHandlers, server: grpc.aio.Server) -> None:
    process_request = _tolerant(pb.ProcessRequest.FromString, "ProcessRequest")
    generate_request = _tolerant(pb.GenerateRequest.FromString, "GenerateRequest")
    feed_request = _tolerant(pb.FeedRequest.FromString, "FeedRequest")
    handlers = {
        "ProcessStream": grpc.unary_stream_rpc_method_handler(
            servicer.ProcessStream,
            request_deserializer=process_request,
            response_serializer=pb.StageUpdate.SerializeToString,
        ),
        "Process": grpc.unary_unary_rpc_method_handler(
            servicer.Process,
            request_deserializer=process_request,
            response_serializer=pb.ProcessResponse.SerializeToString,
        ),
        "GenerateStream": grpc.unary_stream_rpc_method_handler(
            servicer.GenerateStream,
            request_deserializer=generate_request,
            response_serializer=pb.GenerateUpdate.SerializeToString,
        ),
        "ProcessFeed": grpc.stream_stream_rpc_method_handler(
            servicer.ProcessFeed,
            request_deserializer=feed_request,
            response_serializer=pb.FeedUpdate.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    # Registered handlers skip the generic lookup per call (grpc >= 1.62; not in grpc-stubs).
    server.add_registered_method_handlers(SERVICE_NAME, handlers)  # type: ignore[attr-defined]
