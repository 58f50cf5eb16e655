"""The analytics' refresh metrics (aggregates.metrics) on a real database: the dirty
marks waiting, the refresh lag on a controlled clock, the rows a scheduled refresh wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from prometheus_client import CollectorRegistry

from aggregates import jobs
from aggregates.metrics import AggregatesMetrics

from .dbdata import settings_for


async def test_dirty_marks_refresh_lag_and_refreshed_rows(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    clock = [1000.0]
    registry = CollectorRegistry()
    metrics = AggregatesMetrics(registry, clock=lambda: clock[0])

    def value(name: str) -> float | None:
        return registry.get_sample_value(f"envgrid_aggregates_{name}")

    metrics.sample()
    assert value("refresh_lag_seconds") == 0
    clock[0] = 1300.0
    metrics.sample()
    assert value("refresh_lag_seconds") == 300  # counted from the start until a first refresh

    await db_pool.execute(
        "INSERT INTO agg_dirty_days VALUES (1, '2026-01-01'), (1, '2026-01-02'), (2, '2026-01-02')"
    )
    await db_pool.execute("INSERT INTO agg_dirty_hours VALUES (1, '2026-01-01 01:00+08')")
    await metrics.sample_db(db_pool)
    assert (value("dirty_days"), value("dirty_hours")) == (3, 1)

    (refresh,) = jobs.scheduled_jobs(db_pool, settings_for(db_dsn), metrics)
    clock[0] = 2000.0
    await refresh.run(datetime.now(UTC))  # takes the dirty days
    assert value("refresh_lag_seconds") == 0
    clock[0] = 2060.0
    metrics.sample()
    assert value("refresh_lag_seconds") == 60
    await metrics.sample_db(db_pool)
    assert value("dirty_days") == 0
    assert value("refreshed_rows_total") is not None
