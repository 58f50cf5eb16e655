"""Scheduled jobs of the analytics (thin entry points: ``async def run_x(pool, settings)``).

Theory of operation
-------------------
The rollups (``agg_hourly_*``) are current by construction: statement triggers in the
ingest transaction on plain PostgreSQL, continuous aggregates with real-time aggregation on
TimescaleDB.  The *official* values — ``daily_values`` (HJ 663 daily means with the ≥ 20
valid hours rule, O3 MDA8 with ≥ 14 valid windows, station-reported 2031 values preferred)
and ``monthly_values`` — need the whole hourly series of a day (window functions), so they
are derived by :func:`run_refresh`, which the scheduler calls every few minutes:

1. the days to recompute: every station's last ``aggregates.refresh_window_days`` local
   days (today included), plus the (station, day) pairs the triggers marked dirty (late
   data, reported hourly/daily values and their corrections) — taken from
   ``agg_dirty_days`` in a short transaction of its own so that the ingest never waits for
   the refresh; on TimescaleDB first :func:`aggregates.continuous.refresh_continuous`
   brings the continuous aggregates up to date over the hours late data marked
   (``agg_dirty_hours``) and adds their days;
2. ``REFRESH_DAILY_SQL`` per group of days (set-based: all the group's stations at once);
3. ``yearly_values`` for the days touched (patched in place, or rebuilt when a year has
   many refreshed days) and ``REFRESH_MONTHLY_SQL`` for the months touched.

If a refresh fails the dirty pairs are put back.  :func:`run_daily_ranking` (08:30 by
default, ``aggregates.daily_ranking_time``) refreshes the day it ranks first, so late data
that arrived before it runs is included.

The scheduler of the deployment takes the refresh from :func:`scheduled_jobs` (a
:class:`store.jobs.Job`, every ``aggregates.refresh_interval_min``); the daily ranking is
computed by the alert engine's ``daily-ranking`` job right before it pushes it (the push
needs the day's rows), ``sync_timezone`` runs once at start-up.  Cost: a refresh
recomputes ``refresh_window_days`` × stations days from their hourly values — about a
second per 1,000 stations and day on 2 cores (36,000 stations: ~70 s of database time),
so every 15–60 minutes is the sensible cadence (official values are hourly anyway).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TypeAlias
from zoneinfo import ZoneInfo

import asyncpg

from aggregates import queries
from aggregates.analysis import AQI_FACTORS, competition_ranks
from aggregates.aqi_series import AreaAqi, daily_aqi_series
from aggregates.continuous import refresh_continuous
from aggregates.metrics import AggregatesMetrics
from aggregates.periods import day_bounds
from aggregates.selection import Scope, factor_ids, select_stations
from aggregates.settings import AggregatesConfig
from aggregates.validity import (
    MIN_DAYS_FEBRUARY,
    MIN_DAYS_PER_MONTH,
    MIN_HOURS_PER_8H,
    MIN_HOURS_PER_DAY,
    MIN_MDA8_WINDOWS,
)
from store.engine import Engine, recorded_engine
from store.jobs import Job

__all__ = [
    "AggregatesError",
    "Progress",
    "refresh_days",
    "run_daily_ranking",
    "run_refresh",
    "scheduled_jobs",
    "sync_timezone",
]

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Db: TypeAlias = asyncpg.Pool | asyncpg.Connection

#: Local start hour of the last hour of the first MDA8 window (the one ending 08:00).
MDA8_FIRST_WINDOW_LAST_HOUR = 7
#: Most consecutive days refreshed by one statement.
MAX_DAYS_PER_STATEMENT = 7
#: Refreshed days of one year above which its yearly series are rebuilt, not patched.
YEARLY_REBUILD_DAYS = 31
TIMESCALEDB_TIMEZONE = "Asia/Shanghai"


class AggregatesError(RuntimeError):
    """The analytics cannot run as configured; the message says what to change."""


async def sync_timezone(db: Db, settings: AggregatesConfig, engine: Engine) -> bool:
    """Align the rollups' day boundaries with ``core.timezone`` (call at start-up).

    Plain PostgreSQL: records the zone for the triggers and the ``agg_daily_*`` views and,
    when it changed, marks every day with official values dirty (they are recomputed by
    the next :func:`run_refresh`).  Returns whether it changed.  TimescaleDB: the daily
    continuous aggregates are defined in Asia/Shanghai; another zone raises
    :class:`AggregatesError`.
    """
    tz = settings.core.timezone
    offset = datetime.now(UTC).astimezone(ZoneInfo(tz)).utcoffset()
    if offset is not None and offset.total_seconds() % 3600:
        raise AggregatesError(
            f"core.timezone {tz!r} is not a whole number of hours from UTC: the hourly"
            " rollups bucket UTC-aligned hours, so local hours would straddle two buckets"
        )
    if engine is Engine.TIMESCALEDB:
        if tz != TIMESCALEDB_TIMEZONE:
            raise AggregatesError(
                f"core.timezone is {tz!r} but the TimescaleDB daily continuous aggregates"
                f" bucket days in {TIMESCALEDB_TIMEZONE}; set core.timezone ="
                f" {TIMESCALEDB_TIMEZONE!r} or add a migration that recreates agg_daily_*"
            )
        return False
    current = await db.fetchval(queries.GET_TIMEZONE_SQL)
    if current == tz:
        return False
    await db.execute(queries.SET_TIMEZONE_SQL, tz)
    await db.execute(queries.MARK_ALL_DAYS_DIRTY_SQL)
    log.info("aggregates: day boundaries changed from %s to %s; all days marked", current, tz)
    return True


def _group_days(pairs: Iterable[tuple[int, date]]) -> list[tuple[date, date, list[int]]]:
    """(first day, end day exclusive, stations): consecutive days with the same stations."""
    by_day: dict[date, set[int]] = defaultdict(set)
    for sid, day in pairs:
        by_day[day].add(sid)
    groups: list[tuple[date, date, list[int]]] = []
    for day in sorted(by_day):
        ids = sorted(by_day[day])
        if groups:
            first, end, last_ids = groups[-1]
            if end == day and last_ids == ids and (end - first).days < MAX_DAYS_PER_STATEMENT:
                groups[-1] = (first, day + timedelta(days=1), ids)
                continue
        groups.append((day, day + timedelta(days=1), ids))
    return groups


async def refresh_days(
    db: Db,
    settings: AggregatesConfig,
    pairs: Iterable[tuple[int, date]],
    *,
    progress: Progress | None = None,
) -> int:
    """Recompute ``daily_values`` for the (station id, local day) pairs and
    ``monthly_values`` for their months; returns the daily rows written."""
    tz = ZoneInfo(settings.core.timezone)
    mda8_ids = list((await factor_ids(db, [AQI_FACTORS["O3"]])).values())
    pair_list = list(pairs)
    groups = _group_days(pair_list)
    written = 0
    months: dict[date, set[int]] = defaultdict(set)
    for n, (first, end, ids) in enumerate(groups, start=1):
        lo, hi = day_bounds(first, tz)[0], day_bounds(end, tz)[0]
        status = await db.execute(
            queries.REFRESH_DAILY_SQL,
            ids,
            lo,
            hi,
            settings.core.timezone,
            mda8_ids,
            MIN_HOURS_PER_DAY,
            MIN_HOURS_PER_8H,
            MIN_MDA8_WINDOWS,
            MDA8_FIRST_WINDOW_LAST_HOUR,
        )
        written += int(status.split()[-1])
        d = first
        while d < end:
            months[d.replace(day=1)].update(ids)
            d += timedelta(days=1)
        if progress is not None:
            progress(0.9 * n / len(groups), f"daily values {first}..{end - timedelta(days=1)}")
    await _refresh_yearly(db, pair_list)
    for n, (month, sids) in enumerate(sorted(months.items()), start=1):
        nxt = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        await db.execute(
            queries.REFRESH_MONTHLY_SQL,
            sorted(sids),
            month,
            nxt,
            MIN_DAYS_PER_MONTH,
            MIN_DAYS_FEBRUARY,
        )
        if progress is not None:
            progress(0.9 + 0.1 * n / len(months), f"monthly values {month:%Y-%m}")
    return written


async def _refresh_yearly(db: Db, pairs: Sequence[tuple[int, date]]) -> None:
    """Bring ``yearly_values`` in step with the refreshed daily values: a year with more
    than :data:`YEARLY_REBUILD_DAYS` refreshed days is rebuilt for its stations, otherwise
    the refreshed days' positions are set in place."""
    by_year: dict[int, dict[date, set[int]]] = defaultdict(lambda: defaultdict(set))
    for sid, day in pairs:
        by_year[day.year][day].add(sid)
    for year, days in sorted(by_year.items()):
        first, nxt = date(year, 1, 1), date(year + 1, 1, 1)
        if len(days) > YEARLY_REBUILD_DAYS:
            stations = sorted(set().union(*days.values()))
            await db.execute(queries.REBUILD_YEARLY_SQL, stations, year, first, nxt)
            continue
        length = (nxt - first).days
        for day, sids in sorted(days.items()):
            ids, doy = sorted(sids), day.timetuple().tm_yday
            await db.execute(queries.ENSURE_YEARLY_SQL, ids, day, year, length)
            await db.execute(queries.SET_YEARLY_DAY_SQL, ids, day, doy, year)


def _today(settings: AggregatesConfig, now: datetime | None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(settings.core.timezone)).date()


async def run_refresh(
    pool: asyncpg.Pool,
    settings: AggregatesConfig,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> int:
    """The refresh job (module docstring): trailing window + dirty days → official daily
    and monthly values.  Returns the daily rows written."""
    today = _today(settings, now)
    window = [today - timedelta(days=k) for k in range(settings.aggregates.refresh_window_days)]
    async with pool.acquire() as conn:
        engine = await recorded_engine(conn)
    late: set[tuple[int, date]] = set()
    if engine is Engine.TIMESCALEDB:
        late = await refresh_continuous(pool, settings, now or datetime.now(UTC))
    async with pool.acquire() as conn:
        station_ids = [r["id"] for r in await conn.fetch(queries.ALL_STATION_IDS_SQL)]
        async with conn.transaction():
            dirty = [(r["station_id"], r["day"]) for r in await conn.fetch(queries.TAKE_DIRTY_SQL)]
    pairs = {(sid, d) for sid in station_ids for d in window}
    pairs.update(dirty)
    pairs.update(late)
    try:
        async with pool.acquire() as conn, conn.transaction():
            written = await refresh_days(conn, settings, sorted(pairs), progress=progress)
    except BaseException:
        if dirty:
            async with pool.acquire() as conn:
                await conn.execute(
                    queries.RESTORE_DIRTY_SQL, [p[0] for p in dirty], [p[1] for p in dirty]
                )
        raise
    log.info(
        "aggregates refresh: %d daily rows (%d stations × %d days, %d late pairs)",
        written,
        len(station_ids),
        len(window),
        len(dirty),
    )
    return written


def scheduled_jobs(
    pool: asyncpg.Pool, settings: AggregatesConfig, metrics: AggregatesMetrics | None = None
) -> list[Job]:
    """The analytics' periodic work: ``aggregates-refresh`` (:func:`run_refresh`) every
    ``aggregates.refresh_interval_min``, counted in ``metrics`` when given.  The run
    returns nothing (the refresh logs)."""

    async def refresh(now: datetime) -> None:
        started = metrics.clock() if metrics is not None else 0.0
        written = await run_refresh(pool, settings)
        if metrics is not None:
            metrics.refreshed(started, written)

    every_s = settings.aggregates.refresh_interval_min * 60.0
    return [Job("aggregates-refresh", refresh, every_s=every_s, misfire_grace_s=300.0)]


def _ranking_rows(scope: Scope, items: Sequence[AreaAqi]) -> list[tuple[object, ...]]:
    ranks = competition_ranks([a.result.aqi for a in items])
    rows: list[tuple[object, ...]] = []
    order = sorted(range(len(items)), key=lambda i: (ranks[i] is None, ranks[i] or 0, items[i].key))
    for i in order:
        a, r = items[i], items[i].result
        aqci = a.aqci.aqci if a.aqci is not None else None
        rows.append(
            (
                scope,
                a.key,
                a.name,
                ranks[i],
                r.aqi,
                r.level,
                ",".join(r.primary),
                aqci,
                a.valid,
                r.category,
                r.color,
                a.n_stations,
                r.standard,
            )
        )
    return rows


async def run_daily_ranking(
    pool: asyncpg.Pool, settings: AggregatesConfig, day: date | None = None
) -> int:
    """Compute the daily AQI ranking of ``day`` (default: yesterday, local) for every
    station, region and grid and store it in ``daily_rankings`` (replacing that day's
    rows); returns the number of rows written.

    Contract (read by the notifiers): ``daily_rankings(day, scope, scope_key, scope_name,
    rank, aqi, level, primary_pollutants, aqci, valid, computed_at, …)``, one row per
    (day, scope ∈ station|region|grid, scope_key = MN | region name | grid area code);
    rank 1 = lowest AQI, ties share a rank, no AQI → rank NULL; ``valid`` = all six
    pollutants had valid daily values; ``aqci`` = the day's composite index.
    """
    if day is None:
        day = _today(settings, None) - timedelta(days=1)
    async with pool.acquire() as conn:
        stations = await select_stations(conn)
        async with conn.transaction():
            await refresh_days(conn, settings, [(s.id, day) for s in stations])
        rows: list[tuple[object, ...]] = []
        for scope in ("station", "region", "grid"):
            series = await daily_aqi_series(
                conn,
                settings,
                day,
                day + timedelta(days=1),
                scope=scope,
                stations=stations,
                with_aqci=True,
            )
            items = [v[0] for v in series.values() if v]
            rows += _ranking_rows(scope, items)
        async with conn.transaction():
            await conn.execute(queries.DELETE_RANKINGS_SQL, day)
            if rows:
                columns = [list(c) for c in zip(*rows, strict=True)]
                await conn.execute(queries.INSERT_RANKINGS_SQL, day, *columns)
    log.info("daily ranking %s: %d rows", day, len(rows))
    return len(rows)
