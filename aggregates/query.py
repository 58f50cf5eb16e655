"""Read API of the analytics: official values, AQI, rankings, shares, heat map.

Every function takes an asyncpg pool (or connection) and, where rules or units matter, the
whole :class:`~store.settings.Settings` (``core.timezone`` for day boundaries,
``aggregates.unit_factors`` for AQI units, ``aggregates.standards_dir`` for operator
standards).  Days are local days of ``core.timezone``; ranges are half-open
``[start, end)``.  Which stations: a :class:`Selection` (explicit ids or MNs, a region —
``stations.region`` — or an area code of the grid hierarchy, which takes every station
whose grid cell lies below it); ``None`` means every enabled station.

Official values come from ``hourly_values`` (view) and ``daily_values`` /
``monthly_values`` (tables refreshed by :func:`aggregates.jobs.run_refresh`).  Scopes
``region`` and ``grid`` use the HJ 663 city averaging: the area's daily concentration of a
pollutant is the mean of its stations' valid daily values, and its AQI/AQCI are computed
from those means (AQI.md §3), never as the maximum of station AQIs.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Literal, TypeAlias
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np

from aggregates import queries
from aggregates.analysis import (
    AQI_FACTORS,
    AQI_POLLUTANTS,
    DailyRow,
    FastAqci,
    aqci_of_series,
    aqci_terms,
    clean_fraction,
    competition_ranks,
    daily_indicators,
    fast_composite_index,
    percentile_linear,
    pollutant_of_code,
    round_reported,
    to_aqi_units,
)
from aggregates.aqci import AqciResult, composite_index
from aggregates.aqi import AqiResult, daily_aqi, hourly_aqi
from aggregates.periods import Period, month_parts, required_valid_days
from aggregates.spatial import idw_geojson
from aggregates.standards import AqciTable, StandardRegistry, default_registry, load_standards
from aggregates.validity import MIN_DAYS_PER_YEAR
from store.settings import Settings

__all__ = [
    "AreaAqi",
    "DailyValue",
    "GoodDays",
    "HourlyValue",
    "PeriodValue",
    "RankingRow",
    "Scope",
    "Selection",
    "StationInfo",
    "area_daily_aqi",
    "daily",
    "daily_aqi_series",
    "factor_ids",
    "good_days",
    "hourly",
    "hourly_aqi_at",
    "idw_grid",
    "period",
    "pollutant_share",
    "ranking",
    "recent_daily",
    "recent_monthly",
    "registry_for",
    "select_stations",
    "station_daily_aqi",
]

Scope = Literal["station", "region", "grid"]
Db: TypeAlias = asyncpg.Pool | asyncpg.Connection


class QueryError(ValueError):
    """The request cannot be answered as asked; the message says what to change."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which stations.  Fields combine with AND; all empty = every enabled station."""

    station_ids: tuple[int, ...] = ()
    mns: tuple[str, ...] = ()
    region: str | None = None
    grid: str | None = None  # an area code: stations whose grid cell lies below it


@dataclass(frozen=True, slots=True)
class StationInfo:
    id: int
    mn: str
    name: str
    region: str
    grid_code: str | None
    grid_name: str | None
    lat: float | None
    lon: float | None
    st: str | None

    @property
    def label(self) -> str:
        return self.name or self.mn

    def key(self, scope: Scope) -> tuple[str, str] | None:
        """(key, name) of the entity this station belongs to in ``scope``."""
        if scope == "station":
            return self.mn, self.label
        if scope == "region":
            return (self.region, self.region) if self.region else None
        if self.grid_code is None:
            return None
        return self.grid_code, self.grid_name or self.grid_code


@dataclass(frozen=True, slots=True)
class HourlyValue:
    station_id: int
    factor: str
    ts: datetime
    value: float | None
    vmin: float | None
    vmax: float | None
    valid: bool
    source: str  # reported | computed
    basis: str  # hour (2061) | minute (2051) | rtd (2011)
    flag: str | None
    n_samples: int | None
    coverage_min: int | None


@dataclass(frozen=True, slots=True)
class DailyValue:
    station_id: int
    factor: str
    day: date
    value: float | None
    valid: bool
    source: str
    n_hours: int
    n_valid_hours: int
    n_computed_hours: int
    min_1h: float | None
    max_1h: float | None
    mda8: float | None
    mda8_valid: bool | None
    excluded: Mapping[str, int]  # flag → excluded values (M C D F T B other)


@dataclass(frozen=True, slots=True)
class PeriodValue:
    """Period statistics of one station (or area) and factor over valid daily values."""

    key: str
    name: str
    factor: str
    period: Period
    mean: float | None
    min: float | None
    max: float | None
    n_valid_days: int
    n_days: int
    valid: bool  # GB 3095 Table 4 (month, year) / the proportional rule (week, 旬, custom)
    percentile: float | None = None  # CO P95 of daily means, O3 P90 of MDA8 (HJ 663)


@dataclass(frozen=True, slots=True)
class AreaAqi:
    """Daily AQI of a station, region or grid."""

    scope: Scope
    key: str
    name: str
    day: date
    result: AqiResult
    indicators: Mapping[str, Decimal | None]
    valid: bool  # all six pollutants had valid daily values
    n_stations: int
    aqci: AqciResult | None = None


@dataclass(frozen=True, slots=True)
class RankingRow:
    rank: int | None
    key: str
    name: str
    value: int | Decimal | float | None
    valid: bool
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GoodDays:
    """优良天数: days with AQI ≤ 100 among the days with a valid daily AQI."""

    n_days: int
    n_good: int
    rate: float | None  # n_good / n_days
    n_exceedance: int  # AQI > 100
    by_level: Mapping[int, int]
    exceedance_by_pollutant: Mapping[str, int]  # IAQI > 100 days per pollutant


# -- helpers ----------------------------------------------------------------------------------
def registry_for(settings: Settings) -> StandardRegistry:
    """The standards tables: shipped ones plus ``aggregates.standards_dir`` overrides
    (read once per directory and process; restart to pick up edited override files)."""
    directory = settings.aggregates.standards_dir
    return _registry(directory) if directory else default_registry()


@functools.lru_cache(maxsize=8)
def _registry(directory: Path) -> StandardRegistry:
    return load_standards([directory])


def _tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.core.timezone)


async def factor_ids(db: Db, codes: Iterable[str]) -> dict[str, int]:
    """Factor code → id for the codes known to the database (unknown codes are absent)."""
    rows = await db.fetch(queries.FACTOR_IDS_SQL, list(codes))
    return {r["code"]: r["id"] for r in rows}


async def select_stations(db: Db, selection: Selection | None = None) -> list[StationInfo]:
    """The stations of a selection (every enabled one for ``None``), ordered by id."""
    sel = selection or Selection()
    explicit = bool(sel.station_ids or sel.mns)
    rows = await db.fetch(queries.STATIONS_SQL, list(sel.station_ids), list(sel.mns))
    in_area: set[int] | None = None
    if sel.grid is not None:
        if await db.fetchrow(queries.AREA_SQL, sel.grid) is None:
            raise QueryError(f"no area with code {sel.grid!r} (see envgrid grid export)")
        in_area = {r["id"] for r in await db.fetch(queries.AREA_STATIONS_SQL, sel.grid)}
    out = []
    for r in rows:
        if not explicit and not r["enabled"]:
            continue
        if sel.region is not None and r["region"] != sel.region:
            continue
        if in_area is not None and r["id"] not in in_area:
            continue
        out.append(
            StationInfo(
                r["id"],
                r["mn"],
                r["name"],
                r["region"],
                r["grid_code"],
                r["grid_name"],
                r["lat"],
                r["lon"],
                r["st"],
            )
        )
    if sel.mns:
        unknown = set(sel.mns) - {s.mn for s in out}
        if unknown:
            raise QueryError(f"unknown station MN(s): {', '.join(sorted(unknown))}")
    return out


# -- official values ---------------------------------------------------------------------------
async def hourly(
    db: Db,
    stations: Sequence[StationInfo],
    factor_codes: Sequence[str],
    start: datetime,
    end: datetime,
) -> list[HourlyValue]:
    """Official hourly values (reported 2061 preferred, computed hours fill the gaps) of the
    stations and factors in [start, end) (aware instants)."""
    ids = await factor_ids(db, factor_codes)
    code_of = {v: k for k, v in ids.items()}
    rows = await db.fetch(
        queries.HOURLY_VALUES_SQL, [s.id for s in stations], list(ids.values()), start, end
    )
    return [
        HourlyValue(
            r["station_id"],
            code_of[r["factor_id"]],
            r["ts"],
            r["value"],
            r["vmin"],
            r["vmax"],
            r["valid"],
            r["source"],
            r["basis"],
            r["flag"],
            r["n_samples"],
            r["coverage_min"],
        )
        for r in rows
    ]


_FLAG_COLUMNS = ("m", "c", "d", "f", "t", "b", "other")


async def daily(
    db: Db,
    stations: Sequence[StationInfo],
    factor_codes: Sequence[str],
    start: date,
    end: date,
) -> list[DailyValue]:
    """Official daily values of the stations and factors for local days [start, end)."""
    ids = await factor_ids(db, factor_codes)
    code_of = {v: k for k, v in ids.items()}
    rows = await db.fetch(
        queries.DAILY_VALUES_SQL, [s.id for s in stations], list(ids.values()), start, end
    )
    out = [
        DailyValue(
            r["station_id"],
            code_of[r["factor_id"]],
            r["day"],
            r["value"],
            r["valid"],
            r["source"],
            r["n_hours"],
            r["n_valid_hours"],
            r["n_computed_hours"],
            r["min_1h"],
            r["max_1h"],
            r["mda8"],
            r["mda8_valid"],
            {f.upper() if f != "other" else f: r[f"n_flag_{f}"] for f in _FLAG_COLUMNS},
        )
        for r in rows
    ]
    out.sort(key=lambda d: (d.station_id, d.factor, d.day))
    return out


_EMPTY_INT = np.empty(0, dtype=np.int64)
_EMPTY_VALUES = np.empty(0, dtype=np.float64)
_MONTH_EPOCH = 1970 * 12  # numpy datetime64[M] counts months from 1970-01
_ARRAY_HEADER = 20  # PostgreSQL binary array: ndim, flags, element oid, length, lower bound
_F8 = np.dtype([("len", ">i4"), ("value", ">f8")])
_I2 = np.dtype([("len", ">i4"), ("value", ">i2")])


@dataclass(slots=True)
class _Series:
    """Valid daily values of one station (or area) and factor over a range, in day order.

    ``months``: month indexes (year × 12 + month − 1) with data; ``counts``: valid values
    of each of those months inside the range; ``dom``: day of month of each value;
    ``values``; the same three for O3 MDA8; ``n_days``: days with a daily value."""

    months: np.ndarray = field(default_factory=lambda: _EMPTY_INT)
    counts: np.ndarray = field(default_factory=lambda: _EMPTY_INT)
    dom: np.ndarray = field(default_factory=lambda: _EMPTY_INT)
    values: np.ndarray = field(default_factory=lambda: _EMPTY_VALUES)
    mda8_counts: np.ndarray = field(default_factory=lambda: _EMPTY_INT)
    mda8_dom: np.ndarray = field(default_factory=lambda: _EMPTY_INT)
    mda8: np.ndarray = field(default_factory=lambda: _EMPTY_VALUES)
    n_days: int = 0

    def dates(self, mda8: bool = False) -> np.ndarray:
        """The local date of each value (``datetime64[D]``)."""
        counts, dom = (self.mda8_counts, self.mda8_dom) if mda8 else (self.counts, self.dom)
        firsts = (self.months - _MONTH_EPOCH).astype("datetime64[M]").astype("datetime64[D]")
        out: np.ndarray = np.repeat(firsts, counts) + (dom - 1)
        return out

    def per_month(self, mda8: bool = False) -> dict[tuple[int, int], int]:
        """Valid values per (year, month)."""
        counts = self.mda8_counts if mda8 else self.counts
        return {
            (int(m) // 12, int(m) % 12 + 1): int(c)
            for m, c in zip(self.months, counts, strict=True)
            if c
        }


def _from_array_send(buf: bytes, dtype: np.dtype[Any], native: type) -> np.ndarray:
    """Values of a one-dimensional, NULL-free array in PostgreSQL's binary format
    (``array_send``): a 20-byte header, then (length, value) pairs in network order; an
    empty array has a 12-byte header and no elements."""
    if len(buf) <= _ARRAY_HEADER:
        return np.empty(0, dtype=native)
    values: np.ndarray = np.frombuffer(buf, dtype=dtype, offset=_ARRAY_HEADER)["value"]
    return values.astype(native)


async def _monthly_series(
    db: Db, station_ids: Sequence[int], fids: Sequence[int], start: date, end: date
) -> dict[tuple[int, int], _Series]:
    """Valid daily values (and O3 MDA8) of local days [start, end) from monthly_values,
    one series per (station, factor)."""
    rows = await db.fetch(queries.MONTHLY_SERIES_SQL, list(station_ids), list(fids), start, end)
    return {
        (r["station_id"], r["factor_id"]): _Series(
            np.asarray(r["months"], dtype=np.int64),
            np.asarray(r["counts"], dtype=np.int64),
            _from_array_send(r["days"], _I2, np.int64),
            _from_array_send(r["daily"], _F8, np.float64),
            np.asarray(r["mda8_counts"], dtype=np.int64),
            _from_array_send(r["mda8_days"], _I2, np.int64),
            _from_array_send(r["mda8"], _F8, np.float64),
            r["n_days"],
        )
        for r in rows
    }


def _month_end(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


class _Validity:
    """The period-validity rule of a range, evaluated fast for many series."""

    def __init__(self, per: Period) -> None:
        self.per = per
        self.daily = per.kind in ("hour", "day")
        self.required = (
            {}
            if self.daily
            else {
                (y, m): required_valid_days(y, m, c) for y, m, c in month_parts(per.start, per.end)
            }
        )
        self.whole_year = per.start.month == 1 and per.start.day == 1 and per.days >= 365

    def __call__(self, counts: Mapping[tuple[int, int], int]) -> bool:
        if self.daily:
            return bool(sum(counts.values()))
        if any(counts.get(k, 0) < need for k, need in self.required.items()):
            return False
        return not (self.whole_year and sum(counts.values()) < MIN_DAYS_PER_YEAR)


async def period(
    db: Db,
    settings: Settings,
    stations: Sequence[StationInfo],
    factor_codes: Sequence[str],
    per: Period,
    *,
    scope: Scope = "station",
) -> list[PeriodValue]:
    """Period statistics (mean, min, max of valid daily values; CO P95 and O3 P90 of MDA8)
    per station — or per region/grid with HJ 663 city averaging — and factor.

    Validity: GB 3095 Table 4 for months and years, the proportional monthly rule for
    weeks, 旬 and custom ranges (:func:`aggregates.periods.period_valid`)."""
    ids = await factor_ids(db, factor_codes)
    code_of = {v: k for k, v in ids.items()}
    series = await _monthly_series(db, [s.id for s in stations], list(ids.values()), *_span(per))
    groups = _groups(stations, scope)
    valid_for = _Validity(per)
    out: list[PeriodValue] = []
    for (key, name), members in groups.items():
        for fid, code in code_of.items():
            merged = _merge([series.get((s.id, fid)) for s in members])
            values = merged.values
            pct: float | None = None
            pol = pollutant_of_code(code)
            if pol == "CO" and values.size:
                pct = percentile_linear(values, 95)
            elif pol == "O3" and merged.mda8.size:
                pct = percentile_linear(merged.mda8, 90)
            out.append(
                PeriodValue(
                    key,
                    name,
                    code,
                    per,
                    float(values.mean()) if values.size else None,
                    float(values.min()) if values.size else None,
                    float(values.max()) if values.size else None,
                    int(values.size),
                    merged.n_days,
                    valid_for(merged.per_month()),
                    pct,
                )
            )
    return out


def _span(per: Period) -> tuple[date, date]:
    return per.start, per.end


def _groups(
    stations: Sequence[StationInfo], scope: Scope
) -> dict[tuple[str, str], list[StationInfo]]:
    groups: dict[tuple[str, str], list[StationInfo]] = defaultdict(list)
    for s in stations:
        k = s.key(scope)
        if k is not None:
            groups[k].append(s)
    return dict(sorted(groups.items()))


def _mean_by_day(
    dates: Sequence[np.ndarray], values: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per day, the mean of the values given → (months, counts, day of month, means)."""
    all_dates = np.concatenate(dates)
    if all_dates.size == 0:
        return _EMPTY_INT, _EMPTY_INT, _EMPTY_INT, _EMPTY_VALUES
    uniq, inverse = np.unique(all_dates, return_inverse=True)
    means = np.bincount(inverse, weights=np.concatenate(values)) / np.bincount(inverse)
    month_of = uniq.astype("datetime64[M]")
    months, counts = np.unique(month_of, return_counts=True)
    dom = (uniq - month_of.astype("datetime64[D]")).astype(np.int64) + 1
    return months.astype(np.int64) + _MONTH_EPOCH, counts.astype(np.int64), dom, means


def _merge(parts: Sequence[_Series | None]) -> _Series:
    """City averaging (HJ 663): per day, the mean of the members' valid values."""
    present = [p for p in parts if p is not None]
    if len(present) == 1:
        return present[0]
    if not present:
        return _Series()
    months, counts, dom, values = _mean_by_day(
        [p.dates() for p in present], [p.values for p in present]
    )
    m8_months, m8_counts, m8_dom, m8 = _mean_by_day(
        [p.dates(mda8=True) for p in present], [p.mda8 for p in present]
    )
    # one month axis for both series
    axis = np.union1d(months, m8_months)
    full = np.zeros(axis.size, dtype=np.int64)
    full[np.searchsorted(axis, months)] = counts
    full8 = np.zeros(axis.size, dtype=np.int64)
    full8[np.searchsorted(axis, m8_months)] = m8_counts
    return _Series(axis, full, dom, values, full8, m8_dom, m8, max(p.n_days for p in present))


# -- AQI ---------------------------------------------------------------------------------------
async def _daily_rows(
    db: Db, stations: Sequence[StationInfo], start: date, end: date
) -> dict[int, dict[date, dict[str, DailyRow]]]:
    ids = await factor_ids(db, AQI_FACTORS.values())
    pol_of = {fid: pollutant_of_code(code) for code, fid in ids.items()}
    rows = await db.fetch(
        queries.DAILY_AQI_INPUTS_SQL, [s.id for s in stations], list(ids.values()), start, end
    )
    out: dict[int, dict[date, dict[str, DailyRow]]] = defaultdict(dict)
    for r in rows:
        out[r["station_id"]][r["day"]] = {
            pol_of[f] or "": DailyRow(v, ok, m1, m8, m8ok)
            for f, v, ok, m1, m8, m8ok in zip(
                r["factors"],
                r["values"],
                r["valid"],
                r["max_1h"],
                r["mda8"],
                r["mda8_valid"],
                strict=True,
            )
        }
    return out


def _complete(indicators: Mapping[str, Decimal | None]) -> bool:
    return all(
        indicators.get(k) is not None
        for k in ("SO2_24h", "NO2_24h", "CO_24h", "PM10_24h", "PM2.5_24h", "O3_8h_max")
    )


def _area_indicators(
    members: Sequence[Mapping[str, Decimal | None]],
) -> dict[str, Decimal | None]:
    """City averaging of unrounded station indicators, then GB/T 8170 rounding."""
    out: dict[str, Decimal | None] = {}
    keys = members[0].keys() if members else ()
    for key in keys:
        vals = [v for m in members if (v := m.get(key)) is not None]
        if not vals:
            out[key] = None
            continue
        mean = sum(vals, Decimal(0)) / len(vals)
        out[key] = round_reported(key.split("_", 1)[0], mean)
    return out


def _day_aqci(
    rows_by_pol: Sequence[Mapping[str, DailyRow]],
    registry: StandardRegistry,
    day: date,
    unit_factors: Mapping[str, float],
) -> AqciResult | None:
    daily_means: dict[str, list[float]] = {}
    for pol in AQI_POLLUTANTS:
        vals = [r[pol].value for r in rows_by_pol if pol in r and r[pol].valid]
        clean = [v for v in vals if v is not None]
        if clean:
            daily_means[pol] = [math.fsum(clean) / len(clean)]
    mda8s = [r["O3"].mda8 for r in rows_by_pol if "O3" in r and r["O3"].mda8_valid]
    m8 = [v for v in mda8s if v is not None]
    return aqci_of_series(
        daily_means, [math.fsum(m8) / len(m8)] if m8 else [], registry.aqci(day), unit_factors
    )


async def daily_aqi_series(
    db: Db,
    settings: Settings,
    start: date,
    end: date,
    *,
    scope: Scope = "station",
    selection: Selection | None = None,
    stations: Sequence[StationInfo] | None = None,
    with_aqci: bool = False,
) -> dict[tuple[str, str], list[AreaAqi]]:
    """Daily AQI (HJ 633 日报) of every station/region/grid for local days [start, end),
    keyed by (key, name), each list in day order (days without any data are absent)."""
    members = list(stations) if stations is not None else await select_stations(db, selection)
    registry = registry_for(settings)
    factors = settings.aggregates.unit_factors
    data = await _daily_rows(db, members, start, end)
    out: dict[tuple[str, str], list[AreaAqi]] = {}
    for (key, name), group in _groups(members, scope).items():
        days = sorted({d for s in group for d in data.get(s.id, {})})
        results: list[AreaAqi] = []
        for day in days:
            per_station = [data[s.id][day] for s in group if day in data.get(s.id, {})]
            table = registry.aqi_table(day)
            if scope == "station":
                ind = daily_indicators(per_station[0], factors)
            else:
                ind = _area_indicators(
                    [daily_indicators(r, factors, rounded=False) for r in per_station]
                )
            result = daily_aqi(ind, table, round_inputs=False)
            aqci = _day_aqci(per_station, registry, day, factors) if with_aqci else None
            results.append(
                AreaAqi(scope, key, name, day, result, ind, _complete(ind), len(per_station), aqci)
            )
        out[(key, name)] = results
    return out


async def station_daily_aqi(
    db: Db, settings: Settings, day: date, selection: Selection | None = None
) -> list[AreaAqi]:
    """Daily AQI of every selected station on local ``day`` (stations without data absent)."""
    series = await daily_aqi_series(db, settings, day, day + timedelta(days=1), selection=selection)
    return [rows[0] for rows in series.values() if rows]


async def area_daily_aqi(
    db: Db, settings: Settings, day: date, scope: Scope, selection: Selection | None = None
) -> list[AreaAqi]:
    """Daily AQI of every region (``scope="region"``) or grid on ``day``, city-averaged."""
    series = await daily_aqi_series(
        db, settings, day, day + timedelta(days=1), scope=scope, selection=selection
    )
    return [rows[0] for rows in series.values() if rows]


async def hourly_aqi_at(
    db: Db, settings: Settings, hour: datetime, selection: Selection | None = None
) -> list[tuple[StationInfo, AqiResult]]:
    """Real-time (实时报) AQI of the selected stations for the hour starting at ``hour``
    (valid official hourly values only)."""
    stations = await select_stations(db, selection)
    values = await hourly(db, stations, list(AQI_FACTORS.values()), hour, hour + timedelta(hours=1))
    registry = registry_for(settings)
    table = registry.aqi_table(hour.astimezone(_tz(settings)).date())
    by_station: dict[int, dict[str, Decimal | None]] = defaultdict(dict)
    for v in values:
        pol = pollutant_of_code(v.factor)
        if pol is None or not v.valid or v.value is None:
            continue
        dec = to_aqi_units(v.value, v.factor, settings.aggregates.unit_factors)
        by_station[v.station_id][f"{pol}_1h"] = round_reported(pol, dec)
    return [
        (s, hourly_aqi(by_station[s.id], table, round_inputs=False))
        for s in stations
        if s.id in by_station
    ]


# -- rankings ----------------------------------------------------------------------------------
async def ranking(
    db: Db,
    settings: Settings,
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
        rows = await _rank_aqi(db, settings, stations, start, end, scope)
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


async def _rank_aqi(
    db: Db,
    settings: Settings,
    stations: Sequence[StationInfo],
    start: date,
    end: date,
    scope: Scope,
) -> list[RankingRow]:
    series = await daily_aqi_series(db, settings, start, end, scope=scope, stations=stations)
    out = []
    single = (end - start).days == 1
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
            detail = {"days": len(aqis)}
        out.append(RankingRow(None, key, name, value, value is not None, detail))
    return out


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
    settings: Settings,
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
    grouped = _groups(stations, scope)
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
    settings: Settings,
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


# -- period analysis ----------------------------------------------------------------------------
async def pollutant_share(
    db: Db,
    settings: Settings,
    start: date,
    end: date,
    *,
    scope: Scope = "station",
    selection: Selection | None = None,
) -> dict[str, float]:
    """Share of days on which each pollutant was primary (首要污染物, AQI > 50) over
    [start, end), for the source-analysis pie; tied primary pollutants each count.  With
    a region/grid ``scope`` the area's own daily AQI is used (all areas pooled)."""
    series = await daily_aqi_series(db, settings, start, end, scope=scope, selection=selection)
    counts: dict[str, int] = defaultdict(int)
    for days in series.values():
        for d in days:
            for pol in d.result.primary:
                counts[pol] += 1
    total = sum(counts.values())
    return {p: counts[p] / total for p in AQI_POLLUTANTS if counts.get(p)} if total else {}


async def good_days(
    db: Db,
    settings: Settings,
    start: date,
    end: date,
    *,
    scope: Scope = "station",
    selection: Selection | None = None,
) -> dict[tuple[str, str], GoodDays]:
    """优良天数比例 and exceedance-day counts per station/region/grid over [start, end)."""
    series = await daily_aqi_series(db, settings, start, end, scope=scope, selection=selection)
    out = {}
    for key, days in series.items():
        valid = [d for d in days if d.result.aqi is not None]
        levels: dict[int, int] = defaultdict(int)
        exc: dict[str, int] = defaultdict(int)
        for d in valid:
            assert d.result.level is not None
            levels[d.result.level] += 1
            for pol in d.result.exceedance:
                exc[pol] += 1
        good = sum(1 for d in valid if d.result.aqi is not None and d.result.aqi <= 100)
        out[key] = GoodDays(
            len(valid),
            good,
            good / len(valid) if valid else None,
            len(valid) - good,
            dict(sorted(levels.items())),
            dict(exc),
        )
    return out


async def recent_daily(
    db: Db,
    settings: Settings,
    end: date,
    *,
    days: int = 7,
    scope: Scope = "station",
    selection: Selection | None = None,
) -> dict[tuple[str, str], list[AreaAqi]]:
    """The reference platform's "last 7 days" view: daily AQI of the ``days`` local days
    ending with ``end`` (inclusive) per station/region/grid."""
    first = end - timedelta(days=days - 1)
    return await daily_aqi_series(
        db, settings, first, end + timedelta(days=1), scope=scope, selection=selection
    )


async def recent_monthly(
    db: Db,
    settings: Settings,
    month: date,
    *,
    months: int = 3,
    scope: Scope = "station",
    selection: Selection | None = None,
) -> dict[str, list[RankingRow]]:
    """The "last 3 months" view: the composite-index ranking of each of the ``months``
    calendar months ending with the month of ``month`` (key ``YYYY-MM``)."""
    out: dict[str, list[RankingRow]] = {}
    m = month.replace(day=1)
    for _ in range(months):
        out[f"{m.year}-{m.month:02d}"] = await ranking(
            db, settings, "aqci", m, _month_end(m), scope=scope, selection=selection
        )
        m = (m - timedelta(days=1)).replace(day=1)
    return dict(sorted(out.items()))


# -- heat map -----------------------------------------------------------------------------------
async def idw_grid(
    db: Db,
    settings: Settings,
    what: str,
    bbox: tuple[float, float, float, float],
    cell: float,
    at: date | datetime,
    *,
    selection: Selection | None = None,
) -> dict[str, Any]:
    """Inverse-distance-weighted surface of ``what`` (``"aqi"`` or a factor code) over
    ``bbox`` = (min_lon, min_lat, max_lon, max_lat) in cells of ``cell`` degrees, as a
    GeoJSON FeatureCollection of cell polygons (``value``, ``color`` for AQI).

    ``at``: a local day (daily AQI / daily mean) or an aware hour start (hourly AQI / the
    hourly value)."""
    stations = [s for s in await select_stations(db, selection) if s.lat is not None]
    points: list[tuple[float, float, float]] = []
    hourly_mode = isinstance(at, datetime)
    if what == "aqi":
        if isinstance(at, datetime):
            for s, res in await hourly_aqi_at(db, settings, at, selection):
                if res.aqi is not None and s.lat is not None and s.lon is not None:
                    points.append((s.lon, s.lat, float(res.aqi)))
        else:
            for a in await station_daily_aqi(db, settings, at, selection):
                st = next(s for s in stations if s.mn == a.key)
                if a.result.aqi is not None and st.lon is not None and st.lat is not None:
                    points.append((st.lon, st.lat, float(a.result.aqi)))
    else:
        by_id = {s.id: s for s in stations}
        if isinstance(at, datetime):
            for hv in await hourly(db, stations, [what], at, at + timedelta(hours=1)):
                st = by_id[hv.station_id]
                if hv.valid and hv.value is not None and st.lon is not None and st.lat is not None:
                    points.append((st.lon, st.lat, hv.value))
        else:
            for dv in await daily(db, stations, [what], at, at + timedelta(days=1)):
                st = by_id[dv.station_id]
                if dv.valid and dv.value is not None and st.lon is not None and st.lat is not None:
                    points.append((st.lon, st.lat, dv.value))
    levels = None
    if what == "aqi":
        day = at.astimezone(_tz(settings)).date() if isinstance(at, datetime) else at
        levels = registry_for(settings).aqi_table(day).levels
    return idw_geojson(
        points,
        bbox,
        cell,
        power=settings.aggregates.idw_power,
        max_distance_km=settings.aggregates.idw_max_distance_km or None,
        levels=levels,
        properties={"what": what, "at": at.isoformat(), "hourly": hourly_mode},
    )
