"""What a page shows beside an AQI comes from the table that computed it: its code, the
level's health text of that edition, and the sensitive groups (HJ 633—2026 Table 2)."""

from __future__ import annotations

from datetime import date

import pytest

from aggregates.standards import default_registry
from web.aqi_view import aqi_texts

OLD, NEW = date(2026, 2, 28), date(2026, 3, 1)


@pytest.mark.parametrize(
    ("day", "level", "iaqi", "code", "groups"),
    [
        (OLD, 3, {"PM2.5": 120, "O3": 40}, "HJ 633—2012", []),
        (NEW, 3, {"PM2.5": 120, "O3": 40}, "HJ 633—2026", ["PM2.5"]),
        (NEW, 3, {"PM10": 101, "PM2.5": 101}, "HJ 633—2026", ["PM10", "PM2.5"]),
        (NEW, 2, {"PM2.5": 100}, "HJ 633—2026", []),  # 100 is not above 100
        (NEW, None, {"PM2.5": 60, "SO2": None}, "HJ 633—2026", []),  # NA: no level text
    ],
)
def test_aqi_texts_follow_the_table(
    day: date, level: int | None, iaqi: dict[str, int | None], code: str, groups: list[str]
) -> None:
    table = default_registry().aqi_table(day)
    got = aqi_texts(table, level, iaqi)
    assert got["standard"] == code
    assert sorted(got["sensitive_groups"]) == sorted(groups)
    for pollutant in groups:
        assert got["sensitive_groups"][pollutant] == table.sensitive_groups[pollutant]
    found = next((lv for lv in table.levels if lv.level == level), None)
    if found is None:
        assert got["health_effect"] is None and got["advice"] is None
    else:
        assert (got["health_effect"], got["advice"]) == (found.health_effect, found.advice)


def test_each_edition_has_its_own_advice() -> None:
    reg = default_registry()
    old = aqi_texts(reg.aqi_table(OLD), 4, {})
    new = aqi_texts(reg.aqi_table(NEW), 4, {})
    assert old["advice"] and new["advice"] and old["advice"] != new["advice"]
