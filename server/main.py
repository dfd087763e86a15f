"""Runs the server: bind, load and warm models off the loop, serve, drain on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import threading
from collections.abc import Callable

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from server.core.logs import configure_logging
from server.core.settings import Settings
from server.core.state import ServiceState
from server.core.tracing import tracer_provider_for
from server.grpc.server import create_server
from server.rest.server import HttpServer

log = logging.getLogger(__name__)

# After the last call in flight has ended: time for its final status to go out.
_FINAL_WRITES_SECONDS = 1.0

Loader = Callable[[ModelSettings], Analyzers]


def default_loader(models: ModelSettings) -> Analyzers:
    from analyzers.openmp import prepare_openmp

    # Before torch loads (with analyzers.loader): OpenMP reads its wait policy once.
    prepare_openmp(models)
    # Imported here so that `textstream --help` and the client never pay for torch.
    from analyzers.loader import load_analyzers

    analyzers: Analyzers = load_analyzers(models)
    return analyzers


async def _load_models(state: ServiceState, loader: Loader) -> None:
    models = state.settings.models
    log.info("loading models", extra={"profile": models.profile, "device": models.device})
    try:
        analyzers = await _on_daemon_thread(loader, models)
    except Exception as error:
        # Stay up and NOT_SERVING with the reason in the log, rather than crash-loop.
        reason = f"{type(error).__name__}: {error}"
        log.error("models failed to load; health stays NOT_SERVING", extra={"reason": reason})
        await state.set_failed(reason)
        return
    await state.set_ready(analyzers)
    # The models' objects live as long as the process: out of the collector's sight, a full
    # collection no longer walks them (measured: 300 ms on the event loop under load, each
    # half minute, with the offline models loaded).
    gc.collect()
    gc.freeze()
    layout = analyzers.layout
    log.info(
        "serving",
        extra={
            "frozen_objects": gc.get_freeze_count(),
            "load_seconds": analyzers.load_seconds,
            "thread_layout": layout.describe() if layout else None,
            "intra_op_threads": layout.intra_op_threads if layout else None,
        },
    )


async def _on_daemon_thread(loader: Loader, models: ModelSettings) -> Analyzers:
    """loader(models) on a daemon thread of its own.

    Not asyncio.to_thread: a model load cannot be interrupted, and the default executor's
    threads are joined when the loop closes, so SIGTERM during a load would wait for the
    whole load. A daemon thread is abandoned when the process exits.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Analyzers] = loop.create_future()

    def settle(result: Analyzers | None, error: BaseException | None) -> None:
        if done.cancelled():
            if result is not None:
                result.close()  # loaded after the drain began: nobody will serve it
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]  # None only with an error

    def load() -> None:
        result: Analyzers | None = None
        error: BaseException | None = None
        try:
            result = loader(models)
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: the process is exiting
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=load, name="model-loader", daemon=True).start()
    return await done


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
    # Calls in flight on either transport get the grace period to finish while the ports stay
    # open: new calls are refused with UNAVAILABLE and health checks still answer, liveness
    # SERVING (closing the port would fail a liveness probe mid-drain). Then whatever is
    # left is cancelled.
    final_writes = _FINAL_WRITES_SECONDS
    try:
        async with asyncio.timeout(settings.grace_period_seconds):
            await state.idle()
    except TimeoutError:
        final_writes = 0.0  # the grace period is spent: cancel what is left now
    await asyncio.gather(
        server.stop(final_writes), http.stop(final_writes) if http else asyncio.sleep(0)
    )
    if state.analyzers is not None:
        state.analyzers.close()
    if tracer_provider is not None:
        tracer_provider.shutdown()
    log.info("stopped", extra={"completed_calls": state.completed_calls})


def run(settings: Settings, loader: Loader = default_loader) -> None:
    asyncio.run(serve(settings, loader))
