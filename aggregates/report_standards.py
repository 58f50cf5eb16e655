"""What a built report says about the standards it used: the header line, the notes, the
"未核实" marks, and ``report.meta["standards"]`` — all from the tables actually in force on
the report's days (:mod:`aggregates.standards_used`), never a fixed name.

Which tables a report uses (:mod:`aggregates.reports`, :mod:`aggregates.period_reports`):

* AQI: each day (or hour) by the HJ 633 table of its own local date — a report across
  2026-03-01 has two runs and says which applies to which days;
* data validity: GB 3095 Table 4 of the tables in force (HJ 663 statistics);
* composite index (every period report except hour and day): the whole period by the
  table of its first day; in a year report each month by the table of the month's first day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from aggregates.periods import Period
from aggregates.report_model import Chart, Column, Report, Table
from aggregates.standards import Standard, StandardRegistry
from aggregates.standards_used import codes, rule_sentence, rule_spans, unverified_mark

__all__ = ["aqci_days", "name_standards", "shows_aqci"]

_AQI_HOW = "浓度按 GB/T 8170 修约后计算分指数，分指数向上取整"


def shows_aqci(period: Period) -> bool:
    """Whether a report of ``period`` shows a composite index (not the hour and day ones)."""
    return period.kind not in ("hour", "day")


def aqci_days(period: Period) -> list[date]:
    """The days whose composite-index table the report uses: the period's first day, and
    in a year report the first day of every month."""
    if period.kind != "year":
        return [period.start]
    return [period.start, *(date(period.start.year, m, 1) for m in range(2, 13))]


def _star(table: Table) -> None:
    """Mark the composite-index column and summary label of ``table`` with ``*``."""
    table.columns = [
        Column(c.key, f"{c.title}*", c.unit, c.decimals, c.width)
        if c.key == "aqci" and not c.title.endswith("*")
        else c
        for c in table.columns
    ]
    for row in table.summary:
        for i, cell in enumerate(row):
            if cell == "综合指数":
                row[i] = "综合指数*"


def name_standards(report: Report, registry: StandardRegistry) -> None:
    """Add to ``report`` the standards its figures were computed by (see the module
    docstring): a header line in the subtitle, the notes, the ``*`` on composite-index
    values of an unverified table, ``meta["standards"]`` and ``meta["unverified"]``."""
    per = report.spec.period
    aqi_spans = rule_spans(per.start, per.end, registry.aqi_table)
    limit_spans = rule_spans(per.start, per.end, registry.limits)
    aqi_text = rule_sentence(aqi_spans)
    used: dict[str, Standard] = {s.table_id: registry.aqi_table(s.first) for s in aqi_spans}
    header = [f"AQI：{'、'.join(codes(aqi_spans))}"]
    aqi_note = (
        f"AQI {aqi_text} 计算（{_AQI_HOW}）。"
        if len(codes(aqi_spans)) == 1
        else f"AQI 分段计算：{aqi_text}（每日按其本地日期适用的规定；{_AQI_HOW}）。"
    )
    notes = [
        "“—”表示无数据或数据不满足有效性要求（"
        f"{'、'.join(codes(limit_spans))} 表4、HJ 663：日均值至少20个有效小时值，"
        "O3日最大8小时平均至少14个有效8小时值，月均值至少27个有效日均值、2月至少25个），"
        "不参与统计。",
        "标记为 M、C、D、F、T、B 的数据不参与均值计算，单独计数。",
        aqi_note,
    ]
    aqci: list[dict[str, Any]] = []
    if shows_aqci(per):
        days = aqci_days(per)
        tables = {registry.aqci(d).id: registry.aqci(d) for d in days}
        used.update(tables)
        whole = registry.aqci(per.start)
        aqci = [{"from": d.isoformat(), "standard": registry.aqci(d).code} for d in days]
        if per.kind == "year":
            months = rule_spans(per.start, per.end, lambda d: registry.aqci(d.replace(day=1)))
            notes.append(
                f"月综合指数{rule_sentence(months)} 计算；全年综合指数按 {whole.code} 计算。"
            )
        else:
            notes.append(f"综合指数按 {whole.code} 计算（时段首日 {per.start} 适用的规定）。")
        header.append(f"综合指数：{'、'.join(t.code for t in tables.values())}")
    marks = [m for t in used.values() if (m := unverified_mark(t)) is not None]
    if any(m["kind"] == "aqci" for m in marks):
        for table in report.tables:
            _star(table)
        starred: dict[int, Chart] = {}  # one chart may stand for two kinds (keep it one)
        for kind, chart in report.charts.items():
            if "综合指数" in chart.title and not chart.title.endswith("*"):
                if id(chart) not in starred:
                    starred[id(chart)] = replace(chart, title=f"{chart.title}*")
                report.charts[kind] = starred[id(chart)]
        header = [f"{h}（未核实）" if h.startswith("综合指数") else h for h in header]
    report.subtitle = f"{report.subtitle}  {'；'.join(header)}"
    report.notes += notes + [f"* {m['message']}" for m in marks]
    report.meta["standards"] = {
        "aqi": [s.to_json() for s in aqi_spans],
        "aqi_text": aqi_text,
        "limits": [s.to_json() for s in limit_spans],
        "aqci": aqci,
    }
    report.meta["unverified"] = marks
