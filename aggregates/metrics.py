"""Prometheus metrics of the analytics' refresh (:func:`aggregates.jobs.run_refresh`):
what waits for it and how far behind it is.

* ``envgrid_aggregates_dirty_days`` — (station, local day) pairs marked by late data and
  corrections whose official values wait for the next refresh (``agg_dirty_days``);
* ``envgrid_aggregates_dirty_hours`` — (station, hour) pairs of the continuous aggregates
  waiting on TimescaleDB (``agg_dirty_hours``; always 0 on plain PostgreSQL);
  both counted up to :data:`COUNT_LIMIT` (a change of ``core.timezone`` marks every day
  of every station; counting millions of rows every few seconds is not worth it);
* ``envgrid_aggregates_refresh_lag_seconds`` — seconds since the start of the last
  completed refresh (counted from the process's start until its first one): how stale the
  official daily and monthly values may be.  Normally below
  ``aggregates.refresh_interval_min`` plus a refresh's duration;
* ``envgrid_aggregates_refreshed_rows_total`` — daily rows the refreshes wrote.

The run's duration, failures and last success are the scheduler's
(``envgrid_scheduler_job_*{job="aggregates-refresh"}``).  The process that runs the
scheduler samples these (:meth:`AggregatesMetrics.sample` with the clock, every second;
:meth:`AggregatesMetrics.sample_db`, one count, every few seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge

from aggregates import queries

__all__ = ["COUNT_LIMIT", "AggregatesMetrics"]

#: The dirty marks are counted up to this many.
COUNT_LIMIT: Final = 100_000


class AggregatesMetrics:
    """The analytics' families, registered in ``registry`` (a new one by default)."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        reg = registry if registry is not None else CollectorRegistry()
        self.clock = clock
        self.last_refresh = clock()

        def gauge(name: str, text: str) -> Gauge:
            return Gauge(name, text, registry=reg, multiprocess_mode="livemax")

        self.dirty_days = gauge(
            "envgrid_aggregates_dirty_days",
            "(station, day) pairs waiting for the refresh of their official values",
        )
        self.dirty_hours = gauge(
            "envgrid_aggregates_dirty_hours",
            "(station, hour) pairs of the continuous aggregates waiting (TimescaleDB)",
        )
        self.lag = gauge(
            "envgrid_aggregates_refresh_lag_seconds",
            "Seconds since the start of the last completed refresh of the official values",
        )
        self.rows = Counter(
            "envgrid_aggregates_refreshed_rows",
            "Daily rows written by the refreshes of the official values",
            registry=reg,
        )

    def refreshed(self, started: float, rows: int) -> None:
        """A refresh that started at ``started`` (the clock's time) wrote ``rows``."""
        self.last_refresh = max(self.last_refresh, started)
        self.rows.inc(rows)
        self.sample()

    def sample(self) -> None:
        self.lag.set(max(0.0, self.clock() - self.last_refresh))

    async def sample_db(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        row = await db.fetchrow(queries.COUNT_DIRTY_SQL, COUNT_LIMIT)
        assert row is not None
        self.dirty_days.set(row["days"])
        self.dirty_hours.set(row["hours"])
