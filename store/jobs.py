"""Scheduled jobs as plain data: what each package offers the one scheduler.

A package that has periodic work (the alert engine's sweeps, the aggregates' refresh,
the case deadlines, the session purge ...) describes it as :class:`Job` values; it does
not create a scheduler.  The composition root (``envgrid.scheduler``) owns the single
APScheduler instance of a deployment, in the process that runs scheduled jobs, and adds
every package's jobs to it.  So a package stays testable without APScheduler (call
``job.run(now)``), and no job runs twice because two processes each started a scheduler.

A job is either periodic (``every_s``) or daily at a wall-clock time (``at``, ``"HH:MM"``
in the deployment's time zone).  ``run`` receives the scheduled time (aware) and returns
something truthy to have it logged (a count, a short text) or a falsy value to stay quiet.
Every job runs with ``max_instances=1, coalesce=True``: a run that is still busy is not
started again, missed runs collapse into one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Job", "JobRun"]

#: A job's coroutine function: called with the time of the run (aware).
JobRun = Callable[[datetime], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Job:
    """One scheduled job: a name (the scheduler's id, unique per deployment) and when."""

    name: str
    run: JobRun
    every_s: float | None = None
    at: str | None = None
    run_at_start: bool = False
    misfire_grace_s: float = 60.0

    def __post_init__(self) -> None:
        if (self.every_s is None) == (self.at is None):
            raise ValueError(f"job {self.name}: give exactly one of every_s and at")
        if self.every_s is not None and self.every_s <= 0:
            raise ValueError(f"job {self.name}: every_s must be > 0 (got {self.every_s})")
        if self.at is not None:
            hh, sep, mm = self.at.partition(":")
            if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
                raise ValueError(f"job {self.name}: at must be HH:MM (got {self.at!r})")
