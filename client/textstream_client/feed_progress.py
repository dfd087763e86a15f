"""The progress line of `textstream feed` on a terminal: documents done, per second, failures."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class FeedProgress:
    """Counts results as they arrive; total is the number of documents where it is known."""

    def __init__(self, console: Console, total: int | None) -> None:
        columns = [TextColumn("feed"), BarColumn(), MofNCompleteColumn()] if total else []
        self._progress = Progress(
            *columns,
            TextColumn("{task.completed:.0f} done"),
            TextColumn("{task.fields[rate]:.1f}/s"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("feed", total=total, rate=0.0, failed=0)
        self._failed = 0

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def add(self, ok: bool) -> None:
        self._failed += not ok
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0.0
        rate = (task.completed + 1) / elapsed if elapsed else 0.0
        self._progress.update(self._task, advance=1, rate=rate, failed=self._failed)
