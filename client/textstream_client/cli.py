"""The `textstream` command: talk to a server (process, generate, health); plugins add more."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from textstream_client.feed_progress import FeedProgress
    from textstream_client.options import ClientOptions
    from textstream_client.output import UpdateSink

app = typer.Typer(
    name="textstream",
    help="Streaming text analysis over gRPC: sentiment, summary, entities, generation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_STATUS_HELP = (
    "Exit status: 0 ok, 1 other gRPC error, 2 invalid usage, 3 INVALID_ARGUMENT, "
    "4 UNAVAILABLE, 5 DEADLINE_EXCEEDED, 6 RESOURCE_EXHAUSTED, 7 UNAUTHENTICATED, "
    "8 not SERVING (health), 9 some documents failed (feed), "
    "130 interrupted (Ctrl-C cancels the call on the server)."
)


class Output(StrEnum):
    pretty = "pretty"
    jsonl = "jsonl"
    json = "json"


class GenerateOutput(StrEnum):
    text = "text"
    jsonl = "jsonl"


class LoadBalancing(StrEnum):
    """gRPC's load-balancing policies (textstream_client.options.LOAD_BALANCING_POLICIES)."""

    pick_first = "pick_first"
    round_robin = "round_robin"


# Connection options, shared by every command that talks to a server.
_CONNECTION = "Connection"
# The ProcessRequest fields every command that sends texts takes; None leaves them to the server.
Sentiment = Annotated[
    bool | None,
    typer.Option("--sentiment/--no-sentiment", help="Sentiment per chunk (server default: on)."),
]
Summary = Annotated[
    bool | None, typer.Option("--summary/--no-summary", help="Summary (server default: on).")
]
Entities = Annotated[
    bool | None,
    typer.Option("--entities/--no-entities", help="Named entities (server default: off)."),
]
ChunkSize = Annotated[
    int | None,
    typer.Option(min=0, help="Characters per sentiment chunk (server default: 200)."),
]
Target = Annotated[
    str,
    typer.Option(
        "--target",
        "-t",
        envvar="TEXTSTREAM_TARGET",
        help="host:port of the server.",
        rich_help_panel=_CONNECTION,
    ),
]
Timeout = Annotated[
    float | None,
    typer.Option(help="Deadline in seconds (default: none).", rich_help_panel=_CONNECTION),
]
Tls = Annotated[
    bool,
    typer.Option(
        "--tls", help="TLS with the system's root certificates.", rich_help_panel=_CONNECTION
    ),
]
CaFile = Annotated[
    Path | None,
    typer.Option(
        envvar="TEXTSTREAM_CA_FILE",
        exists=True,
        dir_okay=False,
        help="CA certificate (PEM) to verify the server with; implies TLS.",
        rich_help_panel=_CONNECTION,
    ),
]
CertFile = Annotated[
    Path | None,
    typer.Option(
        envvar="TEXTSTREAM_CERT_FILE",
        exists=True,
        dir_okay=False,
        help="Client certificate (PEM) for mutual TLS; needs --key-file.",
        rich_help_panel=_CONNECTION,
    ),
]
KeyFile = Annotated[
    Path | None,
    typer.Option(
        envvar="TEXTSTREAM_KEY_FILE",
        exists=True,
        dir_okay=False,
        help="Client private key (PEM) for mutual TLS.",
        rich_help_panel=_CONNECTION,
    ),
]
ServerName = Annotated[
    str | None,
    typer.Option(
        help="Name to verify the server's certificate against (TLS).",
        rich_help_panel=_CONNECTION,
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        envvar="TEXTSTREAM_TOKEN",
        help="Bearer token, sent as `authorization: Bearer <token>`.",
        rich_help_panel=_CONNECTION,
    ),
]
WaitForReady = Annotated[
    bool,
    typer.Option(
        "--wait-for-ready",
        help="Wait for the server to be reachable instead of failing at once.",
        rich_help_panel=_CONNECTION,
    ),
]
Gzip = Annotated[
    bool, typer.Option("--gzip", help="Compress requests with gzip.", rich_help_panel=_CONNECTION)
]
Balancing = Annotated[
    LoadBalancing | None,
    typer.Option(
        "--load-balancing",
        envvar="TEXTSTREAM_LOAD_BALANCING",
        help="round_robin: spread calls over every address the target resolves to "
        "(dns:///host:port, or ipv4:HOST:PORT,HOST:PORT); default: pick_first (one address).",
        rich_help_panel=_CONNECTION,
    ),
]


def _options(
    target: str,
    timeout: float | None,
    tls: bool,
    ca_file: Path | None,
    cert_file: Path | None,
    key_file: Path | None,
    server_name: str | None,
    token: str | None,
    wait_for_ready: bool,
    gzip: bool,
    load_balancing: LoadBalancing | None,
) -> ClientOptions:
    import grpc

    from textstream_client.options import ClientOptions

    try:
        return ClientOptions(
            target=target,
            tls=tls,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            server_name=server_name,
            token=token,
            timeout=timeout,
            wait_for_ready=wait_for_ready,
            compression=grpc.Compression.Gzip if gzip else None,
            load_balancing=load_balancing.value if load_balancing else None,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


def _fail(message: str, status: int) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(status)


@contextmanager
def _reported() -> Iterator[None]:
    """gRPC errors to stderr and an exit status; Ctrl-C and a closed stdout end quietly."""
    import grpc

    from textstream_client import exit_codes
    from textstream_client.errors import field_violations, retry_delay

    try:
        yield
    except grpc.RpcError as error:
        code = error.code()
        lines = [f"error: {code.name}: {error.details() or ''}".rstrip()]
        lines += [f"  {field}: {why}" for field, why in field_violations(error).items()]
        if (delay := retry_delay(error)) is not None:
            lines.append(f"  retry after {delay:g}s")
        raise _fail("\n".join(lines), exit_codes.for_status(code)) from None
    except KeyboardInterrupt:
        # The stream or call was cancelled on the server before this propagated.
        raise _fail("interrupted: call cancelled", exit_codes.INTERRUPTED) from None
    except BrokenPipeError:
        import os

        # Whoever read stdout has gone (e.g. `| head`); silence the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(exit_codes.BROKEN_PIPE) from None


def _text(text: str | None, file: Path | None) -> str:
    if text is not None and file is not None:
        raise typer.BadParameter("give TEXT or --file, not both")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise typer.BadParameter(f"cannot read {file}: {error}") from error
    if text == "-":
        return sys.stdin.read()
    if text is None:
        raise typer.BadParameter("give TEXT, --file PATH, or - to read standard input")
    return text


@app.command(epilog=EXIT_STATUS_HELP)
def process(
    text: Annotated[
        str | None,
        typer.Argument(
            metavar="TEXT", help="Text to analyse; - reads standard input.", show_default=False
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", exists=True, dir_okay=False, help="Read the text from a file."
        ),
    ] = None,
    sentiment: Sentiment = None,
    summary: Summary = None,
    entities: Entities = None,
    chunk_size: ChunkSize = None,
    output: Annotated[
        Output,
        typer.Option(
            "--output",
            "-o",
            help="pretty: live view (plain lines when not a terminal); jsonl: one JSON "
            "update per line; json: the final Process result.",
        ),
    ] = Output.pretty,
    target: Target = "localhost:50051",
    timeout: Timeout = None,
    tls: Tls = False,
    ca_file: CaFile = None,
    cert_file: CertFile = None,
    key_file: KeyFile = None,
    server_name: ServerName = None,
    token: Token = None,
    wait_for_ready: WaitForReady = False,
    gzip: Gzip = False,
    load_balancing: Balancing = None,
) -> None:
    """Analyse a text, streaming every step (ProcessStream), or all at once with -o json."""
    content = _text(text, file)
    options = _options(
        target,
        timeout,
        tls,
        ca_file,
        cert_file,
        key_file,
        server_name,
        token,
        wait_for_ready,
        gzip,
        load_balancing,
    )
    fields: dict[str, Any] = {
        "include_sentiment": sentiment,
        "include_summary": summary,
        "include_entities": entities,
        "chunk_size": chunk_size,
    }
    from textstream_client.output import to_json
    from textstream_client.sync import SyncTextStreamClient

    with _reported(), SyncTextStreamClient(options) as client:
        if output is Output.json:
            typer.echo(to_json(client.process(content, **fields), indent=2))
            return
        with client.process_stream(content, **fields) as updates, _sink(output) as sink:
            for update in updates:
                sink.handle(update)


def _sink(output: Output) -> UpdateSink:
    from textstream_client.output import JsonLines, PlainLines

    if output is Output.jsonl:
        return JsonLines(sys.stdout)
    if not sys.stdout.isatty():
        return PlainLines(sys.stdout)
    from rich.console import Console

    from textstream_client.render import LiveProcessView

    return LiveProcessView(Console())


@app.command(epilog=EXIT_STATUS_HELP)
def generate(
    prompt: Annotated[str, typer.Argument(help="Prompt to continue; - reads standard input.")],
    max_new_tokens: Annotated[
        int | None, typer.Option(min=0, help="Most tokens to generate (server default: 64).")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(help="0 or unset: greedy; otherwise sampling, 0.05 to 5.")
    ] = None,
    top_p: Annotated[float | None, typer.Option(help="Nucleus sampling, in (0, 1].")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Makes sampling repeatable.")] = None,
    stop: Annotated[
        list[str] | None, typer.Option("--stop", help="Stop before this string (repeatable).")
    ] = None,
    output: Annotated[
        GenerateOutput,
        typer.Option("--output", "-o", help="text: the text as it arrives; jsonl: updates."),
    ] = GenerateOutput.text,
    target: Target = "localhost:50051",
    timeout: Timeout = None,
    tls: Tls = False,
    ca_file: CaFile = None,
    cert_file: CertFile = None,
    key_file: KeyFile = None,
    server_name: ServerName = None,
    token: Token = None,
    wait_for_ready: WaitForReady = False,
    gzip: Gzip = False,
    load_balancing: Balancing = None,
) -> None:
    """Generate text from a prompt (GenerateStream), printed as it arrives."""
    if prompt == "-":
        prompt = sys.stdin.read()
    options = _options(
        target,
        timeout,
        tls,
        ca_file,
        cert_file,
        key_file,
        server_name,
        token,
        wait_for_ready,
        gzip,
        load_balancing,
    )
    from textstream_client.describe import describe_generation_end
    from textstream_client.output import JsonLines
    from textstream_client.sync import SyncTextStreamClient

    jsonl = JsonLines(sys.stdout)
    with _reported(), SyncTextStreamClient(options) as client:
        updates = client.generate_stream(
            prompt,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            stop=stop or (),
        )
        with updates:
            for update in updates:
                if output is GenerateOutput.jsonl:
                    jsonl.handle(update)
                elif update.HasField("delta"):
                    sys.stdout.write(update.delta.text)
                    sys.stdout.flush()
                elif update.HasField("completed"):
                    sys.stdout.write("\n")
                    sys.stdout.flush()
                    typer.echo(describe_generation_end(update.completed), err=True)


@app.command(epilog=EXIT_STATUS_HELP)
def feed(
    sources: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[SOURCE]...",
            help='A JSON Lines file, one document per line: {"id": ..., "text": ..., and '
            "optionally include_sentiment, include_summary, include_entities, chunk_size} "
            "(- or none: standard input); with --files, files of one document each.",
            show_default=False,
        ),
    ] = None,
    files: Annotated[
        bool, typer.Option("--files", help="Each SOURCE is one document; its id is its name.")
    ] = False,
    sentiment: Sentiment = None,
    summary: Summary = None,
    entities: Entities = None,
    chunk_size: ChunkSize = None,
    target: Target = "localhost:50051",
    timeout: Timeout = None,
    tls: Tls = False,
    ca_file: CaFile = None,
    cert_file: CertFile = None,
    key_file: KeyFile = None,
    server_name: ServerName = None,
    token: Token = None,
    wait_for_ready: WaitForReady = False,
    gzip: Gzip = False,
    load_balancing: Balancing = None,
) -> None:
    """Analyse many documents over one call (ProcessFeed): one JSON line per document on
    stdout as each finishes, a progress line on stderr when it is a terminal.

    Options given here apply to documents that do not set their own.
    """
    options = _options(
        target,
        timeout,
        tls,
        ca_file,
        cert_file,
        key_file,
        server_name,
        token,
        wait_for_ready,
        gzip,
        load_balancing,
    )
    fields = {
        "include_sentiment": sentiment,
        "include_summary": summary,
        "include_entities": entities,
        "chunk_size": chunk_size,
    }
    defaults = {key: value for key, value in fields.items() if value is not None}
    from textstream_client import exit_codes
    from textstream_client.feed_input import BadInput, file_documents, jsonl_documents
    from textstream_client.feeds import as_update
    from textstream_client.output import JsonLines
    from textstream_client.sync import SyncTextStreamClient

    paths = sources or []
    if files:
        if not paths:
            raise typer.BadParameter("--files needs at least one file")
        documents, total = file_documents(paths, defaults), len(paths)
    else:
        if len(paths) > 1:
            raise typer.BadParameter("give one JSON Lines file (or -), or --files")
        documents, total = jsonl_documents(_lines(paths[0] if paths else None), defaults), None
    # A bad line or file ends the input there (on grpc's sending thread, where raising would
    # only cancel the call): what was sent is answered, then the command says where it stopped.
    bad_input: list[BadInput] = []

    def sent() -> Iterator[Any]:
        try:
            yield from documents
        except BadInput as error:
            bad_input.append(error)

    jsonl = JsonLines(sys.stdout)
    failed = 0
    with _reported(), SyncTextStreamClient(options) as client, _feed_progress(total) as progress:
        with client.process_feed(sent()) as results:
            for result in results:
                failed += not result.ok
                jsonl.handle(as_update(result))
                if progress is not None:
                    progress.add(result.ok)
        done = results.summary
    if done is not None:
        typer.echo(
            f"feed: {done.accepted} documents, {done.finished} results, {done.failed} errors",
            err=True,
        )
    if bad_input:
        raise _fail(f"error: {bad_input[0]}; the documents after it were not sent", 2)
    if failed:
        raise typer.Exit(exit_codes.DOCUMENTS_FAILED)


def _lines(path: Path | None) -> Iterator[str]:
    if path is None or str(path) == "-":
        yield from sys.stdin
        return
    try:
        with path.open(encoding="utf-8") as lines:
            yield from lines
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"cannot read {path}: {error}") from error


@contextmanager
def _feed_progress(total: int | None) -> Iterator[FeedProgress | None]:
    """The progress line on stderr, only when it is a terminal (stdout carries the results)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    from textstream_client.feed_progress import FeedProgress

    with FeedProgress(Console(stderr=True), total) as progress:
        yield progress


@app.command(epilog=EXIT_STATUS_HELP)
def health(
    service: Annotated[
        str, typer.Option(help='Service to check; "" (default) is the whole server.')
    ] = "",
    target: Target = "localhost:50051",
    timeout: Timeout = 5.0,
    tls: Tls = False,
    ca_file: CaFile = None,
    cert_file: CertFile = None,
    key_file: KeyFile = None,
    server_name: ServerName = None,
    token: Token = None,
    wait_for_ready: WaitForReady = False,
    gzip: Gzip = False,
    load_balancing: Balancing = None,
) -> None:
    """Print the server's health; exit 0 only when SERVING (a container health check)."""
    options = _options(
        target,
        timeout,
        tls,
        ca_file,
        cert_file,
        key_file,
        server_name,
        token,
        wait_for_ready,
        gzip,
        load_balancing,
    )
    from textstream_client import exit_codes
    from textstream_client.health import SERVING
    from textstream_client.sync import SyncTextStreamClient

    with _reported(), SyncTextStreamClient(options) as client:
        status = client.health(service)
    typer.echo(status)
    if status != SERVING:
        raise typer.Exit(exit_codes.NOT_SERVING)


# Other installed distributions add commands here: the server adds `serve`. Each entry point
# names a function that takes this app and registers its commands on it.
PLUGIN_GROUP = "textstream.commands"
_SERVER_HINT = (
    "`textstream serve` comes with the server: install the `textstream` distribution "
    "(this environment has the client only)."
)


def load_plugins(target: typer.Typer) -> list[str]:
    """Registers the commands of every installed `textstream.commands` entry point."""
    from importlib.metadata import entry_points

    loaded = []
    for entry in entry_points(group=PLUGIN_GROUP):
        entry.load()(target)
        loaded.append(entry.name)
    if "serve" not in loaded:

        @target.command(hidden=True, context_settings={"ignore_unknown_options": True})
        def serve(
            args: Annotated[list[str] | None, typer.Argument(hidden=True)] = None,
        ) -> None:
            """Not installed here: the server distribution provides it."""
            raise _fail(_SERVER_HINT, 2)

    return loaded


def main() -> None:
    """The `textstream` console script: the client's commands and those of installed plugins."""
    load_plugins(app)
    app()


if __name__ == "__main__":
    main()
