"""Scheduled jobs of the grid, patrol and case modules, for the deployment's one scheduler.

:func:`scheduled_jobs` describes them as :class:`store.jobs.Job` values; it starts
nothing (the composition root adds them to the single APScheduler of the process that
runs scheduled jobs).  Each runs once at start-up, then every:

=====================  ===================================  ===========================
job                    call                                 every
=====================  ===================================  ===========================
case-deadlines         cases.deadlines.case_deadline_sweep  cases.sweep_interval_s (60)
patrol-overdue         patrol.service.mark_overdue          cases.sweep_interval_s (60)
case-notices           cases.notify.send_case_notices       cases.notice_interval_s (15)
patrol-tasks           patrol.service.generate_patrol_tasks cases.patrol_interval_s (600)
alert-cases            cases.bridge.alert_case_sweep        cases.alert_sweep_interval_s
upload-purge           staged uploads older than a day      1 h
=====================  ===================================  ===========================

Every job is idempotent (see each function), so a restart, a second process or a run
that comes late never doubles anything; a failing run is retried by the next one.  The
alert → case bridge listener is not a job: it is a cleanup context of the web app
(:func:`web.casework.cases.bridge.alert_listener_context`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg

from alerts.notifiers import Channels
from store.jobs import Job
from web.casework.cases.bridge import alert_case_sweep
from web.casework.cases.deadlines import case_deadline_sweep
from web.casework.cases.notify import SendReport, send_case_notices
from web.casework.kernel import queries as kq
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.uploads import remove_files
from web.casework.patrol.service import generate_patrol_tasks, mark_overdue

if TYPE_CHECKING:
    from web.settings import WebConfig

__all__ = ["scheduled_jobs"]

#: Staged uploads (photos not yet attached to anything) are kept this long.
UPLOAD_STAGING_TTL = timedelta(days=1)


def scheduled_jobs(pool: asyncpg.Pool, settings: WebConfig, channels: Channels) -> list[Job]:
    """The six jobs of the table above (``run_at_start``, ``misfire_grace_s=60``)."""
    config = CaseConfig.from_settings(settings)
    c = config.cases
    base_url = settings.web.base_url

    async def deadlines(now: datetime) -> int:
        return await case_deadline_sweep(pool, now, config)

    async def patrol_overdue(now: datetime) -> int:
        return await mark_overdue(pool, now, config)

    async def notices(now: datetime) -> SendReport:
        return await send_case_notices(pool, channels, settings.alerts, now=now, base_url=base_url)

    async def patrol_tasks(now: datetime) -> int:
        return await generate_patrol_tasks(pool, now, config)

    async def alert_cases(now: datetime) -> int:
        return await alert_case_sweep(pool, now, config)

    async def purge_uploads(now: datetime) -> int:
        purged, orphans = await kq.purge_staged_uploads(pool, now - UPLOAD_STAGING_TTL)
        await asyncio.to_thread(remove_files, config.uploads_dir, orphans)
        return purged

    table = (
        ("case-deadlines", deadlines, c.sweep_interval_s),
        ("patrol-overdue", patrol_overdue, c.sweep_interval_s),
        ("case-notices", notices, c.notice_interval_s),
        ("patrol-tasks", patrol_tasks, c.patrol_interval_s),
        ("alert-cases", alert_cases, c.alert_sweep_interval_s),
        ("upload-purge", purge_uploads, 3600.0),
    )
    return [
        Job(name, run, every_s=every, run_at_start=True, misfire_grace_s=60.0)
        for name, run, every in table
    ]
