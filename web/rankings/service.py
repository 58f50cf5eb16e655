"""Rankings for the page and the exports, on ``aggregates.rankings.ranking``.

Periods (local days, ``core.timezone``):

=========  ==================================================================================
day        one day (default yesterday): the daily AQI (日报) / the day's AQCI / daily mean
7d         the 7 days ending with ``day``: the period ranking (mean of the daily AQIs, the
           AQCI of the 7 days, the factor's mean) plus each day's value (columns)
3m         the 3 calendar months ending with the month of ``day``: the period ranking plus
           each month's value (the monthly composite index, …)
custom     ``from``..``to`` (inclusive, at most 366 days): the period ranking
=========  ==================================================================================

Ascending is better; ties share a rank ("1224"); entities without a valid value come last
without a rank.  The caller's data scope is applied by ranking only the stations in it
(a region or grid of a scoped user is the mean of its in-scope stations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import asyncpg

from aggregates import rankings
from aggregates.aqi_series import daily_aqi_series
from aggregates.periods import Period
from aggregates.rankings import RankingRow
from aggregates.report_model import Chart, Column, Report, ReportSpec, Table
from aggregates.selection import Scope, Selection, registry_for
from aggregates.standards import Standard, StandardRegistry
from aggregates.standards_used import codes, rule_sentence, rule_spans, unverified_mark
from store.jobs import next_run
from web.settings import WebConfig

__all__ = [
    "PERIODS",
    "SCOPES",
    "RankingSpec",
    "primary_note",
    "ranking_report",
    "ranking_standards",
    "ranking_view",
    "refresh_info",
    "resolve_period",
]

PERIODS: Final = ("day", "7d", "3m", "custom")
SCOPES: Final = ("station", "region", "grid")
SCOPE_ZH: Final = {"station": "站点", "region": "区域", "grid": "网格"}
PERIOD_ZH: Final = {"day": "日", "7d": "近7天", "3m": "近3个月", "custom": "自定义"}
MAX_CUSTOM_DAYS: Final = 366


class RankingError(ValueError):
    """The ranking cannot be made as asked (message in Chinese)."""


@dataclass(frozen=True, slots=True)
class RankingSpec:
    by: str
    scope: Scope
    period: str
    start: date
    end: date  # exclusive
    columns: tuple[tuple[str, str, date, date], ...]  # (key, label, start, end)
    by_label: str
    unit: str

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        if self.start == last:
            return f"{self.start.year}年{self.start.month}月{self.start.day}日"
        return (
            f"{self.start.year}年{self.start.month}月{self.start.day}日—"
            f"{last.year}年{last.month}月{last.day}日"
        )


def _month_start(d: date, back: int = 0) -> date:
    index = d.year * 12 + d.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def resolve_period(
    period: str, day: date | None, start: date | None, last: date | None, today: date
) -> tuple[date, date, tuple[tuple[str, str, date, date], ...]]:
    """(start, end exclusive, columns) of a period (see the module docstring)."""
    anchor = day or today - timedelta(days=1)
    if period == "day":
        return anchor, anchor + timedelta(days=1), ()
    if period == "7d":
        first = anchor - timedelta(days=6)
        cols = tuple(
            (d.isoformat(), f"{d.month}/{d.day}", d, d + timedelta(days=1))
            for d in (first + timedelta(days=k) for k in range(7))
        )
        return first, anchor + timedelta(days=1), cols
    if period == "3m":
        months = [_month_start(anchor, back) for back in (2, 1, 0)]
        ends = [*months[1:], _month_start(anchor, -1)]
        cols = tuple(
            (f"{m.year}-{m.month:02d}", f"{m.year}年{m.month}月", m, e)
            for m, e in zip(months, ends, strict=True)
        )
        return months[0], ends[-1], cols
    if start is None or last is None:
        raise RankingError("自定义时段需要 from 与 to（日期）")
    if last < start:
        raise RankingError("结束日期不能早于开始日期")
    if (last - start).days + 1 > MAX_CUSTOM_DAYS:
        raise RankingError(f"自定义时段不能超过 {MAX_CUSTOM_DAYS} 天")
    return start, last + timedelta(days=1), ()


def _value(v: int | Decimal | float | None) -> int | float | None:
    if v is None:
        return None
    return int(v) if isinstance(v, int) else float(v)


def primary_note(detail: dict[str, Any], valid: bool) -> str:
    """首要污染物 as the page and the exports show it: the day's, or over several days the
    one that was primary on most days, with their count (aggregates.rankings.period_primary);
    none when no day's AQI was above 50 (HJ 633 names none then); empty without a value."""
    if not valid:
        return ""
    names = "、".join(detail.get("primary") or [])
    if "primary_days" in detail:
        return f"{names}（{detail['primary_days']} 天）" if names else "无（各日 AQI ≤ 50）"
    return names or "无（AQI ≤ 50）"


def _level_color(settings: WebConfig, on: date, aqi: float | None) -> str | None:
    if aqi is None:
        return None
    table = registry_for(settings).aqi_table(on)
    value = int(aqi)
    for level in table.levels:
        if value >= level.aqi_min and (level.aqi_max is None or value <= level.aqi_max):
            return level.hex
    return table.no_data.hex


async def _column_values(
    db: asyncpg.Pool,
    settings: WebConfig,
    spec: RankingSpec,
    selection: Selection | None,
) -> dict[str, list[int | float | None]]:
    """Per entity key, the value of each column (day or month) in column order."""
    if not spec.columns:
        return {}
    out: dict[str, list[int | float | None]] = {}
    n = len(spec.columns)
    if spec.by == "aqi" and spec.period == "7d":
        series = await daily_aqi_series(
            db, settings, spec.start, spec.end, scope=spec.scope, selection=selection
        )
        position = {c[2]: i for i, c in enumerate(spec.columns)}
        for (key, _name), days in series.items():
            values: list[int | float | None] = [None] * n
            for a in days:
                if a.day in position:
                    values[position[a.day]] = a.result.aqi
            out[key] = values
        return out
    for i, (_key, _label, start, end) in enumerate(spec.columns):
        rows = await rankings.ranking(
            db, settings, spec.by, start, end, scope=spec.scope, selection=selection
        )
        for r in rows:
            out.setdefault(r.key, [None] * n)[i] = _value(r.value) if r.valid else None
    return out


async def ranking_view(
    db: asyncpg.Pool,
    settings: WebConfig,
    spec: RankingSpec,
    selection: Selection | None,
    *,
    empty: bool = False,
) -> dict[str, Any]:
    """The ranking as the page and the exports show it."""
    rows: list[RankingRow] = []
    columns: dict[str, list[int | float | None]] = {}
    if not empty:
        rows = await rankings.ranking(
            db, settings, spec.by, spec.start, spec.end, scope=spec.scope, selection=selection
        )
        columns = await _column_values(db, settings, spec, selection)
    last = spec.end - timedelta(days=1)
    items = []
    for r in rows:
        value = _value(r.value) if r.valid else None
        detail = dict(r.detail)
        if spec.by == "aqi":
            detail["primary_note"] = primary_note(detail, r.valid)
            if "color" not in detail:
                detail["color"] = _level_color(settings, last, value)
        items.append(
            {
                "rank": r.rank,
                "key": r.key,
                "name": r.name,
                "value": value,
                "valid": r.valid,
                "detail": detail,
                "series": columns.get(r.key, [None] * len(spec.columns)),
            }
        )
    standards = ranking_standards(spec, registry_for(settings))
    return {
        "by": spec.by,
        "by_label": spec.by_label,
        "unit": spec.unit,
        "scope": spec.scope,
        "period": spec.period,
        "start": spec.start,
        "end": spec.end,
        "last": last,
        "label": spec.label,
        "columns": [{"key": k, "label": label} for k, label, _, _ in spec.columns],
        "rows": items,
        "total": len(items),
        "scope_empty": empty,
        "refresh": refresh_info(settings, datetime.now(UTC)),
        **standards,
    }


def refresh_info(settings: WebConfig, now: datetime) -> dict[str, Any]:
    """When the daily values behind the rankings are recomputed (the ``aggregates-refresh``
    job, every ``aggregates.refresh_interval_min`` on the lattice of ``store.jobs``): the
    interval and the next run in local time, for the page's empty-state message."""
    every = settings.aggregates.refresh_interval_min
    nxt = next_run(every * 60.0, now.astimezone(ZoneInfo(settings.core.timezone)))
    return {"every_min": every, "next": nxt.isoformat(), "next_label": nxt.strftime("%H:%M")}


def ranking_standards(spec: RankingSpec, registry: StandardRegistry) -> dict[str, Any]:
    """What the ranking page and its exports say about the standards used: ``standards``
    (the HJ 633 runs of the period for an AQI ranking — each day by its own date; the
    composite-index table of the period's first day and of each column for an AQCI
    ranking), ``standard_label`` (the codes, for the column heading) and ``unverified``:
    the "未核实" marks of the tables used — for any AQI or AQCI ranking also the
    composite-index/ranking rules in force over the period (HJ 663)."""
    out: dict[str, Any] = {"standards": {}, "standard_label": "", "unverified": []}
    if spec.by not in ("aqi", "aqci"):
        return out
    used: dict[str, Standard] = {}
    if spec.by == "aqi":
        spans = rule_spans(spec.start, spec.end, registry.aqi_table)
        used.update({s.table_id: registry.aqi_table(s.first) for s in spans})
        out["standards"] = {"aqi": [s.to_json() for s in spans], "text": rule_sentence(spans)}
        out["standard_label"] = "、".join(codes(spans))
        for s in rule_spans(spec.start, spec.end, registry.aqci):
            used.setdefault(s.table_id, registry.aqci(s.first))
    else:
        days = [spec.start, *(c[2] for c in spec.columns)]
        tables = {registry.aqci(d).id: registry.aqci(d) for d in days}
        used.update(tables)
        first = registry.aqci(spec.start).code
        out["standards"] = {
            "aqci": [{"from": d.isoformat(), "standard": registry.aqci(d).code} for d in days],
            "text": f"按 {first}",
        }
        out["standard_label"] = "、".join(t.code for t in tables.values())
    out["unverified"] = [m for t in used.values() if (m := unverified_mark(t)) is not None]
    return out


def _decimals(by: str) -> int | None:
    if by == "aqci":
        return 2
    if by == "aqi":
        return 0
    return 1 if by == "a21005" else None


def ranking_report(view: dict[str, Any], settings: WebConfig, title: str) -> Report:
    """The ranking as a :class:`~aggregates.report_model.Report` (one table, one bar chart)."""
    by_label, unit = view["by_label"], view["unit"]
    if view["standard_label"]:
        by_label = f"{by_label}（{view['standard_label']}）"
    if view["unverified"]:
        by_label += "*"
    columns = [
        Column("rank", "排名", "", None, 6),
        Column("key", "编码", "", None, 16),
        Column("name", "名称", "", None, 16),
        Column("value", by_label, unit, _decimals(view["by"]), 10),
        *[Column(c["key"], c["label"], unit, _decimals(view["by"]), 9) for c in view["columns"]],
        Column("note", "说明", "", None, 14),
    ]
    table = Table("排名", columns)
    for row in view["rows"]:
        detail = row["detail"]
        note = detail.get("primary_note", "") if view["by"] == "aqi" else ""
        if not row["valid"]:
            note = "无有效数据"
        table.rows.append(
            [row["rank"], row["key"], row["name"], row["value"], *row["series"], note or None]
        )
    period = Period(
        "custom" if view["start"] + timedelta(days=1) != view["end"] else "day",
        view["start"],
        view["end"],
    )
    spec = ReportSpec(view["scope"], "ranking", period, title=title)
    notes = []
    if view["standards"]:
        what = "AQI" if view["by"] == "aqi" else "综合指数"
        notes.append(f"{what} {view['standards']['text']} 计算。")
    notes += [f"* {n['message']}" for n in view["unverified"]]
    notes.append("排名按数值从小到大（越小越好）；数值相同名次相同；无有效数据的不参与排名。")
    ranked = [r for r in view["rows"] if r["value"] is not None][:40]
    chart = Chart(
        "bar",
        title,
        [r["name"] for r in ranked],
        {by_label: [float(r["value"]) for r in ranked]},
    )
    return Report(
        spec,
        title,
        f"{SCOPE_ZH[view['scope']]}排名  时段：{view['label']}（{PERIOD_ZH[view['period']]}）",
        datetime.now(UTC).astimezone(ZoneInfo(settings.core.timezone)),
        [table],
        notes,
        {"bar": chart, "line": chart},
    )
