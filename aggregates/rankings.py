"""Rankings of stations, regions and grids: by AQI, by composite index (AQCI, AQI.md §2.4) or
by the period mean of a factor; and the "last 3 months" view.

The composite index over long ranges is computed on matrices entities × days built from
``yearly_values`` (one row per station, factor and year), with the HJ 663 city averaging for
regions and grids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Unpack

import numpy as np

from aggregates import queries
from aggregates.analysis import (
    AQI_FACTORS,
    FastAqci,
    aqci_terms,
    clean_fraction,
    competition_ranks,
    fast_composite_index,
    pollutant_of_code,
    round_reported,
    to_aqi_units,
)
from aggregates.aqci import composite_index
from aggregates.aqi_series import AreaAqi, daily_aqi_series
from aggregates.official import period
from aggregates.periods import Period, month_parts, required_valid_days
from aggregates.selection import (
    AreaFilter,
    Db,
    QueryError,
    Scope,
    Selection,
    StationInfo,
    factor_ids,
    group_stations,
    registry_for,
    select_stations,
)
from aggregates.settings import AggregatesConfig
from aggregates.standards import AqciTable
from aggregates.validity import MIN_DAYS_PER_YEAR

__all__ = ["RankingRow", "period_primary", "ranking", "recent_monthly"]


@dataclass(frozen=True, slots=True)
class RankingRow:
    rank: int | None
    key: str
    name: str
    value: int | Decimal | float | None
    valid: bool
    detail: Mapping[str, Any] = field(default_factory=dict)


async def ranking(
    db: Db,
    settings: AggregatesConfig,
    by: str,
    start: date,
    end: date,
    *,
    scope: Scope = "station",
    selection: Selection | None = None,
) -> list[RankingRow]:
    """Ranking of stations, regions or grids over local days [start, end); ascending is
    better, ties share a rank, entities without a value come last (rank ``None``).

    ``by``: ``"aqi"`` (the day's AQI; over several days the mean of the daily AQIs),
    ``"aqci"`` (composite index of the period, AQI.md §2.4 — month, year-to-date, any
    range) or a factor code (period mean of the valid daily values, at reporting
    precision).  ``detail`` carries the level, primary pollutants, single indices …
    """
    if end <= start:
        raise QueryError(f"empty ranking period {start} .. {end} (end is exclusive)")
    stations = await select_stations(db, selection)
    if by == "aqi":
        series = await daily_aqi_series(db, settings, start, end, scope=scope, stations=stations)
        rows = _aqi_rows(series, single=(end - start).days == 1)
    elif by == "aqci":
        rows = await _rank_aqci(db, settings, stations, start, end, scope)
    else:
        rows = await _rank_factor(db, settings, stations, by, start, end, scope)
    ranks = competition_ranks([r.value if r.valid else None for r in rows])
    ranked = [
        RankingRow(rank, r.key, r.name, r.value, r.valid, r.detail)
        for r, rank in zip(rows, ranks, strict=True)
    ]
    ranked.sort(key=lambda r: (r.rank is None, r.rank or 0, r.key))
    return ranked


def _aqi_rows(
    series: Mapping[tuple[str, str], Sequence[AreaAqi]], *, single: bool
) -> list[RankingRow]:
    """AQI of the day (``single``) or mean of the daily AQIs, per station/region/grid."""
    out = []
    for (key, name), days in series.items():
        aqis = [d.result.aqi for d in days if d.result.aqi is not None]
        if single:
            d0 = days[0] if days else None
            value: int | Decimal | None = d0.result.aqi if d0 else None
            detail: dict[str, Any] = (
                {
                    "level": d0.result.level,
                    "category": d0.result.category,
                    "color": d0.result.color,
                    "primary": list(d0.result.primary),
                    "n_stations": d0.n_stations,
                    "complete": d0.valid,
                    "standard": d0.result.standard,
                }
                if d0
                else {}
            )
        else:
            value = (
                (Decimal(sum(aqis)) / len(aqis)).quantize(Decimal(1), ROUND_HALF_EVEN)
                if aqis
                else None
            )
            primary, primary_days = period_primary(days)
            detail = {"days": len(aqis), "primary": primary, "primary_days": primary_days}
        out.append(RankingRow(None, key, name, value, value is not None, detail))
    return out


def period_primary(days: Sequence[AreaAqi]) -> tuple[list[str], int]:
    """The primary pollutant of a period of daily AQIs: the one that was the day's primary
    pollutant (HJ 633: AQI above 50) on most days, several when tied (in the order they
    first appear), and on how many days; ``([], 0)`` when no day had one."""
    counted = Counter(p for d in days if d.result.aqi is not None for p in d.result.primary)
    most = max(counted.values(), default=0)
    return [p for p, n in counted.items() if n == most] if most else [], most


async def _yearly_matrices(
    db: Db, station_ids: Sequence[int], fids: Sequence[int], start: date, end: date
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Valid daily values (and MDA8) of local days [start, end) from ``yearly_values`` as
    matrices stations × days (row order of ``station_ids``, NaN = no valid value)."""
    n, width = len(station_ids), (end - start).days
    row = {sid: i for i, sid in enumerate(station_ids)}
    daily = {fid: np.full((n, width), np.nan) for fid in fids}
    mda8: dict[int, np.ndarray] = {}
    for year in range(start.year, (end - timedelta(days=1)).year + 1):
        lo, hi = max(start, date(year, 1, 1)), min(end, date(year + 1, 1, 1))
        col = (lo - start).days
        last = (hi - timedelta(days=1)).timetuple().tm_yday
        rows = await db.fetch(
            queries.YEARLY_SERIES_SQL,
            list(station_ids),
            list(fids),
            year,
            lo.timetuple().tm_yday,
            last,
        )
        for r in rows:
            i, fid = row[r["station_id"]], r["factor_id"]
            values = np.frombuffer(r["daily"], dtype=">f8")
            daily[fid][i, col : col + values.size] = values
            if r["mda8"] is not None:
                m8 = np.frombuffer(r["mda8"], dtype=">f8")
                if fid not in mda8:
                    mda8[fid] = np.full((n, width), np.nan)
                mda8[fid][i, col : col + m8.size] = m8
    return daily, mda8


def _area_rows(matrix: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """City averaging (HJ 663): per group of rows and day, the mean of the valid values."""
    out = np.full((len(groups), matrix.shape[1]), np.nan)
    for g, rows in enumerate(groups):
        part = matrix[list(rows)]
        valid = ~np.isnan(part)
        counts = valid.sum(axis=0)
        sums = np.where(valid, part, 0.0).sum(axis=0)
        out[g] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return out


def _row_statistic(matrix: np.ndarray, percentile: float | None) -> np.ndarray:
    """Per row: mean (``percentile`` None) or HJ 663 percentile of the non-NaN values."""
    valid = ~np.isnan(matrix)
    counts = valid.sum(axis=1)
    if percentile is None:
        sums = np.where(valid, matrix, 0.0).sum(axis=1)
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    ordered = np.sort(matrix, axis=1)  # NaN sort last
    k = np.maximum(counts - 1, 0) * percentile / 100.0
    lo = np.floor(k).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(counts - 1, 0))
    rows = np.arange(matrix.shape[0])
    value = ordered[rows, lo] + (ordered[rows, hi] - ordered[rows, lo]) * (k - lo)
    return np.where(counts > 0, value, np.nan)


def _rows_valid(matrix: np.ndarray, start: date, end: date) -> np.ndarray:
    """Per row: the period-validity rule on its valid days per month."""
    parts = month_parts(start, end)
    valid = ~np.isnan(matrix)
    if (end - start).days == 1:
        return np.asarray(valid[:, 0])
    starts = np.cumsum([0] + [c for _, _, c in parts[:-1]])
    per_month = np.add.reduceat(valid, starts, axis=1)
    need = np.array([required_valid_days(y, m, c) for y, m, c in parts])
    ok = np.asarray((per_month >= need).all(axis=1))
    if start.month == 1 and start.day == 1 and (end - start).days >= 365:
        ok = ok & (valid.sum(axis=1) >= MIN_DAYS_PER_YEAR)
    return ok


async def _rank_aqci(
    db: Db,
    settings: AggregatesConfig,
    stations: Sequence[StationInfo],
    start: date,
    end: date,
    scope: Scope,
) -> list[RankingRow]:
    """Composite index per station/region/grid over [start, end), computed on matrices
    entities × days built from ``yearly_values`` (one row per station, factor and year)."""
    ids = await factor_ids(db, AQI_FACTORS.values())
    table = registry_for(settings).aqci(start)
    station_ids = [s.id for s in stations]
    daily, mda8 = await _yearly_matrices(db, station_ids, list(ids.values()), start, end)
    grouped = group_stations(stations, scope)
    position = {sid: i for i, sid in enumerate(station_ids)}
    members = [[position[s.id] for s in group] for group in grouped.values()]
    factors = settings.aggregates.unit_factors
    stats: dict[str, np.ndarray] = {}
    valid = np.ones(len(members), dtype=bool)
    for entry in table.entries:
        fid = ids.get(AQI_FACTORS.get(entry.pollutant, ""))
        if fid is None:
            continue
        source = mda8.get(fid) if entry.source == "mda8" else daily.get(fid)
        if source is None:
            source = np.full((len(station_ids), (end - start).days), np.nan)
        matrix = source if scope == "station" else _area_rows(source, members)
        pct = None if entry.statistic == "mean" else float(entry.percentile or 0)
        scale = factors.get(AQI_FACTORS[entry.pollutant], 1.0)
        stats[entry.pollutant] = _row_statistic(matrix, pct) * scale
        valid &= _rows_valid(matrix, start, end)
    out = []
    terms = aqci_terms(table)
    for g, (key, name) in enumerate(grouped):
        values = {p: float(v[g]) for p, v in stats.items() if not np.isnan(v[g])}
        result = _fast_or_exact(values, table, terms)
        if result is None:
            out.append(RankingRow(None, key, name, None, False, {}))
            continue
        period_ok = bool(valid[g])
        out.append(
            RankingRow(
                None,
                key,
                name,
                result.aqci,
                period_ok and not result.missing,
                {
                    "max_index": list(result.max_index_pollutants),
                    "indices": dict(result.indices),
                    "statistics": {p: float(v) for p, v in result.statistics_rounded.items()},
                    "missing": list(result.missing),
                    "period_valid": period_ok,
                    "standard": table.code,
                },
            )
        )
    return out


def _fast_or_exact(
    stats: Mapping[str, float], table: AqciTable, terms: Any = None
) -> FastAqci | None:
    if not stats:
        return None
    fast = fast_composite_index(stats, table, terms) if terms is not None else None
    if fast is not None:
        return fast
    slow = composite_index(
        {p: clean_fraction(v) for p, v in stats.items()}, table, allow_missing=True
    )
    return FastAqci(
        slow.aqci,
        slow.statistics_rounded,
        {p: float(v) for p, v in slow.indices.items()},
        slow.max_index_pollutants,
        slow.missing,
    )


async def _rank_factor(
    db: Db,
    settings: AggregatesConfig,
    stations: Sequence[StationInfo],
    code: str,
    start: date,
    end: date,
    scope: Scope,
) -> list[RankingRow]:
    ids = await factor_ids(db, [code])
    if code not in ids:
        raise QueryError(
            f"cannot rank by {code!r}: expected 'aqi', 'aqci' or a factor code known to the"
            " database (e.g. a34004 for PM2.5)"
        )
    per = Period("custom", start, end)
    values = await period(db, settings, stations, [code], per, scope=scope)
    pol = pollutant_of_code(code)
    out = []
    for v in values:
        shown: Decimal | None = None
        if v.mean is not None:
            dec = to_aqi_units(v.mean, code, settings.aggregates.unit_factors)
            shown = round_reported(pol, dec) if pol else dec.quantize(Decimal("0.001"))
        out.append(
            RankingRow(
                None,
                v.key,
                v.name,
                shown,
                shown is not None,
                {"valid_days": v.n_valid_days, "period_valid": v.valid},
            )
        )
    return out


async def recent_monthly(
    db: Db, settings: AggregatesConfig, month: date, *, months: int = 3, **area: Unpack[AreaFilter]
) -> dict[str, list[RankingRow]]:
    """The "last 3 months" view: the composite-index ranking of each of the ``months``
    calendar months ending with the month of ``month`` (key ``YYYY-MM``)."""
    out: dict[str, list[RankingRow]] = {}
    m = month.replace(day=1)
    for _ in range(months):
        out[f"{m.year}-{m.month:02d}"] = await ranking(
            db, settings, "aqci", m, _month_end(m), **area
        )
        m = (m - timedelta(days=1)).replace(day=1)
    return dict(sorted(out.items()))


def _month_end(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)
