"""Progress of long command-line work on stderr, one helper for every CLI (rich.progress).

::

    with Progress(quiet=args.quiet) as progress:
        task = progress.task("importing stations", total=len(rows))
        for chunk in chunks:
            ...
            task.advance(len(chunk))
        progress.note("skipped 3 duplicates")   # a line above the bars

    for row in track(rows, "checking", quiet=args.quiet):
        ...

The display is drawn only when its console is an interactive terminal (by default stderr
is a tty; ``Console(force_terminal=True)`` in tests) and ``quiet`` is false; otherwise
every call is a no-op, so piped output, files and logs stay clean.  Standard output is
left alone unless it is a terminal too (then its lines are printed above the display):
what a command prints to a pipe (a path, JSON lines) stays machine-readable.
``task(..., total=None)`` is a spinner with the elapsed time; ``total=1.0`` with
``update(completed=fraction)`` suits callbacks that report a fraction; ``update(status=…)``
shows a line of figures (rates, counts) after the times.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from rich import progress as rich_progress
from rich.console import Console
from rich.progress import (
    BarColumn,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

__all__ = ["Progress", "ProgressTask", "add_quiet_option", "progress_console", "track"]

T = TypeVar("T")
#: the widest a task's description is drawn (the bar and times keep their room)
DESCRIPTION_WIDTH = 48
BAR_WIDTH = 24
#: the columns before the status: spinner, description, bar, percentage, two times, gaps
FIXED_WIDTH = 2 + DESCRIPTION_WIDTH + 1 + BAR_WIDTH + 1 + 4 + 1 + 7 + 1 + 7 + 1
STATUS_MIN_WIDTH = 20


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # closed
        return False


def progress_console(console: Console | None = None) -> Console:
    """``console``, or a console on the current ``sys.stderr``."""
    return console if console is not None else Console(file=sys.stderr)


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """``-q/--quiet``: no progress display (it is off anyway when stderr is no terminal)."""
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress display on stderr")


class ProgressTask:
    """One line of the display; all methods do nothing when the display is off."""

    __slots__ = ("_id", "_progress")

    def __init__(self, progress: rich_progress.Progress | None, task_id: TaskID | None) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, amount: float = 1.0) -> None:
        if self._progress is not None and self._id is not None:
            self._progress.advance(self._id, amount)

    def update(
        self,
        *,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
        status: str | None = None,
    ) -> None:
        """``status``: a line of figures drawn after the times (rates, counts)."""
        if self._progress is not None and self._id is not None:
            fields: dict[str, Any] = {} if status is None else {"status": status}
            self._progress.update(
                self._id, completed=completed, total=total, description=description, **fields
            )

    def finish(self, description: str | None = None) -> None:
        """Mark the task complete (an unknown total becomes what was counted)."""
        if self._progress is not None and self._id is not None:
            task = self._progress.tasks[self._id]
            total = task.total if task.total is not None else task.completed
            self._progress.update(self._id, total=total, completed=total, description=description)


class Progress:
    """The display of one command (a context manager): tasks, and notes above them."""

    def __init__(
        self, *, quiet: bool = False, console: Console | None = None, transient: bool = False
    ) -> None:
        self.console = progress_console(console)
        self.enabled = not quiet and self.console.is_interactive
        self._rich: rich_progress.Progress | None = None
        if self.enabled:
            self._rich = rich_progress.Progress(
                SpinnerColumn(),
                TextColumn(
                    "{task.description}",
                    style="progress.description",
                    markup=False,
                    table_column=Column(max_width=DESCRIPTION_WIDTH, no_wrap=True),
                ),
                BarColumn(bar_width=BAR_WIDTH),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn(
                    "{task.fields[status]}",
                    markup=False,
                    table_column=Column(
                        no_wrap=True,
                        overflow="ellipsis",
                        max_width=max(STATUS_MIN_WIDTH, self.console.width - FIXED_WIDTH),
                    ),
                ),
                console=self.console,
                transient=transient,
                redirect_stdout=_is_terminal(sys.stdout),
                redirect_stderr=True,
            )

    def __enter__(self) -> Progress:
        if self._rich is not None:
            self._rich.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._rich is not None:
            self._rich.stop()

    def task(self, description: str, total: float | None = None) -> ProgressTask:
        if self._rich is None:
            return ProgressTask(None, None)
        task_id = self._rich.add_task(description, total=total, status="")
        return ProgressTask(self._rich, task_id)

    def note(self, message: str) -> None:
        """A line printed above the display (nothing when the display is off)."""
        if self._rich is not None:
            self._rich.console.print(message, markup=False, highlight=False)


def track(
    items: Iterable[T],
    description: str,
    *,
    total: float | None = None,
    quiet: bool = False,
    console: Console | None = None,
) -> Iterator[T]:
    """``items`` one by one, advancing a task per item (``total``: ``len(items)`` if any)."""
    if total is None and hasattr(items, "__len__"):
        total = float(len(items))  # type: ignore[arg-type]
    with Progress(quiet=quiet, console=console) as progress:
        task = progress.task(description, total)
        for item in items:
            yield item
            task.advance()
