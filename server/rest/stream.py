"""Streamed responses whose producer stops the moment the client goes away."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Mapping

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from server.rest.calls import HttpCall


async def _disconnected(receive: Receive) -> None:
    # After the request body, the server's next message is http.disconnect: the client
    # closed the connection (or the response is complete).
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(work: Awaitable[None], receive: Receive) -> bool:
    """Runs work until it finishes (True) or the client leaves (False), whichever is first.

    When the client leaves, work is cancelled: a batch nobody waits for stops computing.
    """
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        task.cancel()
        gone.cancel()
        await asyncio.gather(task, gone, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()  # raises what the work raised
    return True


class LiveStream(StreamingResponse):
    """Sends each piece of body as it is produced; the call is recorded when it ends.

    Starlette's StreamingResponse stops sending when the client disconnects but leaves the
    body generator suspended until garbage collection. Here the generator is closed at once,
    which closes the pipeline and cancels its model work, exactly as a gRPC cancel does.
    """

    def __init__(
        self,
        body: AsyncGenerator[bytes, None],
        media_type: str,
        call: HttpCall,
        headers: Mapping[str, str] | None = None,
        *,
        watch: Receive | None = None,
    ) -> None:
        super().__init__(body, media_type=media_type, headers=headers)
        self._body = body
        self._call = call
        # Where the client's leaving shows, for a response sent while its request body is
        # still read (a feed's BodyReader owns receive then); None: receive itself.
        self._watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            # A failure in the body propagates: the status line is gone, so a broken
            # connection is the only way left to tell the client its stream is incomplete.
            await unless_disconnected(self._pump(send), self._watch or receive)
        finally:
            # Also on cancellation from outside (the grace period ran out at shutdown).
            await self._call.end()

    async def _pump(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async with contextlib.aclosing(self._body):
            async for chunk in self._body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self._call.outcome = self._call.outcome or "200"
