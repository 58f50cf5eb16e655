"""The alert engine's scheduled jobs as plain data (:class:`store.jobs.Job`).

The engine does not create a scheduler: the process that runs scheduled jobs
(``envgrid.leader``) adds these to the deployment's one scheduler.  Each job is one call
into the running :class:`~alerts.service.AlertService`:

* ``offline-sweep`` — :meth:`~AlertService.sweep`, every ``alerts.sweep_interval_s``,
  first at start;
* ``exceedance-means`` — :meth:`~AlertService.judge_means`, every
  ``alerts.means_interval_s``, first at start (exceedance on hourly/8-h/daily means);
* ``dispatch`` — :meth:`~AlertService.dispatch`, every ``alerts.dispatch_interval_s``,
  first at start;
* ``save-state`` — :meth:`~AlertService.save_state`, every ``alerts.state_save_s``;
* ``reload-config`` — :meth:`~AlertService.reload_config`, every ``alerts.config_reload_s``;
* ``daily-ranking`` — :meth:`~AlertService.daily_ranking`, daily at
  ``aggregates.daily_ranking_time`` (when ``alerts.daily_push``);
* ``housekeeping`` — :meth:`~AlertService.housekeeping`, daily at
  ``alerts.housekeeping_time``.

(``reload-config`` also runs at once on ``envgrid_alert_config``, from the flush loop.)
The runs return nothing: what is worth logging the jobs log themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.jobs import Job, JobRun

from .forward_backlog import sweep as sweep_forward_backlog

if TYPE_CHECKING:
    from .service import AlertService

__all__ = ["MISFIRE_GRACE_S", "quiet", "scheduled_jobs"]

#: A run that is this late (the process was busy, the clock jumped) still runs.
MISFIRE_GRACE_S = 300.0


def quiet(func: Callable[[], Awaitable[Any]]) -> JobRun:
    """A job run that calls ``func()`` and returns nothing (nothing to log)."""

    async def run(now: datetime) -> None:
        await func()

    return run


def scheduled_jobs(service: AlertService) -> list[Job]:
    """The jobs of a started ``service`` (see the module docstring)."""
    s = service.settings.alerts

    def job(name: str, func: Callable[[], Awaitable[Any]], **when: Any) -> Job:
        return Job(name, quiet(func), misfire_grace_s=MISFIRE_GRACE_S, **when)

    jobs = [
        job("offline-sweep", service.sweep, every_s=s.sweep_interval_s, run_at_start=True),
        job("exceedance-means", service.judge_means, every_s=s.means_interval_s, run_at_start=True),
        job("dispatch", service.dispatch, every_s=s.dispatch_interval_s, run_at_start=True),
        job("save-state", service.save_state, every_s=s.state_save_s),
        job("reload-config", service.reload_config, every_s=s.config_reload_s),
    ]
    if s.daily_push:
        ranking_at = service.settings.aggregates.daily_ranking_time
        jobs.append(job("daily-ranking", service.daily_ranking, at=ranking_at))
    jobs.append(job("housekeeping", service.housekeeping, at=s.housekeeping_time))

    async def forward_backlog() -> None:
        assert service.pool is not None
        async with service.pool.acquire() as conn:
            await sweep_forward_backlog(conn, service.writer)

    jobs.append(job("forward-backlog", forward_backlog, every_s=s.sweep_interval_s))
    return jobs
