"""The primary pollutant of a period (the 7-day and custom AQI rankings): the daily
primary pollutant of most days, ties kept, none when no day was above AQI 50 — and the
text the ranking page and its exports show for it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aggregates.aqi import daily_aqi
from aggregates.aqi_series import AreaAqi
from aggregates.rankings import period_primary
from aggregates.standards import default_registry
from web.rankings.service import primary_note

DAY = date(2026, 6, 1)
#: daily concentrations (SO2, NO2, CO, O3, PM10, PM2.5) → the day's primary pollutant
GOOD = (10, 30, 0.8, 90, 50, 30)  # AQI 50: none
PM10 = (10, 30, 0.8, 90, 250, 45)  # PM10
PM25 = (10, 30, 0.8, 90, 60, 100)  # PM2.5


def day(i: int, c: tuple[float, ...]) -> AreaAqi:
    keys = ("SO2_24h", "NO2_24h", "CO_24h", "O3_1h_max", "PM10_24h", "PM2.5_24h")
    values = dict(zip(keys, c, strict=True)) | {"O3_8h_max": c[3]}
    on = DAY + timedelta(days=i)
    result = daily_aqi(values, default_registry().aqi_table(on))
    return AreaAqi("station", "S1", "一站", on, result, {}, True, 1)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ([PM10, PM25, PM10, GOOD], (["PM10"], 2)),
        ([PM25, PM10], (["PM2.5", "PM10"], 1)),  # a tie: both, in order of appearance
        ([GOOD, GOOD, GOOD], ([], 0)),
        ([], ([], 0)),
    ],
)
def test_period_primary(days: list[tuple[float, ...]], expected: tuple[list[str], int]) -> None:
    assert period_primary([day(i, c) for i, c in enumerate(days)]) == expected


@pytest.mark.parametrize(
    ("detail", "valid", "text"),
    [
        ({"primary": ["PM10"]}, True, "PM10"),
        ({"primary": []}, True, "无（AQI ≤ 50）"),
        ({"primary": ["PM2.5", "PM10"], "primary_days": 3}, True, "PM2.5、PM10（3 天）"),
        ({"primary": [], "primary_days": 0}, True, "无（各日 AQI ≤ 50）"),
        ({}, False, ""),
    ],
)
def test_primary_note(detail: dict[str, object], valid: bool, text: str) -> None:
    assert primary_note(detail, valid) == text
