"""Runs the HTTP app on uvicorn inside the running event loop, beside the gRPC server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Iterator

import uvicorn

from server.core.settings import Settings
from server.core.state import ServiceState
from server.rest.app import create_http_app


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handling: server/main.py owns SIGTERM and SIGINT and
    drains both transports. uvicorn 0.54 installs its handlers in capture_signals()."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.up.set()


def _bind(host: str, port: int, reuse_port: bool) -> socket.socket:
    """A listening-ready socket on host:port (0: a free port)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        # As asyncio's create_server does: a restart need not wait out TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            # `serve --workers N`: every worker binds the same HTTP port, like the gRPC one.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            # "::" serves IPv4 clients too, as gRPC's "[::]" does.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _tls(settings: Settings) -> dict[str, object]:
    """The gRPC server's TLS settings, for uvicorn: one certificate for both transports."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return {}
    options: dict[str, object] = {
        "ssl_certfile": str(settings.tls_cert_file),
        "ssl_keyfile": str(settings.tls_key_file),
    }
    if settings.tls_client_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.tls_client_ca_file)
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return options


class HttpServer:
    """The HTTP API on its own port; start() binds and serves, stop() drains."""

    def __init__(self, settings: Settings, state: ServiceState) -> None:
        config = uvicorn.Config(
            create_http_app(state),
            http="h11",
            lifespan="off",
            # Our JSON log lines stay the only format on stderr: no uvicorn logging config,
            # no access log ("call ended" lines cover API calls), its own lines only
            # from WARNING unless debugging.
            log_config=None,
            log_level=logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING,
            access_log=False,
            timeout_graceful_shutdown=None,
            **_tls(settings),  # type: ignore[arg-type]
        )
        self._server = _EmbeddedServer(config)
        self._settings = settings
        self._serving: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> int:
        """Binds settings.http_host:http_port and serves; returns the bound port."""
        settings = self._settings
        sock = _bind(settings.http_host, settings.http_port, settings.reuse_port)
        self.port = int(sock.getsockname()[1])
        self._serving = asyncio.create_task(self._server.serve([sock]), name="http server")
        up = asyncio.create_task(self._server.up.wait())
        await asyncio.wait((self._serving, up), return_when=asyncio.FIRST_COMPLETED)
        if not up.done():
            up.cancel()
            self._serving.result()  # raises why the server could not start
            raise RuntimeError("the HTTP server stopped before it started")
        return self.port

    async def stop(self, grace: float | None) -> None:
        """Refuses new connections; calls in flight get grace seconds (None: no limit), then
        are cancelled, which cancels their model work."""
        if self._serving is None:
            return
        server = self._server
        server.config.timeout_graceful_shutdown = grace  # type: ignore[assignment]
        server.should_exit = True
        await self._serving
        # uvicorn cancels the calls that outlived the grace period but does not wait for them.
        await asyncio.gather(*server.server_state.tasks, return_exceptions=True)
