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

Every run is measured (:class:`SchedulerMetrics`, Prometheus, summed by the supervisor's
``/metrics``): runs by outcome (``ok``, ``failed``, ``db_unavailable``), durations, the
time of the last success and each job's nominal interval (a daily job: 86,400 s), so an
alert can say "no success for three intervals".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, tzinfo
from typing import Any, Final

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from store.db import CONNECTION_ERRORS
from store.jobs import Job, anchor

__all__ = ["OUTCOMES", "SchedulerMetrics", "start_scheduler"]

log = logging.getLogger("envgrid.scheduler")

#: How a run ended: the label values of ``envgrid_scheduler_job_runs_total``.
OUTCOMES: Final = ("ok", "failed", "db_unavailable")
_DAY_S: Final = 86400.0
_BUCKETS: Final = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


class SchedulerMetrics:
    """The scheduler's families, registered in ``registry`` (a new one by default).  A
    job is labelled ``name``: ``job`` is the label Prometheus gives the scrape target."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else CollectorRegistry()
        self.runs = Counter(
            "envgrid_scheduler_job_runs",
            "Finished runs of scheduled jobs, by job name and outcome (ok, failed, db_unavailable)",
            ["name", "outcome"],
            registry=reg,
        )
        self.seconds = Histogram(
            "envgrid_scheduler_job_seconds",
            "Duration of a scheduled job's run, by job name",
            ["name"],
            buckets=_BUCKETS,
            registry=reg,
        )
        self.last_success = Gauge(
            "envgrid_scheduler_job_last_success_timestamp_seconds",
            "When a job's last successful run ended (Unix time), by job name",
            ["name"],
            registry=reg,
            multiprocess_mode="max",
        )
        self.interval = Gauge(
            "envgrid_scheduler_job_interval_seconds",
            "A job's nominal interval (86400 for a daily job), by job name",
            ["name"],
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.running = Gauge(
            "envgrid_scheduler_job_running",
            "1 while a job runs, by job name",
            ["name"],
            registry=reg,
            multiprocess_mode="livesum",
        )

    def add(self, job: Job) -> None:
        """Announce ``job``: its interval, and zero runs of every outcome."""
        self.interval.labels(job.name).set(job.every_s if job.every_s is not None else _DAY_S)
        self.running.labels(job.name).set(0)
        for outcome in OUTCOMES:
            self.runs.labels(job.name, outcome)

    def finished(self, name: str, outcome: str | None, seconds: float) -> None:
        """A run of ``name`` ended with ``outcome`` (None: cancelled, not counted)."""
        self.running.labels(name).set(0)
        if outcome is None:
            return
        self.runs.labels(name, outcome).inc()
        self.seconds.labels(name).observe(seconds)
        if outcome == "ok":
            self.last_success.labels(name).set(time.time())


def _guarded(job: Job, tz: tzinfo, metrics: SchedulerMetrics) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        metrics.running.labels(job.name).set(1)
        start = time.perf_counter()
        outcome: str | None = "failed"
        try:
            result = await job.run(datetime.now(tz))
            outcome = "ok"
        except asyncio.CancelledError:
            # the scheduler and its pools stop under the run (a stop, a lost leadership):
            # not a failure of the job — the next leader runs it again
            outcome = None
            log.info("job %s: cancelled, the scheduled work is stopping", job.name)
            return
        except CONNECTION_ERRORS as exc:
            outcome = "db_unavailable"
            log.warning("job %s: database unavailable (%s); the next run retries", job.name, exc)
            return
        except Exception:  # a bug must not stop the scheduler or the job's next run
            log.exception("job %s failed", job.name)
            return
        finally:
            metrics.finished(job.name, outcome, time.perf_counter() - start)
        if result:
            log.info("job %s: %s", job.name, result)

    run.__name__ = job.name
    return run


def _trigger(job: Job, tz: tzinfo) -> Any:
    if job.every_s is not None:
        # on the lattice of store.jobs.anchor, so other processes know the next run
        return IntervalTrigger(seconds=job.every_s, start_date=anchor(tz), timezone=tz)
    assert job.at is not None  # Job checks that exactly one is given
    hh, _, mm = job.at.partition(":")
    return CronTrigger(hour=int(hh), minute=int(mm), timezone=tz)


def start_scheduler(
    jobs: Iterable[Job], tz: tzinfo, metrics: SchedulerMetrics | None = None
) -> AsyncIOScheduler:
    """Start one scheduler running ``jobs`` (names must be unique); call in the event loop.
    ``metrics``: where the runs are counted (a new :class:`SchedulerMetrics` by default).
    Stop it with ``scheduler.shutdown(wait=False)``."""
    metrics = metrics if metrics is not None else SchedulerMetrics()
    scheduler = AsyncIOScheduler(timezone=tz, job_defaults={"max_instances": 1, "coalesce": True})
    now = datetime.now(tz)
    names: set[str] = set()
    for job in jobs:
        if job.name in names:
            raise ValueError(f"two scheduled jobs are named {job.name!r}")
        names.add(job.name)
        metrics.add(job)
        scheduler.add_job(
            _guarded(job, tz, metrics),
            _trigger(job, tz),
            id=job.name,
            misfire_grace_time=int(job.misfire_grace_s),
            **({"next_run_time": now} if job.run_at_start else {}),
        )
    scheduler.start()
    log.info("scheduler: %d jobs (%s)", len(names), ", ".join(sorted(names)))
    return scheduler
