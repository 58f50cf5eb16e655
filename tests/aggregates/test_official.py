"""Official hourly/daily/monthly values: reported-vs-computed preference, validity rules,
flags excluded, late data and corrections picked up by the refresh job."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from aggregates import jobs
from aggregates.analysis import AQI_FACTORS

from .dbdata import (
    add_stations,
    copy_rows,
    hourly_day,
    local,
    marked_days,
    prepare,
    settings_for,
    upsert_hour,
)

DAY = date(2024, 3, 5)
PM25 = AQI_FACTORS["PM2.5"]
O3 = AQI_FACTORS["O3"]


async def _daily(conn: asyncpg.Connection, sid: int, fid: int, day: date = DAY) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT * FROM daily_values WHERE station_id = $1 AND factor_id = $2 AND day = $3",
        sid,
        fid,
        day,
    )


async def _refresh(pool: asyncpg.Pool, dsn: str, pairs: list[tuple[int, date]]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await jobs.refresh_days(conn, settings_for(dsn), pairs)


async def test_hourly_values_prefer_reported_then_minute_then_rtd(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "东区")], min_interval=1, rtd_interval=30)
        h = [local(DAY, k) for k in range(4)]
        # hour 0: reported + minute + rtd; hour 1: minute + rtd; hour 2: rtd; hour 3: rtd, sparse
        await upsert_hour(conn, [(1, fid, h[0], 50.0, None, None, None, None, "N")])
        minute = [
            (1, fid, h[i] + timedelta(minutes=m), 40.0, None, None, None, None, "N")
            for i in (0, 1)
            for m in range(60)
        ]
        await copy_rows(conn, "measurements_minute", minute)
        rtd = [
            (1, fid, h[i] + timedelta(seconds=30 * k), 30.0, None, None, None, None, "N")
            for i in (0, 1, 2)
            for k in range(120)
        ]
        rtd += [
            (1, fid, h[3] + timedelta(minutes=m), 20.0, None, None, None, None, "N")
            for m in range(44)
        ]
        await copy_rows(conn, "measurements_rtd", rtd)
        rows = await conn.fetch(
            "SELECT ts, value, valid, source, basis, coverage_min FROM hourly_values ORDER BY ts"
        )
    got = [(r["value"], r["valid"], r["source"], r["basis"], r["coverage_min"]) for r in rows]
    assert got == [
        (50.0, True, "reported", "hour", None),
        (40.0, True, "computed", "minute", 60),
        (30.0, True, "computed", "rtd", 60),
        (20.0, False, "computed", "rtd", 44),  # < 45 minutes of sampling: invalid hour
    ]


async def test_minute_interval_gives_the_coverage(db_pool: asyncpg.Pool) -> None:
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "a")], min_interval=5)
        await add_stations(conn, [(2, "a")])  # interval unknown: each value covers 1 minute
        rows = [
            (s, fid, local(DAY, 0, m), 10.0, None, None, None, None, "N")
            for s in (1, 2)
            for m in range(0, 60, 5)
            if m != 55
        ]
        await copy_rows(conn, "measurements_minute", rows)
        got = await conn.fetch(
            "SELECT station_id, valid, coverage_min FROM hourly_values ORDER BY 1"
        )
    assert [(r["station_id"], r["valid"], r["coverage_min"]) for r in got] == [
        (1, True, 55),
        (2, False, 11),
    ]


async def test_daily_mean_needs_20_valid_hours_and_excludes_flags(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "a"), (2, "a"), (3, "a")])
        flags20 = ["N"] * 20 + ["M", "C", "D", "T"]
        flags19 = ["N"] * 19 + ["M", "C", "D", "F", "B"]
        values = [10.0] * 19 + [30.0] + [999.0] * 4
        await upsert_hour(conn, hourly_day(1, fid, DAY, values, flags20))
        await upsert_hour(conn, hourly_day(2, fid, DAY, [10.0] * 19 + [999.0] * 5, flags19))
        await upsert_hour(conn, hourly_day(3, fid, DAY, [10.0] * 20 + [None] * 4))
    await _refresh(db_pool, db_dsn, [(1, DAY), (2, DAY), (3, DAY)])
    async with db_pool.acquire() as conn:
        d1, d2, d3 = [await _daily(conn, s, fid) for s in (1, 2, 3)]
    assert (d1["valid"], d1["n_valid_hours"], d1["n_hours"]) == (True, 20, 24)
    assert d1["value"] == pytest.approx(11.0)  # flagged 999s excluded, not averaged
    assert (d1["n_flag_m"], d1["n_flag_c"], d1["n_flag_d"], d1["n_flag_t"]) == (1, 1, 1, 1)
    assert (d2["valid"], d2["n_valid_hours"]) == (False, 19)  # reported as invalid
    assert d2["value"] == pytest.approx(10.0)
    assert (d2["n_flag_f"], d2["n_flag_b"]) == (1, 1)
    assert (d3["valid"], d3["n_hours"], d3["max_1h"]) == (True, 20, 10.0)


async def test_day_boundaries_are_local(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    """Hours 00:00–23:00 Shanghai make one day; the UTC day would split them."""
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "a")])
        await upsert_hour(conn, hourly_day(1, fid, DAY, [float(h) for h in range(24)]))
    await _refresh(
        db_pool, db_dsn, [(1, DAY - timedelta(days=1)), (1, DAY), (1, DAY + timedelta(days=1))]
    )
    async with db_pool.acquire() as conn:
        rows = await conn.fetch("SELECT day, n_hours, value FROM daily_values")
    assert [(r["day"], r["n_hours"], r["value"]) for r in rows] == [(DAY, 24, 11.5)]
    assert local(DAY) == datetime(2024, 3, 4, 16, tzinfo=UTC)


async def test_reported_daily_value_is_preferred(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "a"), (2, "a")])
        await upsert_hour(conn, hourly_day(1, fid, DAY, [10.0] * 24))
        await upsert_hour(conn, hourly_day(2, fid, DAY, [10.0] * 24))
        await copy_rows(
            conn,
            "measurements_day",
            [
                (1, fid, local(DAY), 12.0, None, None, None, None, "N"),
                (2, fid, local(DAY), 50.0, None, None, None, None, "D"),  # flagged: computed wins
            ],
        )
    await _refresh(db_pool, db_dsn, [(1, DAY), (2, DAY)])
    async with db_pool.acquire() as conn:
        d1, d2 = await _daily(conn, 1, fid), await _daily(conn, 2, fid)
    assert (d1["value"], d1["source"], d1["valid"], d1["n_valid_hours"]) == (
        12.0,
        "reported",
        True,
        24,
    )
    assert (d2["value"], d2["source"], d2["valid"]) == (10.0, "computed", True)


async def test_computed_hours_fill_gaps_and_are_marked(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "a")], min_interval=1)
        await upsert_hour(conn, hourly_day(1, fid, DAY, [10.0] * 18 + [None] * 6))
        minute = [
            (1, fid, local(DAY, h, m), 40.0, None, None, None, None, "N")
            for h in range(16, 24)
            for m in range(60)
        ]
        await copy_rows(conn, "measurements_minute", minute)
    await _refresh(db_pool, db_dsn, [(1, DAY)])
    async with db_pool.acquire() as conn:
        d = await _daily(conn, 1, fid)
    assert (d["n_valid_hours"], d["n_computed_hours"], d["source"]) == (24, 6, "computed")
    assert d["value"] == pytest.approx((18 * 10 + 6 * 40) / 24)


async def test_corrections_and_late_data_reach_the_official_values(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    settings = settings_for(db_dsn)
    old = date(2024, 3, 5)
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "a")])
        await upsert_hour(conn, hourly_day(1, fid, old, [10.0] * 24))
    now = datetime(2024, 3, 20, 12, tzinfo=UTC)
    await jobs.run_refresh(db_pool, settings, now=now)
    async with db_pool.acquire() as conn:
        assert (await _daily(conn, 1, fid, old))["value"] == 10.0
        assert await conn.fetchval("SELECT count(*) FROM agg_dirty_days") == 0
        # a station re-sends corrected hourly values (ON CONFLICT DO UPDATE → UPDATE trigger)
        await upsert_hour(conn, hourly_day(1, fid, old, [34.0] * 24))
        assert await conn.fetchval("SELECT count(*) FROM agg_dirty_days") == 1
    await jobs.run_refresh(db_pool, settings, now=now)
    async with db_pool.acquire() as conn:
        assert (await _daily(conn, 1, fid, old))["value"] == 34.0
        month = await conn.fetchrow("SELECT * FROM monthly_values WHERE station_id = 1")
        assert (month["n_valid_days"], month["mean"], month["valid"]) == (1, 34.0, False)
        # late real-time history of another old day (the station was offline)
        late = [
            (1, fid, local(date(2024, 3, 6), h, m), 20.0, None, None, None, None, "N")
            for h in range(24)
            for m in range(60)
        ]
        await copy_rows(conn, "measurements_rtd", late)
        assert await marked_days(conn) == {(1, date(2024, 3, 6))}
    await jobs.run_refresh(db_pool, settings, now=now)
    async with db_pool.acquire() as conn:
        d = await _daily(conn, 1, fid, date(2024, 3, 6))
        assert (d["value"], d["valid"], d["n_computed_hours"]) == (20.0, True, 24)
        month = await conn.fetchrow("SELECT * FROM monthly_values WHERE station_id = 1")
        assert (month["n_valid_days"], list(month["days"]), list(month["daily"])) == (
            2,
            [5, 6],
            [34.0, 20.0],
        )


async def test_mda8_needs_14_valid_windows(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[O3]
        await add_stations(conn, [(1, "a"), (2, "a")])
        ramp = [float(10 * h) for h in range(24)]  # best window: hours 16–23, mean 195
        await upsert_hour(conn, hourly_day(1, fid, DAY, ramp))
        # station 2: hours 0–12 missing → windows ending 08..20 have < 6 valid hours
        await upsert_hour(conn, hourly_day(2, fid, DAY, [None] * 13 + ramp[13:]))
    await _refresh(db_pool, db_dsn, [(1, DAY), (2, DAY)])
    async with db_pool.acquire() as conn:
        d1, d2 = await _daily(conn, 1, fid), await _daily(conn, 2, fid)
    assert (d1["mda8"], d1["mda8_windows"], d1["mda8_valid"], d1["max_1h"]) == (
        195.0,
        17,
        True,
        230.0,
    )
    assert (d2["mda8_windows"], d2["mda8_valid"], d2["valid"]) == (6, False, False)


async def test_monthly_validity_27_days_february_25(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "a"), (2, "a")])
        rows = []
        for d in range(1, 28):  # 27 days of March
            rows += hourly_day(1, fid, date(2023, 3, d), [20.0] * 24)
        for d in range(1, 25):  # 24 days of February
            rows += hourly_day(1, fid, date(2023, 2, d), [20.0] * 24)
        for d in range(1, 27):  # 26 days of April
            rows += hourly_day(2, fid, date(2023, 4, d), [20.0] * 24)
        await upsert_hour(conn, rows)
        pairs = [(r[0], (r[2] + timedelta(hours=8)).date()) for r in rows]
    await _refresh(db_pool, db_dsn, sorted(set(pairs)))
    async with db_pool.acquire() as conn:
        got = await conn.fetch(
            "SELECT station_id, month, n_valid_days, valid FROM monthly_values ORDER BY 1, 2"
        )
    assert [(r["station_id"], r["month"].month, r["n_valid_days"], r["valid"]) for r in got] == [
        (1, 2, 24, False),
        (1, 3, 27, True),
        (2, 4, 26, False),
    ]


async def test_yearly_series_bulk_and_incremental_agree(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    """yearly_values written day by day equal a bulk rebuild (and the daily values)."""
    import numpy as np

    from .dbdata import days as days_from

    start = date(2024, 2, 20)
    async with db_pool.acquire() as conn:
        ids = await prepare(conn)
        await add_stations(conn, [(1, "a"), (2, "a")])
        rows = []
        for k, day in enumerate(days_from(start, 20)):
            for fid in (ids[PM25], ids[O3]):
                hours = [float(10 + k)] * (24 if k % 4 else 19)  # every 4th day invalid
                rows += hourly_day(1 + k % 2, fid, day, hours)
        await upsert_hour(conn, rows)
        pairs = sorted({(r[0], (r[2] + timedelta(hours=8)).date()) for r in rows})
        async with conn.transaction():  # 20 days: the incremental path
            await jobs.refresh_days(conn, settings_for(db_dsn), pairs)
        before = {
            (r["station_id"], r["factor_id"]): (bytes(r["daily"]), r["mda8"] and bytes(r["mda8"]))
            for r in await conn.fetch("SELECT * FROM yearly_values")
        }
        from aggregates import queries

        # the bulk path: rebuild the same stations and year from daily_values
        await conn.execute(
            queries.REBUILD_YEARLY_SQL, [1, 2], 2024, date(2024, 1, 1), date(2025, 1, 1)
        )
        after = {
            (r["station_id"], r["factor_id"]): (bytes(r["daily"]), r["mda8"] and bytes(r["mda8"]))
            for r in await conn.fetch("SELECT * FROM yearly_values")
        }
        assert before == after
        series = np.frombuffer(after[(1, ids[PM25])][0], dtype=">f8")
        assert series.size == 366
        doy = start.timetuple().tm_yday  # station 1 gets the even days
        assert np.isnan(series[doy - 1])  # k = 0: 19 hours → invalid
        assert series[doy + 1] == 12.0  # k = 2
        assert np.isnan(series[: doy - 1]).all()
        o3 = np.frombuffer(after[(1, ids[O3])][1], dtype=">f8")
        assert o3[doy + 1] == 12.0
        assert after[(1, ids[PM25])][1] is None  # no MDA8 series for PM2.5
