"""The daily push's pure parts: AQCI ranks, exceedances of daily means against GB 3095,
and the rendering (no database)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregates.standards import default_registry
from alerts.config import AlertConfig, FactorInfo, StationInfo
from alerts.daily_facts import Exceedance, OfflineStation, OverdueCase, exceedances, rank_by_aqci
from alerts.daily_render import Digest, render_daily
from envgrid.settings import load_settings

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 5)
A = StationInfo(1, "MN1", "西湖站", "22", "西湖区", None)
B = StationInfo(2, "MN2", "龙井站", "22", "西湖区", None, area_class=1)
WATER = StationInfo(3, "MN3", "污水厂", "32", "西湖区", None)
CONFIG = AlertConfig(
    load_settings(None, {}, {}, discover=False),
    stations={s.id: s for s in (A, B, WATER)},
    factors={1: FactorInfo(1, "a34004", "细颗粒物", "µg/m³")},
    on=DAY,
)


def row(scope: str, key: str, aqci: str | None, **kw: Any) -> dict[str, Any]:
    return {
        "scope": scope,
        "scope_key": key,
        "scope_name": kw.get("name", key),
        "aqci": None if aqci is None else Decimal(aqci),
        "aqi": kw.get("aqi", 50),
        "level": kw.get("level", 1),
        "primary_pollutants": kw.get("primary", []),
        "valid": aqci is not None,
        "standard": kw.get("standard"),
    }


def test_ranks_by_aqci_within_each_scope() -> None:
    ranked = rank_by_aqci(
        [
            row("station", "MN1", "4.10"),
            row("station", "MN2", "3.20"),
            row("station", "MN3", "4.10"),
            row("station", "MN4", None),
            row("region", "西湖区", "3.90"),
        ],
        "HJ 633—2026",
    )
    assert [(k, r.rank, r.of) for (sc, k), r in ranked.items() if sc == "station"] == [
        ("MN1", 2, 4),
        ("MN2", 1, 4),
        ("MN3", 2, 4),  # ties share a rank
        ("MN4", None, 4),  # no index: unranked
    ]
    assert ranked[("region", "西湖区")].rank == 1
    assert ranked[("station", "MN1")].standard == "HJ 633—2026"  # stored without one


def mean(sid: int, code: str, value: float | None, valid: bool = True, **kw: Any) -> dict[str, Any]:
    return {
        "station_id": sid,
        "code": code,
        "value": value,
        "valid": valid,
        "mda8": kw.get("mda8"),
        "mda8_valid": kw.get("mda8_valid", False),
    }


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([mean(1, "a34004", 60.0)], []),  # at the limit is not over it
        ([mean(1, "a34004", 61.0)], [(1, "a34004", 60.0, "二级")]),
        ([mean(2, "a34004", 40.0)], [(2, "a34004", 35.0, "一级")]),  # 一类区: grade I
        ([mean(1, "a34004", 90.0, valid=False)], []),  # an invalid day is not judged
        ([mean(3, "a34004", 90.0)], []),  # not an ambient station
        ([mean(1, "a05024", 300.0, mda8=150.0, mda8_valid=True)], []),  # O3: MDA8 counts
        ([mean(1, "a05024", 90.0, mda8=170.0, mda8_valid=True)], [(1, "a05024", 160.0, "二级")]),
        ([mean(1, "a05024", 90.0, mda8=170.0, mda8_valid=False)], []),
        ([mean(1, "a21005", 4.5)], [(1, "a21005", 4.0, "二级")]),  # CO in mg/m³
        ([mean(1, "a01001", 99.0)], []),  # temperature has no limit
    ],
)
def test_exceedances_of_daily_means(rows: list[dict[str, Any]], expected: list[Any]) -> None:
    got = exceedances(rows, CONFIG, DAY, default_registry())
    assert [(e.station_id, e.factor_code, e.limit, e.source[-2:]) for e in got] == expected


def test_exceedances_worst_ratio_first() -> None:
    rows = [mean(1, "a34004", 66.0), mean(1, "a21005", 8.0), mean(2, "a34004", 70.0)]
    got = exceedances(rows, CONFIG, DAY, default_registry())
    assert [round(e.ratio, 2) for e in got] == [2.0, 2.0, 1.1]
    assert got[0].unit == "mg/m³" and got[0].basis == "24小时平均"


def test_render_with_nothing_to_report_and_with_long_lists() -> None:
    now = datetime(2026, 12, 6, 8, 30, tzinfo=SH)
    empty = render_daily(Digest(DAY, now, "值班", [], [], [], []), CONFIG)
    assert "无排名数据" in empty.text and "无超标" in empty.text
    assert empty.sms["params"]["summary"] == "12月5日综合指数未排名，超标0项，超期案件0件，断线0站"
    many = [
        Exceedance(1, "a34004", 61.0 + i, 60.0, "µg/m³", "24小时平均", "GB 3095—2026 过渡阶段 二级")
        for i in range(5)
    ]
    cases = [OverdueCase(7, "AJ1", "核查", None, (), datetime(2026, 12, 6, 6, 0, tzinfo=SH), "")]
    offline = [OfflineStation(2, datetime(2026, 12, 5, 22, 10, tzinfo=SH))]
    m = render_daily(
        Digest(DAY, now, "值班", [], many, cases, offline, ["注：未核实"]), CONFIG, max_items=3
    )
    assert "…另有 2 项" in m.text and "细颗粒物" in m.markdown and "未核实" in m.html
    assert "AJ1 核查：时限 12-06 06:00，已超期 2 小时" in m.text
    assert "龙井站（西湖区）：自 12-05 22:10 起无数据" in m.text
    assert m.payload["exceedances"][0]["ratio"] == round(61 / 60, 3)
    assert m.sms["params"]["exceed"] == "5" and m.sms["kind"] == "ranking"
