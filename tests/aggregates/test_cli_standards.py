"""``envgrid standards list`` / ``show`` through ``python -m envgrid`` (subprocess)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from .conftest import run_cli

SHIPPED = resources.files("aggregates.standards")


def test_list_marks_the_tables_in_force() -> None:
    proc = run_cli("standards", "", "list", "--date", "2026-02-28")
    assert proc.returncode == 0, proc.stderr
    marked = {
        line.split()[1]
        for line in proc.stdout.splitlines()
        if line.startswith("* ") and "适用" not in line
    }
    assert marked == {"hj633-2012", "gb3095-2012", "aqci-2018"}
    proc = run_cli("standards", "", "list", "--date", "2031-01-01")
    marked = {
        line.split()[1]
        for line in proc.stdout.splitlines()
        if line.startswith("* ") and "适用" not in line
    }
    assert marked == {"hj633-2026", "gb3095-2026-2031", "aqci-2026"}
    assert "2026-03-01 至 …" in proc.stdout


def test_show_hj633_2026_text_and_json() -> None:
    proc = run_cli("standards", "", "show", "HJ633-2026")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith("HJ 633—2026 环境空气质量指数（AQI）技术规定")
    assert "SO2_1h 高于 800：IAQI 按 200 计" in text and "O3_8h 高于 800：IAQI 按 300 计" in text
    assert "一级  1～50" in text and "超标污染物：无此概念" in text
    assert "PM2.5：患有心血管系统疾病或呼吸系统疾病（如哮喘）的人" in text
    assert "HJ 633—2026 表3, p. 3 (PDF p. 6)" in text
    proc = run_cli("standards", "", "show", "hj633-2012", "--json")
    doc = json.loads(proc.stdout)
    assert doc["code"] == "HJ 633—2012" and doc["exceedance_pollutant_above"] == 100
    assert doc["columns"]["PM2.5_24h"]["breakpoints"][2] == "75"
    assert doc["columns"]["SO2_1h"]["above_top"]["rule"] == "not_computed"
    assert doc["missing_data_publish_above"] is None and doc["unverified"] == []


def test_show_picks_the_stage_by_date_and_marks_unverified() -> None:
    final = run_cli("standards", "", "show", "GB 3095—2026", "--json", "--date", "2031-06-01")
    assert json.loads(final.stdout)["id"] == "gb3095-2026-2031"
    now = run_cli("standards", "", "show", "gb3095 2026", "--json", "--date", "2026-06-01")
    assert json.loads(now.stdout)["id"] == "gb3095-2026"
    aqci = run_cli("standards", "", "show", "aqci-2026")
    assert aqci.returncode == 0 and "未核实" in aqci.stdout and "*" in aqci.stdout


def test_bad_id_date_and_operator_file(tmp_path: Path) -> None:
    proc = run_cli("standards", "", "show", "HJ633-2099")
    assert (
        proc.returncode == 2
        and "no standards table 'HJ633-2099'; loaded: hj633-2012" in proc.stderr
    )
    proc = run_cli("standards", "", "list", "--date", "2026-13-01")
    assert proc.returncode == 2 and "--date: expected YYYY-MM-DD" in proc.stderr
    doc = json.loads(SHIPPED.joinpath("hj633-2026.json").read_text(encoding="utf-8"))
    doc["iaqi"]["columns"]["PM2.5_24h"]["breakpoints"][3] = 50
    bad = tmp_path / "local.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    proc = run_cli("standards", "", "list", "--standards-dir", str(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert (
        f"{bad}: /iaqi/columns/PM2.5_24h/breakpoints/3: breakpoints must increase strictly"
        in proc.stderr
    )
    # a correct operator file replaces the shipped table and is listed with its file
    doc["iaqi"]["columns"]["PM2.5_24h"]["breakpoints"][3] = 115
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    proc = run_cli("standards", "", "list", "--standards-dir", str(tmp_path))
    assert proc.returncode == 0 and str(bad) in proc.stdout
