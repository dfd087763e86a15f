"""A server subprocess whose JSON log lines (stderr) can be waited for, event by event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """A server subprocess whose stderr JSON log is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: Queue[dict[str, object]] = Queue()
        self.log: list[dict[str, object]] = []
        # The /metrics port, once `serve` has logged it (None while metrics are off).
        self.metrics_port: int | None = None
        # The "serving" log line, once `serve` has seen it: load times and thread layout.
        self.serving: dict[str, object] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                entry = {"event": "unparsed", "line": line.rstrip()}
            self.lines.put(entry)

    def wait_for(self, event: str, timeout: float = 120) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                entry = self.lines.get(timeout=0.1)
            except Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.log.append(entry)
            if entry.get("event") == event:
                return entry
        raise AssertionError(f"server never logged {event!r}; log so far: {self.log[-20:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        # The reader ends at the pipe's EOF; then the pipe is closed here, not left to the
        # garbage collector (a ResourceWarning, an error under the tests' warning filter).
        self._reader.join(10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def serve(**env: str) -> tuple[ServerProcess, str]:
    """`textstream serve` (gRPC only; the offline profile unless env says otherwise) on a free
    port, once SERVING.

    Returns the process and its target; env adds TEXTSTREAM_* settings.
    """
    server = ServerProcess(
        [
            sys.executable,
            "-m",
            "textstream_client.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        env={"TEXTSTREAM_METRICS_ENABLED": "false", "TEXTSTREAM_HTTP_ENABLED": "false", **env},
    )
    try:
        listening = server.wait_for("listening")
        port = listening["port"]
        metrics_port = listening.get("metrics_port")
        server.metrics_port = metrics_port if isinstance(metrics_port, int) else None
        server.serving = server.wait_for("serving", timeout=300)
    except BaseException:
        server.stop()
        raise
    return server, f"127.0.0.1:{port}"
