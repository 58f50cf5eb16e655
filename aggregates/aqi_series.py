"""Daily and real-time AQI (HJ 633) of stations, regions and grids, and what is read off it:
good days (优良天数), exceedance days (超标天数) and compliance rates (达标率) against GB 3095
(:mod:`aggregates.attainment`), primary-pollutant shares, the "last 7 days" view.

Scopes ``region`` and ``grid`` use the HJ 663 city averaging: the area's daily
concentration of a pollutant is the mean of its stations' valid daily values, and its
AQI/AQCI are computed from those means (AQI.md §3), never as the maximum of station AQIs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Unpack

from aggregates import queries
from aggregates.analysis import (
    AQI_FACTORS,
    AQI_POLLUTANTS,
    DailyRow,
    aqci_of_series,
    daily_indicators,
    pollutant_of_code,
    round_reported,
    to_aqi_units,
)
from aggregates.aqci import AqciResult
from aggregates.aqi import AqiResult, daily_aqi, hourly_aqi
from aggregates.attainment import DailyAttainment, area_grade, daily_attainment
from aggregates.official import hourly
from aggregates.selection import (
    AreaFilter,
    Db,
    Scope,
    Selection,
    StationInfo,
    factor_ids,
    group_stations,
    local_tz,
    outside_every_plan,
    registry_for,
    select_stations,
)
from aggregates.settings import AggregatesConfig
from aggregates.standards import StandardRegistry

__all__ = [
    "AreaAqi",
    "GoodDays",
    "area_daily_aqi",
    "daily_aqi_series",
    "good_days",
    "hourly_aqi_at",
    "pollutant_share",
    "recent_daily",
    "station_daily_aqi",
]


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
    #: GB 3095 grade the key is judged by (:func:`aggregates.attainment.area_grade`)
    grade: int = 2


@dataclass(frozen=True, slots=True)
class GoodDays:
    """优良天数: days with AQI ≤ 100 among the days with a valid daily AQI; and per
    pollutant the days whose official daily value exceeds the GB 3095 limit in force
    (超标天数) and the share that does not (达标率) — :mod:`aggregates.attainment`."""

    n_days: int
    n_good: int
    rate: float | None  # n_good / n_days
    n_exceedance: int  # AQI > 100
    by_level: Mapping[int, int]
    #: 超标天数 per pollutant (only pollutants with at least one): daily value > GB 3095
    #: limit of the key's grade in force that day — not HJ 633's IAQI > 100, which
    #: HJ 633—2026 removed
    exceedance_by_pollutant: Mapping[str, int]
    attainment: DailyAttainment | None = None
    grade: int = 2

    @property
    def compliance_rate(self) -> Mapping[str, float | None]:
        """达标率 per pollutant with valid days."""
        return self.attainment.compliance_rate if self.attainment is not None else {}


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
    settings: AggregatesConfig,
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
    for (key, name), group in group_stations(members, scope).items():
        grade = area_grade(s.area_class for s in group)
        days = sorted({d for s in group for d in data.get(s.id, {})})
        results: list[AreaAqi] = []
        for day in days:
            reporting = [s for s in group if day in data.get(s.id, {})]
            per_station = [data[s.id][day] for s in reporting]
            table = registry.aqi_table(day)
            if scope == "station":
                ind = daily_indicators(per_station[0], factors)
            else:
                ind = _area_indicators(
                    [daily_indicators(r, factors, rounded=False) for r in per_station]
                )
            result = daily_aqi(
                ind, table, round_inputs=False, not_monitored=outside_every_plan(reporting)
            )
            aqci = _day_aqci(per_station, registry, day, factors) if with_aqci else None
            results.append(
                AreaAqi(
                    scope,
                    key,
                    name,
                    day,
                    result,
                    ind,
                    _complete(ind),
                    len(per_station),
                    aqci,
                    grade,
                )
            )
        out[(key, name)] = results
    return out


async def station_daily_aqi(
    db: Db, settings: AggregatesConfig, day: date, selection: Selection | None = None
) -> list[AreaAqi]:
    """Daily AQI of every selected station on local ``day`` (stations without data absent)."""
    series = await daily_aqi_series(db, settings, day, day + timedelta(days=1), selection=selection)
    return [rows[0] for rows in series.values() if rows]


async def area_daily_aqi(
    db: Db, settings: AggregatesConfig, day: date, scope: Scope, selection: Selection | None = None
) -> list[AreaAqi]:
    """Daily AQI of every region (``scope="region"``) or grid on ``day``, city-averaged."""
    series = await daily_aqi_series(
        db, settings, day, day + timedelta(days=1), scope=scope, selection=selection
    )
    return [rows[0] for rows in series.values() if rows]


async def hourly_aqi_at(
    db: Db, settings: AggregatesConfig, hour: datetime, selection: Selection | None = None
) -> list[tuple[StationInfo, AqiResult]]:
    """Real-time (实时报) AQI of the selected stations for the hour starting at ``hour``
    (valid official hourly values only)."""
    stations = await select_stations(db, selection)
    values = await hourly(db, stations, list(AQI_FACTORS.values()), hour, hour + timedelta(hours=1))
    registry = registry_for(settings)
    table = registry.aqi_table(hour.astimezone(local_tz(settings)).date())
    by_station: dict[int, dict[str, Decimal | None]] = defaultdict(dict)
    for v in values:
        pol = pollutant_of_code(v.factor)
        if pol is None or not v.valid or v.value is None:
            continue
        dec = to_aqi_units(v.value, v.factor, settings.aggregates.unit_factors)
        by_station[v.station_id][f"{pol}_1h"] = round_reported(pol, dec)
    return [
        (s, hourly_aqi(by_station[s.id], table, round_inputs=False, not_monitored=s.not_monitored))
        for s in stations
        if s.id in by_station
    ]


async def pollutant_share(
    db: Db, settings: AggregatesConfig, start: date, end: date, **area: Unpack[AreaFilter]
) -> dict[str, float]:
    """Share of days on which each pollutant was primary (首要污染物, AQI > 50) over
    [start, end), for the source-analysis pie; tied primary pollutants each count.  With
    a region/grid ``scope`` the area's own daily AQI is used (all areas pooled)."""
    series = await daily_aqi_series(db, settings, start, end, **area)
    counts: dict[str, int] = defaultdict(int)
    for days in series.values():
        for d in days:
            for pol in d.result.primary:
                counts[pol] += 1
    total = sum(counts.values())
    return {p: counts[p] / total for p in AQI_POLLUTANTS if counts.get(p)} if total else {}


async def good_days(
    db: Db, settings: AggregatesConfig, start: date, end: date, **area: Unpack[AreaFilter]
) -> dict[tuple[str, str], GoodDays]:
    """优良天数比例, and per pollutant 超标天数 and 达标率 against GB 3095 (the table in
    force each day, at the grade of the station's class; areas: grade II unless every
    station is class 1), per station/region/grid over [start, end)."""
    series = await daily_aqi_series(db, settings, start, end, **area)
    registry = registry_for(settings)
    out = {}
    for key, days in series.items():
        valid = [d for d in days if d.result.aqi is not None]
        levels: dict[int, int] = defaultdict(int)
        for d in valid:
            assert d.result.level is not None
            levels[d.result.level] += 1
        good = sum(1 for d in valid if d.result.aqi is not None and d.result.aqi <= 100)
        grade = days[0].grade if days else 2
        att = daily_attainment(((d.day, d.indicators) for d in days), grade, registry)
        out[key] = GoodDays(
            len(valid),
            good,
            good / len(valid) if valid else None,
            len(valid) - good,
            dict(sorted(levels.items())),
            {p: n for p, n in att.exceedance_days.items() if n},
            att,
            grade,
        )
    return out


async def recent_daily(
    db: Db, settings: AggregatesConfig, end: date, *, days: int = 7, **area: Unpack[AreaFilter]
) -> dict[tuple[str, str], list[AreaAqi]]:
    """The reference platform's "last 7 days" view: daily AQI of the ``days`` local days
    ending with ``end`` (inclusive) per station/region/grid."""
    first = end - timedelta(days=days - 1)
    return await daily_aqi_series(db, settings, first, end + timedelta(days=1), **area)
