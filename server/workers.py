"""`serve --workers N`: N server processes on one port with SO_REUSEPORT, one per GPU if any.

The gRPC Python multiprocessing pattern (grpc/grpc examples/python/multiprocessing): the
parent reserves the port with SO_REUSEPORT, then starts workers that bind it too; the
kernel spreads new connections over them. Workers are spawned, not forked, because gRPC
and CUDA do not survive a fork (grpc/grpc#16001).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
from collections.abc import Iterator
from types import FrameType

from server.core.settings import Settings
from server.main import Loader, default_loader, run

log = logging.getLogger(__name__)


@contextlib.contextmanager
def reserved_port(host: str, port: int) -> Iterator[int]:
    """Holds host:port (0: a free one) with SO_REUSEPORT while workers bind it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host.strip("[]") or "::", port))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def worker_settings(
    settings: Settings, index: int, port: int, gpus: int, *, workers: int = 1, cpu_count: int = 1
) -> Settings:
    """Worker index's settings: the shared port, its own metrics port, its own GPU."""
    update: dict[str, object] = {"port": port, "reuse_port": True}
    if settings.metrics_port:
        update["metrics_port"] = settings.metrics_port + index
    models = settings.models
    if gpus and models.device in ("auto", "cuda"):
        update["models"] = models.model_copy(update={"device": f"cuda:{index % gpus}"})
    elif not models.cpu_cores:
        # Workers on a CPU share its cores: each lays out its threads for its own share, or
        # N workers would each plan for the whole machine and oversubscribe it N times over.
        update["models"] = models.model_copy(update={"cpu_cores": max(1, cpu_count // workers)})
    return settings.model_copy(update=update)


def _gpu_count(settings: Settings) -> int:
    if settings.models.device == "cpu":
        return 0
    from analyzers.device import cuda_device_count

    return cuda_device_count()


def run_workers(settings: Settings, workers: int, loader: Loader = default_loader) -> int:
    """Run `workers` server processes until SIGTERM/SIGINT; returns the exit status."""
    if workers <= 1:
        run(settings, loader)
        return 0
    gpus = _gpu_count(settings)
    if gpus and workers > gpus:
        log.warning("more workers than GPUs; workers share GPUs", extra={"gpus": gpus})
    from analyzers.cpu import available_cpus

    cpu_count = available_cpus()
    context = multiprocessing.get_context("spawn")
    with reserved_port(settings.host, settings.port) as port:
        processes = [
            context.Process(
                target=run,
                args=(
                    worker_settings(
                        settings, index, port, gpus, workers=workers, cpu_count=cpu_count
                    ),
                    loader,
                ),
                name=f"textstream-worker-{index}",
            )
            for index in range(workers)
        ]
        for process in processes:
            process.start()

        def forward(signum: int, _frame: FrameType | None) -> None:
            # Each worker drains on its own; the parent only passes the signal on.
            for process in processes:
                if process.pid is not None and process.is_alive():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        for process in processes:
            process.join()
    return max((process.exitcode or 0) for process in processes)
