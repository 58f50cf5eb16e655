"""Reports and every export format, opened again: XLSX with openpyxl (the report's
numbers), DOCX with python-docx (the table), PDF (embeds a CJK font; pdftoppm renders it —
run with ``--basetemp DIR`` to keep the PNG of page 1 for a human look), CSV, PNG/JPG, and
the ``envgrid report`` command."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from PIL import Image

from aggregates.exports import ExportError, export, find_cjk_font
from aggregates.periods import period_of
from aggregates.report_model import Report, ReportSpec
from aggregates.reports import build_report
from tests.ptyio import run_on_pty

from .dbdata import START, build_network, settings_for

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def network(db_pool: asyncpg.Pool, db_dsn: str) -> asyncpg.Pool:
    await build_network(db_pool, db_dsn)
    return db_pool


async def _report(
    pool: asyncpg.Pool, dsn: str, scope: str, key: str, kind: str, day: date
) -> Report:
    spec = ReportSpec(scope, key, period_of(kind, day))  # type: ignore[arg-type]
    steps: list[float] = []
    report = await build_report(
        pool, settings_for(dsn), spec, progress=lambda f, m: steps.append(f)
    )
    assert steps[0] == 0.0 and steps[-1] == 1.0 and steps == sorted(steps)
    return report


async def test_station_hour_report(network: asyncpg.Pool, db_dsn: str) -> None:
    r = await _report(network, db_dsn, "station", "ST2", "hour", START)
    assert r.title == "站点2环境空气质量时报"
    assert len(r.main.rows) == 24
    assert r.main.rows[0][:7] == ["00:00", 10, 30, Decimal("0.8"), 90, 70, 75]
    assert r.main.rows[0][7:] == [100, "良", "PM2.5"]


async def test_station_day_report(network: asyncpg.Pool, db_dsn: str) -> None:
    r = await _report(network, db_dsn, "station", "ST4", "day", START)
    pm10 = next(row for row in r.main.rows if row[0] == "PM10")
    assert pm10[2:4] == [250, 24]
    assert pm10[7] == 150
    assert r.main.summary[0][2:5] == [150, "轻度污染", "PM10"]


async def test_station_month_and_xun_reports(network: asyncpg.Pool, db_dsn: str) -> None:
    month = await _report(network, db_dsn, "station", "ST1", "month", START)
    assert len(month.main.rows) == 31
    assert month.main.summary[0][0] == "时段均值"
    assert month.meta["aqci"] == Decimal("3.39")
    assert month.meta["good_days"] == 31
    xun = await _report(network, db_dsn, "station", "ST1", "xun", date(2024, 3, 25))
    assert next(row[0] for row in xun.main.rows) == "2024-03-21"
    assert len(xun.main.rows) == 11


async def test_region_reports(network: asyncpg.Pool, db_dsn: str) -> None:
    day = await _report(network, db_dsn, "region", "西区", "day", START)
    assert [row[:2] for row in day.main.rows] == [["ST3", "站点3"], ["ST4", "站点4"]]
    assert day.main.summary[0][-3:] == [105, "轻度污染", "PM10"]  # city averaging
    month = await _report(network, db_dsn, "region", "东区", "month", START)
    titles = [c.title for c in month.main.columns]
    assert "CO(P95)" in titles and "O3(8h P90)" in titles
    st1 = month.main.rows[0]
    assert st1[titles.index("综合指数")] == Decimal("3.39")
    assert st1[titles.index("排名")] == 1
    assert st1[titles.index("优良天数")] == 31
    assert month.tables[1].wide and len(month.tables[1].rows) == 2
    grid = await _report(network, db_dsn, "grid", "S01", "week", START)
    assert [row[0] for row in grid.main.rows] == ["ST1", "ST4"]


async def test_unknown_keys_are_clear_errors(network: asyncpg.Pool, db_dsn: str) -> None:
    from aggregates.selection import QueryError

    with pytest.raises(QueryError, match="unknown station"):
        await _report(network, db_dsn, "station", "NOPE", "day", START)
    with pytest.raises(QueryError, match="no enabled station in region"):
        await _report(network, db_dsn, "region", "北区", "day", START)
    with pytest.raises(QueryError, match="no area with code"):
        await _report(network, db_dsn, "grid", "X9", "day", START)


async def test_exports_hold_the_numbers(network: asyncpg.Pool, db_dsn: str, tmp_path: Path) -> None:
    from docx import Document
    from openpyxl import load_workbook

    report = await _report(network, db_dsn, "region", "东区", "month", START)
    # XLSX: formatted, frozen header, the report's numbers
    xlsx = export(report, "xlsx", tmp_path / "r.xlsx")
    wb = load_workbook(xlsx)
    ws = wb[report.main.name]
    assert ws.freeze_panes == "B5"
    assert ws["A1"].value == report.title
    header = [c.value for c in ws[4]]
    assert header[0] == "站点编码" and "综合指数" in header
    data = [[c.value for c in row] for row in ws.iter_rows(min_row=5, max_row=6)]
    for got, want in zip(data, report.main.rows, strict=True):
        expected = [float(v) if isinstance(v, Decimal) else ("—" if v is None else v) for v in want]
        assert got == expected
    assert ws.cell(row=5, column=header.index("综合指数") + 1).number_format == "0.00"
    assert "日AQI" in wb.sheetnames
    # CSV
    with export(report, "csv", tmp_path / "r.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "站点编码" and rows[1][:2] == ["ST1", "站点1"]
    assert rows[1][header.index("综合指数")] == "3.39"
    # DOCX: the table
    doc = Document(str(export(report, "docx", tmp_path / "r.docx")))
    table = doc.tables[0]
    assert table.rows[0].cells[0].text == "站点编码"
    assert [c.text for c in table.rows[1].cells][:2] == ["ST1", "站点1"]
    assert table.rows[1].cells[header.index("综合指数")].text == "3.39"
    assert any(p.text.startswith("标记为 M、C、D、F、T、B") for p in doc.paragraphs)
    # images
    for fmt, kind in (("png", "line"), ("png", "bar"), ("jpg", "pie")):
        path = export(report, fmt, tmp_path / f"c-{kind}.{fmt}", chart=kind)
        with Image.open(path) as img:
            assert img.format == ("JPEG" if fmt == "jpg" else "PNG")
            assert img.size[0] > 500
    with pytest.raises(ExportError, match="unknown format"):
        export(report, "odt", tmp_path / "x.odt")
    with pytest.raises(ExportError, match="unknown chart"):
        export(report, "png", tmp_path / "x.png", chart="radar")


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed"
)
async def test_pdf_embeds_a_cjk_font_and_renders(
    network: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    report = await _report(network, db_dsn, "region", "西区", "day", START)
    pdf = export(report, "pdf", tmp_path / "r.pdf")
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF")
    assert b"/FontFile2" in raw  # an embedded TrueType font program
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    cjk = [line for line in fonts.stdout.splitlines() if "WenQuanYi" in line or "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts.stdout
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    assert "西区环境空气质量日报" in text.stdout
    assert re.search(r"轻度污染", text.stdout)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    page = next(tmp_path.glob("page*.png"))
    with Image.open(page) as img:
        assert img.size[0] > 500
        # rendered glyphs: the page is not blank
        assert img.convert("L").getextrema()[0] < 100


def test_missing_font_is_actionable(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        find_cjk_font(tmp_path / "nope.ttc")


async def test_report_command(network: asyncpg.Pool, db_dsn: str, tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("ENVGRID_CONFIG", None)
    out = tmp_path / "out.xlsx"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "envgrid", "report", "--dsn", db_dsn, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
            check=False,
        )

    done = run(
        "--region",
        "东区",
        "--period",
        "month",
        "--date",
        "2024-03-10",
        "-f",
        "xlsx",
        "-o",
        str(out),
        "--refresh",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert out.stat().st_size > 0
    assert done.stderr == ""  # stderr piped: no progress display
    argv = [sys.executable, "-m", "envgrid", "report", "--dsn", db_dsn, "--station", "ST1"]
    argv += ["--period", "day", "--date", "2024-03-05", "-f", "csv", "-o", str(tmp_path / "t.csv")]
    shown = run_on_pty(argv, env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.terminal
    assert shown.stdout.strip() == str(tmp_path / "t.csv")
    assert "done" in shown.terminal and "100%" in shown.terminal  # the rich display, at its end
    png = run(
        "--station",
        "ST1",
        "--period",
        "custom",
        "--start",
        "2024-03-01",
        "--end",
        "2024-03-07",
        "-f",
        "png",
        "--chart",
        "bar",
        "-o",
        str(tmp_path / "b.png"),
        "-q",
    )
    assert png.returncode == 0, png.stderr
    bad = run("--station", "NOPE", "--period", "day", "--date", "2024-03-01")
    assert bad.returncode == 2 and "unknown station MN(s): NOPE" in bad.stderr
    usage = run("--region", "东区", "--period", "custom", "--start", "2024-03-01")
    assert usage.returncode == 2 and "--start and --end" in usage.stderr


@pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed"
)
# the test network holds 2024 data: these reports are empty, and matplotlib warns that it
# cannot lay out the empty charts
@pytest.mark.filterwarnings("ignore:Tight layout not applied:UserWarning")
async def test_report_across_2026_03_01_names_each_rule(
    network: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    """A report from 2026-02-20 to 2026-03-10 says which HJ 633 edition applies to which
    days, in the PDF text and the XLSX notes; its composite index (by the rules of the
    first day) names that table; a report after the change names HJ 633—2026 alone and
    marks the HJ 663—2026 composite index "未核实" with its reason."""
    from openpyxl import load_workbook

    from aggregates.standards import default_registry

    reg = default_registry()
    old, new = reg.aqi_table(date(2026, 2, 28)).code, reg.aqi_table(date(2026, 3, 1)).code
    assert (old, new) == ("HJ 633—2012", "HJ 633—2026")
    spec = ReportSpec("station", "ST1", period_of("custom", date(2026, 2, 20), date(2026, 3, 10)))
    report = await build_report(network, settings_for(db_dsn), spec)
    sentence = f"2026-02-20 至 2026-02-28 按 {old}；2026-03-01 至 2026-03-10 按 {new}"
    assert report.meta["standards"]["aqi_text"] == sentence
    xlsx = load_workbook(export(report, "xlsx", tmp_path / "span.xlsx"))
    texts = [str(c.value) for row in xlsx[report.main.name].iter_rows() for c in row if c.value]
    assert any(sentence in t for t in texts)
    assert any(t.startswith("站点：") and f"AQI：{old}、{new}" in t for t in texts)
    pdf = export(report, "pdf", tmp_path / "span.pdf")
    text = subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    assert "".join(sentence.split()) in flat
    first = reg.aqci(date(2026, 2, 20)).code
    assert f"综合指数按{first.replace(' ', '')}计算" in flat
    # after the change: one edition, and the unverified composite index is marked
    march = ReportSpec("station", "ST1", period_of("month", date(2026, 3, 1)))
    report = await build_report(network, settings_for(db_dsn), march)
    assert f"AQI 按 {new} 计算" in " ".join(report.notes)
    aqci = reg.aqci(date(2026, 3, 1))
    assert aqci.unverified(), "HJ 663—2026 is still unverified in the shipped file"
    assert report.main.summary[0][-2] == "综合指数*"
    book = load_workbook(export(report, "xlsx", tmp_path / "march.xlsx"))
    texts = [str(c.value) for row in book[report.main.name].iter_rows() for c in row if c.value]
    assert any(
        t.startswith(f"* {aqci.code}（综合指数）未核实：HJ 663—2026 原文未获取") for t in texts
    )
    pdf = export(report, "pdf", tmp_path / "march.pdf")
    text = subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    assert (
        f"AQI按{new.replace(' ', '')}计算" in flat
        and "未核实" in flat
        and "权重与规则取自二手资料" in flat
    )
