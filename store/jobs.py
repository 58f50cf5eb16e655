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

A periodic job runs on a fixed lattice: at :data:`ANCHOR` (local midnight of 2000-01-01 in
the deployment's time zone) plus whole multiples of ``every_s`` — a 30-minute job at :00 and
:30 — so any process can tell when it runs next (:func:`next_run`; the rankings page says
"下次 10:30" with it) without asking the process that owns the scheduler.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

__all__ = ["Job", "JobRun", "anchor", "next_run"]

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


def anchor(tz: tzinfo) -> datetime:
    """The start of every periodic job's lattice: local midnight of 2000-01-01 in ``tz``."""
    return datetime(2000, 1, 1, tzinfo=tz)


def next_run(every_s: float, now: datetime) -> datetime:
    """When a job of period ``every_s`` runs next after ``now`` (aware; the result is in
    ``now``'s zone): the first lattice point (:func:`anchor` + k × ``every_s``) after it."""
    if now.tzinfo is None:
        raise ValueError("next_run needs an aware time")
    start = anchor(now.tzinfo)
    k = math.floor((now - start).total_seconds() / every_s) + 1
    return start + timedelta(seconds=k * every_s)
