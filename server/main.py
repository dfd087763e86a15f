"""Runs the server: bind, load and warm models off the loop, serve, drain on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from server.app import create_server
from server.http_server import HttpServer
from server.logs import configure_logging
from server.settings import Settings
from server.state import ServiceState
from server.tracing import tracer_provider_for

log = logging.getLogger(__name__)

Loader = Callable[[ModelSettings], Analyzers]


def default_loader(models: ModelSettings) -> Analyzers:
    # Imported here so that `textstream --help` and the client never pay for torch.
    from analyzers.loader import load_analyzers

    analyzers: Analyzers = load_analyzers(models)
    return analyzers


async def _load_models(state: ServiceState, loader: Loader) -> None:
    models = state.settings.models
    log.info("loading models", extra={"profile": models.profile, "device": models.device})
    try:
        analyzers = await asyncio.to_thread(loader, models)
    except Exception as error:
        # Stay up and NOT_SERVING with the reason in the log, rather than crash-loop.
        reason = f"{type(error).__name__}: {error}"
        log.error("models failed to load; health stays NOT_SERVING", extra={"reason": reason})
        await state.set_failed(reason)
        return
    await state.set_ready(analyzers)
    log.info("serving", extra={"load_seconds": analyzers.load_seconds})


def _http_host(grpc_host: str) -> str:
    # gRPC writes "[::]" for all interfaces; the HTTP server wants the bare address.
    return grpc_host.strip("[]") or "::"


async def serve(settings: Settings, loader: Loader = default_loader) -> None:
    """Serve until SIGTERM or SIGINT, then drain within settings.grace_period_seconds."""
    configure_logging(settings.log_level)
    tracer_provider = tracer_provider_for(settings)
    state = ServiceState(settings, tracer_provider)
    server, port = await create_server(settings, None, state)
    await server.start()
    metrics_port = (
        state.metrics.serve_http(_http_host(settings.host), settings.metrics_port)
        if settings.metrics_enabled
        else None
    )
    log.info("listening", extra={"host": settings.host, "port": port, "metrics_port": metrics_port})
    http = HttpServer(settings, state) if settings.http_enabled else None
    if http is not None:
        try:
            http_port = await http.start()
        except OSError as error:
            # A taken HTTP port fails the process loudly, as a taken gRPC port does.
            log.error("http failed to start", extra={"error": str(error)})
            await server.stop(None)
            raise
        log.info("http listening", extra={"host": settings.http_host, "port": http_port})

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loading = asyncio.create_task(_load_models(state, loader))
    await stop.wait()

    log.info(
        "draining",
        extra={"inflight": state.inflight, "grace_seconds": settings.grace_period_seconds},
    )
    await state.begin_drain()
    loading.cancel()
    if settings.shutdown_delay_seconds:
        await asyncio.sleep(settings.shutdown_delay_seconds)
    # New calls are refused at once; calls in flight on either transport get the same grace
    # period, side by side, then are cancelled.
    grace = settings.grace_period_seconds
    await asyncio.gather(server.stop(grace), http.stop(grace) if http else asyncio.sleep(0))
    if state.analyzers is not None:
        state.analyzers.close()
    if tracer_provider is not None:
        tracer_provider.shutdown()
    log.info("stopped", extra={"completed_calls": state.completed_calls})


def run(settings: Settings, loader: Loader = default_loader) -> None:
    asyncio.run(serve(settings, loader))
