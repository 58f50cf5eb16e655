"""Spreadsheet formula injection (issue 16, finding 5): what a spreadsheet would evaluate is
exported as text; numbers stay numbers."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from aggregates.exports import export, neutralise_formula
from aggregates.periods import period_of
from aggregates.report_model import Column, Report, ReportSpec, Table


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("东城一站", "东城一站"),
        ("a=1", "a=1"),
        ("", ""),
        ("'=1", "'=1"),  # already text: not quoted twice
    ],
)
def test_neutralise_formula(text: str, expected: str) -> None:
    assert neutralise_formula(text) == expected


def _report(name: str) -> Report:
    table = Table(
        "站点",
        [Column("name", "名称"), Column("aqi", "AQI", decimals=0), Column("d", "变化", decimals=1)],
        rows=[[name, 50, -3.5]],
    )
    spec = ReportSpec("station", "MN1", period_of("day", date(2026, 12, 5)))
    return Report(
        spec,
        title="=标题",
        subtitle="-副标题",
        generated_at=datetime(2026, 12, 6),
        tables=[table],
        notes=["+注"],
        charts={},
    )


def test_csv_quotes_formula_text_and_keeps_negative_numbers(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    export(_report("=cmd|'/c calc'!A1"), "csv", path)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[1] == ["'=cmd|'/c calc'!A1", "50", "-3.5"]


def test_xlsx_stores_formula_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    export(_report("=cmd|'/c calc'!A1"), "xlsx", path)
    sheet = load_workbook(path).active
    assert sheet is not None
    cells = {c.value: c for row in sheet.iter_rows() for c in row if c.value is not None}
    for text in ("=cmd|'/c calc'!A1", "=标题", "-副标题", "+注"):
        assert cells[text].data_type == "s", text
    assert cells[-3.5].data_type == "n"
