"""Invalidate and restore official hours, and read the audit log.

Theory of operation
-------------------
One action is one transaction on one station (serialised per station by an advisory
lock): the official hours of the range are read through ``hourly_values`` (which already
applies the present marks), the log row is written with the before/after validity of each
hour whose state changes, the marks are inserted (invalidate: every hour of the range and
factor, with or without a value — data arriving later for an invalidated hour stays
invalid) or deleted (restore), and the local days of the range are marked dirty in
``agg_dirty_days``, from which :func:`aggregates.jobs.run_refresh` recomputes the daily,
monthly and yearly values at its next run (every ``aggregates.refresh_interval_min``, both
engines: the audit is applied in the ``hourly_values`` view that the refresh reads, not
in the rollups).  Nothing in ``measurements_*`` or the rollups is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from . import queries
from .model import Action, Actor, AuditError, AuditRequest, LogEntry

__all__ = ["StationNotFound", "apply", "changes_since", "invalidate", "log_entries", "restore"]

RESTORE_REASON = "恢复有效"


class StationNotFound(AuditError):
    """The MN names no station (or none within the caller's data scope)."""


async def _station(conn: asyncpg.Connection, mn: str, scope: Sequence[int] | None) -> Any:
    st = await conn.fetchrow(queries.STATION_BY_MN_SQL, mn)
    if st is not None and scope is not None:
        inside = await conn.fetchval(queries.IN_SCOPE_SQL, st["id"], list(scope))
        st = st if inside else None
    if st is None:
        raise StationNotFound(f"站点不存在或不在您的数据范围内：{mn}")
    return st


async def _factors(conn: asyncpg.Connection, st: Any, req: AuditRequest) -> dict[int, str]:
    if req.factors:
        rows = await conn.fetch(queries.FACTORS_BY_CODE_SQL, list(req.factors))
        known = {r["code"]: r["id"] for r in rows}
        unknown = [c for c in req.factors if c not in known]
        if unknown:
            raise AuditError(f"未知的因子编码：{', '.join(unknown)}")
        return {known[c]: c for c in req.factors}
    rows = await conn.fetch(
        queries.STATION_FACTORS_SQL, st["id"], req.start, req.end, list(st["expected_factors"])
    )
    if not rows:
        raise AuditError("该站点在所选时段没有数据，请指定因子")
    return {r["id"]: r["code"] for r in rows}


def _hour_count(req: AuditRequest) -> int:
    return (req.end - req.start) // timedelta(hours=1)


async def apply(
    conn: asyncpg.Connection,
    action: Action,
    req: AuditRequest,
    actor: Actor,
    *,
    source: str = "manual",
    scope: Sequence[int] | None = None,
) -> LogEntry:
    """Invalidate or restore ``req`` for ``actor`` (see the module docstring); ``scope``:
    the caller's data scope (area ids; None = everything).  Raises :class:`AuditError`
    when nothing would change."""
    reason = req.reason.strip()
    if action == "invalidate" and not reason:
        raise AuditError("请填写标记无效的原因")
    reason = reason or RESTORE_REASON
    async with conn.transaction():
        st = await _station(conn, req.mn, scope)
        sid = st["id"]
        await conn.execute(queries.LOCK_STATION_SQL, sid)
        factors = await _factors(conn, st, req)
        ids = list(factors)
        hours = await conn.fetch(queries.HOURS_SQL, sid, ids, req.start, req.end)
        marked = {
            (r["factor_id"], r["hour"])
            for r in await conn.fetch(queries.MARKED_SQL, sid, ids, req.start, req.end)
        }
        changes: list[dict[str, Any]] = []
        for h in sorted(hours, key=lambda r: (factors[r["factor_id"]], r["ts"])):
            if ((h["factor_id"], h["ts"]) in marked) != (action == "restore"):
                continue
            before, after = (
                (h["raw_valid"], False) if action == "invalidate" else (False, h["raw_valid"])
            )
            changes.append(
                {
                    "factor": factors[h["factor_id"]],
                    "hour": h["ts"].isoformat(),
                    "value": h["value"],
                    "before": before,
                    "after": after,
                }
            )
        if action == "invalidate":
            n_changed = _hour_count(req) * len(ids) - len(marked)
            if n_changed == 0:
                raise AuditError("所选数据已全部标记为无效")
        else:
            n_changed = len(marked)
            if n_changed == 0:
                raise AuditError("所选范围内没有被标记无效的数据，无需恢复")
        row = await conn.fetchrow(
            queries.INSERT_LOG_SQL,
            actor.name,
            actor.kind,
            actor.user_id,
            action,
            sid,
            st["mn"],
            list(req.factors) or sorted(factors.values()),
            req.start,
            req.end,
            reason,
            req.note.strip(),
            source,
            n_changed,
            changes,
        )
        if action == "invalidate":
            await conn.execute(
                queries.INSERT_MARKS_SQL, sid, ids, req.start, req.end, row["id"], reason
            )
        else:
            await conn.execute(queries.DELETE_MARKS_SQL, sid, ids, req.start, req.end)
        await conn.execute(queries.MARK_DAYS_DIRTY_SQL, sid, req.start, req.end)
    return LogEntry.from_record(row)


async def invalidate(
    conn: asyncpg.Connection, req: AuditRequest, actor: Actor, **kw: Any
) -> LogEntry:
    return await apply(conn, "invalidate", req, actor, **kw)


async def restore(conn: asyncpg.Connection, req: AuditRequest, actor: Actor, **kw: Any) -> LogEntry:
    return await apply(conn, "restore", req, actor, **kw)


async def log_entries(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    station_ids: Sequence[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    scope: Sequence[int] | None = None,
    limit: int = 500,
) -> list[LogEntry]:
    """Log rows, newest first: of ``station_ids`` (None: all), whose range overlaps
    [``start``, ``end``), within ``scope``."""
    rows = await conn.fetch(
        queries.LOG_SQL,
        None if station_ids is None else list(station_ids),
        start,
        end,
        None if scope is None else list(scope),
        limit,
    )
    return [LogEntry.from_record(r) for r in rows]


async def changes_since(
    conn: asyncpg.Connection, after_id: int, limit: int = 1000
) -> list[LogEntry]:
    """Audit actions with an id above ``after_id``, oldest first — the feed for modules
    that pass corrections on (forwarding to upstream platforms keeps its own cursor)."""
    rows = await conn.fetch(queries.CHANGES_SINCE_SQL, after_id, limit)
    return [LogEntry.from_record(r) for r in rows]
