"""Model work at a lower CPU priority than the event loop that answers every call.

On a CPU whose cores the models keep busy, the event loop's thread waits its turn for a core
like any other: under load a new call then waited tens to hundreds of milliseconds for its
first update. A few percent of one core is all the loop needs, so the model threads (and
the model processes of analyzers/process_worker.py) run with a higher nice value and the
scheduler gives the loop a core as soon as it has work. The models still get every cycle the
loop leaves. Linux sets nice values per thread; threads a model thread starts (torch's
OpenMP pool) inherit its value.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

# The highest nice value Linux has.
MAX_NICE = 19

# How much higher model work's nice value is than the process's main thread (its event loop).
_niceness = 0


def set_work_niceness(niceness: int) -> None:
    """Model threads and processes started from now on run niceness above the main thread."""
    global _niceness
    _niceness = niceness


def work_nice_value() -> int | None:
    """The nice value model work gets (None where niceness is 0: it keeps its own)."""
    if _niceness == 0 or not hasattr(os, "getpriority"):
        return None
    # The main thread's id is the process id; its value is the loop's.
    return min(MAX_NICE, os.getpriority(os.PRIO_PROCESS, os.getpid()) + _niceness)


def lower_this_thread() -> None:
    """Give the calling thread model work's nice value (nothing where niceness is 0)."""
    value = work_nice_value()
    if value is not None:
        # Without per-thread priorities (not Linux) the thread keeps the process's.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), value)


def work_executor(name: str, workers: int = 1) -> ThreadPoolExecutor:
    """A thread pool for model work, its threads at model work's priority."""
    return ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix=f"model-{name}", initializer=lower_this_thread
    )
