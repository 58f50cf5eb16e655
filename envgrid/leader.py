"""The process that runs the deployment's scheduled work: the alert engine (an
:class:`~alerts.service.AlertService` on uvloop) and the one scheduler
(:mod:`envgrid.scheduler`) with every package's jobs — the alert engine's sweeps and
pushes, the aggregates' refresh, the case deadlines, notices and patrol tasks, the
session and audit-log purge, the scheduled and the requested backups
(:mod:`envgrid.backup_job`). Spawned by the supervisor as ``envgrid-alerts``
(:func:`run_alerts`), or, under ``envgrid serve --no-alerts`` with the dashboard on, as
``envgrid-jobs`` (:func:`run_jobs`: the same scheduler without the engine and its jobs).

Its metrics (Prometheus, summed by the supervisor's ``/metrics``): the alert engine's
(:mod:`alerts.metrics`), the scheduler's (:mod:`envgrid.scheduler`), the analytics'
refresh (:mod:`aggregates.metrics`) and both pools (``role="alerts"``, ``"scheduler"``),
sampled every second, the database counts every :data:`DB_SAMPLE_S` seconds.

Only the elected leader runs them (:class:`store.cluster.LeaderElection`: a PostgreSQL
advisory lock on a dedicated connection); every other candidate — on this host or
another sharing the database — stands by and takes over when the leader dies or loses
its database connection.  Leadership changes are logged ("leadership gained" / "lost" /
"released") and exported as the ``envgrid_leader`` gauge (1 while leading).

Until SIGTERM/SIGINT; then a graceful stop: scheduler off, the last transitions written,
the rule state saved, queued messages sent, the leadership released.  While the
database is away the start is retried every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Final
from zoneinfo import ZoneInfo

import asyncpg
from prometheus_client import CollectorRegistry, Gauge

from aggregates import jobs as aggregates_jobs
from aggregates.audit import proposals as audit_proposals
from aggregates.metrics import AggregatesMetrics
from alerts import jobs as alerts_jobs
from alerts.notifiers import Channels
from alerts.service import AlertService
from envgrid import backup_job
from envgrid.scheduler import SchedulerMetrics, start_scheduler
from envgrid.settings import Settings
from store.cluster import LeaderElection
from store.db import CONNECTION_ERRORS, create_pool
from store.engine import Engine
from store.jobs import Job
from store.metrics import PoolMetrics, sampling
from store.service import run_until_signalled
from web.auth import jobs as auth_jobs
from web.casework import jobs as casework_jobs

__all__ = ["describe_endpoint", "run_alerts", "run_jobs", "running_leader"]

log = logging.getLogger("envgrid.leader")

_START_RETRY_S = 5.0
#: The gauges kept in memory are sampled every SAMPLE_S, the database counts every DB_SAMPLE_S.
SAMPLE_S: Final = 1.0
DB_SAMPLE_S: Final = 10.0


def describe_endpoint(settings: Settings) -> str:
    """The alert engine's line in the supervisor's banner."""
    s = settings.alerts
    channels = f"SMTP {s.smtp_host}:{s.smtp_port}" if s.smtp_host else "SMTP not configured"
    return (
        f"offline after {s.offline_after_s} s, sweep every {s.sweep_interval_s:g} s;"
        f" {channels}; webhooks, WeCom, DingTalk"
    )


@asynccontextmanager
async def running_leader(
    settings: Settings, dsn: str, *, alerts: bool = True
) -> AsyncIterator[AlertService | None]:
    """The alert engine (unless ``alerts`` is false) and the scheduler with every
    package's jobs, started; on exit the scheduler stops first, then the engine."""
    async with AsyncExitStack() as stack:
        service: AlertService | None = None
        jobs: list[Job] = []
        if alerts:
            service = AlertService(settings, dsn)
            await service.start()
            stack.push_async_callback(service.stop)
            jobs += alerts_jobs.scheduled_jobs(service)
        pool = await create_pool(dsn, min_size=1, max_size=2, application_name="envgrid-scheduler")
        stack.push_async_callback(pool.close)
        channels = Channels(settings.alerts)
        stack.push_async_callback(channels.close)
        refresh = AggregatesMetrics()
        jobs += aggregates_jobs.scheduled_jobs(pool, settings, refresh)
        jobs += audit_proposals.scheduled_jobs(pool, settings.aggregates.unit_factors)
        jobs += auth_jobs.scheduled_jobs(pool, settings.web.audit_retention_days)
        jobs += casework_jobs.scheduled_jobs(pool, settings, channels)
        jobs += backup_job.scheduled_jobs(settings, dsn, pool)
        jobs += backup_job.request_jobs(settings, dsn, pool)
        scheduler = start_scheduler(jobs, ZoneInfo(settings.core.timezone), SchedulerMetrics())
        stack.callback(scheduler.shutdown, wait=False)
        await stack.enter_async_context(_sampled(service, pool, refresh))
        yield service


@asynccontextmanager
async def _sampled(
    service: AlertService | None, pool: asyncpg.Pool, refresh: AggregatesMetrics
) -> AsyncIterator[None]:
    """Sample this process's gauges while the block runs (see the module docstring)."""
    pools = [(PoolMetrics("scheduler"), pool)]
    if service is not None:
        pools.append((PoolMetrics("alerts"), service.pool))

    def memory() -> None:
        refresh.sample()
        for metrics, owned in pools:
            metrics.sample(owned)
        if service is not None:
            service.metrics.sample(service)

    async def database() -> None:
        await refresh.sample_db(pool)
        if service is not None:
            await service.metrics.sample_db(pool)

    async with sampling(memory, SAMPLE_S, "leader"), sampling(database, DB_SAMPLE_S, "leader-db"):
        yield
    for metrics, _ in pools:
        metrics.clear()
    if service is not None:
        service.metrics.clear()


async def serve(settings: Settings, dsn: str, stop: asyncio.Event, *, alerts: bool) -> None:
    """Run until ``stop`` is set: stand by until elected (:mod:`store.cluster`), lead until
    the leadership is lost, stand by again.  A start that fails because the database is
    away gives the leadership up and is retried."""
    what = "alert engine and scheduler" if alerts else "scheduler"
    election = LeaderElection(dsn, settings.cluster, what=what)
    gauge = leader_gauge()
    gauge.set(0)
    try:
        while await election.campaign(stop):
            gauge.set(1)
            log.info("leadership gained: %s runs the %s", election.identity, what)
            reason = await _lead(settings, dsn, stop, election, alerts=alerts)
            gauge.set(0)
            await election.release()
            if stop.is_set():
                log.info("leadership released: %s stops", election.identity)
                return
            log.warning("leadership lost: %s (%s); standing by", election.identity, reason)
            # a standby (polling every leader_retry_s) gets the first chance to take over
            retry = settings.cluster.leader_retry_s * 2
            await _pause(stop, _START_RETRY_S if reason.startswith("start failed") else retry)
    finally:
        gauge.set(0)
        await election.release()


async def _lead(
    settings: Settings, dsn: str, stop: asyncio.Event, election: LeaderElection, *, alerts: bool
) -> str:
    """Run the scheduled work until ``stop`` (returns "") or the leadership is lost (the
    reason)."""
    try:
        async with running_leader(settings, dsn, alerts=alerts):
            watch = asyncio.ensure_future(election.watch())
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({watch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (watch, stopping):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            return "" if stopping.done() and not stopping.cancelled() else watch.result()
    except CONNECTION_ERRORS as exc:
        if stop.is_set():
            return ""
        log.warning("scheduled work cannot start (%s); retrying in %.0f s", exc, _START_RETRY_S)
        return f"start failed: {exc}"


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def leader_gauge(registry: CollectorRegistry | None = None) -> Gauge:
    """``envgrid_leader``: 1 while this process leads (one series per process under the
    supervisor's multiprocess ``/metrics``)."""
    return Gauge(
        "envgrid_leader",
        "1 while this process is the elected leader (alert engine and scheduled jobs)",
        registry=registry if registry is not None else CollectorRegistry(),
        multiprocess_mode="liveall",
    )


def run_alerts(settings: Settings, dsn: str, engine: Engine, index: int) -> None:
    """Process entry point: the alert engine and the scheduler (blocking)."""
    del engine, index  # the SQL is the same on both storage engines
    run_until_signalled(
        settings, lambda stop: serve(settings, dsn, stop, alerts=True), quiet=("apscheduler",)
    )


def run_jobs(settings: Settings, dsn: str, engine: Engine, index: int) -> None:
    """Process entry point without the alert engine (``--no-alerts``): the scheduler
    with the other packages' jobs (blocking)."""
    del engine, index
    run_until_signalled(
        settings, lambda stop: serve(settings, dsn, stop, alerts=False), quiet=("apscheduler",)
    )
