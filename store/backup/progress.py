"""Progress of a long backup or restore step: a bar with bytes, speed and time when
stdout is a terminal (``rich.progress``), nothing otherwise (cron, systemd, the
scheduler, pipes)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Final, Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

__all__ = ["QUIET", "Quiet", "Steps", "terminal_steps"]


class Steps(Protocol):
    """Reports the steps of a job: ``step(label, total)`` opens one (``total`` bytes, or
    None when unknown) and yields the function that advances it by a number of bytes."""

    def step(self, label: str, total: int | None = None) -> AbstractContextManager[None]: ...

    def advance(self, amount: int) -> None: ...


class Quiet:
    """No output."""

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[None]:
        yield

    def advance(self, amount: int) -> None:
        return None


QUIET: Final = Quiet()


class _RichSteps:
    def __init__(self, stream: TextIO) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task: TaskID | None = None

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[None]:
        with self._progress:
            self._task = self._progress.add_task(label, total=total)
            try:
                yield
            finally:
                task, self._task = self._task, None
                if total is None and task is not None:  # unknown size: show it complete
                    self._progress.update(task, total=self._progress.tasks[-1].completed)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


def terminal_steps(stream: TextIO | None = None, *, quiet: bool = False) -> Steps:
    """A progress display on ``stream`` (stdout) when it is a terminal, else :class:`Quiet`."""
    out = stream or sys.stdout
    if quiet or not out.isatty():
        return Quiet()
    return _RichSteps(out)
