"""TimescaleDB: envgrid's own refresh of the continuous aggregates.

Correctness never depends on TimescaleDB's background jobs.  At every run of the
analytics' refresh (:func:`aggregates.jobs.run_refresh`) :func:`refresh_continuous`

1. takes the (station, hour) pairs that late writes marked (``agg_dirty_hours``,
   migration 0045) in a short transaction of its own;
2. refreshes the hourly continuous aggregates over the recent window
   (``database.rollup_refresh_days`` up to the current hour) and over the marked hours,
   merged into a few windows (``refresh_continuous_aggregate`` recomputes only the
   invalidated parts of a window, so wide windows cost little);
3. refreshes the daily aggregates (built on the hourly ones) over the local days of
   those windows;
4. returns the (station, local day) pairs of the marked hours, whose official values the
   caller recomputes.

A window never reaches back past the raw data retention keeps (``store.partitions``
records from when each raw table is complete): refreshing a range whose raw chunks were
dropped would recompute its rollups from nothing.  Marked hours older than that are
dropped from the refresh with a warning.  On failure the marked hours are put back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import asyncpg

from aggregates import queries
from aggregates.settings import AggregatesConfig

__all__ = ["HOURLY", "merge_hours", "refresh_continuous"]

log = logging.getLogger(__name__)

#: Hourly continuous aggregates and the raw hypertable each is computed from.
HOURLY: Final = (
    ("agg_hourly_rtd", "measurements_rtd"),
    ("agg_hourly_minute", "measurements_minute"),
)
#: Daily continuous aggregates (on the hourly ones).
DAILY: Final = ("agg_daily_rtd", "agg_daily_minute")
#: Marked hours closer than this are refreshed in one window.
MERGE_GAP: Final = timedelta(days=7)
#: A refresh that collides with one of TimescaleDB's own jobs is retried this often.
ATTEMPTS: Final = 5

Window = tuple[datetime, datetime]


def merge_hours(hours: Iterable[datetime], gap: timedelta = MERGE_GAP) -> list[Window]:
    """[start, end) windows covering ``hours`` (hour starts), neighbours closer than
    ``gap`` merged."""
    windows: list[Window] = []
    for hour in sorted(set(hours)):
        end = hour + timedelta(hours=1)
        if windows and hour - windows[-1][1] < gap:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((hour, end))
    return windows


def clip(windows: Sequence[Window], kept_from: datetime | None) -> list[Window]:
    """``windows`` cut to start at ``kept_from`` (where the raw data is complete)."""
    if kept_from is None:
        return list(windows)
    return [(max(lo, kept_from), hi) for lo, hi in windows if hi > kept_from]


def local_days(windows: Sequence[Window], tz: ZoneInfo) -> list[Window]:
    """The windows widened to whole local days (the daily aggregates' buckets)."""
    days: list[Window] = []
    for lo, hi in windows:
        first = datetime.combine(lo.astimezone(tz).date(), datetime.min.time(), tz)
        last = (hi - timedelta(microseconds=1)).astimezone(tz).date() + timedelta(days=1)
        days.append((first, datetime.combine(last, datetime.min.time(), tz)))
    return days


async def _refresh(conn: asyncpg.Connection, view: str, window: Window) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await conn.execute(queries.REFRESH_CONTINUOUS_SQL, view, *window)
            return
        except asyncpg.PostgresError as exc:
            if "concurrent refresh" not in str(exc) or attempt == ATTEMPTS:
                raise
            await asyncio.sleep(attempt)


async def _kept_from(conn: asyncpg.Connection, table: str) -> datetime | None:
    value: datetime | None = await conn.fetchval(queries.RAW_KEPT_FROM_SQL, table)
    if value is None:
        return None
    return value.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


async def refresh_continuous(
    pool: asyncpg.Pool, settings: AggregatesConfig, now: datetime
) -> set[tuple[int, date]]:
    """Steps 1–4 of the module docstring; returns the (station, local day) pairs."""
    tz = ZoneInfo(settings.core.timezone)
    async with pool.acquire() as conn:
        async with conn.transaction():
            marked = [
                (r["station_id"], r["hour"]) for r in await conn.fetch(queries.TAKE_DIRTY_HOURS_SQL)
            ]
        try:
            hour = now.replace(minute=0, second=0, microsecond=0)
            recent = (hour - timedelta(days=settings.database.rollup_refresh_days), hour)
            wanted = [recent, *merge_hours(h for _, h in marked)]
            refreshed: set[Window] = set()
            for view, table in HOURLY:
                kept_from = await _kept_from(conn, table)
                for window in clip(wanted, kept_from):
                    await _refresh(conn, view, window)
                    refreshed.add(window)
                lost = sum(1 for _, h in marked if kept_from is not None and h < kept_from)
                if lost:
                    log.warning(
                        "%d late (station, hour) pairs are older than the raw data %s keeps"
                        " (complete from %s): their hourly rollups in %s stay as they were",
                        lost,
                        table,
                        kept_from,
                        view,
                    )
            for view in DAILY:
                for window in sorted(set(local_days(sorted(refreshed), tz))):
                    await _refresh(conn, view, window)
        except BaseException:
            if marked:
                await conn.execute(
                    queries.RESTORE_DIRTY_HOURS_SQL, [m[0] for m in marked], [m[1] for m in marked]
                )
            raise
    if marked:
        log.info("continuous aggregates: refreshed %d late (station, hour) pairs", len(marked))
    return {(sid, h.astimezone(tz).date()) for sid, h in marked}
