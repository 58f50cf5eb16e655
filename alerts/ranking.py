"""The daily ranking push (08:30 Asia/Shanghai by default): each responsible person gets
the ranks of what they are responsible for.

The ranking itself belongs to the aggregates module: the scheduled job
(:func:`rank_and_push`) refreshes the official values (``aggregates.jobs.run_refresh``),
has ``aggregates.jobs.run_daily_ranking`` rank yesterday, then reads ``daily_rankings``
for yesterday (local day) and queues one message per receiver with responsibilities:

* ``station`` scope: that station's line (``daily_rankings.scope_key`` is the MN; a
  station id is accepted too);
* ``region`` scope: the region's line, then its stations (best first);
* ``area`` scope: the lines of the grids in that area (``scope_key`` = area code), then
  its stations;
* ``all`` scope: every region.

Lists are capped at ``alerts.message_max_items``.  The idempotency key is (day,
receiver), so a restart or a second run never sends the day's ranking twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from aggregates.jobs import run_daily_ranking, run_refresh
from aggregates.standards_used import unverified_mark
from alerts.settings import AlertsConfig

from . import queries
from .config import AlertConfig
from .outbox import idempotency_key, queue_message
from .templates import RankingLine, render_ranking

__all__ = ["push_daily_ranking", "rank_and_push", "yesterday"]

log = logging.getLogger(__name__)


def yesterday(config: AlertConfig, now: datetime | None = None) -> date:
    local = (now or datetime.now(config.tz)).astimezone(config.tz)
    return local.date() - timedelta(days=1)


async def rank_and_push(pool: asyncpg.Pool, settings: AlertsConfig, config: AlertConfig) -> int:
    """The ``daily-ranking`` job: the official values refreshed, yesterday ranked
    (aggregates), the ranking pushed; returns the messages queued."""
    await run_refresh(pool, settings)
    await run_daily_ranking(pool, settings)
    return await push_daily_ranking(pool, config, yesterday(config))


def _line(row: Mapping[str, Any], standard: str) -> RankingLine:
    """A stored ranking row as a message line; ``standard``: the code of the HJ 633 table
    of the day, for rows stored without one."""
    return RankingLine(
        row["scope"],
        row["scope_name"] or row["scope_key"],
        row["rank"],
        row["aqi"],
        row["level"],
        tuple(row["primary_pollutants"] or ()),
        bool(row["valid"]),
        row["standard"] or standard,
    )


def _best_first(rows: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["scope_key"]))


async def push_daily_ranking(
    conn: asyncpg.Pool | asyncpg.Connection, config: AlertConfig, day: date
) -> int:
    """Queue the ranking messages of ``day``; returns how many were queued."""
    if not await conn.fetchval(queries.RANKINGS_TABLE_EXISTS_SQL):
        log.warning("daily ranking push: table daily_rankings does not exist (aggregates)")
        return 0
    rows = await conn.fetch(queries.LOAD_RANKINGS_SQL, day)
    if not rows:
        log.warning("daily ranking push: no rankings stored for %s", day.isoformat())
        return 0
    by_scope: dict[tuple[str, str], Mapping[str, Any]] = {}
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        by_scope[(r["scope"], r["scope_key"])] = r
        totals[r["scope"]] += 1
    stations_of_region: dict[str, list[int]] = defaultdict(list)
    stations_of_area: dict[int, list[int]] = defaultdict(list)
    grids_of_area: dict[int, set[int]] = defaultdict(set)
    for station in config.stations.values():
        stations_of_region[station.region].append(station.id)
        for area in station.areas:
            stations_of_area[area].append(station.id)
            if station.grid_id is not None:
                grids_of_area[area].add(station.grid_id)

    def station_row(station_id: int) -> Mapping[str, Any] | None:
        info = config.stations.get(station_id)
        row = by_scope.get(("station", info.mn)) if info is not None else None
        return row if row is not None else by_scope.get(("station", str(station_id)))

    def grid_rows(area: int) -> list[Mapping[str, Any]]:
        out = []
        for grid in grids_of_area.get(area, ()):
            for key in (config.area_codes.get(grid), str(grid)):
                if key is not None and ("grid", key) in by_scope:
                    out.append(by_scope[("grid", key)])
                    break
        return out

    wanted: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for receiver_id, _role, scope, key in config.responsibility_rows:
        out = wanted[receiver_id]
        if scope == "station" and key.isascii() and key.isdigit():
            found = station_row(int(key))
            if found is not None:
                out.append(found)
        elif scope == "region":
            if ("region", key) in by_scope:
                out.append(by_scope[("region", key)])
            out += _best_first(
                [r for s in stations_of_region.get(key, []) if (r := station_row(s)) is not None]
            )
        elif scope == "area" and key.isascii() and key.isdigit():
            area = int(key)
            out += _best_first(
                [
                    by_scope[("grid", str(g))]
                    for g in grids_of_area.get(area, ())
                    if ("grid", str(g)) in by_scope
                ]
            )
            out += _best_first(
                [r for s in stations_of_area.get(area, []) if (r := station_row(s)) is not None]
            )
        elif scope == "all":
            out += _best_first([r for (sc, _), r in by_scope.items() if sc == "region"])
    queued = 0
    limit = config.alerts.message_max_items
    standard = config.registry.aqi_table(day).code
    mark = unverified_mark(config.registry.aqci(day))  # the ranking rules (HJ 663)
    notes = [f"注：{mark['code']} {mark['mark']}：{mark['reason']}。"] if mark else []
    for receiver_id, items in sorted(wanted.items()):
        receiver = config.receivers.get(receiver_id)
        if receiver is None or not receiver.enabled or not items:
            continue
        seen: set[tuple[str, str]] = set()
        lines = []
        for r in items:
            ident = (r["scope"], r["scope_key"])
            if ident not in seen:
                seen.add(ident)
                lines.append(_line(r, standard))
        message = render_ranking(day, receiver.name, lines[:limit], totals, notes=notes)
        key = idempotency_key("ranking", day.isoformat(), receiver_id)
        if await queue_message(conn, key=key, receiver=receiver, kind="ranking", message=message):
            queued += 1
    log.info("daily ranking push for %s: %d messages queued", day.isoformat(), queued)
    return queued
