"""Room for feed documents in the model queues: a share of every queue stays for direct calls."""

from __future__ import annotations

import asyncio

from analyzers.base import Analyzers

# Queues announce nothing as they shrink (a batch starts, cancelled items are pruned), so a
# document waiting for room looks again this often; only while the queues are that busy.
POLL_SECONDS = 0.005


class Headroom:
    """Whether one more feed document may start, and waiting until it may.

    A feed document starts only while every micro-batcher holds fewer than share x bound
    items (bound: models.max_queued_items, which every batcher is built with) and no queue an
    analysis waits in is full (the decoding queues show no depth, only whether they are full).
    Direct calls are never held back, so they always find the rest of each queue.
    """

    def __init__(self, analyzers: Analyzers, bound: int, share: float) -> None:
        self._analyzers = analyzers
        self._batchers = analyzers.batchers()
        self._limit = share * bound

    def has_room(self) -> bool:
        if any(batcher.queued_items >= self._limit for batcher in self._batchers):
            return False
        return self._analyzers.full_queue(generation=False) is None

    async def wait(self) -> None:
        """Returns once a feed document may start."""
        # Polled: no event says that a queue has shrunk (see POLL_SECONDS).
        while not self.has_room():  # noqa: ASYNC110
            await asyncio.sleep(POLL_SECONDS)
