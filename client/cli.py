"""The `textstream` command: serve, and (with the client) talk to a server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="textstream",
    help="Streaming text analysis over gRPC: sentiment, summary, entities, generation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def serve(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML settings file.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (0: any free port).")] = None,
    profile: Annotated[
        str | None, typer.Option(help="Model profile: offline (default) or hub.")
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or cuda:N.")] = None,
    grace_period: Annotated[
        float | None, typer.Option(help="Seconds in-flight calls get on shutdown.")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING, ERROR.")] = None,
) -> None:
    """Start the gRPC server (settings: defaults < TOML file < TEXTSTREAM_* env < flags)."""
    from pydantic import ValidationError

    from server.main import run
    from server.settings import load_settings

    models: dict[str, Any] = {
        key: value for key, value in {"profile": profile, "device": device}.items() if value
    }
    try:
        settings = load_settings(
            config,
            host=host,
            port=port,
            grace_period_seconds=grace_period,
            log_level=log_level.upper() if log_level else None,
            models=models or None,
        )
    except (ValidationError, FileNotFoundError) as error:
        typer.echo(f"invalid settings: {error}", err=True)
        raise typer.Exit(2) from error
    run(settings)


if __name__ == "__main__":
    app()
