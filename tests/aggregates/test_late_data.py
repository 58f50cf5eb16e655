"""Late data and corrections of any age reach the rollups and the official values, on both
engines, through envgrid's own refresh (no TimescaleDB background job runs in tests); and
on TimescaleDB the rollups outlive the raw data they were computed from."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from aggregates import jobs
from aggregates.analysis import AQI_FACTORS
from envgrid.settings import Settings
from store.engine import EngineInfo
from store.partitions import apply_retention

from .dbdata import (
    Row,
    add_stations,
    copy_rows,
    local,
    marked_days,
    prepare,
    settings_for,
    upsert_hour,
)

PM25 = AQI_FACTORS["PM2.5"]
TZ = ZoneInfo("Asia/Shanghai")


def _minutes(sid: int, fid: int, day: date, value: float, hours: range = range(24)) -> list[Row]:
    return [
        (sid, fid, local(day, h, m), value, None, None, None, None, "N")
        for h in hours
        for m in range(60)
    ]


async def _values(conn: asyncpg.Connection, fid: int, day: date) -> tuple[object, ...]:
    hourly = await conn.fetchval(
        "SELECT avg(value) FROM hourly_values WHERE station_id = 1 AND factor_id = $1"
        " AND ts >= $2 AND ts < $3",
        fid,
        local(day),
        local(day + timedelta(days=1)),
    )
    rollup = await conn.fetchval(
        "SELECT sum(sum_valid) / sum(n_valid) FROM agg_hourly_minute WHERE station_id = 1"
        " AND factor_id = $1 AND bucket >= $2 AND bucket < $3",
        fid,
        local(day),
        local(day + timedelta(days=1)),
    )
    daily = await conn.fetchval(
        "SELECT value FROM daily_values WHERE station_id = 1 AND factor_id = $1 AND day = $2",
        fid,
        day,
    )
    monthly = await conn.fetchval(
        "SELECT mean FROM monthly_values WHERE station_id = 1 AND factor_id = $1 AND month = $2",
        fid,
        day.replace(day=1),
    )
    return hourly, rollup, daily, monthly


async def _station_60_days_back(
    db_pool: asyncpg.Pool, db_dsn: str, hours: range
) -> tuple[Settings, datetime, date, int]:
    """One station with minute data at 10 for ``hours`` of the local day 60 days ago,
    refreshed; returns (settings, now, that day, the PM2.5 factor id)."""
    settings = settings_for(db_dsn)
    now = datetime.now(UTC)
    old = (now - timedelta(days=60)).astimezone(TZ).date()
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "a")], min_interval=1)
        await copy_rows(conn, "measurements_minute", _minutes(1, fid, old, 10.0, hours))
    await jobs.run_refresh(db_pool, settings, now=now)
    return settings, now, old, fid


async def test_a_late_correction_60_days_old_changes_hourly_daily_monthly(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    # the second half of the day arrived in time (well, 60 days ago) …
    settings, now, old, fid = await _station_60_days_back(db_pool, db_dsn, range(12, 24))
    async with db_pool.acquire() as conn:
        hourly, rollup, _, _ = await _values(conn, fid, old)
        assert (hourly, rollup) == (10.0, 10.0)
        assert await marked_days(conn) == set()
        # … the first half comes now, as a history reply after a long outage
        await copy_rows(conn, "measurements_minute", _minutes(1, fid, old, 34.0, range(12)))
        assert (1, old) in await marked_days(conn)
    await jobs.run_refresh(db_pool, settings, now=now)
    async with db_pool.acquire() as conn:
        assert await _values(conn, fid, old) == (22.0, 22.0, 22.0, 22.0)
        assert await marked_days(conn) == set()
        # a reported hourly value of that day is sent, then corrected (ON CONFLICT DO UPDATE)
        await upsert_hour(conn, [(1, fid, local(old, 5), 58.0, None, None, None, None, "N")])
        await upsert_hour(conn, [(1, fid, local(old, 5), 82.0, None, None, None, None, "N")])
    await jobs.run_refresh(db_pool, settings, now=now)
    async with db_pool.acquire() as conn:
        hourly, rollup, daily, monthly = await _values(conn, fid, old)
    assert hourly == pytest.approx(24.0) and rollup == 22.0  # reported hour preferred
    assert daily == pytest.approx(24.0, abs=0.1) and monthly == pytest.approx(daily)


@pytest.mark.timescaledb
async def test_rollups_outlive_the_raw_data(
    db_pool: asyncpg.Pool, db_dsn: str, engine_info: EngineInfo
) -> None:
    settings, now, old, fid = await _station_60_days_back(db_pool, db_dsn, range(24))
    async with db_pool.acquire() as conn:
        before = await _values(conn, fid, old)
        assert before[1] == 10.0
        # retention drops the raw minute data of that day …
        dropped = await apply_retention(conn, engine_info.engine, {"measurements_minute": 30}, now)
        assert dropped
        assert not await conn.fetchval("SELECT count(*) FROM measurements_minute")
        # … then one late minute value for that day arrives and is marked
        await copy_rows(conn, "measurements_minute", _minutes(1, fid, old, 99.0, range(1))[:1])
        assert await conn.fetchval("SELECT count(*) FROM agg_dirty_hours") == 1
    await jobs.run_refresh(db_pool, settings, now=now)
    async with db_pool.acquire() as conn:
        # the refresh did not recompute that day from the one raw row left: history kept
        assert await _values(conn, fid, old) == before
        assert await conn.fetchval("SELECT count(*) FROM agg_dirty_hours") == 0


@pytest.mark.timescaledb
async def test_late_rows_mark_each_station_hour(db_conn: asyncpg.Connection) -> None:
    """Migration 0074 skips the INSERT for a row whose (station, hour) the previous late row
    marked; every pair is still marked, also after a savepoint that rolled a mark back."""
    hour = datetime(2024, 3, 1, 6, tzinfo=UTC)
    rows = [
        (sid, fid, hour + timedelta(minutes=m), 1.0, None, None, None, None, "N")
        for m in (0, 59, 60, 61, 125)
        for sid in (1, 2)
        for fid in (1, 2, 3)
    ]
    await copy_rows(db_conn, "measurements_rtd", rows)
    marked = await db_conn.fetch("SELECT station_id, hour FROM agg_dirty_hours ORDER BY 2, 1")
    hours = [hour, hour + timedelta(hours=1), hour + timedelta(hours=2)]
    assert [(r["station_id"], r["hour"]) for r in marked] == [(s, h) for h in hours for s in (1, 2)]
    await db_conn.execute("DELETE FROM agg_dirty_hours")
    late = [(3, 1, hour, 2.0, None, None, None, None, "N")]
    async with db_conn.transaction():
        with contextlib.suppress(asyncpg.RaiseError):
            async with db_conn.transaction():  # a savepoint
                await copy_rows(db_conn, "measurements_rtd", late)
                await db_conn.execute("DO $$ BEGIN RAISE 'roll back the savepoint'; END $$")
        assert await db_conn.fetchval("SELECT count(*) FROM agg_dirty_hours") == 0
        await copy_rows(db_conn, "measurements_rtd", late)
        await copy_rows(db_conn, "measurements_minute", late)
    marked = await db_conn.fetch("SELECT station_id, hour FROM agg_dirty_hours")
    assert [(r["station_id"], r["hour"]) for r in marked] == [(3, hour)]
