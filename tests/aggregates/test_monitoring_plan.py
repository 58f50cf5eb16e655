"""HJ 633—2026 §5.3 through the stored data: a station that does not measure CO by plan
(its 应测因子 lack a21005) has a daily and hourly AQI without CO; a station meant to
measure CO whose CO is missing has AQI "NA" (≤ 100 without it).  Before 2026-03-01
(HJ 633—2012) a missing pollutant simply does not take part.  Real PostgreSQL."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from aggregates.analysis import AQI_FACTORS
from aggregates.aqi_series import area_daily_aqi, hourly_aqi_at, station_daily_aqi
from aggregates.periods import period_of
from aggregates.report_model import ReportSpec
from aggregates.reports import build_report

from .dbdata import add_stations, days, hourly_day, local, prepare, settings_for, upsert_hour

NEW, OLD = date(2026, 4, 1), date(2026, 2, 1)
#: every pollutant but CO, at IAQI ≤ 100 (PM2.5 60 → 100 under HJ 633—2026, the primary)
LEVELS = {"SO2": 10, "NO2": 30, "O3": 90, "PM10": 70, "PM2.5": 60}
WITHOUT_CO = [code for pol, code in AQI_FACTORS.items() if pol != "CO"]


@pytest.fixture
async def plans(db_pool: asyncpg.Pool, db_dsn: str) -> asyncpg.Pool:
    """ST1 (东区): CO outside its plan; ST2 (东区): no plan (all six); ST3 (西区): a plan
    that includes CO.  None of them has CO data."""
    from aggregates import jobs

    async with db_pool.acquire() as conn:
        ids = await prepare(conn)
        await add_stations(conn, [(1, "东区"), (2, "东区"), (3, "西区")])
        await conn.execute("UPDATE stations SET expected_factors = $1 WHERE id = 1", WITHOUT_CO)
        await conn.execute(
            "UPDATE stations SET expected_factors = $1 WHERE id = 3", list(AQI_FACTORS.values())
        )
        rows = []
        for sid in (1, 2, 3):
            for pol, value in LEVELS.items():
                for day in [*days(OLD, 1), *days(NEW, 1)]:
                    rows += hourly_day(sid, ids[AQI_FACTORS[pol]], day, [float(value)] * 24)
        await upsert_hour(conn, rows)
        async with conn.transaction():
            pairs = [(sid, d) for sid in (1, 2, 3) for d in (OLD, NEW)]
            await jobs.refresh_days(conn, settings_for(db_dsn), pairs)
    return db_pool


async def test_daily_aqi_follows_the_plan(plans: asyncpg.Pool, db_dsn: str) -> None:
    got = {a.key: a.result for a in await station_daily_aqi(plans, settings_for(db_dsn), NEW)}
    assert (got["ST1"].aqi, got["ST1"].published, got["ST1"].missing_indicators) == (100, True, ())
    for mn in ("ST2", "ST3"):
        assert (got[mn].aqi, got[mn].published) == (None, False)
        assert got[mn].missing_indicators == ("CO_24h",)
        assert got[mn].iaqi["PM2.5"] == 100
    # HJ 633—2012: CO missing does not stop the AQI
    old = {a.key: a.result for a in await station_daily_aqi(plans, settings_for(db_dsn), OLD)}
    assert {mn: r.aqi for mn, r in old.items()} == {"ST1": 82, "ST2": 82, "ST3": 82}


async def test_area_counts_a_pollutant_missing_when_any_station_plans_it(
    plans: asyncpg.Pool, db_dsn: str
) -> None:
    await plans.execute("UPDATE stations SET expected_factors = $1 WHERE id = 2", WITHOUT_CO)
    got = {a.key: a.result for a in await area_daily_aqi(plans, settings_for(db_dsn), NEW, "region")}
    assert got["东区"].aqi == 100  # neither ST1 nor ST2 is meant to measure CO
    assert got["西区"].aqi is None and got["西区"].missing_indicators == ("CO_24h",)


async def test_real_time_aqi_follows_the_plan(plans: asyncpg.Pool, db_dsn: str) -> None:
    got = {s.mn: r for s, r in await hourly_aqi_at(plans, settings_for(db_dsn), local(NEW, 10))}
    assert got["ST1"].aqi == 100 and got["ST1"].primary == ("PM2.5",)
    assert got["ST2"].aqi is None and got["ST2"].missing_indicators == ("CO_1h",)


async def test_hour_report_shows_na_and_takes_all_six(plans: asyncpg.Pool, db_dsn: str) -> None:
    """The report's AQI does not depend on which factors it shows: a report of PM2.5 alone
    for ST1 still has AQI 100 (the plan exempts CO), for ST2 "NA" (CO planned, missing)."""
    settings = settings_for(db_dsn)
    pm25 = (AQI_FACTORS["PM2.5"],)
    st1 = await build_report(
        plans, settings, ReportSpec("station", "ST1", period_of("hour", NEW), factors=pm25)
    )
    assert st1.main.rows[10] == ["10:00", 60, 100, "良", "PM2.5"]
    st2 = await build_report(
        plans, settings, ReportSpec("station", "ST2", period_of("hour", NEW), factors=pm25)
    )
    assert st2.main.rows[10] == ["10:00", 60, "NA", None, None]
