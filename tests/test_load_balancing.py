"""Client-side load balancing: one client's calls spread over three server processes with
round_robin, and a replica that drains (SIGTERM) costs no unary call."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from queue import Empty

import grpc
import pytest
from textstream_client import ClientOptions, SyncTextStreamClient
from textstream_client.channel import service_config

from tests.cli_runner import textstream
from tests.processes import ServerProcess, doubles_server
from tests.streams import REVIEW

REPLICAS = 3


def _calls(server: ServerProcess) -> Counter[str]:
    """The server's Process calls so far by final code, from its "call ended" log lines."""
    while True:
        try:
            server.log.append(server.lines.get_nowait())
        except Empty:
            break
    return Counter(
        str(entry["code"])
        for entry in server.log
        if entry.get("event") == "call ended" and entry.get("method") == "Process"
    )


def _poll(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.05)


@pytest.fixture
def replicas() -> Iterator[list[ServerProcess]]:
    # shutdown_delay_seconds: after SIGTERM a replica keeps its port and refuses new calls
    # with UNAVAILABLE for a second, as a pod does while its endpoints are withdrawn.
    settings = ("http_enabled=false", "metrics_enabled=false", "shutdown_delay_seconds=1")
    servers = [doubles_server(0.0, *settings) for _ in range(REPLICAS)]
    try:
        for server in servers:
            server.wait_for("serving")
        yield servers
    finally:
        for server in servers:
            server.stop()


def _target(servers: list[ServerProcess]) -> str:
    """An address list: what `dns:///` gives for a headless Service, without a DNS server."""
    ports = [next(e["port"] for e in s.log if e["event"] == "listening") for s in servers]
    return "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)


def _process_counts(servers: list[ServerProcess]) -> list[int]:
    return [_calls(server)["OK"] for server in servers]


def _spread(servers: list[ServerProcess], client: SyncTextStreamClient, calls: int) -> list[int]:
    """How many of `calls` Process calls each server answered."""
    before = _process_counts(servers)
    for _ in range(calls):
        assert client.process(REVIEW).sentiment.chunks
    _poll(lambda: sum(_process_counts(servers)) - sum(before) == calls)
    return [now - old for now, old in zip(_process_counts(servers), before, strict=True)]


def test_round_robin_spreads_one_clients_calls_over_every_replica(replicas):
    target = _target(replicas)
    # gRPC's default, pick_first, sends every call to one address.
    with SyncTextStreamClient(ClientOptions(target=target)) as client:
        assert sorted(_spread(replicas, client, 12)) == [0, 0, 12]
    options = ClientOptions(target=target, load_balancing="round_robin")
    with SyncTextStreamClient(options) as client:
        # round_robin picks among the connections that are ready: until all three are, the
        # first ones get more. Then each call goes to the next replica in turn.
        seen = [0] * REPLICAS
        deadline = time.monotonic() + 30
        while not all(seen):
            assert time.monotonic() < deadline, f"calls reached only {seen}"
            seen = [a + b for a, b in zip(seen, _spread(replicas, client, 1), strict=True)]
        assert _spread(replicas, client, 30) == [10, 10, 10]


def test_a_draining_replica_costs_no_unary_call(replicas):
    options = ClientOptions(target=_target(replicas), load_balancing="round_robin", timeout=10)
    errors: list[grpc.RpcError] = []
    done = 0
    stop = threading.Event()

    def call_until_stopped() -> None:
        nonlocal done
        with SyncTextStreamClient(options) as client:
            while not stop.is_set():
                try:
                    client.process(REVIEW, include_summary=False)
                except grpc.RpcError as error:
                    errors.append(error)
                done += 1

    caller = threading.Thread(target=call_until_stopped)
    caller.start()
    try:
        _poll(lambda: all(_calls(server)["OK"] for server in replicas))
        draining, *others = replicas
        draining.proc.send_signal(signal.SIGTERM)
        draining.wait_for("stopped")
        after_stop = [_calls(server)["OK"] for server in others]
        _poll(lambda: all(_calls(s)["OK"] > n for s, n in zip(others, after_stop, strict=True)))
    finally:
        stop.set()
        caller.join(30)
    assert draining.proc.wait(30) == 0
    assert errors == [], errors[:3]
    # Every call the client made was answered once, by some replica.
    _poll(lambda: sum(_process_counts(replicas)) == done)
    # The draining replica refused calls while the client still dialled it (UNAVAILABLE,
    # before any response), and the client retried each on another replica.
    assert _calls(draining)["UNAVAILABLE"] > 0


def test_service_config_carries_the_policy():
    config = json.loads(service_config(4, "round_robin"))
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["methodConfig"][0]["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert "loadBalancingConfig" not in json.loads(service_config(1))
    with pytest.raises(ValueError, match="load_balancing"):
        ClientOptions(load_balancing="random")


async def test_the_cli_takes_a_policy(replicas):
    target = _target(replicas)
    result = await textstream("health", "--load-balancing", "round_robin", "--target", target)
    assert (result.code, result.out.strip()) == (0, "SERVING")
    result = await textstream(
        *("process", REVIEW, "-o", "json", "--load-balancing", "round_robin"),
        *("--target", target),
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["sentiment"]["chunks"]
    result = await textstream("health", "--load-balancing", "random", "--target", target)
    assert result.code == 2
    assert "--load-balancing" in result.err
