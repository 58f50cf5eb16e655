"""The one scheduler of a deployment.

Every package describes its periodic work as :class:`store.jobs.Job` values (the alert
engine's sweeps, the aggregates' refresh, the case deadlines, the session purge …);
:func:`start_scheduler` puts them all on ONE APScheduler ``AsyncIOScheduler``, owned by
the process that runs scheduled jobs (see :mod:`envgrid.leader`).  Every job runs with
``max_instances=1, coalesce=True``: a run still busy is not started again, missed runs
collapse into one.  A failing run is logged and the next run tries again — a database
outage as a one-line warning, any other error with its traceback (a run cancelled
because the scheduled work stops is one INFO line); a run that returns
something truthy (a count, a short text) is logged at INFO.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, tzinfo
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from store.db import CONNECTION_ERRORS
from store.jobs import Job

__all__ = ["start_scheduler"]

log = logging.getLogger("envgrid.scheduler")


def _guarded(job: Job, tz: tzinfo) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await job.run(datetime.now(tz))
        except asyncio.CancelledError:
            # the scheduler and its pools stop under the run (a stop, a lost leadership):
            # not a failure of the job — the next leader runs it again
            log.info("job %s: cancelled, the scheduled work is stopping", job.name)
            return
        except CONNECTION_ERRORS as exc:
            log.warning("job %s: database unavailable (%s); the next run retries", job.name, exc)
            return
        except Exception:  # a bug must not stop the scheduler or the job's next run
            log.exception("job %s failed", job.name)
            return
        if result:
            log.info("job %s: %s", job.name, result)

    run.__name__ = job.name
    return run


def _trigger(job: Job, tz: tzinfo) -> Any:
    if job.every_s is not None:
        return IntervalTrigger(seconds=job.every_s, timezone=tz)
    assert job.at is not None  # Job checks that exactly one is given
    hh, _, mm = job.at.partition(":")
    return CronTrigger(hour=int(hh), minute=int(mm), timezone=tz)


def start_scheduler(jobs: Iterable[Job], tz: tzinfo) -> AsyncIOScheduler:
    """Start one scheduler running ``jobs`` (names must be unique); call in the event loop.
    Stop it with ``scheduler.shutdown(wait=False)``."""
    scheduler = AsyncIOScheduler(timezone=tz, job_defaults={"max_instances": 1, "coalesce": True})
    now = datetime.now(tz)
    names: set[str] = set()
    for job in jobs:
        if job.name in names:
            raise ValueError(f"two scheduled jobs are named {job.name!r}")
        names.add(job.name)
        scheduler.add_job(
            _guarded(job, tz),
            _trigger(job, tz),
            id=job.name,
            misfire_grace_time=int(job.misfire_grace_s),
            **({"next_run_time": now} if job.run_at_start else {}),
        )
    scheduler.start()
    log.info("scheduler: %d jobs (%s)", len(names), ", ".join(sorted(names)))
    return scheduler
