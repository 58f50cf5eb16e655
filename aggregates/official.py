"""Official values: hourly, daily and period statistics of stations and areas.

Official values come from ``hourly_values`` (view) and ``daily_values`` /
``monthly_values`` (tables refreshed by :func:`aggregates.jobs.run_refresh`).  Scopes
``region`` and ``grid`` use the HJ 663 city averaging: the area's daily concentration of a
pollutant is the mean of its stations' valid daily values (AQI.md §3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from aggregates import queries
from aggregates.analysis import percentile_linear, pollutant_of_code
from aggregates.periods import Period, month_parts, required_valid_days
from aggregates.selection import Db, Scope, StationInfo, factor_ids, group_stations
from aggregates.settings import AggregatesConfig
from aggregates.validity import MIN_DAYS_PER_YEAR

__all__ = ["DailyValue", "HourlyValue", "PeriodValue", "daily", "hourly", "period"]


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
    settings: AggregatesConfig,
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
    series = await _monthly_series(
        db, [s.id for s in stations], list(ids.values()), per.start, per.end
    )
    groups = group_stations(stations, scope)
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
