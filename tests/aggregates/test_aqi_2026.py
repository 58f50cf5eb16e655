"""HJ 633—2026 (in force 2026-03-01): every case of aqi_vectors_2026.json through the library
and ``envgrid aqi``, and the rules of AQI-2026.md §1 the vectors do not spell out."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from aggregates.aqi import (
    AqiResult,
    ReportKind,
    aqi_level,
    compute_aqi,
    daily_aqi,
    hourly_aqi,
    iaqi,
)
from aggregates.standards import AqiTable, default_registry

from .conftest import VECTORS, VECTORS_2026, run_cli, to_json_text

REGISTRY = default_registry()
FULL_DAILY = {"SO2_24h": 12, "NO2_24h": 28, "CO_24h": 0.7, "PM10_24h": 40, "O3_8h_max": 80}
FULL_HOURLY = {"SO2_1h": 10, "NO2_1h": 40, "CO_1h": 0.6, "O3_1h": 90, "PM10_1h": 40}


def _day(case: dict[str, Any]) -> date:
    return date.fromisoformat(case["date"])


def _input_key(case: dict[str, Any]) -> tuple[ReportKind, str]:
    """(report, input key) of an IAQI case: 1h values go through the real-time report
    (PM 1h is indexed on the 24h column there), the others through the daily one."""
    pol, avg = case["pollutant"], case["averaging"]
    if avg == "1h":
        return "hourly", f"{pol}_1h"
    if avg == "8h":
        return "daily", "O3_8h_max"
    return "daily", f"{pol}_24h"


def _expected(case: dict[str, Any]) -> dict[str, Any]:
    return {
        "aqi": case["expected_aqi"],
        "published": case.get("expected_published", case["expected_aqi"] is not None),
        "primary": case["expected_primary"],
        "primary_indicators": case["expected_primary_indicators"],
        "level": case["expected_level"],
        "level_cn": case["expected_level_cn"],
        "category": case["expected_category"],
        "color": case["expected_color_hex"],
        "exceedance": case["expected_exceedance"],
        "iaqi": case["expected_iaqi"],
    }


def _as_json(result: AqiResult) -> dict[str, Any]:
    got = result.to_json()
    return {k: got[k] for k in _expected_keys()}


def _expected_keys() -> tuple[str, ...]:
    return (
        "aqi",
        "published",
        "primary",
        "primary_indicators",
        "level",
        "level_cn",
        "category",
        "color",
        "exceedance",
        "iaqi",
    )


# ---------------------------------------------------------------------------- library


@pytest.mark.parametrize(
    "case", VECTORS_2026["iaqi_cases"], ids=lambda c: f"{c['pollutant']}_{c['averaging']}"
)
def test_iaqi_vectors_2026(case: dict[str, Any]) -> None:
    table = REGISTRY.aqi_table(_day(case))
    assert table.code == "HJ 633—2026" == case["standard"]
    report, key = _input_key(case)
    result = compute_aqi(report, {key: case["concentration"]}, table)
    assert result.indicator_iaqi[key] == case["expected_iaqi"]
    if "expected_iaqi_if_not_rounded" in case:
        raw = compute_aqi(report, {key: case["concentration"]}, table, round_inputs=False)
        assert raw.indicator_iaqi[key] == case["expected_iaqi_if_not_rounded"]


@pytest.mark.parametrize("case", VECTORS_2026["aqi_cases"], ids=lambda c: c["description"])
def test_aqi_vectors_2026(case: dict[str, Any]) -> None:
    table = REGISTRY.aqi_table(_day(case))
    result = compute_aqi(case["report"], case["concentrations"], table)
    assert _as_json(result) == _expected(case)
    assert result.standard == "HJ 633—2026"
    assert list(result.missing_indicators) == case.get("missing_indicators", [])
    rgb = case["expected_color_rgb"]
    level = aqi_level(result.aqi, table)
    assert (None if level is None else list(level.rgb)) == rgb


@pytest.mark.parametrize("case", VECTORS_2026["level_cases"], ids=lambda c: str(c["aqi"]))
def test_level_vectors_2026(case: dict[str, Any]) -> None:
    level = aqi_level(case["aqi"], REGISTRY.aqi_table(date(2026, 3, 1)))
    assert level is not None
    got = (level.level, level.level_cn, level.category, level.color_name, level.hex)
    assert got == (
        case["level"],
        case["level_cn"],
        case["category"],
        case["color_name"],
        case["hex"],
    )
    assert (list(level.rgb), list(level.cmyk)) == (case["rgb"], case["cmyk"])


def test_rules_change_on_2026_03_01() -> None:
    """Each day is judged by its own date: 02-28 by HJ 633—2012, 03-01 by HJ 633—2026."""
    before, after = REGISTRY.aqi_table(date(2026, 2, 28)), REGISTRY.aqi_table(date(2026, 3, 1))
    assert (before.code, after.code) == ("HJ 633—2012", "HJ 633—2026")
    old = daily_aqi({**FULL_DAILY, "PM2.5_24h": 75, "O3_1h_max": 400}, before)
    new = daily_aqi({**FULL_DAILY, "PM2.5_24h": 75, "O3_1h_max": 400}, after)
    assert (old.aqi, old.primary, old.exceedance) == (200, ("O3",), ("O3",))
    assert (new.aqi, new.primary, new.exceedance, new.ignored) == (
        114,
        ("PM2.5",),
        None,
        ("O3_1h_max",),
    )


def test_2026_ignores_what_is_no_longer_an_indicator(t2026: AqiTable) -> None:
    r = hourly_aqi(
        {**FULL_HOURLY, "PM2.5_1h": 20, "SO2_24h": 900, "O3_8h": 500, "PM2.5_24h": 300},
        t2026,
        include_moving_averages=True,
    )
    assert r.aqi == 40 and set(r.ignored) == {"SO2_24h", "O3_8h", "PM2.5_24h"}
    assert "SO2_24h" not in r.indicator_iaqi
    # ignored inputs are still checked
    with pytest.raises(ValueError, match="O3_8h: negative concentration"):
        hourly_aqi({"O3_8h": -1}, t2026)


@pytest.mark.parametrize(
    ("rest_pm25", "published", "aqi"),
    [(None, False, None), (100, True, 137), (60, False, None), (61, True, 101)],
)
def test_missing_data_rule(
    t2026: AqiTable, rest_pm25: int | None, published: bool, aqi: int | None
) -> None:
    """§5.3.1: CO missing; the AQI of the rest is published only when it is above 100
    (an AQI of exactly 100 is not)."""
    conc = {"SO2_24h": 12, "NO2_24h": 28, "PM10_24h": 40, "O3_8h_max": 80, "PM2.5_24h": rest_pm25}
    r = daily_aqi(conc, t2026)
    assert (r.published, r.aqi) == (published, aqi)
    assert "CO_24h" in r.missing_indicators
    if not published:
        assert (r.level, r.category, r.color, r.primary, r.health_effect) == (None,) * 3 + (
            (),
            None,
        )
        assert r.iaqi["SO2"] == 12  # the single-pollutant IAQIs still stand
        assert r.display_color(t2026) == t2026.no_data.hex


def test_missing_data_exemption_and_2012(t2012: AqiTable, t2026: AqiTable) -> None:
    conc = {"SO2_24h": 12, "NO2_24h": 28, "PM10_24h": 40, "O3_8h_max": 80, "PM2.5_24h": 50}
    assert daily_aqi(conc, t2026).aqi is None
    # §5.3.2: CO outside the monitoring plan does not count as missing
    exempt = daily_aqi(conc, t2026, not_monitored=("CO",))
    assert (exempt.aqi, exempt.published, exempt.missing_indicators) == (80, True, ())
    # HJ 633—2012 has no such rule
    assert daily_aqi(conc, t2012).aqi == 69


def test_sensitive_groups_and_advice(t2026: AqiTable, t2012: AqiTable) -> None:
    r = daily_aqi({**FULL_DAILY, "PM2.5_24h": 116, "O3_8h_max": 170}, t2026)
    assert r.aqi == 152 and r.level == 4
    assert set(r.sensitive_groups) == {"PM2.5", "O3"}
    assert r.sensitive_groups["O3"].startswith("患有呼吸系统疾病（如哮喘）的人")
    assert r.advice is not None and r.advice.startswith("青少年儿童、老年人及心血管系统疾病")
    assert "敏感人群" in (r.health_effect or "")
    old = daily_aqi({**FULL_DAILY, "PM2.5_24h": 116, "O3_8h_max": 170}, t2012)
    assert old.sensitive_groups == {} and old.advice is not None and old.advice.startswith("儿童")


def test_level_one_starts_at_1(t2026: AqiTable, t2012: AqiTable) -> None:
    assert t2026.levels[0].aqi_min == 1 and t2012.levels[0].aqi_min == 0
    # AQI 0 (every rounded concentration 0) is outside the 2026 range; shown as level 1
    zero = aqi_level(0, t2026)
    assert zero is not None and zero.level == 1
    assert iaqi("SO2_1h", 801, t2026) == 200 and iaqi("O3_8h", 5000, t2026) == 300
    assert iaqi("PM2.5_24h", 501, t2026) == 500


def test_bad_input_is_a_clear_error(t2026: AqiTable) -> None:
    with pytest.raises(ValueError, match=r"PM2\.5: the averaging period is missing"):
        daily_aqi({"PM2.5": 30}, t2026)
    with pytest.raises(ValueError, match="unknown hourly indicator 'PM25_1h'"):
        hourly_aqi({"PM25_1h": 30}, t2026)
    with pytest.raises(ValueError, match="negative"):
        daily_aqi({"PM2.5_24h": -1}, t2026)
    with pytest.raises(ValueError):
        daily_aqi({"PM2.5_24h": "abc"}, t2026)
    with pytest.raises(LookupError, match="not computable"):
        REGISTRY.aqi_table(date(2011, 12, 31))


# ---------------------------------------------------------------------------- envgrid aqi


def _lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_cli_all_2026_and_2012_aqi_vectors_by_date() -> None:
    """Both vectors files in one run, each case dated (2012 cases on 2026-02-28, the last
    day of the 2012 rules): the date alone picks the rules."""
    cases = [(c, c["date"]) for c in VECTORS_2026["aqi_cases"]]
    cases += [(c, "2026-02-28") for c in VECTORS["aqi_cases"]]
    records = [
        {"id": n, "report": c["report"], "date": day, "concentrations": c["concentrations"]}
        for n, (c, day) in enumerate(cases)
    ]
    proc = run_cli("aqi", to_json_text(records))
    assert proc.returncode == 0, proc.stderr
    out = _lines(proc.stdout)
    assert len(out) == len(cases)
    for got, (case, day) in zip(out, cases, strict=True):
        assert {k: got[k] for k in _expected_keys()} == _expected(case), case["description"]
        assert got["standard"] == ("HJ 633—2026" if day >= "2026-03-01" else "HJ 633—2012")


def test_cli_all_2026_iaqi_vectors() -> None:
    cases = VECTORS_2026["iaqi_cases"]
    records, keys = [], []
    for n, case in enumerate(cases):
        report, key = _input_key(case)
        records.append(
            {
                "id": n,
                "report": report,
                "date": case["date"],
                "concentrations": {key: case["concentration"]},
            }
        )
        keys.append(key)
    proc = run_cli("aqi", to_json_text(records))
    assert proc.returncode == 0, proc.stderr
    for got, case, key in zip(_lines(proc.stdout), cases, keys, strict=True):
        assert got["indicator_iaqi"][key] == case["expected_iaqi"], case
        # a single indicator is a partial report: published only above 100 (§5.3.1)
        assert got["published"] is (case["expected_iaqi"] > 100)


def test_cli_not_monitored_and_errors() -> None:
    conc = {"SO2_24h": 12, "NO2_24h": 28, "PM10_24h": 40, "O3_8h_max": 80, "PM2.5_24h": 50}
    record = {"report": "daily", "date": "2026-06-01", "concentrations": conc}
    proc = run_cli("aqi", json.dumps([record, {**record, "not_monitored": ["CO"]}]))
    assert proc.returncode == 0, proc.stderr
    na, exempt = _lines(proc.stdout)
    assert (na["aqi"], na["published"], na["color"], na["missing_indicators"]) == (
        None,
        False,
        None,
        ["CO_24h"],
    )
    assert (exempt["aqi"], exempt["published"]) == (80, True)
    for bad, message in (
        ({**record, "not_monitored": ["XX"]}, "not_monitored: expected a list of pollutants"),
        (
            {**record, "date": "2011-05-01"},
            "no aqi standard in force on 2011-05-01: not computable",
        ),
        ({**record, "concentrations": {"PM2.5": 3}}, "PM2.5: the averaging period is missing"),
        ({**record, "concentrations": {"PM2.5_24h": -3}}, "negative concentration"),
        ({**record, "concentrations": {"PM2.5_24h": [3]}}, "not a number"),
    ):
        proc = run_cli("aqi", json.dumps(bad))
        assert proc.returncode == 2 and message in proc.stderr, (bad, proc.stderr)
        assert proc.stdout == ""
