"""Model processes: calls, errors, crashes, shutdown, logs and priority across the boundary."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pytest

from analyzers.errors import AnalyzerError
from analyzers.priority import MAX_NICE, set_work_niceness, work_executor
from analyzers.process_worker import ProcessWorker, cpu_seconds_with_children

TARGET = "tests.analyzers.process_targets:Target"


@pytest.fixture
def worker():
    worker = ProcessWorker("test-target", TARGET, "first")
    yield worker
    worker.close()


def _wait_until(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.01)


def _error_of_a_long_call(worker: ProcessWorker, interrupt) -> list[BaseException]:
    """What a minute-long call on another thread raised once interrupt() ran beside it."""
    errors: list[BaseException] = []

    def call() -> None:
        try:
            worker.call("sleep", 60)
        except BaseException as error:
            errors.append(error)

    running = threading.Thread(target=call)
    running.start()
    time.sleep(0.2)  # give the call time to reach the child
    interrupt()
    running.join(30)
    assert not running.is_alive()
    return errors


def test_calls_run_in_a_child_process_that_reported_at_start(worker):
    assert worker.info["label"] == "first"
    child = worker.call("pid")
    assert child == worker.info["pid"] == worker.pid
    assert child != os.getpid()
    assert worker.call("echo", "text", [1, 2], {"k": None}) == ("text", [1, 2], {"k": None})


def test_an_error_in_the_child_is_raised_here_with_its_type(worker):
    with pytest.raises(KeyError, match="no such entry"):
        worker.call("fail", "no such entry")
    with pytest.raises(RuntimeError, match="Unpicklable"):
        worker.call("fail_unpicklably")
    # The child goes on serving after either.
    assert worker.call("echo", 1) == (1,)


def test_a_factory_that_fails_fails_the_start_with_its_reason():
    with pytest.raises(AnalyzerError, match="failed to load: ValueError: broken cannot load"):
        ProcessWorker("broken", TARGET, "broken", True)


def test_a_child_that_dies_fails_its_call_and_the_next_call_starts_a_new_one(worker):
    first = worker.call("pid")
    # Most often the call is in the child by then; sent after the kill, it fails the same way.
    [error] = _error_of_a_long_call(worker, lambda: os.kill(first, signal.SIGKILL))
    assert isinstance(error, AnalyzerError)
    assert "process ended (exit code -9)" in str(error)
    second = worker.call("pid")
    assert second != first


def test_close_ends_a_call_in_flight_and_the_child(worker):
    child = worker.call("pid")
    # Most often the call is in the child by then; one that comes after close fails the same.
    [error] = _error_of_a_long_call(worker, worker.close)
    assert isinstance(error, AnalyzerError)
    assert "shut down" in str(error)
    _wait_until(lambda: not os.path.exists(f"/proc/{child}"))
    with pytest.raises(AnalyzerError, match="shut down"):
        worker.call("pid")


def test_the_child_ignores_the_signals_the_server_drains_on(worker):
    child = worker.call("pid")
    os.kill(child, signal.SIGINT)
    os.kill(child, signal.SIGTERM)
    assert worker.call("pid") == child


def test_the_childs_log_records_and_warnings_reach_this_process(worker, caplog):
    with caplog.at_level(logging.INFO):
        worker.call("chatter")
    [said] = [r for r in caplog.records if r.name == "tests.process_targets"]
    assert said.getMessage() == "child says first"
    assert said.detail == 7
    assert said.model_process == worker.pid
    assert any("a child warning" in r.getMessage() for r in caplog.records)


def test_a_record_with_an_unpicklable_field_arrives_with_its_text(worker, caplog):
    with caplog.at_level(logging.INFO):
        worker.call("chatter_unpicklably")
    [said] = [r for r in caplog.records if r.name == "tests.process_targets"]
    assert said.getMessage() == "child holds a lock"
    assert "lock" in said.lock
    # The rest keeps its types, so the parent's JSON formatter can write the record.
    assert isinstance(said.created, float)
    assert said.levelno == logging.WARNING


def test_the_cpu_time_of_calls_counts_for_the_children(worker):
    before = cpu_seconds_with_children()
    worker.call("burn", 0.2)
    assert cpu_seconds_with_children() - before >= 0.2


def test_a_model_process_runs_its_blas_and_openmp_pools_on_one_thread(worker):
    # Each model process is one core's worth of Python work beside the encoder's threads:
    # numpy's OpenBLAS pool as wide as the machine cost spaCy's NER 6 to 24% more CPU a text.
    threads = worker.call("blas_threads")
    assert threads, "numpy's BLAS is loaded in the child"
    assert set(threads) == {1}


def test_a_model_process_freezes_its_loaded_objects_out_of_the_collector(worker):
    # A full collection would walk the whole loaded model each time (see server/main.py).
    assert worker.call("frozen_objects") > 0


def test_model_processes_and_threads_run_below_the_main_threads_priority():
    own = os.getpriority(os.PRIO_PROCESS, os.getpid())
    set_work_niceness(5)
    try:
        worker = ProcessWorker("niced", TARGET, "niced")
        executor = work_executor("test")
        try:
            assert worker.call("nice") == min(MAX_NICE, own + 5)
            thread_nice = executor.submit(
                lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            ).result(30)
            assert thread_nice == min(MAX_NICE, own + 5)
        finally:
            worker.close()
            executor.shutdown()
    finally:
        set_work_niceness(0)
    # This thread (the event loop's, in the server) keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
