"""Progress of a long backup or restore step, drawn by the display every CLI uses
(:mod:`store.progress`: on stderr when it is a terminal, nothing otherwise — cron,
systemd, the scheduler, pipes), with the bytes done in its status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Final, Protocol

from rich.filesize import decimal

from store.progress import Progress, ProgressTask

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


class _DisplaySteps:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: ProgressTask | None = None
        self._done = 0
        self._total: int | None = None

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[None]:
        with self._progress:
            self._task, self._done, self._total = self._progress.task(label, total), 0, total
            try:
                yield
            finally:
                task, self._task = self._task, None
                task.finish()

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._done += amount
            self._task.advance(amount)
            whole = f" / {decimal(self._total)}" if self._total is not None else ""
            self._task.update(status=f"{decimal(self._done)}{whole}")


def terminal_steps(*, quiet: bool = False) -> Steps:
    """Steps on the CLIs' progress display, or :class:`Quiet` when it would draw nothing."""
    progress = Progress(quiet=quiet)
    return _DisplaySteps(progress) if progress.enabled else QUIET
