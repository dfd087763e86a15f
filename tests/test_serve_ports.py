"""`textstream serve --port --http-port --metrics-port`: every port from a flag, each answering."""

from __future__ import annotations

import re
import socket
import sys
import urllib.request
from contextlib import ExitStack

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.cli_runner import textstream
from tests.processes import ServerProcess


def _free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_every_port_has_a_flag_and_flags_beat_the_environment():
    grpc_port, http_port, metrics_port, env_port = _free_ports(4)
    server = ServerProcess(
        [
            *(sys.executable, "-m", "textstream_client.cli", "serve", "--host", "127.0.0.1"),
            *("--port", str(grpc_port), "--http-port", str(http_port)),
            *("--metrics-port", str(metrics_port)),
        ],
        # A flag wins over the environment, as over the TOML file.
        env={"TEXTSTREAM_METRICS_PORT": str(env_port), "TEXTSTREAM_HTTP_HOST": "127.0.0.1"},
    )
    try:
        listening = server.wait_for("listening")
        assert (listening["port"], listening["metrics_port"]) == (grpc_port, metrics_port)
        assert server.wait_for("http listening")["port"] == http_port
        # Each port answers while the models load (health says so; liveness is up).
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            check = health_pb2_grpc.HealthStub(channel).Check
            reply = check(health_pb2.HealthCheckRequest(service="liveness"), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert _get(f"http://127.0.0.1:{http_port}/healthz")[0] == 200
        status, metrics = _get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200
        assert "textstream_inflight_streams" in metrics
    finally:
        server.stop()


async def test_the_server_adds_serve_to_the_clients_command():
    listed = await textstream("--help")
    assert listed.code == 0, listed.err
    assert re.search(r"\bserve\b", listed.out)
    flags = await textstream("serve", "--help")
    for flag in ("--port", "--http-port", "--metrics-port"):
        assert flag in flags.out
