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
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from aggregates import queries
from aggregates.analysis import AQI_FACTORS, pollutant_of_code
from aggregates.aqi import hourly_aqi
from aggregates.aqi_series import station_daily_aqi
from aggregates.audit.report_table import audit_table
from aggregates.official import daily, hourly
from aggregates.period_reports import area_period_report, station_period_report
from aggregates.periods import day_bounds
from aggregates.report_cells import (
    AQI_COLUMNS,
    POLLUTANT_NAMES,
    aqi_cells,
    factor_columns,
    factor_info,
    level_colors,
    pie,
    shown,
)
from aggregates.report_model import (
    Cell,
    Chart,
    Column,
    Progress,
    Report,
    ReportJob,
    ReportSpec,
    Table,
)
from aggregates.report_standards import name_standards
from aggregates.selection import (
    Db,
    QueryError,
    Selection,
    StationInfo,
    outside_every_plan,
    registry_for,
    select_stations,
)
from aggregates.settings import AggregatesConfig

__all__ = ["build_report"]

_PERIOD_NAMES = {
    "hour": "时报",
    "day": "日报",
    "week": "周报",
    "xun": "旬报",
    "month": "月报",
    "year": "年报",
    "custom": "统计报表",
}
_SCOPE_NAMES = {"station": "站点", "region": "区域", "grid": "网格"}


async def _resolve(db: Db, spec: ReportSpec) -> tuple[list[StationInfo], str]:
    if spec.scope == "station":
        stations = await select_stations(db, Selection(mns=(spec.key,)))
        return stations, stations[0].label
    if spec.scope == "region":
        stations = await select_stations(db, Selection(region=spec.key))
        if not stations:
            raise QueryError(f"no enabled station in region {spec.key!r}")
        return stations, spec.key
    stations = await select_stations(db, Selection(grid=spec.key))
    area = await db.fetchrow(queries.AREA_SQL, spec.key)
    if not stations:
        raise QueryError(f"no enabled station in area {spec.key!r}")
    return stations, str(area["name"]) if area else spec.key


# -- the report builders -------------------------------------------------------------------------
async def build_report(
    db: Db,
    settings: AggregatesConfig,
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
    info = await factor_info(db, spec.factors)
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
    job = ReportJob(db, settings, report, info, step)
    if per.kind == "hour":
        await _hour_report(job, stations)
    elif per.kind == "day" and spec.scope == "station":
        await _station_day_report(job, stations[0])
    elif spec.scope == "station":
        await station_period_report(job, stations[0])
    else:
        await area_period_report(job, stations, name)
    name_standards(report, registry_for(settings))
    if spec.audit_log:
        tz = ZoneInfo(settings.core.timezone)
        lo, hi = day_bounds(per.start, tz)[0], day_bounds(per.end, tz)[0]
        report.tables.append(await audit_table(db, [s.id for s in stations], lo, hi, tz))
    step(1.0, "done")
    return report


async def _hour_report(job: ReportJob, stations: Sequence[StationInfo]) -> None:
    spec, tz = job.report.spec, ZoneInfo(job.settings.core.timezone)
    lo, hi = day_bounds(spec.period.start, tz)
    # the AQI of an hour takes all six pollutants, whichever factors the report shows
    codes = list(dict.fromkeys([*spec.factors, *AQI_FACTORS.values()]))
    values = await hourly(job.db, stations, codes, lo, hi)
    job.step(0.5, "hourly AQI")
    per_hour: dict[tuple[datetime, str], list[float]] = defaultdict(list)
    for v in values:
        if v.valid and v.value is not None:
            per_hour[(v.ts, v.factor)].append(v.value)
    table = Table("小时数据", [Column("time", "时间", "", None, 8)])
    table.columns += factor_columns(spec.factors, job.info) + AQI_COLUMNS
    registry = registry_for(job.settings)
    aqi_table = registry.aqi_table(spec.period.start)
    exempt = outside_every_plan(stations)
    aqis: list[int | None] = []
    labels: list[str] = []
    for h in range(24):
        ts = lo + timedelta(hours=h)
        row: list[Cell] = [ts.astimezone(tz).strftime("%H:00")]
        inputs: dict[str, Decimal | None] = {}
        for code in codes:
            vals = per_hour.get((ts, code))
            mean = math.fsum(vals) / len(vals) if vals else None
            value = shown(code, mean, job.settings)
            if code in spec.factors:
                row.append(value)
            pol = pollutant_of_code(code)
            if pol is not None and value is not None:
                inputs[f"{pol}_1h"] = value
        res = (
            hourly_aqi(inputs, aqi_table, round_inputs=False, not_monitored=exempt)
            if inputs
            else None
        )
        row += aqi_cells(res)
        aqis.append(res.aqi if res else None)
        labels.append(str(row[0]))
        table.rows.append(row)
    job.report.tables.append(table)
    job.report.charts["line"] = Chart(
        "line", "小时 AQI", labels, {"AQI": [float(a) if a is not None else None for a in aqis]}
    )
    job.report.charts["bar"] = Chart(
        "bar",
        "小时 AQI",
        labels,
        {"AQI": [float(a) if a is not None else None for a in aqis]},
        level_colors(aqis),
    )
    job.report.charts["pie"] = pie(
        [p for r in table.rows if isinstance(r[-1], str) for p in str(r[-1]).split("、")]
    )


async def _station_day_report(job: ReportJob, station: StationInfo) -> None:
    spec = job.report.spec
    day = spec.period.start
    values = await daily(job.db, [station], spec.factors, day, day + timedelta(days=1))
    aqi = await station_daily_aqi(job.db, job.settings, day, Selection(mns=(station.mn,)))
    job.step(0.6, "table")
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
    cols = factor_columns(spec.factors, job.info)
    for col in cols:
        v = by_code.get(col.key)
        pol = pollutant_of_code(col.key)
        iaqi = a.result.iaqi.get(pol) if a is not None and pol else None
        table.rows.append(
            [
                col.title,
                col.unit,
                shown(col.key, v.value, job.settings) if v and v.valid else None,
                v.n_valid_hours if v else 0,
                shown(col.key, v.min_1h, job.settings) if v else None,
                shown(col.key, v.max_1h, job.settings) if v else None,
                shown(col.key, v.mda8, job.settings) if v and v.mda8_valid else None,
                iaqi,
                ("站点上报" if v.source == "reported" else "计算") if v else None,
            ]
        )
    table.summary.append(
        ["AQI", "", *aqi_cells(a.result if a else None), None, None, None, None, None, None][:9]
    )
    job.report.tables.append(table)
    job.report.meta["aqi"] = a.result.to_json() if a else None
    sub: dict[str, int | None] = dict(a.result.iaqi) if a else {}
    cats = [p for p in sub if sub[p] is not None]
    job.report.charts["bar"] = Chart(
        "bar",
        "污染物分指数",
        [POLLUTANT_NAMES.get(p, p) for p in cats],
        {"IAQI": [float(sub[p] or 0) for p in cats]},
        level_colors([sub[p] for p in cats]),
    )
    job.report.charts["line"] = job.report.charts["bar"]
    job.report.charts["pie"] = Chart(
        "pie",
        "污染物分指数构成",
        [POLLUTANT_NAMES.get(p, p) for p in cats],
        {"IAQI": [float(sub[p] or 0) for p in cats]},
    )
