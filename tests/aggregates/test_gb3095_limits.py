"""GB 3095 limits by date, stage and grade: every value of AQI-2026.md §2.2 (Table 1) and
§2.3 (Table 2) and of AQI.md §4 (GB 3095—2012), against the tables the registry picks."""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from aggregates.standards import StandardFileError, StandardRegistry, load_standards

# (pollutant, averaging, transitional I, transitional II, final I, final II) — AQI-2026.md §2.2
TABLE_1_2026 = [
    ("SO2", "annual", 20, 60, 20, 20),
    ("SO2", "24h", 50, 150, 50, 50),
    ("SO2", "1h", 150, 500, 150, 150),
    ("NO2", "annual", 40, 40, 30, 30),
    ("NO2", "24h", 80, 80, 50, 50),
    ("NO2", "1h", 200, 200, 200, 200),
    ("CO", "24h", 4, 4, 4, 4),
    ("CO", "1h", 10, 10, 10, 10),
    ("O3", "8h", 100, 160, 100, 160),
    ("O3", "1h", 160, 200, 160, 200),
    ("PM10", "annual", 40, 60, 20, 50),
    ("PM10", "24h", 50, 120, 50, 100),
    ("PM2.5", "annual", 15, 30, 10, 25),
    ("PM2.5", "24h", 35, 60, 25, 50),
]
# (pollutant, averaging, grade I, grade II, transitional value or None) — AQI-2026.md §2.3
TABLE_2_2026 = [
    ("TSP", "annual", "80", "200", None),
    ("TSP", "24h", "120", "300", None),
    ("NOx", "annual", "40", "40", "50"),
    ("NOx", "24h", "70", "70", "100"),
    ("NOx", "1h", "250", "250", None),
    ("Pb", "annual", "0.5", "0.5", None),
    ("Pb", "quarterly", "1.0", "1.0", None),
    ("BaP", "annual", "0.001", "0.001", None),
    ("BaP", "24h", "0.0025", "0.0025", None),
]
# (pollutant, averaging, grade I, grade II) — AQI.md §4
TABLE_2012 = [
    ("SO2", "annual", "20", "60"),
    ("SO2", "24h", "50", "150"),
    ("SO2", "1h", "150", "500"),
    ("NO2", "annual", "40", "40"),
    ("NO2", "24h", "80", "80"),
    ("NO2", "1h", "200", "200"),
    ("CO", "24h", "4", "4"),
    ("CO", "1h", "10", "10"),
    ("O3", "8h", "100", "160"),
    ("O3", "1h", "160", "200"),
    ("PM10", "annual", "40", "70"),
    ("PM10", "24h", "50", "150"),
    ("PM2.5", "annual", "15", "35"),
    ("PM2.5", "24h", "35", "75"),
    ("TSP", "annual", "80", "200"),
    ("TSP", "24h", "120", "300"),
    ("NOx", "annual", "50", "50"),
    ("NOx", "24h", "100", "100"),
    ("NOx", "1h", "250", "250"),
    ("Pb", "annual", "0.5", "0.5"),
    ("Pb", "quarterly", "1", "1"),
    ("BaP", "annual", "0.001", "0.001"),
    ("BaP", "24h", "0.0025", "0.0025"),
]

TRANSITIONAL_DAYS = (date(2026, 3, 1), date(2028, 7, 15), date(2030, 12, 31))
FINAL_DAYS = (date(2031, 1, 1), date(2040, 6, 1))
OLD_DAYS = (date(2016, 1, 1), date(2026, 2, 28))


def _expected(day: date) -> dict[tuple[str, str], tuple[Fraction, Fraction]]:
    if day <= date(2026, 2, 28):
        return {(p, a): (Fraction(g1), Fraction(g2)) for p, a, g1, g2 in TABLE_2012}
    final = day >= date(2031, 1, 1)
    out = {
        (p, a): (Fraction(f1 if final else t1), Fraction(f2 if final else t2))
        for p, a, t1, t2, f1, f2 in TABLE_1_2026
    }
    for p, a, g1, g2, transitional in TABLE_2_2026:
        if transitional is not None and not final:
            out[(p, a)] = (Fraction(transitional), Fraction(transitional))
        else:
            out[(p, a)] = (Fraction(g1), Fraction(g2))
    return out


@pytest.mark.parametrize("day", OLD_DAYS + TRANSITIONAL_DAYS + FINAL_DAYS, ids=str)
def test_every_value_by_date_and_grade(registry: StandardRegistry, day: date) -> None:
    table = registry.limits(day)
    expected = _expected(day)
    assert {(r.pollutant, r.averaging) for r in table.rows} == set(expected)
    for (pollutant, averaging), (g1, g2) in expected.items():
        assert table.limit(pollutant, averaging, grade=1) == g1, (day, pollutant, averaging)
        assert table.limit(pollutant, averaging, grade=2) == g2, (day, pollutant, averaging)
        assert table.limit(pollutant, averaging) == g2


@pytest.mark.parametrize(
    ("day", "code", "stage", "label_1", "label_2"),
    [
        (date(2026, 2, 28), "GB 3095—2012", None, "GB 3095—2012 一级", "GB 3095—2012 二级"),
        (
            date(2026, 3, 1),
            "GB 3095—2026",
            "过渡阶段",
            "GB 3095—2026 过渡阶段 一级",
            "GB 3095—2026 过渡阶段 二级",
        ),
        (
            date(2030, 12, 31),
            "GB 3095—2026",
            "过渡阶段",
            "GB 3095—2026 过渡阶段 一级",
            "GB 3095—2026 过渡阶段 二级",
        ),
        (
            date(2031, 1, 1),
            "GB 3095—2026",
            "最终限值",
            "GB 3095—2026 最终限值 一级",
            "GB 3095—2026 最终限值 二级",
        ),
    ],
    ids=str,
)
def test_stage_and_label(
    registry: StandardRegistry,
    day: date,
    code: str,
    stage: str | None,
    label_1: str,
    label_2: str,
) -> None:
    table = registry.limits(day)
    assert (table.code, table.stage) == (code, stage)
    assert table.label(1) == label_1 and table.label(2) == label_2 and table.label() == label_2
    with pytest.raises(ValueError, match="grade must be 1 or 2"):
        table.label(3)


def test_units_and_sources(registry: StandardRegistry) -> None:
    for day in OLD_DAYS[-1:] + TRANSITIONAL_DAYS[:1] + FINAL_DAYS[:1]:
        table = registry.limits(day)
        for r in table.rows:
            assert r.unit == ("mg/m3" if r.pollutant == "CO" else "ug/m3")
    text = resources.files("aggregates.standards").joinpath("gb3095-2026.json")
    doc = json.loads(text.read_text(encoding="utf-8"))
    sources = {(r["pollutant"], r["averaging"]): r["source"] for r in doc["limits"]}
    assert sources[("PM2.5", "24h")].startswith("GB 3095—2026 表1, p. 3 (PDF p. 6)")
    assert sources[("NOx", "annual")].startswith("GB 3095—2026 表2, p. 4 (PDF p. 7) note a")
    assert "§4.4" in doc["source"]


def test_2012_table_2_stays_marked(registry: StandardRegistry) -> None:
    """The 2012 text itself was not available: its Table 2 rows keep their marker."""
    table = registry.limits(date(2020, 1, 1))
    assert all(r.verified for r in table.rows if r.pollutant in ("SO2", "PM2.5", "O3"))
    assert not table.row("BaP", "24h").verified and not table.row("NOx", "1h").verified


def _override(tmp_path: Path, **changes: Any) -> Path:
    text = resources.files("aggregates.standards").joinpath("gb3095-2026.json")
    doc = json.loads(text.read_text(encoding="utf-8"))
    doc.update(changes)
    path = tmp_path / "gb3095-2026.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ("", "/stage: expected a non-empty string"),
        (3, "/stage: expected a non-empty string"),
        (" 过渡阶段", "/stage: must be a single line"),
        ("过渡\n阶段", "/stage: must be a single line"),
        ("过" * 21, "/stage: must be at most 20 characters"),
    ],
)
def test_bad_stage(tmp_path: Path, stage: object, message: str) -> None:
    path = _override(tmp_path, stage=stage)
    with pytest.raises(StandardFileError, match=message) as info:
        load_standards([tmp_path])
    assert str(path) in str(info.value)


def test_stage_is_a_limits_key_only(tmp_path: Path) -> None:
    text = resources.files("aggregates.standards").joinpath("aqci-2026.json")
    doc = json.loads(text.read_text(encoding="utf-8"))
    doc["stage"] = "过渡阶段"
    (tmp_path / "aqci.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(StandardFileError, match="/stage: unknown key"):
        load_standards([tmp_path])


def test_override_without_stage(tmp_path: Path) -> None:
    path = _override(tmp_path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    del doc["stage"]
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    table = load_standards([tmp_path]).limits(date(2027, 1, 1))
    assert table.stage is None and table.label(1) == "GB 3095—2026 一级"
