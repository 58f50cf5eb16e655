"""Handlers of the data audit (thin: validate, one call into :mod:`aggregates.audit`,
serialise).  Every station is looked up within the caller's data scope; actions are
recorded as the dashboard user."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from aggregates.audit import Actor, AuditRequest, apply, hour_range, log_entries
from aggregates.audit import proposals as pre_audit
from aggregates.audit.model import Action
from protocol.factors import FACTORS
from web import context
from web.params import (
    body_str,
    json_body,
    opt_choice,
    opt_int,
    opt_str,
    opt_time,
    time_window,
)
from web.responses import ApiError, json_response
from web.stations.handlers import scoped_station

from . import queries

MAX_HOURS_WINDOW = timedelta(days=93)
MAX_IDS = 5000
STATUSES = ("open", "confirmed", "dismissed")


def _actor(request: web.Request) -> Actor:
    user = context.caller(request)
    return Actor(user.username, "web", user.user_id)


def _scope(request: web.Request) -> list[int] | None:
    return context.caller(request).scope_param


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, "bad_parameter", message, parameter=name)


def _instant(body: dict[str, Any], name: str) -> datetime:
    raw = body_str(body, name, required=True, max_len=40)
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise _bad(name, "应为 ISO 8601 时间，如 2024-03-01T08:00:00+08:00") from None
    if value.tzinfo is None:
        raise _bad(name, "需要带时区，如 +08:00")
    return value


def _codes(body: dict[str, Any]) -> tuple[str, ...]:
    raw = body.get("factors") or []
    if not isinstance(raw, list) or not all(isinstance(c, str) and 0 < len(c) <= 12 for c in raw):
        raise _bad("factors", "应为因子编码列表")
    return tuple(dict.fromkeys(raw))


def _ids(body: dict[str, Any]) -> list[int]:
    raw = body.get("ids")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_IDS:
        raise _bad("ids", f"应为 1–{MAX_IDS} 个预审核编号")
    if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in raw):
        raise _bad("ids", "编号应为正整数")
    return raw


def _named(entry: dict[str, Any]) -> dict[str, Any]:
    """A log entry with the factors' Chinese names beside their codes (the dashboard shows
    names)."""
    names = [FACTORS[c].name_zh if c in FACTORS else c for c in entry["factors"]]
    return {**entry, "factor_names": names}


async def station_hours(request: web.Request) -> web.Response:
    """Official hours of a station with their audit state: raw and audited side by side."""
    start, end = time_window(request.query, timedelta(days=1), MAX_HOURS_WINDOW)
    factor = opt_str(request.query, "factor", max_len=200)
    codes = [c for c in factor.split(",") if c] if factor else None
    async with context.pool(request).acquire() as conn:
        station = await scoped_station(conn, request)
        rows = await queries.hours(conn, station["id"], start, end, codes)
    return json_response({"station_id": station["id"], "from": start, "to": end, "series": rows})


async def station_action(request: web.Request) -> web.Response:
    """标记无效 / 恢复 for the station of the path (``data:audit``)."""
    body = await json_body(request)
    action = body_str(body, "action", required=True, max_len=12)
    if action not in ("invalidate", "restore"):
        raise _bad("action", "action 应为 invalidate 或 restore")
    first, last = _instant(body, "from"), _instant(body, "to")
    async with context.pool(request).acquire() as conn:
        station = await scoped_station(conn, request)
        start, end = hour_range(first, last)
        req = AuditRequest(
            station["mn"],
            start,
            end,
            _codes(body),
            body_str(body, "reason", max_len=200) or "",
            body_str(body, "note", max_len=2000) or "",
        )
        verb: Action = "invalidate" if action == "invalidate" else "restore"
        entry = await apply(conn, verb, req, _actor(request), scope=_scope(request))
    context.audit(request, station=station["mn"], action=action, log_id=entry.id)
    return json_response(_named(entry.to_json()))


async def audit_log(request: web.Request) -> web.Response:
    q = request.query
    station = opt_int(q, "station", minimum=1, maximum=2_147_483_647)
    limit = opt_int(q, "limit", minimum=1, maximum=1000) or 200
    async with context.pool(request).acquire() as conn:
        entries = await log_entries(
            conn,
            station_ids=None if station is None else [station],
            start=opt_time(q, "from"),
            end=opt_time(q, "to"),
            scope=_scope(request),
            limit=limit,
        )
    return json_response({"items": [_named(e.to_json()) for e in entries]})


async def list_proposals(request: web.Request) -> web.Response:
    q = request.query
    status = opt_choice(q, "status", STATUSES) or "open"
    station = opt_int(q, "station", minimum=1, maximum=2_147_483_647)
    limit = opt_int(q, "limit", minimum=1, maximum=MAX_IDS) or 500
    async with context.pool(request).acquire() as conn:
        items = await pre_audit.open_proposals(
            conn, status=status, scope=_scope(request), station_id=station, limit=limit
        )
    return json_response({"items": items})


async def confirm_proposals(request: web.Request) -> web.Response:
    ids = _ids(await json_body(request))
    async with context.pool(request).acquire() as conn:
        n, logs = await pre_audit.confirm(conn, ids, _actor(request), scope=_scope(request))
    context.audit(request, confirmed=n, log_ids=logs)
    return json_response({"confirmed": n, "log_ids": logs})


async def dismiss_proposals(request: web.Request) -> web.Response:
    ids = _ids(await json_body(request))
    async with context.pool(request).acquire() as conn:
        n = await pre_audit.dismiss(conn, ids, _actor(request), scope=_scope(request))
    context.audit(request, dismissed=n)
    return json_response({"dismissed": n})
