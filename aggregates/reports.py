"""Reports: hour, day, week, 旬, month, year and custom-range reports of a station, a region
or a grid, with the validity rules applied; rendered by :mod:`aggregates.exports`.

A :class:`Report` is plain data — a title, tables (columns + rows + summary rows), notes and
chart data — so that every export format (XLSX, CSV, PDF, DOCX, PNG/JPG) shows the same
numbers.  Layout by scope and period:

=================  ===========================================  ==============================
period             station                                      region / grid
=================  ===========================================  ==============================
hour (时报)         the day's 24 hours: hourly values, 实时 AQI    the same, area means per hour
day (日报)          one row per factor: 24h mean, valid hours,   one row per station + the area
                   min/max hour, IAQI; the daily AQI             (HJ 663 city averaging)
week, 旬, month,    one row per day: daily means, AQI, level,    one row per station: period
custom             primary pollutant; period statistics          statistics, AQCI, 优良天数;
                                                                the area; a daily-AQI sheet
year               one row per month                            as month
=================  ===========================================  ==============================

Invalid values (fewer than 20 valid hours, a month below 27 valid days …) are shown as
``None`` ("—") and counted in the valid-hours/valid-days columns, never silently averaged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeAlias
from zoneinfo import ZoneInfo

import asyncpg

from aggregates import queries, query
from aggregates.analysis import (
    AQI_FACTORS,
    aqci_of_series,
    pollutant_of_code,
    round_reported,
    to_aqi_units,
)
from aggregates.aqi import hourly_aqi
from aggregates.periods import Period, day_bounds
from aggregates.query import QueryError, Scope, Selection, StationInfo
from store.settings import Settings

__all__ = [
    "Cell",
    "Chart",
    "Column",
    "Report",
    "ReportSpec",
    "Table",
    "build_report",
]

Cell: TypeAlias = str | int | float | Decimal | None
Progress = Callable[[float, str], None]
Db: TypeAlias = asyncpg.Pool | asyncpg.Connection
_PERIOD_NAMES = {
    "hour": "时报",
    "day": "日报",
    "week": "周报",
    "xun": "旬报",
    "month": "月报",
    "year": "年报",
    "custom": "统计报表",
}
_STAT_SUFFIX = {"CO": "(P95)", "O3": "(8h P90)"}
_SCOPE_NAMES = {"station": "站点", "region": "区域", "grid": "网格"}
#: Display names: plain ASCII (subscript digits are missing from common CJK fonts).
_POLLUTANT_NAMES = {
    "SO2": "SO2",
    "NO2": "NO2",
    "CO": "CO",
    "O3": "O3",
    "PM10": "PM10",
    "PM2.5": "PM2.5",
}


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """What to report: ``scope`` and ``key`` (station MN, region name, grid area code),
    the period, and the factor codes (default: the six AQI pollutants)."""

    scope: Scope
    key: str
    period: Period
    factors: tuple[str, ...] = tuple(AQI_FACTORS.values())
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    unit: str = ""
    decimals: int | None = None  # numbers: places shown; None = as is (text, integers)
    width: int = 10  # characters (XLSX column width)


@dataclass(slots=True)
class Table:
    name: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    summary: list[list[Cell]] = field(default_factory=list)
    #: Too wide for a page (daily matrices): XLSX/CSV only; PDF/DOCX say where to find it.
    wide: bool = False


@dataclass(frozen=True, slots=True)
class Chart:
    kind: Literal["line", "bar", "pie"]
    title: str
    categories: list[str]
    series: dict[str, list[float | None]]
    colors: list[str] | None = None  # per category (bar, pie)
    y_label: str = ""


@dataclass(slots=True)
class Report:
    spec: ReportSpec
    title: str
    subtitle: str
    generated_at: datetime
    tables: list[Table]
    notes: list[str]
    charts: dict[str, Chart]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> Table:
        return self.tables[0]


# -- helpers -------------------------------------------------------------------------------------
def _factor_columns(
    codes: Sequence[str], info: Mapping[str, Mapping[str, Any]], *, suffix: str = ""
) -> list[Column]:
    cols = []
    for code in codes:
        pol = pollutant_of_code(code)
        name = _POLLUTANT_NAMES.get(pol, pol) if pol else info.get(code, {}).get("name_zh") or code
        unit = ("mg/m³" if pol == "CO" else "μg/m³") if pol else info.get(code, {}).get("unit", "")
        decimals = (1 if pol == "CO" else 0) if pol else 2
        cols.append(Column(code, f"{name}{suffix}", unit, decimals, 9))
    return cols


def _shown(code: str, value: float | None, settings: Settings) -> Decimal | None:
    """A value at its reporting precision in AQI units (other factors: 3 decimals)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    dec = to_aqi_units(value, code, settings.aggregates.unit_factors)
    pol = pollutant_of_code(code)
    return round_reported(pol, dec) if pol else dec.quantize(Decimal("0.001"))


async def _factor_info(db: Db, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    ids = await query.factor_ids(db, codes)
    rows = await db.fetch(queries.FACTORS_BY_ID_SQL, list(ids.values()))
    return {r["code"]: dict(r) for r in rows}


def _aqi_cells(a: query.AreaAqi | None) -> list[Cell]:
    if a is None or a.result.aqi is None:
        return [None, None, None]
    r = a.result
    return [r.aqi, r.category, "、".join(_POLLUTANT_NAMES.get(p, p) for p in r.primary) or "—"]


_AQI_COLUMNS = [
    Column("aqi", "AQI", "", None, 6),
    Column("category", "空气质量类别", "", None, 12),
    Column("primary", "首要污染物", "", None, 12),
]


def _level_colors(aqis: Sequence[int | None]) -> list[str]:
    palette = [(50, "#00E400"), (100, "#FFFF00"), (150, "#FF7E00"), (200, "#FF0000")]
    out = []
    for a in aqis:
        if a is None:
            out.append("#BFBFBF")
            continue
        out.append(
            next((c for top, c in palette if a <= top), "#99004C" if a <= 300 else "#7E0023")
        )
    return out


async def _resolve(db: Db, spec: ReportSpec) -> tuple[list[StationInfo], str]:
    if spec.scope == "station":
        stations = await query.select_stations(db, Selection(mns=(spec.key,)))
        return stations, stations[0].label
    if spec.scope == "region":
        stations = await query.select_stations(db, Selection(region=spec.key))
        if not stations:
            raise QueryError(f"no enabled station in region {spec.key!r}")
        return stations, spec.key
    stations = await query.select_stations(db, Selection(grid=spec.key))
    area = await db.fetchrow(queries.AREA_SQL, spec.key)
    if not stations:
        raise QueryError(f"no enabled station in area {spec.key!r}")
    return stations, str(area["name"]) if area else spec.key


# -- the report builders -------------------------------------------------------------------------
async def build_report(
    db: Db,
    settings: Settings,
    spec: ReportSpec,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Report:
    """Build the report ``spec`` from the official values (see the module docstring)."""

    def step(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    step(0.0, "stations")
    stations, name = await _resolve(db, spec)
    info = await _factor_info(db, spec.factors)
    unknown = [c for c in spec.factors if c not in info]
    if unknown:
        raise QueryError(f"unknown factor code(s): {', '.join(unknown)}")
    per = spec.period
    kind_name = _PERIOD_NAMES[per.kind]
    title = spec.title or f"{name}环境空气质量{kind_name}"
    subtitle = (
        f"{_SCOPE_NAMES[spec.scope]}：{name}（{len(stations)} 个站点）  时段：{per.label}"
        if spec.scope != "station"
        else f"站点：{name}（{stations[0].mn}）  时段：{per.label}"
    )
    report = Report(
        spec,
        title,
        subtitle,
        (now or datetime.now(UTC)).astimezone(ZoneInfo(settings.core.timezone)),
        [],
        [],
        {},
    )
    step(0.1, "data")
    if per.kind == "hour":
        await _hour_report(db, settings, report, stations, info, step)
    elif per.kind == "day" and spec.scope == "station":
        await _station_day_report(db, settings, report, stations[0], info, step)
    elif spec.scope == "station":
        await _station_period_report(db, settings, report, stations[0], info, step)
    else:
        await _area_period_report(db, settings, report, stations, name, info, step)
    report.notes += [
        "“—”表示无数据或数据不满足有效性要求（GB 3095-2012 表4、HJ 663-2013：日均值至少20个有效"
        "小时值，O3日最大8小时平均至少14个有效8小时值，月均值至少27个有效日均值、2月至少25个），"
        "不参与统计。",
        "标记为 M、C、D、F、T、B 的数据不参与均值计算，单独计数。",
        "AQI 按 HJ 633-2012 计算（浓度按 GB/T 8170 修约后计算分指数，分指数向上取整）。",
    ]
    step(1.0, "done")
    return report


async def _hour_report(
    db: Db,
    settings: Settings,
    report: Report,
    stations: Sequence[StationInfo],
    info: Mapping[str, Mapping[str, Any]],
    step: Progress,
) -> None:
    spec, tz = report.spec, ZoneInfo(settings.core.timezone)
    lo, hi = day_bounds(spec.period.start, tz)
    values = await query.hourly(db, stations, spec.factors, lo, hi)
    step(0.5, "hourly AQI")
    per_hour: dict[tuple[datetime, str], list[float]] = defaultdict(list)
    for v in values:
        if v.valid and v.value is not None:
            per_hour[(v.ts, v.factor)].append(v.value)
    table = Table("小时数据", [Column("time", "时间", "", None, 8)])
    table.columns += _factor_columns(spec.factors, info) + _AQI_COLUMNS
    registry = query.registry_for(settings)
    aqi_table = registry.aqi_table(spec.period.start)
    aqis: list[int | None] = []
    labels: list[str] = []
    for h in range(24):
        ts = lo + timedelta(hours=h)
        row: list[Cell] = [ts.astimezone(tz).strftime("%H:00")]
        inputs: dict[str, Decimal | None] = {}
        for code in spec.factors:
            vals = per_hour.get((ts, code))
            mean = math.fsum(vals) / len(vals) if vals else None
            shown = _shown(code, mean, settings)
            row.append(shown)
            pol = pollutant_of_code(code)
            if pol is not None and shown is not None:
                inputs[f"{pol}_1h"] = shown
        res = hourly_aqi(inputs, aqi_table, round_inputs=False) if inputs else None
        if res is None or res.aqi is None:
            row += [None, None, None]
        else:
            row += [
                res.aqi,
                res.category,
                "、".join(_POLLUTANT_NAMES.get(p, p) for p in res.primary) or "—",
            ]
        aqis.append(res.aqi if res else None)
        labels.append(str(row[0]))
        table.rows.append(row)
    report.tables.append(table)
    report.charts["line"] = Chart(
        "line", "小时 AQI", labels, {"AQI": [float(a) if a is not None else None for a in aqis]}
    )
    report.charts["bar"] = Chart(
        "bar",
        "小时 AQI",
        labels,
        {"AQI": [float(a) if a is not None else None for a in aqis]},
        _level_colors(aqis),
    )
    report.charts["pie"] = _pie(
        [p for r in table.rows if isinstance(r[-1], str) for p in str(r[-1]).split("、")]
    )


def _pie(primary: Sequence[str]) -> Chart:
    counts: dict[str, int] = defaultdict(int)
    for p in primary:
        if p and p != "—":
            counts[p] += 1
    cats = sorted(counts, key=lambda p: -counts[p])
    return Chart("pie", "首要污染物占比", cats, {"天数": [float(counts[c]) for c in cats]})


async def _station_day_report(
    db: Db,
    settings: Settings,
    report: Report,
    station: StationInfo,
    info: Mapping[str, Mapping[str, Any]],
    step: Progress,
) -> None:
    spec = report.spec
    day = spec.period.start
    values = await query.daily(db, [station], spec.factors, day, day + timedelta(days=1))
    aqi = await query.station_daily_aqi(db, settings, day, Selection(mns=(station.mn,)))
    step(0.6, "table")
    a = aqi[0] if aqi else None
    table = Table(
        "日数据",
        [
            Column("factor", "监测项目", "", None, 12),
            Column("unit", "单位", "", None, 8),
            Column("mean", "日均值", "", 1, 9),
            Column("valid_hours", "有效小时数", "", None, 8),
            Column("min", "小时最小值", "", 1, 9),
            Column("max", "小时最大值", "", 1, 9),
            Column("mda8", "日最大8小时均值", "", 1, 10),
            Column("iaqi", "分指数 IAQI", "", None, 8),
            Column("source", "来源", "", None, 8),
        ],
    )
    by_code = {v.factor: v for v in values}
    cols = _factor_columns(spec.factors, info)
    for col in cols:
        v = by_code.get(col.key)
        pol = pollutant_of_code(col.key)
        iaqi = a.result.iaqi.get(pol) if a is not None and pol else None
        table.rows.append(
            [
                col.title,
                col.unit,
                _shown(col.key, v.value, settings) if v and v.valid else None,
                v.n_valid_hours if v else 0,
                _shown(col.key, v.min_1h, settings) if v else None,
                _shown(col.key, v.max_1h, settings) if v else None,
                _shown(col.key, v.mda8, settings) if v and v.mda8_valid else None,
                iaqi,
                ("站点上报" if v.source == "reported" else "计算") if v else None,
            ]
        )
    table.summary.append(["AQI", "", *_aqi_cells(a), None, None, None, None, None, None][:9])
    report.tables.append(table)
    report.meta["aqi"] = a.result.to_json() if a else None
    sub: dict[str, int | None] = dict(a.result.iaqi) if a else {}
    cats = [p for p in sub if sub[p] is not None]
    report.charts["bar"] = Chart(
        "bar",
        "污染物分指数",
        [_POLLUTANT_NAMES.get(p, p) for p in cats],
        {"IAQI": [float(sub[p] or 0) for p in cats]},
        _level_colors([sub[p] for p in cats]),
    )
    report.charts["line"] = report.charts["bar"]
    report.charts["pie"] = Chart(
        "pie",
        "污染物分指数构成",
        [_POLLUTANT_NAMES.get(p, p) for p in cats],
        {"IAQI": [float(sub[p] or 0) for p in cats]},
    )


async def _station_period_report(
    db: Db,
    settings: Settings,
    report: Report,
    station: StationInfo,
    info: Mapping[str, Mapping[str, Any]],
    step: Progress,
) -> None:
    spec, per = report.spec, report.spec.period
    values = await query.daily(db, [station], spec.factors, per.start, per.end)
    series = await query.daily_aqi_series(db, settings, per.start, per.end, stations=[station])
    step(0.5, "table")
    days_aqi = {a.day: a for rows in series.values() for a in rows}
    by_day: dict[date, dict[str, query.DailyValue]] = defaultdict(dict)
    for v in values:
        by_day[v.day][v.factor] = v
    cols = _factor_columns(spec.factors, info)
    yearly = per.kind == "year"
    table = Table(
        "月数据" if yearly else "日数据",
        [Column("time", "月份" if yearly else "日期", "", None, 11), *cols, *_AQI_COLUMNS],
    )
    if yearly:
        table.columns[-3:] = [
            Column("aqci", "综合指数", "", 2, 8),
            Column("good", "优良天数", "", None, 8),
            Column("valid_days", "有效天数", "", None, 8),
        ]
    labels: list[str] = []
    aqis: list[float | None] = []
    if not yearly:
        for day in per.iter_days():
            a = days_aqi.get(day)
            row: list[Cell] = [day.isoformat()]
            for col in cols:
                dv = by_day.get(day, {}).get(col.key)
                row.append(_shown(col.key, dv.value, settings) if dv and dv.valid else None)
            row += _aqi_cells(a)
            table.rows.append(row)
            labels.append(f"{day.month}/{day.day}")
            aqis.append(float(a.result.aqi) if a and a.result.aqi is not None else None)
    else:
        for m in range(1, 13):
            first = date(per.start.year, m, 1)
            nxt = date(first.year + (m == 12), m % 12 + 1, 1)
            mper = Period("month", first, nxt)
            stats = await query.period(db, settings, [station], spec.factors, mper)
            by_code = {s.factor: s for s in stats}
            row = [f"{first.year}-{m:02d}"]
            for col in cols:
                s = by_code.get(col.key)
                row.append(_shown(col.key, s.mean, settings) if s and s.valid else None)
            month_aqi = [a for d, a in days_aqi.items() if first <= d < nxt]
            res = _period_aqci(month_aqi, settings, first)
            good = sum(1 for a in month_aqi if a.result.aqi is not None and a.result.aqi <= 100)
            row += [res, good, sum(1 for a in month_aqi if a.result.aqi is not None)]
            table.rows.append(row)
            labels.append(f"{m}月")
            aqis.append(float(res) if res is not None else None)
            step(0.5 + 0.4 * m / 12, f"month {m}")
    stats = await query.period(db, settings, [station], spec.factors, per)
    by_code = {s.factor: s for s in stats}
    mean_row: list[Cell] = ["时段均值"]
    valid_row: list[Cell] = ["有效天数"]
    for col in cols:
        s = by_code.get(col.key)
        mean_row.append(_shown(col.key, s.mean, settings) if s and s.valid else None)
        valid_row.append(s.n_valid_days if s else 0)
    all_aqi = [a for a in days_aqi.values() if a.result.aqi is not None]
    aqci = _period_aqci(list(days_aqi.values()), settings, per.start)
    good = sum(1 for a in all_aqi if a.result.aqi is not None and a.result.aqi <= 100)
    mean_row += [aqci, None, None] if yearly else [None, "综合指数", aqci]
    valid_row += (
        [None, good, len(all_aqi)]
        if yearly
        else [None, "优良天数比例", f"{good / len(all_aqi):.1%}" if all_aqi else None]
    )
    table.summary += [mean_row, valid_row]
    report.tables.append(table)
    report.meta.update({"aqci": aqci, "good_days": good, "valid_days": len(all_aqi)})
    title = "月综合指数" if yearly else "日 AQI"
    report.charts["line"] = Chart("line", title, labels, {title: aqis})
    report.charts["bar"] = Chart(
        "bar",
        title,
        labels,
        {title: aqis},
        None if yearly else _level_colors([int(a) if a is not None else None for a in aqis]),
    )
    report.charts["pie"] = _pie([p for a in days_aqi.values() for p in a.result.primary])


def _period_aqci(days: Sequence[query.AreaAqi], settings: Settings, on: date) -> Decimal | None:
    """Composite index from the (rounded) daily indicators of the days given."""
    daily: dict[str, list[float]] = defaultdict(list)
    mda8: list[float] = []
    for a in days:
        for key, value in a.indicators.items():
            if value is None:
                continue
            if key == "O3_8h_max":
                mda8.append(float(value))
            elif key.endswith("_24h"):
                daily[key[: -len("_24h")]].append(float(value))
    res = aqci_of_series(daily, mda8, query.registry_for(settings).aqci(on))
    return res.aqci if res is not None else None


async def _area_period_report(
    db: Db,
    settings: Settings,
    report: Report,
    stations: Sequence[StationInfo],
    name: str,
    info: Mapping[str, Mapping[str, Any]],
    step: Progress,
) -> None:
    spec, per = report.spec, report.spec.period
    scope = spec.scope
    single_day = per.kind == "day"
    cols = _factor_columns(spec.factors, info)
    if not single_day:  # HJ 663 period statistics of CO and O3 are percentiles
        cols = [
            Column(c.key, f"{c.title}{_STAT_SUFFIX[p]}", c.unit, c.decimals, c.width)
            if (p := pollutant_of_code(c.key)) in _STAT_SUFFIX
            else c
            for c in cols
        ]
    stats = [] if single_day else await query.period(db, settings, stations, spec.factors, per)
    step(0.3, "daily AQI")
    series = await query.daily_aqi_series(db, settings, per.start, per.end, stations=stations)
    area_series = await query.daily_aqi_series(
        db, settings, per.start, per.end, scope=scope, stations=stations
    )
    area_stats = (
        []
        if single_day
        else await query.period(db, settings, stations, spec.factors, per, scope=scope)
    )
    daily_values = (
        await query.daily(db, stations, spec.factors, per.start, per.end) if single_day else []
    )
    step(0.6, "table")
    by_station: dict[str, dict[str, query.PeriodValue]] = defaultdict(dict)
    for s in stats:
        by_station[s.key][s.factor] = s
    day_values: dict[int, dict[str, query.DailyValue]] = defaultdict(dict)
    for v in daily_values:
        day_values[v.station_id][v.factor] = v
    aqi_by_station = {key[0]: rows for key, rows in series.items()}
    extra = (
        _AQI_COLUMNS
        if single_day
        else [
            Column("aqci", "综合指数", "", 2, 8),
            Column("rank", "排名", "", None, 6),
            Column("good", "优良天数", "", None, 8),
            Column("rate", "优良率", "", None, 8),
            Column("valid_days", "有效天数", "", None, 8),
        ]
    )
    table = Table(
        "站点统计",
        [
            Column("mn", "站点编码", "", None, 16),
            Column("name", "站点名称", "", None, 16),
            *cols,
            *extra,
        ],
    )
    aqcis: list[Decimal | None] = []
    for st in stations:
        row: list[Cell] = [st.mn, st.label]
        days = aqi_by_station.get(st.mn, [])
        for col in cols:
            if single_day:
                dv = day_values.get(st.id, {}).get(col.key)
                row.append(_shown(col.key, dv.value, settings) if dv and dv.valid else None)
            else:
                pv = by_station.get(st.mn, {}).get(col.key)
                row.append(_stat_cell(col.key, pv, settings))
        if single_day:
            row += _aqi_cells(days[0] if days else None)
        else:
            aqci = _period_aqci(days, settings, per.start)
            aqcis.append(aqci)
            valid = [a for a in days if a.result.aqi is not None]
            good = sum(1 for a in valid if a.result.aqi is not None and a.result.aqi <= 100)
            row += [aqci, None, good, f"{good / len(valid):.1%}" if valid else None, len(valid)]
        table.rows.append(row)
    if not single_day:
        from aggregates.analysis import competition_ranks

        ranks = competition_ranks(aqcis)
        rank_col = len(table.columns) - 4
        for row, rank in zip(table.rows, ranks, strict=True):
            row[rank_col] = rank
    # the area itself (HJ 663 city averaging)
    area_days = next(iter(area_series.values()), [])
    area_row: list[Cell] = [spec.key, f"{name}（区域）"]
    area_by_code = {s.factor: s for s in area_stats}
    for col in cols:
        if single_day:
            pol = pollutant_of_code(col.key)
            ind = area_days[0].indicators if area_days else {}
            key = "O3_8h_max" if pol == "O3" else f"{pol}_24h"
            area_row.append(ind.get(key) if pol else None)
        else:
            area_row.append(_stat_cell(col.key, area_by_code.get(col.key), settings))
    if single_day:
        area_row += _aqi_cells(area_days[0] if area_days else None)
    else:
        valid = [a for a in area_days if a.result.aqi is not None]
        good = sum(1 for a in valid if a.result.aqi is not None and a.result.aqi <= 100)
        area_row += [
            _period_aqci(area_days, settings, per.start),
            None,
            good,
            f"{good / len(valid):.1%}" if valid else None,
            len(valid),
        ]
    table.summary.append(area_row)
    report.tables.append(table)
    if not single_day:
        detail = Table(
            "日AQI",
            [Column("name", "站点", "", None, 16)]
            + [Column(d.isoformat(), f"{d.month}/{d.day}", "", None, 5) for d in per.iter_days()],
            wide=True,
        )
        for st in stations:
            got = {a.day: a.result.aqi for a in aqi_by_station.get(st.mn, [])}
            detail.rows.append([st.label, *[got.get(d) for d in per.iter_days()]])
        report.tables.append(detail)
    step(0.9, "charts")
    labels = [st.label for st in stations]
    if single_day:
        values = [
            float(a[0].result.aqi)
            if (a := aqi_by_station.get(st.mn)) and a[0].result.aqi is not None
            else None
            for st in stations
        ]
        title = "站点 AQI"
        colors = _level_colors([int(v) if v is not None else None for v in values])
    else:
        values = [float(v) if v is not None else None for v in aqcis]
        title = "站点综合指数"
        colors = None
    report.charts["bar"] = Chart("bar", title, labels, {title: values}, colors)
    line_labels = [f"{a.day.month}/{a.day.day}" for a in area_days]
    report.charts["line"] = Chart(
        "line",
        f"{name} 日 AQI",
        line_labels,
        {"AQI": [float(a.result.aqi) if a.result.aqi is not None else None for a in area_days]},
    )
    report.charts["pie"] = _pie([p for a in area_days for p in a.result.primary])


def _stat_cell(code: str, s: query.PeriodValue | None, settings: Settings) -> Cell:
    """Period statistic shown for a factor: CO P95, O3 P90 of MDA8 (HJ 663), else mean."""
    if s is None or not s.valid:
        return None
    pol = pollutant_of_code(code)
    if pol in ("CO", "O3"):
        return _shown(code, s.percentile, settings)
    return _shown(code, s.mean, settings)
