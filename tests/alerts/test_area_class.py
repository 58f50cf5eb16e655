"""Built-in exceedance limits by the station's 功能区类别 and the GB 3095 table in force:
grade I for class-1 stations, grade II otherwise; the source names table, stage and grade."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from aggregates.standards import default_registry
from alerts.config import AlertConfig, FactorInfo, StationInfo
from alerts.limits import builtin_limits
from alerts.service import AlertService
from envgrid.settings import load_settings
from store.db import connect
from store.feed import READINGS_CHANNEL, readings_payloads
from store.stations import NewStation, update_station

from .conftest import alert_settings, factor_id, register, wait_for


@pytest.mark.parametrize(
    ("day", "grade", "pm25", "source"),
    [
        (date(2026, 2, 28), 2, 75.0, "GB 3095—2012 二级 24小时平均"),
        (date(2026, 2, 28), 1, 35.0, "GB 3095—2012 一级 24小时平均"),
        (date(2026, 3, 1), 2, 60.0, "GB 3095—2026 过渡阶段 二级 24小时平均"),
        (date(2030, 12, 31), 2, 60.0, "GB 3095—2026 过渡阶段 二级 24小时平均"),
        (date(2030, 12, 31), 1, 35.0, "GB 3095—2026 过渡阶段 一级 24小时平均"),
        (date(2031, 1, 1), 2, 50.0, "GB 3095—2026 最终限值 二级 24小时平均"),
        (date(2031, 1, 1), 1, 25.0, "GB 3095—2026 最终限值 一级 24小时平均"),
    ],
)
def test_builtin_limit_by_date_and_grade(day: date, grade: int, pm25: float, source: str) -> None:
    spec = builtin_limits(day, grade=grade)["22"]["a34004"]
    assert spec.upper == pm25 and spec.source.startswith(source)
    so2 = builtin_limits(day, grade=grade)["22"]["a21026"]  # 1-hour limit for gases
    assert so2.source == source.replace("24小时平均", "1小时平均")


def test_config_uses_the_station_class() -> None:
    settings = load_settings(None, {}, {}, discover=False)
    class1 = StationInfo(1, "MN1", "保护区站", "22", "西湖区", None, area_class=1)
    class2 = StationInfo(2, "MN2", "城区站", "22", "西湖区", None)
    pm25 = FactorInfo(1, "a34004", "细颗粒物", "µg/m³")
    cfg = AlertConfig(
        settings,
        stations={1: class1, 2: class2},
        factors={1: pm25},
        on=date(2031, 1, 1),
    )
    one, two = cfg.rules_for(class1, pm25).mean, cfg.rules_for(class2, pm25).mean
    assert one is not None and two is not None
    assert (one.limits[0].upper, two.limits[0].upper) == (25.0, 50.0)
    assert one.limits[0].source == "GB 3095—2026 最终限值 一级 24小时平均"
    assert two.limits[0].source == "GB 3095—2026 最终限值 二级 24小时平均"


AIR1 = NewStation("AC0000000000000000000001", "123456", "保护区站", "22", 30.27, 120.15, "西湖区")
AIR2 = NewStation("AC0000000000000000000002", "123456", "城区站", "22", 30.2, 120.2, "西湖区")
T0 = 1_795_000_000.0  # 2026-11-18


async def test_class_1_station_exceeds_where_class_2_does_not(
    db_dsn: str, pg_reachable_tmp: Path
) -> None:
    """The same PM2.5 value, between the grade I and grade II limits in force, at two
    stations: only the class-1 one raises an exceedance alert, sourced "… 一级"."""
    ids = await register(db_dsn, AIR1, AIR2)
    conn = await connect(db_dsn)
    try:
        await update_station(conn, AIR1.mn, area_class=1)
        settings = alert_settings(db_dsn, pg_reachable_tmp, flush_ms=20, catchup_s=0)
        pm25 = await factor_id(conn, "a34004")
        async with AlertService(settings, db_dsn) as svc:
            table = default_registry().limits(svc.cfg().on)
            grade_1 = float(table.limit("PM2.5", "24h", 1))
            grade_2 = float(table.limit("PM2.5", "24h", 2))
            value = (grade_1 + grade_2) / 2
            items = [
                (ids[mn], pm25, T0 + 30 * i, value, "N")
                for i in range(2)
                for mn in (AIR1.mn, AIR2.mn)
            ]
            for one in readings_payloads("r", items):
                await conn.execute("SELECT pg_notify($1, $2)", READINGS_CHANNEL, one)

            async def fired() -> list[tuple[int, str]]:
                rows = await conn.fetch(
                    "SELECT station_id, labels->>'source' AS source FROM alerts"
                    " WHERE rule = 'exceedance'"
                )
                return [(r["station_id"], r["source"]) for r in rows]

            rows = await wait_for(fired)
            await asyncio.sleep(0.3)  # give a (wrong) class-2 alert the time to appear
            rows = await fired()
            assert [r[0] for r in rows] == [ids[AIR1.mn]]
            assert rows[0][1].startswith(table.label(1))
    finally:
        await conn.close()
