"""``envgrid aqi`` / ``envgrid aqci`` through ``python -m envgrid`` (subprocess).

Every vector goes through the commands; cases are batched (JSON list / JSON lines) so a
handful of subprocesses cover them all.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aggregates.standards import AQCI_ROUNDINGS

from .conftest import VECTORS, run_cli, to_json_text

PIN_2012 = ("--date", "2020-01-01")


def _lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def _iaqi_record(case: dict[str, Any], n: int) -> tuple[dict[str, Any], str]:
    pol, avg = case["pollutant"], case["averaging"]
    if avg == "1h":
        report, key = "hourly", f"{pol}_1h"
    elif avg == "8h":
        report, key = "daily", "O3_8h_max"
    else:
        report, key = "daily", f"{pol}_24h"
    return {"id": n, "report": report, "concentrations": {key: case["concentration"]}}, key


def test_aqi_command_all_iaqi_vectors() -> None:
    records, keys = [], []
    for n, case in enumerate(VECTORS["iaqi_cases"]):
        record, key = _iaqi_record(case, n)
        records.append(record)
        keys.append(key)
    proc = run_cli("aqi", to_json_text(records), *PIN_2012)
    assert proc.returncode == 0, proc.stderr
    out = _lines(proc.stdout)
    assert len(out) == len(records)
    for n, (case, key, got) in enumerate(zip(VECTORS["iaqi_cases"], keys, out, strict=True)):
        assert got["id"] == n
        assert got["indicator_iaqi"][key] == case["expected_iaqi"], case
        assert got["standard"] == "HJ 633—2012"


def _check_aqi_output(got: dict[str, Any], case: dict[str, Any]) -> None:
    assert got["aqi"] == case["expected_aqi"]
    assert got["level"] == case["expected_level"]
    assert got["level_cn"] == case["expected_level_cn"]
    assert got["category"] == case["expected_category"]
    assert got["color"] == case["expected_color_hex"]
    assert got["primary"] == case["expected_primary"]
    assert got["primary_indicators"] == case["expected_primary_indicators"]
    assert got["exceedance"] == case["expected_exceedance"]
    assert got["iaqi"] == case["expected_iaqi"]
    assert got["standard"] == "HJ 633—2012"


def test_aqi_command_all_aqi_vectors_as_list() -> None:
    cases = VECTORS["aqi_cases"]
    records = [
        {"report": c["report"], "date": "2025-06-30", "concentrations": c["concentrations"]}
        for c in cases
    ]
    proc = run_cli("aqi", to_json_text(records))
    assert proc.returncode == 0, proc.stderr
    out = _lines(proc.stdout)
    assert len(out) == len(cases)
    for got, case in zip(out, cases, strict=True):
        _check_aqi_output(got, case)
        assert got["date"] == "2025-06-30"
        assert set(got) >= {"aqi", "level", "category", "color", "primary", "exceedance"}


def test_aqi_command_json_lines_and_input_file(tmp_path: Path) -> None:
    cases = VECTORS["aqi_cases"]
    text = "\n".join(
        to_json_text({"report": c["report"], "concentrations": c["concentrations"]}) for c in cases
    )
    path = tmp_path / "in.jsonl"
    path.write_text(text + "\n\n", encoding="utf-8")
    proc = run_cli("aqi", "", "--input", str(path), *PIN_2012)
    assert proc.returncode == 0, proc.stderr
    out = _lines(proc.stdout)
    for got, case in zip(out, cases, strict=True):
        _check_aqi_output(got, case)


def test_aqi_command_single_object_co_pitfall() -> None:
    proc = run_cli("aqi", '{"report": "daily", "concentrations": {"CO_24h": 2.2}}', *PIN_2012)
    assert proc.returncode == 0, proc.stderr
    (got,) = _lines(proc.stdout)
    assert got["aqi"] == 55 and got["iaqi"] == {"CO": 55}
    assert got["primary"] == ["CO"] and got["exceedance"] == []


def test_aqi_command_date_picks_standard() -> None:
    full = {"SO2_24h": 5, "NO2_24h": 10, "CO_24h": 0.5, "PM10_24h": 20, "O3_8h_max": 50}
    records = [
        {"report": "daily", "date": day, "concentrations": {**full, "PM2.5_24h": 60}}
        for day in ("2026-02-28", "2026-03-01")
    ]
    proc = run_cli("aqi", json.dumps(records))
    assert proc.returncode == 0, proc.stderr
    before, after = _lines(proc.stdout)
    assert (before["aqi"], before["standard"]) == (82, "HJ 633—2012")
    assert (after["aqi"], after["standard"]) == (100, "HJ 633—2026")


def test_aqi_command_options(tmp_path: Path) -> None:
    conc = {"O3_1h": 100, "O3_8h": 200}
    proc = run_cli("aqi", json.dumps({"concentrations": conc}), "--report", "hourly", *PIN_2012)
    assert proc.returncode == 0, proc.stderr
    assert _lines(proc.stdout)[0]["aqi"] == 32
    proc = run_cli(
        "aqi",
        json.dumps({"report": "hourly", "concentrations": conc}),
        "--include-moving-averages",
        *PIN_2012,
    )
    assert _lines(proc.stdout)[0]["aqi"] == 137
    proc = run_cli(
        "aqi",
        json.dumps({"report": "daily", "concentrations": {"PM2.5_24h": "35.5"}}),
        "--no-round",
        *PIN_2012,
    )
    assert _lines(proc.stdout)[0]["aqi"] == 51
    # an operator override directory
    doc = json.loads(
        (Path(__file__).resolve().parents[2] / "aggregates/standards/hj633-2012.json").read_text(
            encoding="utf-8"
        )
    )
    doc["iaqi"]["columns"]["PM2.5_24h"]["breakpoints"][2] = 70
    (tmp_path / "hj633.json").write_text(json.dumps(doc), encoding="utf-8")
    proc = run_cli(
        "aqi",
        '{"report": "daily", "concentrations": {"PM2.5_24h": 70}}',
        "--standards-dir",
        str(tmp_path),
        *PIN_2012,
    )
    assert proc.returncode == 0, proc.stderr
    assert _lines(proc.stdout)[0]["aqi"] == 100


AQI_ERRORS = [
    ('{"report": "daily", "concentrations": {"CO_1h": 1}}', "unknown daily indicator 'CO_1h'"),
    ('{"report": "daily", "concentrations": {"CO_24h": "abc"}}', "CO_24h: not a number: 'abc'"),
    ('{"report": "daily", "concentrations": {"CO_24h": true}}', "concentrations.CO_24h: not a"),
    ('{"report": "daily", "concentrations": {"CO_24h": [1]}}', "concentrations.CO_24h: not a"),
    ('{"report": "daily", "concentrations": {"CO_24h": -0.1}}', "CO_24h: negative"),
    ('{"report": "daily", "concentrations": {"CO_24h": NaN}}', "invalid JSON constant NaN"),
    ('{"report": "daily", "concentration": {}}', "unknown key 'concentration'"),
    ('{"report": "weekly", "concentrations": {}}', "report: expected 'hourly' or 'daily'"),
    ('{"concentrations": {}}', "missing 'report'"),
    ('{"report": "daily"}', "missing 'concentrations'"),
    ('{"report": "daily", "concentrations": []}', "concentrations: expected a JSON object"),
    ('{"report": "daily", "date": "2026-02-30", "concentrations": {}}', "date: expected"),
    ('{"report": "daily", "date": "1999-01-01", "concentrations": {}}', "no aqi standard"),
    ('{"report": "daily", "concentrations": {}}\n{"report": ', "line 2: invalid JSON"),
    ("[1]", "expected a JSON object"),
    ("", "no input"),
    (
        '[{"report": "daily", "concentrations": {}}, {"report": "daily", "x": 1}]',
        "record 2: unknown key 'x'",
    ),
]


@pytest.mark.parametrize(("stdin", "message"), AQI_ERRORS, ids=[m for _, m in AQI_ERRORS])
def test_aqi_command_bad_input(stdin: str, message: str) -> None:
    proc = run_cli("aqi", stdin, *PIN_2012)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("envgrid aqi: ")
    assert message in lines[0]


def test_aqi_command_bad_arguments(tmp_path: Path) -> None:
    proc = run_cli("aqi", "{}", "--date", "yesterday")
    assert proc.returncode == 2 and "--date: expected YYYY-MM-DD" in proc.stderr
    proc = run_cli("aqi", "{}", "--input", str(tmp_path / "nope.json"))
    assert proc.returncode == 2 and "cannot read" in proc.stderr
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    proc = run_cli("aqi", "{}", "--standards-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "bad.json: /: required key is missing" in proc.stderr or "bad.json" in proc.stderr


def _aqci_record(case: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"date": "2020-01-01"}
    if "statistics_inputs" in case:
        record["statistics_inputs"] = case["statistics_inputs"]
    else:
        record["daily_inputs"] = case["daily_inputs"]
        record["n_days"] = case["n_days"]
    return record


@pytest.mark.parametrize("rounding", AQCI_ROUNDINGS)
def test_aqci_command_all_vectors(rounding: str) -> None:
    cases = VECTORS["aqci_cases"]
    records = [_aqci_record(c) for c in cases]
    proc = run_cli("aqci", to_json_text(records), "--rounding", rounding)
    assert proc.returncode == 0, proc.stderr
    out = _lines(proc.stdout)
    assert len(out) == len(cases)
    for got, case in zip(out, cases, strict=True):
        assert Decimal(str(got["aqci"])) == Decimal(case["expected_aqci"])
        assert got["aqci_unrounded"] == pytest.approx(
            float(case["expected_aqci_unrounded"]), abs=1e-6
        )
        assert got["max_index"] == case["expected_max_single_index_pollutants"]
        assert got["rounding"] == rounding
        for pol, value in case["expected_single_indices"].items():
            assert got["indices"][pol] == pytest.approx(float(value), abs=1e-6)
        for pol, value in case["expected_statistics_rounded"].items():
            assert Decimal(str(got["statistics_rounded"][pol])) == Decimal(value)
        assert got["standard"] == "城市环境空气质量排名技术规定（2018）"
        if "daily_inputs" in case:
            assert got["counts"] == {p: case["n_days"] for p in got["counts"]}


def test_aqci_command_stats_aliases_and_periods() -> None:
    records = [
        {"stats": {"SO2": 3, "NO2": 13, "PM10": 16, "PM2.5": 13, "CO_P95": 0.9, "O3_8h_P90": 87},
         "date": "2022-02-28", "id": "heyuan"},
        {"daily": {"SO2": [10] * 25 + [None] * 3, "O3_8h_max": [100] * 28},
         "year": 2023, "month": 2},
        {"daily": {"SO2": [10] * 28}, "daily_mda8": [100] * 28, "year": 2026, "month": 3},
    ]  # fmt: skip
    proc = run_cli("aqci", json.dumps(records), "--allow-missing")
    assert proc.returncode == 0, proc.stderr
    heyuan, feb, march = _lines(proc.stdout)
    assert heyuan["id"] == "heyuan" and heyuan["aqci"] == 1.73
    assert feb["period"] == "2023-02" and feb["valid"] == {"SO2": True, "O3": True}
    assert feb["date"] == "2023-02-28" and feb["missing"] == ["NO2", "PM10", "PM2.5", "CO"]
    assert march["valid"] == {"SO2": True, "O3": True}
    assert march["standard"] != feb["standard"]  # 2026 rules from 2026-03-01
    # the HJ 663—2026 composite index is marked "未核实" with its reason; 2018 is not
    assert feb["unverified"] is None
    assert march["unverified"]["mark"] == "未核实"
    assert march["unverified"]["reason"] == "HJ 663—2026 原文未获取，权重与规则取自二手资料"
    assert march["weights"]["O3"] == 2.0


AQCI_ERRORS = [
    ('{"date": "2020-01-01"}', "give exactly one of"),
    ('{"stats": {"SO2": 1}, "daily": {"SO2": [1]}}', "give exactly one of"),
    (
        '{"stats": {"SO2": 1, "NO2": 1, "PM10": 1, "PM2.5": 1, "CO": 1}}',
        "missing statistics for O3",
    ),
    ('{"stats": {"SO3": 1}}', "unknown statistic 'SO3'"),
    ('{"stats": {"SO2": "x"}}', "stats: SO2: not a number: 'x'"),
    ('{"stats": {"SO2": false}}', "stats.SO2: not a number: false"),
    ('{"stats": {"SO2": -1}}', "SO2: negative"),
    ('{"stats": {"SO2": 1}, "rounding": "up"}', "rounding: expected one of"),
    ('{"stats": {"SO2": 1}, "n_days": 3}', "n_days: only allowed with daily series"),
    ('{"daily_inputs": {"SO2": [1, 2]}, "n_days": 3}', "SO2: 2 values, n_days is 3"),
    ('{"daily_inputs": {"SO2": 5}}', "daily_inputs.SO2: expected a list"),
    ('{"daily_inputs": {"SO2": [1]}, "month": 2}', "month: needs year"),
    ('{"daily_inputs": {"SO2": [1]}, "year": 2023, "month": 13}', "month: expected an integer"),
    ('{"daily_inputs": {"TSP": [1]}}', "unknown daily series 'TSP'"),
    ('{"stats": {"SO2": 1}, "extra": 1}', "unknown key 'extra'"),
]


@pytest.mark.parametrize(("stdin", "message"), AQCI_ERRORS, ids=[m for _, m in AQCI_ERRORS])
def test_aqci_command_bad_input(stdin: str, message: str) -> None:
    proc = run_cli("aqci", stdin, "--date", "2020-01-01")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("envgrid aqci: ")
    assert message in lines[0]
