"""Model work in a child process of its own, so pure-Python models leave the server's GIL free.

spaCy and VADER run Python (or Cython that keeps the GIL) for most of their time. In the
server's process they hold the GIL that its event loop needs between every gRPC read and
write, and under load a new call waited hundreds of milliseconds for its first update. In a
child each has its own interpreter; the batcher thread that calls it waits on a socket with
the GIL released. torch stays in the server's process: its operators release the GIL.

The child is `python -m analyzers.process_worker FD`: it builds one object from a
"module:function" factory, then runs that object's methods for the parent, one call at a time,
and exits when the parent closes the socket (or exits, even killed). It ignores SIGINT and
SIGTERM: the server drains on those, and its calls in flight still need the child.

A child is one core's worth of work beside the encoder's threads, so its BLAS and OpenMP pools
get one thread (numpy's OpenBLAS otherwise starts one per core: spaCy's NER cost 6 to 24% more
CPU a text with it), and the objects it loaded are frozen out of the garbage collector's walks.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from analyzers.errors import AnalyzerError
from analyzers.priority import work_nice_value

log = logging.getLogger(__name__)

# Loading a model in a child (spaCy's pipeline) takes a second or two; this bounds a child
# that hangs at start, so the load fails with a reason instead of waiting for ever.
START_TIMEOUT_SECONDS = 300.0
# After the socket closes, a child that has not exited by then is killed.
EXIT_GRACE_SECONDS = 5.0

_OK, _ERROR, _LOG, _READY, _FAILED = "ok", "error", "log", "ready", "failed"

# Every live worker, for the CPU time children spent on work measured at load.
_workers: set[ProcessWorker] = set()
_workers_lock = threading.Lock()
# The thread pools of numpy's BLAS (OpenBLAS, MKL) and of OpenMP libraries, in a child.
_ONE_THREAD_POOLS = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


@atexit.register
def _close_all() -> None:
    """A process that exits without closing its analyzers still ends their children."""
    with _workers_lock:
        workers = list(_workers)
    for worker in workers:
        worker.close()


def cpu_seconds_with_children() -> float:
    """CPU seconds of this process plus those its live workers' children spent on calls."""
    with _workers_lock:
        children = sum(worker.cpu_seconds for worker in _workers)
    return time.process_time() + children


class ProcessWorker:
    """A child process holding the object factory(*args) built; call() runs its methods.

    Thread-safe: calls from several threads take turns (the child runs one at a time). A child
    that dies fails the call it was running with an AnalyzerError; the next call starts a
    new child. close() ends the child; calls after it fail.
    """

    def __init__(self, name: str, factory: str, *args: Any) -> None:
        self.name = name
        self._factory = factory
        self._args = args
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        # The socket under _conn: shutting it down wakes a call blocked reading it.
        self._socket: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        # CPU seconds the children spent inside calls, as each child measured it.
        self.cpu_seconds = 0.0
        # What the object's describe() returned at start (None without one).
        self.info: Any = None
        with self._lock:
            self._start()
        with _workers_lock:
            _workers.add(self)

    @property
    def pid(self) -> int | None:
        """The live child's process id (None between a crash and the next call)."""
        return self._proc.pid if self._proc is not None and self._conn is not None else None

    def call(self, method: str, *args: Any) -> Any:
        """method(*args) on the child's object; raises what it raised. Blocking."""
        with self._lock:
            if self._closed:
                raise AnalyzerError(f"{self.name} is shut down")
            if self._conn is None:
                self._start()
            conn = self._conn
            assert conn is not None
            try:
                conn.send((method, args))
                status, value, cpu = self._reply(conn)
            except (EOFError, OSError) as error:
                code = self._reap()
                if self._closed:
                    raise AnalyzerError(f"{self.name} is shut down") from error
                log.error("model process ended", extra={"model": self.name, "exit_code": code})
                raise AnalyzerError(
                    f"{self.name}'s process ended (exit code {code}); it restarts on the next call"
                ) from error
            self.cpu_seconds += cpu
        if status == _ERROR:
            raise value
        return value

    def close(self) -> None:
        """End the child; idempotent, safe from any thread, even while a call runs."""
        self._closed = True
        sock = self._socket
        if sock is not None:
            # A shutdown, not a close, wakes a call blocked reading in another thread; the
            # child reads the end of its input and exits.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._reap()
        with _workers_lock:
            _workers.discard(self)

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            proc = subprocess.Popen(
                [sys.executable, "-m", "analyzers.process_worker", str(theirs.fileno())],
                # Read by each pool when its library loads, before the factory imports numpy.
                env={**os.environ, **_ONE_THREAD_POOLS},
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        conn = Connection(os.dup(ours.fileno()))

        def abandon() -> None:
            conn.close()
            ours.close()
            _end(proc)

        try:
            level = logging.getLogger().getEffectiveLevel()
            conn.send((self._factory, self._args, level, work_nice_value()))
            if not conn.poll(START_TIMEOUT_SECONDS):
                raise AnalyzerError(
                    f"{self.name}'s process did not start within {START_TIMEOUT_SECONDS:g}s"
                )
            status, value, _ = self._reply(conn)
        except (EOFError, OSError) as error:
            abandon()
            raise AnalyzerError(
                f"{self.name}'s process exited at start (exit code {proc.returncode})"
            ) from error
        except BaseException:
            abandon()
            raise
        if status == _FAILED:
            abandon()
            raise AnalyzerError(f"{self.name} failed to load: {value}")
        self._conn, self._socket, self._proc, self.info = conn, ours, proc, value

    def _reply(self, conn: Connection) -> tuple[str, Any, float]:
        """The next reply, re-logging here every log record the child sent before it."""
        while True:
            message = conn.recv()
            if message[0] != _LOG:
                return message  # type: ignore[no-any-return]  # (status, value, cpu)
            record = logging.makeLogRecord(message[1])
            logging.getLogger(record.name).handle(record)

    def _reap(self) -> int | None:
        conn, sock, proc = self._conn, self._socket, self._proc
        self._conn = self._socket = None
        for closing in (conn, sock):
            if closing is not None:
                with contextlib.suppress(OSError):
                    closing.close()
        if proc is None:
            return None
        _end(proc)
        return proc.returncode


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Wait for a child whose socket is closed; kill it if it does not exit in time."""
    try:
        proc.wait(EXIT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _ForwardToParent(logging.Handler):
    """Sends each record to the parent, which logs it with its own handlers (JSON lines)."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self._conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        fields = dict(vars(record))
        fields["msg"] = record.getMessage()
        fields["args"] = None
        if record.exc_info:
            fields["exc_text"] = "".join(traceback.format_exception(*record.exc_info))
        fields["exc_info"] = None
        fields["model_process"] = os.getpid()
        try:
            self._conn.send((_LOG, fields))
        except (pickle.PicklingError, TypeError, AttributeError):
            # An extra field that cannot cross goes as its text; numbers stay numbers.
            plain = (str, int, float, bool, type(None))
            fields = {k: v if isinstance(v, plain) else str(v) for k, v in fields.items()}
            self._conn.send((_LOG, fields))


def _portable(error: Exception) -> Exception:
    """error itself if it survives pickling, else a RuntimeError naming its type and message."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _factory(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    factory: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return factory


def serve_parent(conn: Connection) -> None:
    """The child's side: build the object, then answer calls until the parent hangs up."""
    path, args, level, nice_value = conn.recv()
    if nice_value is not None:
        # Model work's priority (analyzers/priority.py), for the whole process.
        os.setpriority(os.PRIO_PROCESS, 0, nice_value)
    root = logging.getLogger()
    root.handlers[:] = [_ForwardToParent(conn)]
    root.setLevel(level)
    logging.captureWarnings(True)
    try:
        target = _factory(path)(*args)
        describe = getattr(target, "describe", None)
        info = describe() if describe is not None else None
    except Exception as error:
        conn.send((_FAILED, f"{type(error).__name__}: {error}", 0.0))
        return
    # What the factory loaded lives as long as the child: a full collection no longer walks it.
    gc.collect()
    gc.freeze()
    conn.send((_READY, info, 0.0))
    while True:
        try:
            method, call_args = conn.recv()
        except (EOFError, OSError):
            return
        began = time.process_time()
        try:
            reply: tuple[str, Any] = (_OK, getattr(target, method)(*call_args))
        except Exception as error:
            reply = (_ERROR, _portable(error))
        try:
            conn.send((*reply, time.process_time() - began))
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            conn.send((_ERROR, RuntimeError(f"unpicklable result: {error}"), 0.0))
        except OSError:
            return


if __name__ == "__main__":
    # The server drains on these and its calls in flight still need this process; it exits
    # when the server closes the socket or exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve_parent(Connection(int(sys.argv[1])))
