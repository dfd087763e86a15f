"""Objects that tests build in a model process (analyzers/process_worker.py)."""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings

log = logging.getLogger("tests.process_targets")


class Unpicklable(Exception):
    """An error whose argument cannot cross a process boundary."""

    def __init__(self) -> None:
        super().__init__(threading.Lock())


class Target:
    """Methods that show where and how the child runs them."""

    def __init__(self, label: str, fail: bool = False) -> None:
        if fail:
            raise ValueError(f"{label} cannot load")
        self._label = label

    def describe(self) -> dict[str, object]:
        return {"label": self._label, "pid": os.getpid()}

    def pid(self) -> int:
        return os.getpid()

    def blas_threads(self) -> list[int]:
        """The thread count of every BLAS and OpenMP pool loaded here (numpy's among them)."""
        import numpy  # noqa: F401  # loads numpy's BLAS, as spaCy does when it loads
        from threadpoolctl import threadpool_info

        return [pool["num_threads"] for pool in threadpool_info()]

    def frozen_objects(self) -> int:
        import gc

        return gc.get_freeze_count()

    def nice(self) -> int:
        return os.getpriority(os.PRIO_PROCESS, 0)

    def echo(self, *values: object) -> tuple[object, ...]:
        return values

    def fail(self, message: str) -> None:
        raise KeyError(message)

    def fail_unpicklably(self) -> None:
        raise Unpicklable()

    def burn(self, seconds: float) -> None:
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def chatter_unpicklably(self) -> None:
        log.warning("child holds %s", "a lock", extra={"lock": threading.Lock()})

    def chatter(self) -> None:
        log.warning("child says %s", self._label, extra={"detail": 7})
        warnings.warn("a child warning", UserWarning, stacklevel=1)
