"""What the 08:30 push reports, read from the store for one local day: the AQCI ranking
(``daily_rankings``), the day's exceedances (``daily_values`` against GB 3095), the open
cases past their deadline (``cases``) and the offline stations (open ``offline`` alerts).

Everything here is the whole picture; :mod:`alerts.daily_push` cuts it per receiver.

* *Ranking*: the stored rows of the day (aggregates.jobs.run_daily_ranking), ranked again
  by their composite index ``aqci`` within each scope (station, region, grid) — smaller is
  better, ties share a rank, rows without an index come last (unranked).
* *Exceedances*: ambient stations (ST 22) only: each valid daily mean of SO2, NO2, CO,
  PM10, PM2.5 against the GB 3095 24-hour limit of the table in force on the day, and the
  valid O3 MDA8 against the 8-hour limit, at the grade of the station's 功能区类别; the
  ratio is mean / limit.  Computed from the stored daily aggregates, not from alert rows.
* *Overdue cases*: open cases whose running stage's deadline has passed (at ``now``).
* *Offline*: stations with an open (firing or acknowledged) ``offline`` alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import asyncpg

from aggregates.analysis import competition_ranks
from aggregates.standards import StandardRegistry

from .config import AlertConfig
from .limits import AIR_POLLUTANTS

__all__ = [
    "DAILY_MEANS_SQL",
    "DayFacts",
    "Exceedance",
    "OfflineStation",
    "OverdueCase",
    "RankRow",
    "exceedances",
    "load_day_facts",
    "rank_by_aqci",
]

DAILY_MEANS_SQL: Final = """
SELECT v.station_id, f.code, v.value, v.valid, v.mda8, COALESCE(v.mda8_valid, false) AS mda8_valid
FROM daily_values v JOIN factors f ON f.id = v.factor_id
WHERE v.day = $1 AND f.code = ANY($2::text[])
"""
RANKINGS_SQL: Final = """
SELECT scope, scope_key, scope_name, aqi, level, primary_pollutants, aqci, valid, standard
FROM daily_rankings WHERE day = $1
"""
RANKINGS_EXIST_SQL: Final = "SELECT to_regclass('daily_rankings') IS NOT NULL"
OVERDUE_CASES_SQL: Final = """
SELECT c.id, c.code, c.title, c.station_id, c.deadline, c.stage,
       COALESCE((SELECT array_agg(a.id) FROM envgrid_area_ancestors(c.grid_id) a), '{}')
           AS areas
FROM cases c
WHERE c.is_open AND c.deadline IS NOT NULL AND c.deadline < $1
ORDER BY c.deadline, c.id
"""
CASES_EXIST_SQL: Final = "SELECT to_regclass('cases') IS NOT NULL"
OFFLINE_SQL: Final = """
SELECT station_id, min(first_seen) AS since FROM alerts
WHERE rule = 'offline' AND state IN ('firing', 'acknowledged') AND station_id IS NOT NULL
GROUP BY station_id
"""
#: the averaging period compared with a daily value, per pollutant
_DAILY_BASIS: Final = {
    "SO2": "24h",
    "NO2": "24h",
    "CO": "24h",
    "PM10": "24h",
    "PM2.5": "24h",
    "O3": "8h",
}


@dataclass(frozen=True, slots=True)
class RankRow:
    scope: str
    key: str
    name: str
    rank: int | None
    of: int
    aqci: Decimal | None
    aqi: int | None
    level: int | None
    primary: tuple[str, ...]
    valid: bool
    standard: str


@dataclass(frozen=True, slots=True)
class Exceedance:
    station_id: int
    factor_code: str
    value: float
    limit: float
    unit: str
    #: "24小时平均" / "日最大8小时平均"
    basis: str
    #: the table and grade: "GB 3095—2026 过渡阶段 二级"
    source: str

    @property
    def ratio(self) -> float:
        return self.value / self.limit


@dataclass(frozen=True, slots=True)
class OverdueCase:
    id: int
    code: str
    title: str
    station_id: int | None
    areas: tuple[int, ...]
    deadline: datetime
    stage: str


@dataclass(frozen=True, slots=True)
class OfflineStation:
    station_id: int
    since: datetime


@dataclass(frozen=True, slots=True)
class DayFacts:
    day: date
    now: datetime
    ranking: Mapping[tuple[str, str], RankRow]
    exceedances: Sequence[Exceedance]
    overdue: Sequence[OverdueCase]
    offline: Sequence[OfflineStation]


def rank_by_aqci(
    rows: Sequence[Mapping[str, Any]], standard: str
) -> dict[tuple[str, str], RankRow]:
    """(scope, key) → the row ranked by composite index within its scope."""
    out: dict[tuple[str, str], RankRow] = {}
    for scope in sorted({r["scope"] for r in rows}):
        mine = [r for r in rows if r["scope"] == scope]
        ranks = competition_ranks([r["aqci"] for r in mine])
        for r, rank in zip(mine, ranks, strict=True):
            out[(scope, r["scope_key"])] = RankRow(
                scope,
                r["scope_key"],
                r["scope_name"] or r["scope_key"],
                rank,
                len(mine),
                r["aqci"],
                r["aqi"],
                r["level"],
                tuple(r["primary_pollutants"] or ()),
                bool(r["valid"]),
                r["standard"] or standard,
            )
    return out


def exceedances(
    rows: Sequence[Mapping[str, Any]],
    config: AlertConfig,
    day: date,
    registry: StandardRegistry,
) -> list[Exceedance]:
    """The daily means above their GB 3095 limit (see the module docstring)."""
    table = registry.limits(day)
    out = []
    for r in rows:
        station = config.stations.get(r["station_id"])
        pollutant = AIR_POLLUTANTS.get(r["code"])
        if station is None or pollutant is None or station.st != "22":
            continue
        averaging = _DAILY_BASIS[pollutant]
        value, valid = (
            (r["mda8"], r["mda8_valid"]) if averaging == "8h" else (r["value"], r["valid"])
        )
        if value is None or not valid:
            continue
        grade = 1 if station.area_class == 1 else 2
        try:
            row = table.row(pollutant, averaging)
        except KeyError:
            continue
        limit = float(table.limit(pollutant, averaging, grade))
        if value > limit:
            unit = "µg/m³" if row.unit == "ug/m3" else row.unit.replace("m3", "m³")
            out.append(
                Exceedance(
                    station.id,
                    r["code"],
                    float(value),
                    limit,
                    unit,
                    row.description or averaging,
                    table.label(grade),
                )
            )
    out.sort(key=lambda e: (-e.ratio, e.station_id, e.factor_code))
    return out


async def load_day_facts(
    conn: asyncpg.Pool | asyncpg.Connection, config: AlertConfig, day: date, now: datetime
) -> DayFacts:
    """Read everything the push of ``day`` reports (at ``now``)."""
    registry = config.registry
    ranking: dict[tuple[str, str], RankRow] = {}
    if await conn.fetchval(RANKINGS_EXIST_SQL):
        rows = await conn.fetch(RANKINGS_SQL, day)
        ranking = rank_by_aqci(rows, registry.aqi_table(day).code)
    means = await conn.fetch(DAILY_MEANS_SQL, day, list(AIR_POLLUTANTS))
    overdue: list[OverdueCase] = []
    if await conn.fetchval(CASES_EXIST_SQL):
        overdue = [
            OverdueCase(
                r["id"],
                r["code"],
                r["title"],
                r["station_id"],
                tuple(r["areas"]),
                r["deadline"],
                r["stage"] or "",
            )
            for r in await conn.fetch(OVERDUE_CASES_SQL, now)
        ]
    offline = [OfflineStation(r["station_id"], r["since"]) for r in await conn.fetch(OFFLINE_SQL)]
    return DayFacts(day, now, ranking, exceedances(means, config, day, registry), overdue, offline)
