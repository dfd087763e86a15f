"""Ctrl-C on `textstream process` cancels the stream on the server, not just locally."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys

from tests.cli_runner import ROOT, cli_env, sigint_default
from tests.processes import ServerProcess, doubles_server
from tests.streams import REVIEW

TEXT = (REVIEW + " ") * (4900 // (len(REVIEW) + 1))
CHUNK_SIZE = 50
# The server runs each chunk on asyncio's default executor, this many at a time.
WORKERS = min(32, (os.cpu_count() or 1) + 4)
# Seconds per chunk, for a stream that would take 12 s or more to finish.
DELAY = max(1.5, 12.0 / math.ceil(len(TEXT) / CHUNK_SIZE / WORKERS))


def start_cli(port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "textstream_client.cli", "process", TEXT, "--no-summary"),
            *("--chunk-size", str(CHUNK_SIZE), "-o", "jsonl", "--target", f"127.0.0.1:{port}"),
        ],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )


def interrupt_once_chunked(cli: subprocess.Popen[str]) -> tuple[str, int, list[dict]]:
    """Reads updates until the sentiment stage has started on its chunks (the server then
    waits on the model), then sends SIGINT (Ctrl-C).
    Returns the request id, the chunk count and the updates printed after the signal."""
    assert cli.stdout is not None
    assert cli.stderr is not None

    def next_update() -> dict:
        line = cli.stdout.readline()
        assert line, f"the command ended early: {cli.stderr.read()}"
        return json.loads(line)

    request_id = next_update()["started"]["request_id"]
    while "chunked" not in (update := next_update()):
        pass
    while next_update().get("stage_started", {}).get("stage") != "STAGE_SENTIMENT":
        pass
    cli.send_signal(signal.SIGINT)
    rest, err = cli.communicate(timeout=30)
    assert cli.returncode == 130, err
    assert "cancelled" in err
    after = [json.loads(line) for line in rest.splitlines()]
    return request_id, update["chunked"]["chunk_count"], after


def stop_and_drain(server: ServerProcess) -> dict[str, object]:
    server.proc.send_signal(signal.SIGTERM)
    draining = server.wait_for("draining")
    server.wait_for("stopped")
    assert server.proc.wait(30) == 0
    return draining


def test_ctrl_c_cancels_the_stream_on_the_server():
    server = doubles_server(DELAY, "grace_period_seconds=30")
    cli = None
    try:
        port = server.wait_for("listening")["port"]
        # The loaded objects are out of the collector's sight (server/main.py).
        assert server.wait_for("serving")["frozen_objects"] > 0
        cli = start_cli(port)
        request_id, chunk_count, after = interrupt_once_chunked(cli)
        assert chunk_count * DELAY / WORKERS >= 10  # the stream would have run 10+ s
        ended = server.wait_for("call ended")
        assert ended["request_id"] == request_id
        assert ended["method"] == "ProcessStream"
        assert ended["code"] == "CANCELLED"
        assert not any("completed" in update for update in after)
        # Nothing is left in flight for the drain to wait on.
        assert stop_and_drain(server)["inflight"] == 0
    finally:
        if cli is not None and cli.poll() is None:
            cli.kill()
        server.stop()


def test_ctrl_c_stops_the_sentiment_model_calls():
    server = ServerProcess(
        [sys.executable, "-m", "tests.serve_counting", str(DELAY), "grace_period_seconds=30"]
    )
    cli = None
    try:
        port = server.wait_for("listening")["port"]
        server.wait_for("serving")
        cli = start_cli(port)
        _, chunk_count, _ = interrupt_once_chunked(cli)
        assert server.wait_for("call ended")["code"] == "CANCELLED"
        stop_and_drain(server)
        # The server has stopped and its worker threads have finished: every model call it
        # ever made is in the log. Had the stream gone on, all chunks would be there.
        model_calls = sum(e["event"] == "sentiment chunk started" for e in server.log)
        assert 0 < model_calls < chunk_count
    finally:
        if cli is not None and cli.poll() is None:
            cli.kill()
        server.stop()
