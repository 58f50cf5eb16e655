"""超标天数 / 达标率 and the annual assessment against GB 3095 by date and area class:
pure functions, then on the real PostgreSQL (tests/aggregates/dbdata.py network)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import pytest

from aggregates import jobs
from aggregates.analysis import AQI_FACTORS
from aggregates.aqi_series import good_days
from aggregates.attainment import (
    annual_attainment,
    area_grade,
    daily_attainment,
    daily_exceedances,
)
from aggregates.periods import period_of
from aggregates.report_model import ReportSpec
from aggregates.reports import build_report
from aggregates.standards import StandardRegistry

from .dbdata import DAYS, START, build_network, hourly_day, settings_for, upsert_hour


def _ind(**values: str) -> dict[str, Decimal | None]:
    keys = ("SO2_24h", "NO2_24h", "CO_24h", "O3_8h_max", "PM10_24h", "PM2.5_24h")
    return {
        k: Decimal(values[k.replace(".", "")]) if k.replace(".", "") in values else None
        for k in keys
    }


def test_area_grade() -> None:
    assert area_grade([1]) == 1 and area_grade([2]) == 2 and area_grade([1, 1]) == 1
    assert area_grade([1, 2]) == 2 and area_grade([]) == 2


@pytest.mark.parametrize(
    ("day", "grade", "pm25", "exceeds", "label"),
    [
        (date(2026, 2, 28), 2, "75", False, "GB 3095—2012 二级"),
        (date(2026, 2, 28), 2, "76", True, "GB 3095—2012 二级"),
        (date(2026, 3, 1), 2, "61", True, "GB 3095—2026 过渡阶段 二级"),
        (date(2030, 12, 31), 2, "60", False, "GB 3095—2026 过渡阶段 二级"),
        (date(2031, 1, 1), 2, "60", True, "GB 3095—2026 最终限值 二级"),
        (date(2031, 1, 1), 2, "50", False, "GB 3095—2026 最终限值 二级"),
        (date(2030, 12, 31), 1, "36", True, "GB 3095—2026 过渡阶段 一级"),
        (date(2031, 1, 1), 1, "26", True, "GB 3095—2026 最终限值 一级"),
        (date(2031, 1, 1), 1, "25", False, "GB 3095—2026 最终限值 一级"),
    ],
)
def test_daily_exceedance_by_date_and_grade(
    registry: StandardRegistry, day: date, grade: int, pm25: str, exceeds: bool, label: str
) -> None:
    flags, used = daily_exceedances(_ind(PM25_24h=pm25), day, grade, registry)
    assert flags == {"PM2.5": exceeds} and used == label


def test_daily_attainment_counts_and_rates(registry: StandardRegistry) -> None:
    days = [
        (date(2030, 12, 30), _ind(PM25_24h="55", O3_8h_max="170", NO2_24h="60")),
        (date(2030, 12, 31), _ind(PM25_24h="55", O3_8h_max="150")),
        (date(2031, 1, 1), _ind(PM25_24h="55", NO2_24h="60")),  # final: PM2.5 50, NO2 50
    ]
    att = daily_attainment(days, 2, registry)
    assert att.valid_days == {"NO2": 2, "O3": 2, "PM2.5": 3}
    assert att.exceedance_days == {"NO2": 1, "O3": 1, "PM2.5": 1}
    assert att.compliance_rate == {"NO2": 0.5, "O3": 0.5, "PM2.5": pytest.approx(2 / 3)}
    assert att.standards == ("GB 3095—2026 过渡阶段 二级", "GB 3095—2026 最终限值 二级")
    assert att.to_json()["compliance_rate"]["O3"] == 0.5


@dataclass
class _Stat:
    factor: str
    mean: float | None
    percentile: float | None = None
    valid: bool = True


def test_annual_assessment_uses_the_table_at_the_years_end(registry: StandardRegistry) -> None:
    stats = [
        _Stat(AQI_FACTORS["PM2.5"], 29.6),  # → 30
        _Stat(AQI_FACTORS["PM10"], 55.0),
        _Stat(AQI_FACTORS["NO2"], 35.0),
        _Stat(AQI_FACTORS["SO2"], 10.0, valid=False),
        _Stat(AQI_FACTORS["CO"], 0.9, 1.25),  # P95 → 1.2 (GB/T 8170)
        _Stat(AQI_FACTORS["O3"], 90.0, 161.0),
    ]
    y2026 = {a.pollutant: a for a in annual_attainment(stats, 2026, 2, registry, {})}
    assert y2026["PM2.5"].value == Decimal(30) and y2026["PM2.5"].attains is True
    assert y2026["PM2.5"].standard == "GB 3095—2026 过渡阶段 二级 年平均"
    assert y2026["PM10"].attains is True and y2026["NO2"].attains is True
    assert y2026["SO2"].attains is None and not y2026["SO2"].valid
    assert y2026["CO"].value == Decimal("1.2") and y2026["CO"].attains is True
    assert y2026["CO"].statistic == "日均值第95百分位数"
    assert y2026["O3"].attains is False  # P90 161 > 160
    y2031 = {a.pollutant: a for a in annual_attainment(stats, 2031, 2, registry, {})}
    assert y2031["PM2.5"].attains is False and y2031["PM2.5"].limit == 25
    assert y2031["PM10"].attains is False and y2031["NO2"].attains is False  # 50, 30
    assert y2031["PM2.5"].standard.startswith("GB 3095—2026 最终限值 二级")
    class1 = {a.pollutant: a for a in annual_attainment(stats, 2030, 1, registry, {})}
    assert class1["PM2.5"].attains is False and class1["PM2.5"].limit == 15
    assert class1["O3"].to_json()["limit"] == 100.0
    y2025 = {a.pollutant: a for a in annual_attainment(stats, 2025, 2, registry, {})}
    assert y2025["PM2.5"].standard == "GB 3095—2012 二级 年平均" and y2025["PM10"].limit == 70


@pytest.fixture
async def network(db_pool: asyncpg.Pool, db_dsn: str) -> asyncpg.Pool:
    await build_network(db_pool, db_dsn)
    return db_pool


async def test_class_1_station_exceeds_where_class_2_does_not(
    network: asyncpg.Pool, db_dsn: str
) -> None:
    """ST2 and ST3 report the same values (PM10 70, PM2.5 75, March 2024 = GB 3095—2012):
    within grade II, above grade I (50 / 35).  Only the class-1 station has 超标天数."""
    settings = settings_for(db_dsn)
    end = START + timedelta(days=DAYS)
    async with network.acquire() as conn:
        await conn.execute("UPDATE stations SET area_class = 1 WHERE id = 2")
    good = await good_days(network, settings, START, end)
    st2, st3 = good[("ST2", "站点2")], good[("ST3", "站点3")]
    assert st2.grade == 1 and st3.grade == 2
    assert st2.exceedance_by_pollutant == {"PM10": DAYS, "PM2.5": DAYS}
    assert st3.exceedance_by_pollutant == {}
    assert st2.compliance_rate["PM2.5"] == 0.0 and st3.compliance_rate["PM2.5"] == 1.0
    assert st2.attainment is not None and st2.attainment.standards == ("GB 3095—2012 一级",)
    # the same PM2.5 on one station: the two stay in step with the AQI (IAQI 100 = limit)
    assert st3.by_level == {2: DAYS}
    # an area is grade I only when every station is class 1
    regions = await good_days(network, settings, START, end, scope="region")
    assert regions[("东区", "东区")].grade == 2  # ST1 (class 2) + ST2 (class 1)
    async with network.acquire() as conn:
        await conn.execute("UPDATE stations SET area_class = 1 WHERE id = 1")
    regions = await good_days(network, settings, START, end, scope="region")
    east = regions[("东区", "东区")]
    assert east.grade == 1 and east.exceedance_by_pollutant == {"PM10": DAYS, "PM2.5": DAYS}


async def test_transitional_then_final_value_by_date(network: asyncpg.Pool, db_dsn: str) -> None:
    """PM2.5 55 at a class-2 station: within the transitional 60 on 2030-12-31, above the
    final 50 on 2031-01-01."""
    settings = settings_for(db_dsn)
    days = [date(2030, 12, 31), date(2031, 1, 1)]
    async with network.acquire() as conn:
        fid = await conn.fetchval("SELECT id FROM factors WHERE code = $1", AQI_FACTORS["PM2.5"])
        rows = [r for d in days for r in hourly_day(1, fid, d, [55.0] * 24)]
        await upsert_hour(conn, rows)
        async with conn.transaction():
            await jobs.refresh_days(conn, settings, [(1, d) for d in days])
    good = await good_days(network, settings, days[0], days[1] + timedelta(days=1))
    st1 = good[("ST1", "站点1")]
    assert st1.attainment is not None
    assert st1.attainment.valid_days == {"PM2.5": 2}
    assert st1.exceedance_by_pollutant == {"PM2.5": 1}
    assert st1.attainment.standards == (
        "GB 3095—2026 过渡阶段 二级",
        "GB 3095—2026 最终限值 二级",
    )


async def test_reports_carry_attainment(network: asyncpg.Pool, db_dsn: str) -> None:
    async with network.acquire() as conn:
        await conn.execute("UPDATE stations SET area_class = 1 WHERE id = 2")
    settings = settings_for(db_dsn)
    month = await build_report(
        network, settings, ReportSpec("station", "ST2", period_of("month", START))
    )
    assert month.meta["attainment"]["exceedance_days"]["PM2.5"] == DAYS
    assert month.meta["attainment"]["standards"] == ["GB 3095—2012 一级"]
    days_row, rate_row = month.main.summary[-2:]
    assert days_row[0] == "超标天数（GB 3095—2012 一级）" and rate_row[0] == "达标率"
    # columns: SO2, NO2, CO, O3, PM10, PM2.5 (O3: the MDA8 against the 8h limit)
    assert days_row[1:7] == [0, 0, 0, 0, DAYS, DAYS]
    assert rate_row[1:7] == ["100.0%"] * 4 + ["0.0%"] * 2
    year = await build_report(
        network, settings, ReportSpec("station", "ST2", period_of("year", START))
    )
    label, *cells = year.main.summary[-1]
    assert label == "年评价（GB 3095—2012 一级）"
    assert set(cells) == {None}  # one month of data: no valid annual statistic
    annual = {a["pollutant"]: a for a in year.meta["annual_attainment"]}
    assert annual["PM2.5"]["valid"] is False and annual["PM2.5"]["attains"] is None
    assert annual["PM2.5"]["standard"] == "GB 3095—2012 一级 年平均"
