"""The alert engine's process under ``envgrid serve`` (spawned by ingest/supervisor.py as
``"alerts.process:run_alerts"``): one :class:`~alerts.service.AlertService` on uvloop and
the one scheduler of the deployment's scheduled jobs, until SIGTERM/SIGINT, then a
graceful stop (scheduler off, last transitions written, rule state saved, queued
messages sent).

:func:`start_scheduler` turns the packages' :class:`store.jobs.Job` lists into one
APScheduler; it moves to the composition root (``envgrid.scheduler``) with the process
entry points.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, tzinfo
from typing import Any

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from aggregates import jobs as aggregates_jobs
from alerts.settings import AlertsConfig
from store.db import CONNECTION_ERRORS
from store.engine import Engine
from store.jobs import Job
from store.service import run_until_signalled

from . import jobs as alerts_jobs
from .service import AlertService

__all__ = ["describe_endpoint", "run_alerts", "running_engine", "start_scheduler"]

log = logging.getLogger("envgrid.alerts")

_START_RETRY_S = 5.0


def describe_endpoint(settings: AlertsConfig) -> str:
    """One line for the supervisor's banner."""
    s = settings.alerts
    channels = f"SMTP {s.smtp_host}:{s.smtp_port}" if s.smtp_host else "SMTP not configured"
    return (
        f"offline after {s.offline_after_s} s, sweep every {s.sweep_interval_s:g} s;"
        f" {channels}; webhooks, WeCom, DingTalk"
    )


def _logged(job: Job, tz: tzinfo) -> Callable[[], Coroutine[Any, Any, None]]:
    """The job's run with its outcome logged: a truthy result at INFO, a database outage
    as a warning (the next run retries), any other exception with its traceback."""

    async def run() -> None:
        try:
            result = await job.run(datetime.now(tz))
        except CONNECTION_ERRORS as exc:
            log.warning("%s: database unavailable (%s); will retry", job.name, exc)
        except asyncpg.PostgresError as exc:
            log.error("%s failed: %s", job.name, exc)
        except Exception:  # a bug must not stop the scheduler or the job's next run
            log.exception("%s failed", job.name)
        else:
            if result:
                log.info("%s: %s", job.name, result)

    run.__name__ = job.name
    return run


def start_scheduler(jobs: Sequence[Job], tz: tzinfo) -> AsyncIOScheduler:
    """One started ``AsyncIOScheduler`` (on the running loop) with ``jobs``: every job
    ``max_instances=1, coalesce=True``, its misfire grace, daily ones at ``HH:MM`` in
    ``tz``, and the first run at once for ``run_at_start`` jobs."""
    scheduler = AsyncIOScheduler(timezone=tz, job_defaults={"coalesce": True, "max_instances": 1})
    now = datetime.now(tz)
    for job in jobs:
        trigger: IntervalTrigger | CronTrigger
        if job.every_s is not None:
            trigger = IntervalTrigger(seconds=job.every_s, timezone=tz)
        else:
            assert job.at is not None
            hh, _, mm = job.at.partition(":")
            trigger = CronTrigger(hour=int(hh), minute=int(mm), timezone=tz)
        extra: dict[str, Any] = {"next_run_time": now} if job.run_at_start else {}
        scheduler.add_job(
            _logged(job, tz),
            trigger,
            id=job.name,
            name=job.name,
            misfire_grace_time=int(job.misfire_grace_s),
            **extra,
        )
    scheduler.start()
    return scheduler


@asynccontextmanager
async def running_engine(settings: AlertsConfig, dsn: str) -> AsyncIterator[AlertService]:
    """A started engine and a scheduler with its jobs and the aggregates' refresh; on exit
    the scheduler first, then the engine's graceful stop."""
    service = AlertService(settings, dsn)
    await service.start()
    scheduler: AsyncIOScheduler | None = None
    try:
        assert service.pool is not None
        jobs = alerts_jobs.scheduled_jobs(service)
        jobs += aggregates_jobs.scheduled_jobs(service.pool, settings)
        scheduler = start_scheduler(jobs, service.cfg().tz)
        yield service
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await service.stop()


async def serve(settings: AlertsConfig, dsn: str, stop: asyncio.Event) -> None:
    """Run the engine until ``stop`` is set; retry the start while the database is away."""
    while not stop.is_set():
        try:
            async with running_engine(settings, dsn):
                await stop.wait()
        except CONNECTION_ERRORS as exc:
            if stop.is_set():
                return
            log.warning("alert engine cannot start (%s); retrying in %.0f s", exc, _START_RETRY_S)
            try:
                await asyncio.wait_for(stop.wait(), _START_RETRY_S)
            except TimeoutError:
                continue
        return


def run_alerts(settings: AlertsConfig, dsn: str, engine: Engine, index: int) -> None:
    """Process entry point (blocking)."""
    del engine, index  # the engine's SQL is the same on both storage engines
    run_until_signalled(settings, lambda stop: serve(settings, dsn, stop), quiet=("apscheduler",))
