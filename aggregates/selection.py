"""Which stations a read of the analytics covers, and the pieces every read shares.

A :class:`Selection` names stations by ids or MNs, a region (``stations.region``) or an area
code of the grid hierarchy (every station whose grid cell lies below it); ``None`` means
every enabled station.  :func:`select_stations` resolves it; :func:`group_stations` groups
the stations of a ``scope`` (station, region or grid).  The reads themselves live in
:mod:`aggregates.official` (official hourly, daily and period values),
:mod:`aggregates.aqi_series` (daily and real-time AQI of stations and areas, good days,
primary-pollutant shares), :mod:`aggregates.rankings` and :mod:`aggregates.heatmap`.

Every read takes an asyncpg pool (or connection) and, where rules or units matter, the
whole :class:`~store.settings.Settings` (``core.timezone`` for day boundaries,
``aggregates.unit_factors`` for AQI units, ``aggregates.standards_dir`` for operator
standards).  Days are local days of ``core.timezone``; ranges are half-open ``[start, end)``.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias, TypedDict
from zoneinfo import ZoneInfo

import asyncpg

from aggregates import queries
from aggregates.analysis import outside_plan
from aggregates.settings import AggregatesConfig
from aggregates.standards import StandardRegistry, default_registry, load_standards

__all__ = [
    "AreaFilter",
    "Db",
    "QueryError",
    "Scope",
    "Selection",
    "StationInfo",
    "factor_ids",
    "group_stations",
    "local_tz",
    "registry_for",
    "select_stations",
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


class AreaFilter(TypedDict, total=False):
    """The keywords a read passes on to :func:`aggregates.aqi_series.daily_aqi_series` or
    :func:`aggregates.rankings.ranking`: ``scope`` (default ``"station"``) and
    ``selection`` (default every enabled station)."""

    scope: Scope
    selection: Selection | None


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
    #: GB 3095 功能区类别: 1 一类区 (grade I limits), 2 二类区 (grade II)
    area_class: int = 2
    #: AQI pollutants outside the station's 应测因子 plan (HJ 633—2026 §5.3.2)
    not_monitored: frozenset[str] = frozenset()

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


def outside_every_plan(stations: Iterable[StationInfo]) -> frozenset[str]:
    """The AQI pollutants outside the monitoring plan of every one of ``stations`` (HJ
    633—2026 §5.3.2): one that any of them is meant to measure counts as missing when absent."""
    plans = [s.not_monitored for s in stations]
    return frozenset.intersection(*plans) if plans else frozenset()


def registry_for(settings: AggregatesConfig) -> StandardRegistry:
    """The standards tables: shipped ones plus ``aggregates.standards_dir`` overrides
    (read once per directory and process; restart to pick up edited override files)."""
    directory = settings.aggregates.standards_dir
    return _registry(directory) if directory else default_registry()


@functools.lru_cache(maxsize=8)
def _registry(directory: Path) -> StandardRegistry:
    return load_standards([directory])


def local_tz(settings: AggregatesConfig) -> ZoneInfo:
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
                r["area_class"],
                outside_plan(r["expected_factors"]),
            )
        )
    if sel.mns:
        unknown = set(sel.mns) - {s.mn for s in out}
        if unknown:
            raise QueryError(f"unknown station MN(s): {', '.join(sorted(unknown))}")
    return out


def group_stations(
    stations: Sequence[StationInfo], scope: Scope
) -> dict[tuple[str, str], list[StationInfo]]:
    """The stations of each entity of ``scope``, keyed and ordered by (key, name)."""
    groups: dict[tuple[str, str], list[StationInfo]] = defaultdict(list)
    for s in stations:
        k = s.key(scope)
        if k is not None:
            groups[k].append(s)
    return dict(sorted(groups.items()))
