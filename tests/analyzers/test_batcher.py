"""MicroBatcher: shared batches, routing, cancellation, overload, failures and event loops."""

from __future__ import annotations

import asyncio
import threading

import pytest

from analyzers.batcher import MicroBatcher
from analyzers.errors import AnalyzerError, OverloadedError


def doubler(record: list[list[int]] | None = None) -> MicroBatcher[int, int]:
    def run(items: list[int]) -> list[int]:
        if record is not None:
            record.append(list(items))
        return [item * 2 for item in items]

    return MicroBatcher("double", run, max_batch_size=16, max_wait_ms=20, max_queued_items=1000)


class Gate:
    """A run_batch that blocks on the model thread until released, recording its batches."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[list[str]] = []

    def __call__(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        self.entered.set()
        assert self.release.wait(10), "test never released the gate"
        return [item.upper() for item in items]


async def test_concurrent_submits_share_batches_and_get_their_own_results() -> None:
    batches: list[list[int]] = []
    batcher = doubler(batches)
    try:
        results = await asyncio.gather(*(batcher.submit(i) for i in range(100)))
        assert results == [i * 2 for i in range(100)]
        assert batcher.processed_items == 100
        assert batcher.batches == len(batches) < 100
        assert max(len(batch) for batch in batches) <= 16
        assert sum(batcher.recent_batch_sizes) == 100
        assert sorted(item for batch in batches for item in batch) == list(range(100))
    finally:
        batcher.close()


async def test_run_batch_runs_on_the_model_thread() -> None:
    threads: list[str] = []

    def run(items: list[int]) -> list[str]:
        threads.append(threading.current_thread().name)
        return [str(item) for item in items]

    batcher = MicroBatcher("where", run, max_batch_size=4, max_wait_ms=0, max_queued_items=10)
    try:
        assert await batcher.submit(7) == "7"
        assert threads[0].startswith("model-where")
        assert threads[0] != threading.current_thread().name
    finally:
        batcher.close()


async def test_cancelled_items_never_reach_the_model() -> None:
    gate = Gate()
    batcher = MicroBatcher("gate", gate, max_batch_size=8, max_wait_ms=0, max_queued_items=10)
    try:
        first = asyncio.ensure_future(batcher.submit("a"))
        await asyncio.to_thread(gate.entered.wait, 5)
        # The model is busy with "a"; these wait in the queue.
        kept = asyncio.ensure_future(batcher.submit("b"))
        dropped = [asyncio.ensure_future(batcher.submit(x)) for x in ("c", "d")]
        await asyncio.sleep(0.01)
        for task in dropped:
            task.cancel()
        gate.release.set()
        assert await first == "A"
        assert await kept == "B"
        for task in dropped:
            with pytest.raises(asyncio.CancelledError):
                await task
        assert gate.batches == [["a"], ["b"]]
        assert batcher.processed_items == 2
        assert batcher.dropped_items == 2
    finally:
        gate.release.set()
        batcher.close()


async def test_a_full_queue_answers_overloaded_at_once() -> None:
    gate = Gate()
    batcher = MicroBatcher("small", gate, max_batch_size=8, max_wait_ms=0, max_queued_items=2)
    try:
        running = asyncio.ensure_future(batcher.submit("a"))
        await asyncio.to_thread(gate.entered.wait, 5)
        queued = [asyncio.ensure_future(batcher.submit(x)) for x in ("b", "c")]
        await asyncio.sleep(0)
        with pytest.raises(OverloadedError):
            await batcher.submit("d")
        with pytest.raises(OverloadedError):
            await batcher.submit_many(["e"])
        gate.release.set()
        assert await running == "A"
        assert await asyncio.gather(*queued) == ["B", "C"]
        # Room again once the queue drains.
        assert await batcher.submit("f") == "F"
    finally:
        gate.release.set()
        batcher.close()


async def test_a_model_that_always_fails_fails_every_caller_after_one_pass_each() -> None:
    calls: list[list[int]] = []

    def broken(items: list[int]) -> list[int]:
        calls.append(list(items))
        raise ValueError("model exploded")

    batcher = MicroBatcher("broken", broken, max_batch_size=8, max_wait_ms=20, max_queued_items=10)
    try:
        results = await asyncio.gather(
            *(batcher.submit(i) for i in range(5)), return_exceptions=True
        )
        assert all(isinstance(result, ValueError) for result in results)
        assert batcher.batches == 1
        # The batch, then each item once on its own: never more work than that.
        assert calls == [[0, 1, 2, 3, 4], [0], [1], [2], [3], [4]]
        assert batcher.retried_items == 5
    finally:
        batcher.close()


async def test_one_bad_item_fails_only_itself() -> None:
    calls: list[list[str]] = []

    def picky(items: list[str]) -> list[str]:
        calls.append(list(items))
        if "poison" in items:
            raise ValueError("cannot take poison")
        return [item.upper() for item in items]

    batcher = MicroBatcher("picky", picky, max_batch_size=8, max_wait_ms=20, max_queued_items=10)
    try:
        items = ["a", "b", "poison", "c"]
        results = await asyncio.gather(*map(batcher.submit, items), return_exceptions=True)
        assert results[:2] == ["A", "B"]
        assert isinstance(results[2], ValueError)
        assert results[3] == "C"
        assert calls == [items, ["a"], ["b"], ["poison"], ["c"]]
        # The batcher goes on batching afterwards.
        assert await asyncio.gather(*map(batcher.submit, "xy")) == ["X", "Y"]
        assert calls[-1] == ["x", "y"]
    finally:
        batcher.close()


async def test_an_overloaded_batch_is_not_retried() -> None:
    calls: list[list[int]] = []

    def overloaded(items: list[int]) -> list[int]:
        calls.append(list(items))
        raise OverloadedError("downstream queue full")

    batcher = MicroBatcher(
        "busy", overloaded, max_batch_size=8, max_wait_ms=20, max_queued_items=10
    )
    try:
        results = await asyncio.gather(
            *(batcher.submit(i) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(result, OverloadedError) for result in results)
        assert calls == [[0, 1, 2]]
    finally:
        batcher.close()


async def test_items_whose_callers_left_are_not_retried() -> None:
    gate = Gate()
    calls: list[list[str]] = []

    def fails_then_gates(items: list[str]) -> list[str]:
        calls.append(list(items))
        if len(items) > 1:
            raise ValueError("batch failed")
        return gate(items)

    batcher = MicroBatcher(
        "leaving", fails_then_gates, max_batch_size=8, max_wait_ms=20, max_queued_items=10
    )
    try:
        tasks = [asyncio.ensure_future(batcher.submit(x)) for x in ("a", "b", "c")]
        await asyncio.to_thread(gate.entered.wait, 5)  # "a" runs alone now
        tasks[2].cancel()
        gate.release.set()
        assert await tasks[0] == "A"
        assert await tasks[1] == "B"
        with pytest.raises(asyncio.CancelledError):
            await tasks[2]
        assert calls == [["a", "b", "c"], ["a"], ["b"]]
    finally:
        gate.release.set()
        batcher.close()


async def test_a_wrong_number_of_results_is_an_error_not_a_misroute() -> None:
    batcher = MicroBatcher(
        "short", lambda items: items[:-1], max_batch_size=8, max_wait_ms=20, max_queued_items=10
    )
    try:
        results = await asyncio.gather(
            *(batcher.submit(i) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(result, AnalyzerError) for result in results)
    finally:
        batcher.close()


async def test_token_budget_caps_batches_but_always_takes_one_item() -> None:
    batches: list[list[str]] = []

    def run(items: list[str]) -> list[int]:
        batches.append(list(items))
        return [len(item) for item in items]

    batcher = MicroBatcher(
        "budget",
        run,
        max_batch_size=100,
        max_wait_ms=20,
        max_queued_items=100,
        cost=len,
        max_batch_cost=10,
    )
    try:
        texts = ["abcd"] * 6 + ["x" * 50]
        assert await asyncio.gather(*(batcher.submit(t) for t in texts)) == [4] * 6 + [50]
        assert all(sum(len(t) for t in batch) <= 10 for batch in batches if len(batch) > 1)
        assert ["x" * 50] in batches
    finally:
        batcher.close()


async def test_submit_many_cancels_its_queued_items_when_the_caller_goes_away() -> None:
    gate = Gate()
    batcher = MicroBatcher("many", gate, max_batch_size=2, max_wait_ms=0, max_queued_items=10)
    try:
        blocker = asyncio.ensure_future(batcher.submit("a"))
        await asyncio.to_thread(gate.entered.wait, 5)
        request = asyncio.ensure_future(batcher.submit_many(["b", "c", "d"]))
        await asyncio.sleep(0.01)
        request.cancel()
        gate.release.set()
        await blocker
        with pytest.raises(asyncio.CancelledError):
            await request
        assert await batcher.submit("e") == "E"
        assert gate.batches == [["a"], ["e"]]
        assert batcher.dropped_items == 3
    finally:
        gate.release.set()
        batcher.close()


def test_a_batcher_outlives_event_loops() -> None:
    batcher = doubler()
    try:
        for value in range(3):
            # Each asyncio.run is a fresh loop; the batcher rebinds to it.
            assert asyncio.run(batcher.submit(value)) == value * 2
        assert batcher.processed_items == 3
    finally:
        batcher.close()


async def test_closed_batcher_refuses_work() -> None:
    batcher = doubler()
    assert await batcher.submit(1) == 2
    batcher.close()
    batcher.close()  # idempotent
    with pytest.raises(AnalyzerError):
        await batcher.submit(2)


async def test_close_releases_callers_waiting_in_the_queue() -> None:
    gate = Gate()
    batcher = MicroBatcher("closing", gate, max_batch_size=1, max_wait_ms=0, max_queued_items=10)
    running = asyncio.ensure_future(batcher.submit("a"))
    await asyncio.to_thread(gate.entered.wait, 5)
    waiting = asyncio.ensure_future(batcher.submit("b"))
    await asyncio.sleep(0)
    batcher.close()
    gate.release.set()
    results = await asyncio.wait_for(
        asyncio.gather(running, waiting, return_exceptions=True), timeout=5
    )
    assert all(isinstance(result, AnalyzerError) for result in results)
