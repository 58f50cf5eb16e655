"""The period reports (week, 旬, month, year, custom; and the day report of an area): one row
per day or month for a station, one row per station plus the area itself (HJ 663 city
averaging) for a region or grid.  Layout: :mod:`aggregates.reports`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from aggregates.analysis import competition_ranks, pollutant_of_code
from aggregates.aqi_series import AreaAqi, daily_aqi_series
from aggregates.attainment import (
    AnnualAttainment,
    DailyAttainment,
    annual_attainment,
    area_grade,
    daily_attainment,
)
from aggregates.official import DailyValue, PeriodValue, daily, period
from aggregates.periods import Period
from aggregates.report_cells import (
    AQI_COLUMNS,
    aqi_cells,
    factor_columns,
    good_days,
    good_rate,
    level_colors,
    period_aqci,
    pie,
    shown,
    stat_cell,
)
from aggregates.report_model import Cell, Chart, Column, ReportJob, Table
from aggregates.selection import StationInfo, registry_for

__all__ = ["area_period_report", "station_period_report"]

_STAT_SUFFIX = {"CO": "(P95)", "O3": "(8h P90)"}


async def station_period_report(job: ReportJob, station: StationInfo) -> None:
    spec, per = job.report.spec, job.report.spec.period
    values = await daily(job.db, [station], spec.factors, per.start, per.end)
    series = await daily_aqi_series(job.db, job.settings, per.start, per.end, stations=[station])
    job.step(0.5, "table")
    days_aqi = {a.day: a for rows in series.values() for a in rows}
    by_day: dict[date, dict[str, DailyValue]] = defaultdict(dict)
    for v in values:
        by_day[v.day][v.factor] = v
    cols = factor_columns(spec.factors, job.info)
    yearly = per.kind == "year"
    table = Table(
        "月数据" if yearly else "日数据",
        [Column("time", "月份" if yearly else "日期", "", None, 11), *cols, *AQI_COLUMNS],
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
                row.append(shown(col.key, dv.value, job.settings) if dv and dv.valid else None)
            row += aqi_cells(a.result if a else None)
            table.rows.append(row)
            labels.append(f"{day.month}/{day.day}")
            aqis.append(float(a.result.aqi) if a and a.result.aqi is not None else None)
    else:
        for m in range(1, 13):
            first = date(per.start.year, m, 1)
            nxt = date(first.year + (m == 12), m % 12 + 1, 1)
            mper = Period("month", first, nxt)
            stats = await period(job.db, job.settings, [station], spec.factors, mper)
            by_code = {s.factor: s for s in stats}
            row = [f"{first.year}-{m:02d}"]
            for col in cols:
                s = by_code.get(col.key)
                row.append(shown(col.key, s.mean, job.settings) if s and s.valid else None)
            month_aqi = [a for d, a in days_aqi.items() if first <= d < nxt]
            res = period_aqci(month_aqi, job.settings, first)
            row += [res, *good_days(month_aqi)]
            table.rows.append(row)
            labels.append(f"{m}月")
            aqis.append(float(res) if res is not None else None)
            job.step(0.5 + 0.4 * m / 12, f"month {m}")
    stats = await period(job.db, job.settings, [station], spec.factors, per)
    by_code = {s.factor: s for s in stats}
    mean_row: list[Cell] = ["时段均值"]
    valid_row: list[Cell] = ["有效天数"]
    for col in cols:
        s = by_code.get(col.key)
        mean_row.append(shown(col.key, s.mean, job.settings) if s and s.valid else None)
        valid_row.append(s.n_valid_days if s else 0)
    aqci = period_aqci(list(days_aqi.values()), job.settings, per.start)
    good, n_valid = good_days(days_aqi.values())
    mean_row += [aqci, None, None] if yearly else [None, "综合指数", aqci]
    valid_row += (
        [None, good, n_valid] if yearly else [None, "优良天数比例", good_rate(good, n_valid)]
    )
    table.summary += [mean_row, valid_row]
    registry = registry_for(job.settings)
    grade = area_grade([station.area_class])
    attainment = daily_attainment(
        ((a.day, a.indicators) for a in days_aqi.values()), grade, registry
    )
    table.summary += _attainment_rows(cols, attainment)
    if yearly:
        annual = annual_attainment(
            stats, per.start.year, grade, registry, job.settings.aggregates.unit_factors
        )
        table.summary.append(_annual_row(cols, annual, per.start.year, grade, job))
        job.report.meta["annual_attainment"] = [a.to_json() for a in annual]
    job.report.tables.append(table)
    job.report.meta.update(
        {
            "aqci": aqci,
            "good_days": good,
            "valid_days": n_valid,
            "attainment": attainment.to_json(),
        }
    )
    title = "月综合指数" if yearly else "日 AQI"
    job.report.charts["line"] = Chart("line", title, labels, {title: aqis})
    job.report.charts["bar"] = Chart(
        "bar",
        title,
        labels,
        {title: aqis},
        None if yearly else level_colors([int(a) if a is not None else None for a in aqis]),
    )
    job.report.charts["pie"] = pie([p for a in days_aqi.values() for p in a.result.primary])


def _attainment_rows(cols: Sequence[Column], att: DailyAttainment) -> list[list[Cell]]:
    """ "超标天数（GB 3095—2012 二级）" and "达标率" under the six basic pollutants: valid
    days whose daily value exceeds the limit in force that day (:mod:`aggregates.attainment`)."""
    if not att.valid_days:
        return []
    label = "、".join(att.standards)
    rates = att.compliance_rate
    days: list[Cell] = [f"超标天数（{label}）"]
    share: list[Cell] = ["达标率"]
    for col in cols:
        pollutant = pollutant_of_code(col.key) or ""
        n = att.valid_days.get(pollutant)
        days.append(att.exceedance_days.get(pollutant) if n else None)
        rate = rates.get(pollutant)
        share.append(None if rate is None else f"{rate:.1%}")
    return [[*days, None, None, None], [*share, None, None, None]]


def _annual_row(
    cols: Sequence[Column],
    annual: Sequence[AnnualAttainment],
    year: int,
    grade: int,
    job: ReportJob,
) -> list[Cell]:
    """ "年评价（GB 3095—2026 过渡阶段 二级）": 达标 / 超标 under each basic pollutant
    (annual mean; CO P95, O3 8h P90 — :mod:`aggregates.attainment`), blank when the
    statistic is not valid; the label names the table in force on 31 December."""
    label = registry_for(job.settings).limits(date(year, 12, 31)).label(grade)
    by_pollutant = {a.pollutant: a for a in annual}
    row: list[Cell] = [f"年评价（{label}）"]
    for col in cols:
        a = by_pollutant.get(pollutant_of_code(col.key) or "")
        row.append(None if a is None or a.attains is None else "达标" if a.attains else "超标")
    return [*row, None, None, None]


async def area_period_report(job: ReportJob, stations: Sequence[StationInfo], name: str) -> None:
    spec, per = job.report.spec, job.report.spec.period
    scope = spec.scope
    single_day = per.kind == "day"
    cols = factor_columns(spec.factors, job.info)
    if not single_day:  # HJ 663 period statistics of CO and O3 are percentiles
        cols = [
            Column(c.key, f"{c.title}{_STAT_SUFFIX[p]}", c.unit, c.decimals, c.width)
            if (p := pollutant_of_code(c.key)) in _STAT_SUFFIX
            else c
            for c in cols
        ]
    stats = [] if single_day else await period(job.db, job.settings, stations, spec.factors, per)
    job.step(0.3, "daily AQI")
    series = await daily_aqi_series(job.db, job.settings, per.start, per.end, stations=stations)
    area_series = await daily_aqi_series(
        job.db, job.settings, per.start, per.end, scope=scope, stations=stations
    )
    area_stats = (
        []
        if single_day
        else await period(job.db, job.settings, stations, spec.factors, per, scope=scope)
    )
    daily_values = (
        await daily(job.db, stations, spec.factors, per.start, per.end) if single_day else []
    )
    job.step(0.6, "table")
    by_station: dict[str, dict[str, PeriodValue]] = defaultdict(dict)
    for s in stats:
        by_station[s.key][s.factor] = s
    day_values: dict[int, dict[str, DailyValue]] = defaultdict(dict)
    for v in daily_values:
        day_values[v.station_id][v.factor] = v
    aqi_by_station = {key[0]: rows for key, rows in series.items()}
    extra = (
        AQI_COLUMNS
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
                row.append(shown(col.key, dv.value, job.settings) if dv and dv.valid else None)
            else:
                pv = by_station.get(st.mn, {}).get(col.key)
                row.append(stat_cell(col.key, pv, job.settings))
        if single_day:
            row += aqi_cells(days[0].result if days else None)
        else:
            aqci = period_aqci(days, job.settings, per.start)
            aqcis.append(aqci)
            row += [aqci, None, *_good_day_cells(days)]
        table.rows.append(row)
    if not single_day:
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
            area_row.append(stat_cell(col.key, area_by_code.get(col.key), job.settings))
    if single_day:
        area_row += aqi_cells(area_days[0].result if area_days else None)
    else:
        area_row += [
            period_aqci(area_days, job.settings, per.start),
            None,
            *_good_day_cells(area_days),
        ]
    table.summary.append(area_row)
    job.report.tables.append(table)
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
        job.report.tables.append(detail)
    job.step(0.9, "charts")
    labels = [st.label for st in stations]
    if single_day:
        values = [
            float(a[0].result.aqi)
            if (a := aqi_by_station.get(st.mn)) and a[0].result.aqi is not None
            else None
            for st in stations
        ]
        title = "站点 AQI"
        colors = level_colors([int(v) if v is not None else None for v in values])
    else:
        values = [float(v) if v is not None else None for v in aqcis]
        title = "站点综合指数"
        colors = None
    job.report.charts["bar"] = Chart("bar", title, labels, {title: values}, colors)
    line_labels = [f"{a.day.month}/{a.day.day}" for a in area_days]
    job.report.charts["line"] = Chart(
        "line",
        f"{name} 日 AQI",
        line_labels,
        {"AQI": [float(a.result.aqi) if a.result.aqi is not None else None for a in area_days]},
    )
    job.report.charts["pie"] = pie([p for a in area_days for p in a.result.primary])


def _good_day_cells(days: Sequence[AreaAqi]) -> list[Cell]:
    """Good days, their rate and the days with a valid AQI (the last columns of a row)."""
    good, n_valid = good_days(days)
    return [good, good_rate(good, n_valid), n_valid]
