"""`textstream serve`: registered on the client's `textstream` command as an entry-point plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

# Out-of-range ports are rejected by the settings' own bounds, as from TOML or env.
_PORTS = "Ports"


def serve(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[
        int | None,
        typer.Option(help="gRPC port (0: any free port).", rich_help_panel=_PORTS),
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            help="HTTP API and live page port (0: any free port).",
            rich_help_panel=_PORTS,
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Prometheus /metrics port (0: any free port; with --workers N, worker i "
            "uses this port + i).",
            rich_help_panel=_PORTS,
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="Model profile: offline (default) or hub.")
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or cuda:N.")] = None,
    grace_period: Annotated[
        float | None, typer.Option(help="Seconds in-flight calls get on shutdown.")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING, ERROR.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Server processes sharing the port (SO_REUSEPORT), one per GPU if any."
        ),
    ] = 1,
) -> None:
    """Start the server (settings: defaults < TOML file < TEXTSTREAM_* env < flags)."""
    # Imported here so that `textstream --help` stays fast and never loads the server.
    from pydantic import ValidationError

    from server.core.settings import load_settings
    from server.workers import run_workers

    models: dict[str, Any] = {
        key: value for key, value in {"profile": profile, "device": device}.items() if value
    }
    try:
        settings = load_settings(
            config,
            host=host,
            port=port,
            http_port=http_port,
            metrics_port=metrics_port,
            grace_period_seconds=grace_period,
            log_level=log_level.upper() if log_level else None,
            models=models or None,
        )
    except (ValidationError, FileNotFoundError) as error:
        typer.echo(f"invalid settings: {error}", err=True)
        raise typer.Exit(2) from error
    raise typer.Exit(run_workers(settings, workers))


def register(app: typer.Typer) -> None:
    """The `textstream.commands` entry point: adds `serve` to the `textstream` command."""
    app.command()(serve)
