"""Update sinks for the CLI: JSON lines for programs, plain lines for logs and pipes."""

from __future__ import annotations

from types import TracebackType
from typing import IO, Protocol, Self

from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message

from textstream_client.describe import describe
from textstream_client.protos import textstream_pb2 as pb


def to_json(message: Message, *, indent: int | None = None) -> str:
    """Protobuf JSON with the .proto's field names, as grpcurl prints them."""
    return MessageToJson(message, indent=indent, preserving_proto_field_name=True)


class UpdateSink(Protocol):
    """Shows the updates of one stream as they arrive."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def handle(self, update: pb.StageUpdate) -> None: ...


class _Lines:
    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    def write(self, line: str) -> None:
        # Flushed per line, so `| jq` and `| tee` see each update as it arrives.
        self._out.write(line + "\n")
        self._out.flush()


class JsonLines(_Lines):
    """One protobuf-JSON object per line (jsonl), for jq and other programs."""

    def handle(self, update: Message) -> None:
        self.write(to_json(update))


class PlainLines(_Lines):
    """One readable line per update, no colours or cursor movement: for pipes and logs."""

    def handle(self, update: pb.StageUpdate) -> None:
        self.write(describe(update))
