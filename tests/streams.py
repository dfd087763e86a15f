"""Helpers for reading streams and statuses in tests."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

T = TypeVar("T")

REVIEW = (
    "I love this phone. The screen is excellent and the battery is great. "
    "Support at Acme was wonderful when I called. Shipping from Berlin was slow but fine. "
    "The case it came with is bad and the charger is terrible. Overall I am happy with it."
)


def case(update: pb.StageUpdate) -> str:
    return update.WhichOneof("update") or ""


async def stream(
    stub: pb_grpc.TextProcessorStub, metadata: Any = None, **fields: Any
) -> list[pb.StageUpdate]:
    call = stub.ProcessStream(pb.ProcessRequest(**fields), metadata=metadata)
    return [update async for update in call]


async def rpc_error(awaitable: Any) -> grpc.aio.AioRpcError:
    """The AioRpcError an awaited unary call or an exhausted stream raises."""
    try:
        if hasattr(awaitable, "__aiter__"):
            async for _ in awaitable:
                pass
        else:
            await awaitable
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded")


def bad_fields(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """field -> description from the google.rpc.BadRequest detail of an error."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "no rich status attached"
    fields: dict[str, str] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.update({v.field: v.description for v in bad.field_violations})
    return fields


async def read_rest(call: Any) -> list[pb.StageUpdate]:
    """The remaining updates of a stream already read with call.read()."""
    updates = []
    while (update := await call.read()) is not grpc.aio.EOF:
        updates.append(update)
    return updates


async def until(condition: Callable[[], object], within: float = 10.0, pause: float = 0.02) -> None:
    """Polls condition() until it is true; fails the test when `within` seconds pass first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() >= deadline:
            raise AssertionError(f"still false after {within:g}s: {_source(condition)}")
        await asyncio.sleep(pause)


async def steady(
    read: Callable[[], T], quiet: float, within: float = 10.0, pause: float = 0.02
) -> T:
    """The value of read() once it has not changed for quiet seconds.

    Fails the test when it is still changing after `within` seconds. Choose quiet well above
    the time one step of the watched work takes (ten steps or more), so work that goes on
    slowly is never taken for work that has stopped.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    value = read()
    since = loop.time()
    while loop.time() - since < quiet:
        if loop.time() >= deadline:
            raise AssertionError(
                f"still changing after {within:g}s (now {value!r}): {_source(read)}"
            )
        await asyncio.sleep(pause)
        now = read()
        if now != value:
            value, since = now, loop.time()
    return value


def _source(function: Callable[..., object]) -> str:
    try:
        return inspect.getsource(function).strip()
    except (OSError, TypeError):
        return repr(function)
