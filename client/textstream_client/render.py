"""The live terminal view of a ProcessStream: progress, growing summary, entities, timings."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from textstream_client.describe import label_name, stage_name
from textstream_client.protos import textstream_pb2 as pb

_LABEL_STYLES = {"positive": "green", "neutral": "yellow", "negative": "red"}


def _label(label: int, confidence: float) -> Text:
    name = label_name(label)
    return Text(f"{name} {confidence:.2f}", style=_LABEL_STYLES.get(name, ""))


class LiveProcessView:
    """Redraws in place as updates arrive; what is on screen at the end stays there."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live = Live(console=console, refresh_per_second=10, auto_refresh=False)
        self._header = Text("waiting for the server…", style="dim")
        self._progress = Progress(
            TextColumn("sentiment"), BarColumn(), MofNCompleteColumn(), console=console
        )
        self._task: TaskID | None = None
        self._sentiment: Text | None = None
        self._summary = ""
        self._summary_done = False
        self._entities: pb.EntitiesResult | None = None
        self._notes: list[Text] = []
        self._completed: pb.Completed | None = None

    def __enter__(self) -> Self:
        self._live.update(self._render())
        self._live.start(refresh=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.update(self._render(), refresh=True)
        self._live.stop()

    def handle(self, update: pb.StageUpdate) -> None:
        kind = update.WhichOneof("update")
        if kind == "started":
            started = update.started
            stages = " → ".join(stage_name(s) for s in started.stages)
            self._header = Text.assemble(
                ("request ", "dim"),
                started.request_id,
                (f"  {started.text_length} chars  ", "dim"),
                stages,
            )
        elif kind == "chunked":
            self._task = self._progress.add_task("sentiment", total=update.chunked.chunk_count)
        elif kind == "sentiment_progress" and self._task is not None:
            self._progress.update(self._task, completed=update.sentiment_progress.chunk_index + 1)
        elif kind == "sentiment":
            s = update.sentiment
            self._sentiment = Text.assemble(
                "overall ",
                _label(s.label, s.confidence),
                (
                    f"  ({s.positive_chunks} positive, {s.neutral_chunks} neutral, "
                    f"{s.negative_chunks} negative chunks)",
                    "dim",
                ),
            )
        elif kind == "summary_delta":
            self._summary += update.summary_delta.text
        elif kind == "summary":
            self._summary, self._summary_done = update.summary.text, True
        elif kind == "entities":
            self._entities = update.entities
        elif kind == "stage_skipped":
            skipped = update.stage_skipped
            self._notes.append(
                Text(f"{stage_name(skipped.stage)} skipped: {skipped.reason}", style="dim")
            )
        elif kind == "stage_error":
            error = update.stage_error
            self._notes.append(
                Text(
                    f"{stage_name(error.stage)} failed: {error.code_name} {error.message}",
                    style="bold red",
                )
            )
        elif kind == "completed":
            self._completed = update.completed
        self._live.update(self._render(), refresh=True)

    def _render(self) -> RenderableType:
        parts: list[RenderableType] = [self._header]
        if self._task is not None:
            parts.append(self._progress)
        if self._sentiment is not None:
            parts.append(self._sentiment)
        if self._summary:
            title = "summary" if self._summary_done else "summary (streaming…)"
            parts.append(Panel(self._summary.strip(), title=title, title_align="left"))
        if self._entities is not None:
            parts.append(_entity_table(self._entities))
        parts.extend(self._notes)
        if self._completed is not None:
            parts.append(_timing_table(self._completed))
        return Group(*parts)


def _entity_table(result: pb.EntitiesResult) -> Table:
    table = Table(title=f"entities ({result.total})", title_justify="left")
    for column in ("text", "label", "description", "span"):
        table.add_column(column)
    for entity in result.entities:
        table.add_row(entity.text, entity.label, entity.description, f"{entity.start}–{entity.end}")
    return table


def _timing_table(completed: pb.Completed) -> Table:
    table = Table(title=f"completed in {completed.total_seconds:.2f}s", title_justify="left")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for timing in completed.stage_seconds:
        table.add_row(stage_name(timing.stage), f"{timing.seconds:.3f}")
    return table
