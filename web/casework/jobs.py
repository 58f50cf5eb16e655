"""Background work of the grid, patrol and case modules in the web process.

One cleanup context (:func:`case_background`, listed in ``web.casework.cases.routes.CONTEXTS``;
the app starts it only in a real server process, after the pool):

* the alert → case bridge (:func:`web.casework.cases.bridge.run_alert_listener`, LISTEN
  ``envgrid_alerts``), a task that reconnects by itself;
* one APScheduler ``AsyncIOScheduler`` of its own (``max_instances=1, coalesce=True``),
  every job one call into the domain layer, each run once at start-up:

  =====================  ===================================  ===========================
  job                    call                                 every
  =====================  ===================================  ===========================
  case-deadlines         deadlines.case_deadline_sweep        cases.sweep_interval_s (60)
  patrol-overdue         patrol.service.mark_overdue          cases.sweep_interval_s (60)
  case-notices           notify.send_case_notices             cases.notice_interval_s (15)
  patrol-tasks           patrol.service.generate_patrol_tasks cases.patrol_interval_s (600)
  alert-cases            bridge.alert_case_sweep              cases.alert_sweep_interval_s
  upload-purge           staged uploads older than a day      1 h
  =====================  ===================================  ===========================

Every job is idempotent (see each function), so a second web process, a restart or a
job that runs late never doubles anything; a failing run is logged and the next run
tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from alerts.notifiers import Channels
from web.casework.cases import queries as q
from web.casework.cases.bridge import alert_case_sweep, run_alert_listener
from web.casework.cases.deadlines import case_deadline_sweep
from web.casework.cases.notify import send_case_notices
from web.casework.kernel.config import CaseConfig
from web.casework.patrol.service import generate_patrol_tasks, mark_overdue
from web.keys import POOL_KEY, SETTINGS_KEY

__all__ = ["case_background", "schedule_jobs"]

log = logging.getLogger("envgrid.cases")

Job = Callable[[datetime], Awaitable[Any]]


def _guard(name: str, job: Job) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await job(datetime.now().astimezone())
        except asyncio.CancelledError:
            raise
        except Exception:  # the next run tries again
            log.exception("case job %s failed", name)
            return
        if result:
            log.info("case job %s: %s", name, result)

    return run


def schedule_jobs(app: web.Application, channels: Channels) -> Any:
    """The scheduler with the jobs of the table above (not started)."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    settings = app[SETTINGS_KEY]
    pool = app[POOL_KEY]
    config = CaseConfig.from_settings(settings)
    c = config.cases
    base_url = settings.web.base_url

    async def purge_uploads(now: datetime) -> int:
        status = await pool.execute(q.PURGE_UPLOADS_SQL, now - timedelta(days=1))
        return int(status.split()[-1])

    jobs: list[tuple[str, Job, float]] = [
        ("case-deadlines", lambda now: case_deadline_sweep(pool, now, config), c.sweep_interval_s),
        ("patrol-overdue", lambda now: mark_overdue(pool, now, config), c.sweep_interval_s),
        (
            "case-notices",
            lambda now: send_case_notices(
                pool, channels, settings.alerts, now=now, base_url=base_url
            ),
            c.notice_interval_s,
        ),
        ("patrol-tasks", lambda now: generate_patrol_tasks(pool, now, config), c.patrol_interval_s),
        ("alert-cases", lambda now: alert_case_sweep(pool, now, config), c.alert_sweep_interval_s),
        ("upload-purge", purge_uploads, 3600.0),
    ]
    scheduler = AsyncIOScheduler(
        timezone=settings.core.timezone,
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 60},
    )
    start = datetime.now().astimezone()
    for name, job, every in jobs:
        scheduler.add_job(
            _guard(name, job), "interval", seconds=every, id=name, next_run_time=start
        )
    return scheduler


async def case_background(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the bridge listener and the scheduler (see the module docstring)."""
    settings = app[SETTINGS_KEY]
    config = CaseConfig.from_settings(settings)
    channels = Channels(settings.alerts)
    listener = asyncio.create_task(
        run_alert_listener(app[POOL_KEY], config), name="envgrid-alert-case-bridge"
    )
    scheduler = schedule_jobs(app, channels)
    scheduler.start()
    log.info("cases: alert → case bridge and %d scheduled jobs started", len(scheduler.get_jobs()))
    try:
        yield
    finally:
        scheduler.shutdown(wait=False)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await channels.close()
