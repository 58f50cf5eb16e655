"""Automatic pre-audit (预审核): findings are proposed, never applied; an officer confirms
them in bulk (each confirmed proposal becomes an invalidation in the audit log, source
``proposal``) or dismisses them.

Rules (:func:`find`, pure), over the valid, not yet audited official hours:

* ``negative`` — a concentration below zero (the factors of ``instrument_ranges.json``);
* ``range`` — above the analyser's measuring range (same file);
* ``calibration`` — a computed hour that still counts as valid although some of its
  samples carry the station's own calibration (C) or maintenance (M) flag;
* ``pm25_gt_pm10`` — PM2.5 above PM10 in the same hour (both values proposed).

:func:`scan` runs the rules over a time range and stores new findings (a finding is
stored once: unique per station, factor, hour and rule, whatever its later status); the
scheduled job ``audit-prescan`` scans the last :data:`SCAN_DAYS` days.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import asyncpg

from store.jobs import Job

from . import queries
from .actions import apply
from .model import Actor, AuditError, AuditRequest

__all__ = [
    "RULES",
    "SCAN_DAYS",
    "Finding",
    "HourValue",
    "Range",
    "confirm",
    "dismiss",
    "find",
    "instrument_ranges",
    "open_proposals",
    "scan",
    "scheduled_jobs",
]

#: Rule → the reason an invalidation of a confirmed proposal records.
RULES: Mapping[str, str] = {
    "negative": "负值",
    "range": "超出仪器量程",
    "calibration": "校准/维护期间数据",
    "pm25_gt_pm10": "PM2.5 大于 PM10",
}
PM25, PM10 = "a34004", "a34002"
SCAN_DAYS = 2
SCAN_EVERY_S = 900.0
#: Stations per scan statement (bounded memory on a large network).
SCAN_BATCH = 500


@dataclass(frozen=True, slots=True)
class Range:
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class HourValue:
    station_id: int
    factor_id: int
    code: str
    hour: datetime
    value: float
    n_flag_c: int = 0
    n_flag_m: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    station_id: int
    factor_id: int
    hour: datetime
    rule: str
    value: float
    detail: str


@cache
def instrument_ranges() -> Mapping[str, Range]:
    """Factor code → measuring range (``instrument_ranges.json``)."""
    text = resources.files(__package__).joinpath("instrument_ranges.json").read_text("utf-8")
    data = json.loads(text)["ranges"]
    return {code: Range(float(r["min"]), float(r["max"])) for code, r in data.items()}


def _num(v: float) -> str:
    return f"{v:g}"


def find(
    hours: Iterable[HourValue],
    ranges: Mapping[str, Range],
    unit_factors: Mapping[str, float] | None = None,
) -> list[Finding]:
    """The findings of the rules (module docstring) over valid official hours; values are
    compared in the ranges' units (stored value × ``aggregates.unit_factors``)."""
    out: list[Finding] = []
    pm: dict[tuple[int, datetime], dict[str, HourValue]] = defaultdict(dict)
    scale = unit_factors or {}
    for h in hours:
        r = ranges.get(h.code)
        v = h.value * scale.get(h.code, 1.0)
        if r is not None and v < 0:
            out.append(
                Finding(
                    h.station_id,
                    h.factor_id,
                    h.hour,
                    "negative",
                    h.value,
                    f"数值 {_num(h.value)} 为负",
                )
            )
        elif r is not None and v > r.high:
            out.append(
                Finding(
                    h.station_id,
                    h.factor_id,
                    h.hour,
                    "range",
                    h.value,
                    f"数值 {_num(h.value)} 超出量程 {_num(r.low)}–{_num(r.high)}",
                )
            )
        if h.n_flag_c or h.n_flag_m:
            parts = [f"校准(C) {h.n_flag_c} 条"] * bool(h.n_flag_c) + [
                f"维护(M) {h.n_flag_m} 条"
            ] * bool(h.n_flag_m)
            out.append(
                Finding(
                    h.station_id,
                    h.factor_id,
                    h.hour,
                    "calibration",
                    h.value,
                    "该小时含" + "、".join(parts),
                )
            )
        if h.code in (PM25, PM10):
            pm[(h.station_id, h.hour)][h.code] = h
    for pair in pm.values():
        fine, coarse = pair.get(PM25), pair.get(PM10)
        if fine is None or coarse is None:
            continue
        if fine.value * scale.get(PM25, 1.0) > coarse.value * scale.get(PM10, 1.0):
            detail = f"PM2.5 {_num(fine.value)} > PM10 {_num(coarse.value)}"
            for h in (fine, coarse):
                out.append(
                    Finding(h.station_id, h.factor_id, h.hour, "pm25_gt_pm10", h.value, detail)
                )
    return out


async def scan(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    station_ids: Sequence[int] | None = None,
    *,
    unit_factors: Mapping[str, float] | None = None,
) -> int:
    """Store the findings of [``start``, ``end``) (all stations when ``station_ids`` is
    None); returns how many were new."""
    if station_ids is None:
        station_ids = [r["id"] for r in await conn.fetch(queries.ALL_STATIONS_SQL)]
    ranges = instrument_ranges()
    new = 0
    for k in range(0, len(station_ids), SCAN_BATCH):
        batch = list(station_ids[k : k + SCAN_BATCH])
        rows = await conn.fetch(queries.SCAN_HOURS_SQL, batch, start, end)
        found = find(
            (
                HourValue(
                    r["station_id"],
                    r["factor_id"],
                    r["code"],
                    r["ts"],
                    r["value"],
                    r["n_flag_c"],
                    r["n_flag_m"],
                )
                for r in rows
            ),
            ranges,
            unit_factors,
        )
        if found:
            status = await conn.execute(
                queries.INSERT_PROPOSALS_SQL,
                [f.station_id for f in found],
                [f.factor_id for f in found],
                [f.hour for f in found],
                [f.rule for f in found],
                [f.value for f in found],
                [f.detail for f in found],
            )
            new += int(status.split()[-1])
    return new


async def open_proposals(
    conn: asyncpg.Connection,
    *,
    status: str = "open",
    scope: Sequence[int] | None = None,
    station_id: int | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        queries.PROPOSALS_SQL, status, None if scope is None else list(scope), station_id, limit
    )
    return [{**dict(r), "rule_name": RULES[r["rule"]]} for r in rows]


async def confirm(
    conn: asyncpg.Connection,
    ids: Sequence[int],
    actor: Actor,
    *,
    scope: Sequence[int] | None = None,
) -> tuple[int, list[int]]:
    """Confirm the open proposals ``ids`` (within ``scope``): each becomes an invalidation
    of its hour (one log row per station, factor and rule and run of consecutive hours).
    Returns (proposals confirmed, log ids)."""
    log_ids: list[int] = []
    async with conn.transaction():
        rows = await conn.fetch(
            queries.TAKE_PROPOSALS_SQL, list(ids), None if scope is None else list(scope)
        )
        runs: list[list[Any]] = []
        for r in sorted(rows, key=lambda r: (r["station_id"], r["code"], r["rule"], r["hour"])):
            last = runs[-1][-1] if runs else None
            if (
                last is not None
                and (last["station_id"], last["code"], last["rule"])
                == (r["station_id"], r["code"], r["rule"])
                and r["hour"] - last["hour"] == timedelta(hours=1)
            ):
                runs[-1].append(r)
            else:
                runs.append([r])
        decided: list[tuple[int, int | None]] = []
        for run in runs:
            first = run[0]
            req = AuditRequest(
                first["mn"],
                first["hour"],
                run[-1]["hour"] + timedelta(hours=1),
                (first["code"],),
                RULES[first["rule"]],
                "预审核：" + "；".join(sorted({r["detail"] for r in run}))[:1900],
            )
            try:
                entry = await apply(conn, "invalidate", req, actor, source="proposal", scope=scope)
            except AuditError:  # already invalidated by another action: nothing to log
                log_id = None
            else:
                log_id = entry.id
                log_ids.append(entry.id)
            decided += [(r["id"], log_id) for r in run]
        await conn.execute(
            queries.DECIDE_PROPOSALS_SQL,
            [d[0] for d in decided],
            "confirmed",
            actor.name,
            [d[1] for d in decided],
        )
    return len(decided), log_ids


async def dismiss(
    conn: asyncpg.Connection,
    ids: Sequence[int],
    actor: Actor,
    *,
    scope: Sequence[int] | None = None,
) -> int:
    """Dismiss the open proposals ``ids`` (within ``scope``); returns how many."""
    async with conn.transaction():
        rows = await conn.fetch(
            queries.TAKE_PROPOSALS_SQL, list(ids), None if scope is None else list(scope)
        )
        await conn.execute(
            queries.DECIDE_PROPOSALS_SQL,
            [r["id"] for r in rows],
            "dismissed",
            actor.name,
            [None] * len(rows),
        )
    return len(rows)


def scheduled_jobs(
    pool: asyncpg.Pool, unit_factors: Mapping[str, float] | None = None
) -> list[Job]:
    """``audit-prescan``: the rules over the last :data:`SCAN_DAYS` days, every 15 min
    (``unit_factors``: ``aggregates.unit_factors``)."""

    async def prescan(now: datetime) -> int:
        async with pool.acquire() as conn:
            return await scan(conn, now - timedelta(days=SCAN_DAYS), now, unit_factors=unit_factors)

    return [Job("audit-prescan", prescan, every_s=SCAN_EVERY_S, misfire_grace_s=300.0)]
