"""Rankings, shares, good-day rate, the daily ranking job and the heat map, on the real
PostgreSQL with hand-computable data."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import pytest

from aggregates import jobs, rankings
from aggregates.analysis import AQI_FACTORS
from aggregates.aqi_series import (
    area_daily_aqi,
    good_days,
    pollutant_share,
    recent_daily,
    station_daily_aqi,
)
from aggregates.heatmap import idw_grid
from aggregates.rankings import recent_monthly
from aggregates.selection import QueryError

from .dbdata import DAYS, START, build_network, settings_for


@pytest.fixture
async def network(db_pool: asyncpg.Pool, db_dsn: str) -> asyncpg.Pool:
    await build_network(db_pool, db_dsn)
    return db_pool


async def test_station_daily_aqi(network: asyncpg.Pool, db_dsn: str) -> None:
    got = await station_daily_aqi(network, settings_for(db_dsn), START)
    assert [(a.key, a.result.aqi, a.result.primary, a.valid) for a in got] == [
        ("ST1", 50, (), True),
        ("ST2", 100, ("PM2.5",), True),
        ("ST3", 100, ("PM2.5",), True),
        ("ST4", 150, ("PM10",), True),
    ]
    assert got[3].result.exceedance == ("PM10",)


async def test_rank_by_daily_aqi_with_ties(network: asyncpg.Pool, db_dsn: str) -> None:
    rows = await rankings.ranking(
        network, settings_for(db_dsn), "aqi", START, START + timedelta(days=1)
    )
    assert [(r.rank, r.key, r.value) for r in rows] == [
        (1, "ST1", 50),
        (2, "ST2", 100),
        (2, "ST3", 100),
        (4, "ST4", 150),
    ]
    assert rows[3].detail["category"] == "轻度污染"


async def test_region_uses_city_averaging_not_max(network: asyncpg.Pool, db_dsn: str) -> None:
    rows = await rankings.ranking(
        network, settings_for(db_dsn), "aqi", START, START + timedelta(days=1), scope="region"
    )
    # 东区 = mean(ST1, ST2): PM10 60 → IAQI 55, PM2.5 55 → IAQI 75
    # 西区 = mean(ST3, ST4): PM10 160 → IAQI 105, PM2.5 60 → 82 (not the max 150 of ST4)
    assert [(r.rank, r.key, r.value, r.detail["n_stations"]) for r in rows] == [
        (1, "东区", 75, 2),
        (2, "西区", 105, 2),
    ]
    grid = await area_daily_aqi(network, settings_for(db_dsn), START, "grid")
    assert [(a.key, a.name, a.n_stations) for a in grid] == [("G01", "网格一", 2)]


async def test_rank_by_composite_index_and_factor(network: asyncpg.Pool, db_dsn: str) -> None:
    settings = settings_for(db_dsn)
    end = START + timedelta(days=DAYS)
    rows = await rankings.ranking(network, settings, "aqci", START, end)
    # I = SO2/60 + NO2/40 + PM10/70 + PM2.5/35 + CO_P95/4 + O3_P90/160, each I_i rounded
    # to 2 decimals (AQI.md §2.4): ST1 .17 + .75 + .71 + 1.00 + .20 + .56 = 3.39
    assert [(r.rank, r.key, r.value, r.valid) for r in rows] == [
        (1, "ST1", Decimal("3.39"), True),
        (2, "ST2", Decimal("4.82"), True),  # PM10 1.00, PM2.5 2.14
        (2, "ST3", Decimal("4.82"), True),
        (4, "ST4", Decimal("6.54"), True),  # PM10 3.57, PM2.5 1.29
    ]
    assert rows[0].detail["max_index"] == ["PM2.5"]
    by_pm25 = await rankings.ranking(network, settings, AQI_FACTORS["PM2.5"], START, end)
    assert [(r.rank, r.key, r.value) for r in by_pm25] == [
        (1, "ST1", 35),
        (2, "ST4", 45),
        (3, "ST2", 75),
        (3, "ST3", 75),
    ]
    with pytest.raises(QueryError, match="cannot rank"):
        await rankings.ranking(network, settings, "nope", START, end)
    part = await rankings.ranking(network, settings, "aqci", START, START + timedelta(days=20))
    assert all(r.valid for r in part)  # 20 of 20 days (proportional monthly rule)


async def test_invalid_period_is_not_ranked_as_valid(network: asyncpg.Pool, db_dsn: str) -> None:
    # April has no data at all; March+April: April fails the monthly rule
    rows = await rankings.ranking(network, settings_for(db_dsn), "aqci", START, date(2024, 5, 1))
    assert all(r.rank is None and not r.valid for r in rows)


async def test_shares_and_good_days(network: asyncpg.Pool, db_dsn: str) -> None:
    settings = settings_for(db_dsn)
    end = START + timedelta(days=DAYS)
    share = await pollutant_share(network, settings, START, end)
    assert share == {"PM10": pytest.approx(1 / 3), "PM2.5": pytest.approx(2 / 3)}
    good = await good_days(network, settings, START, end)
    assert good[("ST1", "站点1")].rate == 1.0
    assert good[("ST4", "站点4")].n_exceedance == DAYS
    assert good[("ST4", "站点4")].exceedance_by_pollutant == {"PM10": DAYS}
    assert good[("ST2", "站点2")].by_level == {2: DAYS}


async def test_recent_views(network: asyncpg.Pool, db_dsn: str) -> None:
    settings = settings_for(db_dsn)
    last7 = await recent_daily(network, settings, date(2024, 3, 31))
    assert [len(v) for v in last7.values()] == [7, 7, 7, 7]
    months = await recent_monthly(network, settings, date(2024, 3, 31))
    assert list(months) == ["2024-01", "2024-02", "2024-03"]
    assert months["2024-03"][0].key == "ST1"
    assert all(r.value is None for r in months["2024-01"])


async def test_daily_ranking_job_writes_the_table(network: asyncpg.Pool, db_dsn: str) -> None:
    written = await jobs.run_daily_ranking(network, settings_for(db_dsn), START)
    assert written == 4 + 2 + 1
    async with network.acquire() as conn:
        rows = await conn.fetch(
            "SELECT day, scope, scope_key, scope_name, rank, aqi, level, primary_pollutants,"
            " aqci, valid, computed_at FROM daily_rankings ORDER BY scope, rank, scope_key"
        )
    got = [
        (r["scope"], r["scope_key"], r["rank"], r["aqi"], r["level"], r["primary_pollutants"])
        for r in rows
    ]
    assert got == [
        ("grid", "G01", 1, 100, 2, ["PM10"]),  # mean(ST1, ST4): PM10 150 → 100
        ("region", "东区", 1, 75, 2, ["PM2.5"]),
        ("region", "西区", 2, 105, 3, ["PM10"]),
        ("station", "ST1", 1, 50, 1, []),
        ("station", "ST2", 2, 100, 2, ["PM2.5"]),
        ("station", "ST3", 2, 100, 2, ["PM2.5"]),
        ("station", "ST4", 4, 150, 3, ["PM10"]),
    ]
    assert all(r["valid"] and r["aqci"] is not None for r in rows)
    # re-running replaces the day's rows
    assert await jobs.run_daily_ranking(network, settings_for(db_dsn), START) == 7


async def test_idw_grid_geojson(network: asyncpg.Pool, db_dsn: str) -> None:
    fc = await idw_grid(
        network, settings_for(db_dsn), "aqi", (120.0, 30.0, 120.05, 30.05), 0.01, START
    )
    values = [f["properties"]["value"] for f in fc["features"]]
    assert len(values) == 25
    assert min(values) >= 50 and max(values) <= 150
    pm = await idw_grid(
        network,
        settings_for(db_dsn),
        AQI_FACTORS["PM2.5"],
        (120.0, 30.0, 120.05, 30.05),
        0.05,
        START,
    )
    assert pm["features"][0]["properties"]["color"] is None
    assert pm["properties"]["stations"] == 4


async def test_region_composite_index_uses_city_means(network: asyncpg.Pool, db_dsn: str) -> None:
    rows = await rankings.ranking(
        network, settings_for(db_dsn), "aqci", START, START + timedelta(days=DAYS), scope="region"
    )
    # 东区 = mean(ST1, ST2) per day: PM10 60 → .86, PM2.5 55 → 1.57; + .17 .75 .20 .56
    # 西区 = mean(ST3, ST4): PM10 160 → 2.29, PM2.5 60 → 1.71
    assert [(r.rank, r.key, r.value, r.valid) for r in rows] == [
        (1, "东区", Decimal("4.11"), True),
        (2, "西区", Decimal("5.68"), True),
    ]
