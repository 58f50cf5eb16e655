"""Standards as data: loading, selection by date, operator overrides, unverified markers."""

from __future__ import annotations

import json
from datetime import date, datetime
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from aggregates.aqi import daily_aqi, iaqi
from aggregates.standards import (
    AqiTable,
    StandardFileError,
    StandardRegistry,
    load_standards,
)

SHIPPED = resources.files("aggregates.standards")


def shipped_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SHIPPED.joinpath(name).read_text(encoding="utf-8"))
    return data


def write(directory: Path, name: str, doc: object) -> Path:
    path = directory / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_shipped_tables(registry: StandardRegistry) -> None:
    assert set(registry.standards) == {
        "hj633-2012",
        "hj633-2026",
        "gb3095-2012",
        "gb3095-2026",
        "gb3095-2026-2031",
        "aqci-2018",
        "aqci-2026",
    }
    names = {e.name for e in SHIPPED.iterdir()}
    assert "__init__.py" in names  # a package, so setuptools ships the JSON as package data
    for std in registry.standards.values():
        assert std.source_file.startswith("aggregates/standards/")
        assert std.code and std.name


@pytest.mark.parametrize(
    ("day", "aqi", "limits", "aqci"),
    [
        (date(2016, 1, 1), "hj633-2012", "gb3095-2012", "aqci-2018"),
        (date(2026, 2, 28), "hj633-2012", "gb3095-2012", "aqci-2018"),
        (date(2026, 3, 1), "hj633-2026", "gb3095-2026", "aqci-2026"),
        (date(2030, 12, 31), "hj633-2026", "gb3095-2026", "aqci-2026"),
        (date(2031, 1, 1), "hj633-2026", "gb3095-2026-2031", "aqci-2026"),
    ],
)
def test_selection_by_date(
    registry: StandardRegistry, day: date, aqi: str, limits: str, aqci: str
) -> None:
    assert registry.aqi_table(day).id == aqi
    assert registry.limits(day).id == limits
    assert registry.aqci(day).id == aqci


def test_selection_accepts_datetime(registry: StandardRegistry) -> None:
    assert registry.aqi_table(datetime(2026, 3, 1, 0, 30)).id == "hj633-2026"
    assert registry.aqi_table(datetime(2026, 2, 28, 23, 59)).id == "hj633-2012"


def test_2026_switch_changes_the_aqi(registry: StandardRegistry) -> None:
    full = {"SO2_24h": 5, "NO2_24h": 10, "CO_24h": 0.5, "PM10_24h": 20, "O3_8h_max": 50}
    before = daily_aqi({**full, "PM2.5_24h": 60}, registry.aqi_table(date(2026, 2, 28)))
    after = daily_aqi({**full, "PM2.5_24h": 60}, registry.aqi_table(date(2026, 3, 1)))
    assert (before.aqi, before.standard) == (82, "HJ 633—2012")
    assert (after.aqi, after.standard) == (100, "HJ 633—2026")


def test_no_table_before_2012(registry: StandardRegistry) -> None:
    with pytest.raises(LookupError, match="no aqi standard in force on 2000-01-01"):
        registry.aqi_table(date(2000, 1, 1))
    with pytest.raises(KeyError, match="no standard 'x'"):
        registry.get("x")


def test_gb3095_limits(registry: StandardRegistry) -> None:
    lim = registry.limits(date(2020, 1, 1))
    assert lim.limit("SO2", "annual") == 60 and lim.limit("SO2", "annual", grade=1) == 20
    assert lim.limit("NO2", "annual") == 40
    assert lim.limit("PM10", "annual") == 70 and lim.limit("PM2.5", "annual") == 35
    assert lim.limit("CO", "24h") == 4 and lim.limit("O3", "8h") == 160
    assert lim.limit("PM2.5", "24h") == 75 and lim.limit("O3", "1h", grade=1) == 160
    assert lim.limit("BaP", "24h") == Fraction("0.0025")
    assert lim.row("PM2.5", "24h").verified
    assert not lim.row("BaP", "24h").verified  # Table 2 rows: lower confidence
    with pytest.raises(KeyError):
        lim.limit("PM2.5", "1h")
    with pytest.raises(ValueError):
        lim.limit("SO2", "1h", grade=3)
    # GB 3095-2012 grade II sits on IAQI 100 of HJ 633-2012 (AQI.md §4)
    table = registry.aqi_table(date(2020, 1, 1))
    for pol, avg in [("SO2", "24h"), ("SO2", "1h"), ("NO2", "24h"), ("NO2", "1h"),
                     ("CO", "24h"), ("CO", "1h"), ("O3", "8h"), ("O3", "1h"),
                     ("PM10", "24h"), ("PM2.5", "24h")]:  # fmt: skip
        assert iaqi(f"{pol}_{avg}", lim.limit(pol, avg), table) == 100


def test_gb3095_2026_values_are_verified(registry: StandardRegistry) -> None:
    """Checked against the official text (AQI-2026.md §2); every value in
    tests/aggregates/test_gb3095_limits.py."""
    for day in (date(2026, 3, 1), date(2031, 1, 1)):
        lim = registry.limits(day)
        assert lim.unverified() == () and all(r.verified for r in lim.rows)


def test_2026_aqi_table_is_verified_and_cited(t2026: AqiTable, t2012: AqiTable) -> None:
    """Both HJ 633 tables come from the official texts: nothing unverified, and every
    column, report, level and rule cites the page and table it was read from."""
    for table, code in ((t2012, "HJ 633—2012"), (t2026, "HJ 633—2026")):
        assert table.unverified() == ()
        assert all(level.verified for level in table.levels)
        cited = dict(table.sources)
        for key in table.columns:
            assert cited[f"/iaqi/columns/{key}"].startswith(code + " 表")
        for name in ("hourly", "daily"):
            assert cited[f"/reports/{name}"].startswith(code)
        for n in range(len(table.levels)):
            assert cited[f"/levels/{n}"].startswith(code + " 表")
    cited = dict(t2026.sources)
    assert cited["/iaqi/columns/PM2.5_24h"] == "HJ 633—2026 表3, p. 3 (PDF p. 6)"
    assert cited["/sensitive_groups"] == "HJ 633—2026 表2, p. 2 (PDF p. 5)"
    assert cited["/missing_data"].startswith("HJ 633—2026 §5.3.1")
    assert cited["/iaqi/columns/SO2_1h/above_top"].startswith("HJ 633—2026 表3 注b")


def test_override_replaces_shipped_table(tmp_path: Path) -> None:
    doc = shipped_json("hj633-2012.json")
    doc["iaqi"]["columns"]["PM2.5_24h"]["breakpoints"][2] = 70  # operator correction
    doc["levels"][0]["advice"] = "本地建议"
    path = write(tmp_path, "local-hj633.json", doc)
    reg = load_standards([tmp_path])
    table = reg.aqi_table(date(2020, 1, 1))
    assert table.source_file == str(path)
    assert iaqi("PM2.5_24h", 70, table) == 100
    assert table.levels[0].advice == "本地建议"
    assert reg.get("hj633-2026").source_file.startswith("aggregates/")  # others untouched
    assert iaqi("PM2.5_24h", 70, load_standards().aqi_table(date(2020, 1, 1))) == 94


def test_override_alternative_rule(tmp_path: Path) -> None:
    """An operator file may hold a rule and an alternative that replaces it when enabled."""
    doc = shipped_json("hj633-2026.json")
    doc["iaqi"]["columns"]["SO2_1h"]["above_top"] = {
        "rule": "not_computed",
        "alternative": {"rule": "fixed", "iaqi": 250, "enabled": False},
    }
    write(tmp_path, "hj633-2026.json", doc)
    assert iaqi("SO2_1h", 900, load_standards([tmp_path]).aqi_table(date(2026, 6, 1))) is None
    doc["iaqi"]["columns"]["SO2_1h"]["above_top"]["alternative"]["enabled"] = True
    write(tmp_path, "hj633-2026.json", doc)
    table = load_standards([tmp_path]).aqi_table(date(2026, 6, 1))
    assert iaqi("SO2_1h", 900, table) == 250


def test_later_override_directory_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    doc = shipped_json("aqci-2018.json")
    doc["decimals"] = 3
    write(first, "x.json", doc)
    doc["decimals"] = 4
    write(second, "y.json", doc)
    assert load_standards([first, second]).aqci(date(2020, 1, 1)).decimals == 4


def test_new_table_by_date(tmp_path: Path) -> None:
    doc = shipped_json("aqci-2018.json")
    doc["id"] = "aqci-local-2024"
    doc["effective_from"] = "2024-01-01"
    write(tmp_path, "local.json", doc)
    reg = load_standards([tmp_path])
    assert reg.aqci(date(2023, 12, 31)).id == "aqci-2018"
    assert reg.aqci(date(2024, 1, 1)).id == "aqci-local-2024"
    assert reg.aqci(date(2026, 3, 1)).id == "aqci-2026"


def _mutate(name: str, change: Any) -> dict[str, Any]:
    doc = shipped_json(name)
    change(doc)
    return doc


BAD_FILES = [
    ("missing key", "hj633-2012.json", lambda d: d.pop("levels"), "/levels: required key"),
    (
        "unknown key",
        "hj633-2012.json",
        lambda d: d["iaqi"]["columns"]["SO2_24h"].update(breakpoint=[1]),
        "/iaqi/columns/SO2_24h/breakpoint: unknown key",
    ),
    (
        "breakpoints not increasing",
        "hj633-2012.json",
        lambda d: d["iaqi"]["columns"]["CO_24h"]["breakpoints"].__setitem__(2, 1),
        "/iaqi/columns/CO_24h/breakpoints/2: breakpoints must increase",
    ),
    (
        "non-numeric breakpoint",
        "hj633-2012.json",
        lambda d: d["iaqi"]["columns"]["CO_24h"]["breakpoints"].__setitem__(2, "four"),
        "/iaqi/columns/CO_24h/breakpoints/2: value: not a number",
    ),
    (
        "hex does not match rgb",
        "hj633-2012.json",
        lambda d: d["levels"][1].update(hex="#FFFF01"),
        "/levels/1/hex",
    ),
    (
        "levels not contiguous",
        "hj633-2012.json",
        lambda d: d["levels"][2].update(aqi_min=102),
        "/levels/2/aqi_min: must be 101",
    ),
    (
        "unknown column in report",
        "hj633-2012.json",
        lambda d: d["reports"]["daily"]["indicators"]["SO2_24h"].update(column="SO2_2h"),
        "/reports/daily/indicators/SO2_24h/column: no column 'SO2_2h'",
    ),
    (
        "bad date",
        "aqci-2018.json",
        lambda d: d.update(effective_from="2018-02-30"),
        "/effective_from: expected an ISO date",
    ),
    (
        "verified not boolean",
        "gb3095-2012.json",
        lambda d: d["limits"][0].update(verified="no"),
        "/limits/0/verified: must be true or false",
    ),
    (
        "bad rounding",
        "aqci-2018.json",
        lambda d: d.update(rounding="up"),
        "/rounding: must be one of",
    ),
    ("bad kind", "aqci-2018.json", lambda d: d.update(kind="foo"), "/kind: must be"),
    ("bad format", "aqci-2018.json", lambda d: d.update(format=2), "/format: unsupported"),
    (
        "duplicate start date",
        "aqci-2018.json",
        lambda d: d.update(id="other"),
        "both start on 2013-10-01",
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_override_files(tmp_path: Path, name: str, change: Any, message: str) -> None:
    path = write(tmp_path, "bad.json", _mutate(name, change))
    with pytest.raises(StandardFileError) as info:
        load_standards([tmp_path])
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_invalid_json_and_duplicate_ids(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(StandardFileError, match=r"broken\.json: invalid JSON"):
        load_standards([tmp_path])
    bad.unlink()
    doc = shipped_json("aqci-2018.json")
    write(tmp_path, "one.json", doc)
    write(tmp_path, "two.json", doc)
    with pytest.raises(StandardFileError, match=r"two\.json: /id: 'aqci-2018' is also defined"):
        load_standards([tmp_path])
    with pytest.raises(StandardFileError, match="not a directory"):
        load_standards([tmp_path / "missing"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["reports"]["daily"]["indicators"].pop("PM2.5_24h"),
            "/reports/daily/indicators: incomplete: no 'standard' indicator for PM2.5",
        ),
        (
            lambda d: d["iaqi"]["columns"]["PM10_24h"]["breakpoints"].__setitem__(3, 100),
            "/iaqi/columns/PM10_24h/breakpoints/3: breakpoints must increase strictly",
        ),
        (
            lambda d: d["levels"][1].__setitem__("aqi_min", 52),
            "/levels/1/aqi_min: must be 51 (levels must be contiguous)",
        ),
        (
            lambda d: d["sensitive_groups"]["groups"].__setitem__("PM1", "x"),
            "/sensitive_groups/groups/PM1: not a pollutant of /pollutant_order",
        ),
        (
            lambda d: d["missing_data"].__setitem__("publish_above", "100"),
            "/missing_data/publish_above",
        ),
        (lambda d: d["reports"].pop("hourly"), "/reports/hourly: required key is missing"),
    ],
)
def test_operator_file_is_validated(tmp_path: Path, change: Any, message: str) -> None:
    """A standards file added with --standards-dir is checked: monotonic breakpoints,
    complete reports, contiguous levels; the error names the file and the key."""
    doc = shipped_json("hj633-2026.json")
    change(doc)
    path = write(tmp_path, "local.json", doc)
    with pytest.raises(StandardFileError) as err:
        load_standards([tmp_path])
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
