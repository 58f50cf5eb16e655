"""Handlers of the stations module (thin: validate, one query/service call, serialise)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from aggregates.analysis import outside_plan
from alerts import api as alerts_api
from protocol.factors import FACTORS
from protocol.redact import mask_fields
from store import commands as store_commands
from store.secretbox import box_for
from web import context
from web.aqi_view import aqi_texts
from web.keys import MAP_CACHE_KEY
from web.map import queries as map_queries
from web.map.aqi import AIR_FACTORS, current_aqi, evaluator
from web.map.service import last_complete_hour
from web.params import (
    body_bool,
    body_float,
    body_int,
    body_str,
    json_body,
    opt_choice,
    opt_int,
    opt_str,
    paging,
    path_int,
    time_window,
)
from web.responses import ApiError, json_response
from web.standards import limits_heading, unverified_notes

from . import queries
from .command_words import command_view
from .service import EXCLUDED_FLAGS, factor_info, gb3095_limit, latest_view, series_payload

STATUSES = ("online", "offline", "disabled")
SERIES_KINDS = ("rtd", "minute", "hour", "day")
#: Preset views of the station page (the reference platform's three views).
VIEWS = {"hour": (timedelta(hours=1), "rtd", 0), "day": (timedelta(hours=24), "rtd", 300)}
MAX_POINTS = 20_000


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "站点不存在或不在您的数据范围内")


async def scoped_station(conn: asyncpg.Connection, request: web.Request) -> asyncpg.Record:
    """The station of the path's ``{id}`` if it is in the caller's scope, else 404."""
    row = await queries.in_scope(conn, path_int(request), context.caller(request).scope_param)
    if row is None:
        raise _not_found()
    return row


@asynccontextmanager
async def _station_conn(
    request: web.Request,
) -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Record]]:
    """A pooled connection and the path's station (404 outside the caller's scope)."""
    async with context.pool(request).acquire() as conn:
        yield conn, await scoped_station(conn, request)


async def _station_listing(
    request: web.Request, listing: str, filters: dict[str, str | int | None], default_limit: int
) -> dict[str, Any]:
    """One page of ``listing`` (see ``queries.LISTINGS``) in the caller's scope: items,
    total, limit and offset."""
    s = context.settings(request).web
    page = paging(request.query, s.page_size_max, default=default_limit)
    async with context.pool(request).acquire() as conn:
        items, total = await queries.station_listing(
            conn,
            listing,
            context.caller(request).scope_param,
            s.online_window_s,
            filters,
            page.limit,
            page.offset,
        )
    return page.wrap(items, total)


async def list_stations(request: web.Request) -> web.Response:
    q = request.query
    filters: dict[str, str | int | None] = {
        "q": opt_str(q, "q"),
        "st": opt_str(q, "st", max_len=4),
        "region": opt_str(q, "region"),
        "area": opt_int(q, "area", minimum=1),
        "status": opt_choice(q, "status", STATUSES),
    }
    return json_response(await _station_listing(request, "stations", filters, 100))


async def own_limits(conn: asyncpg.Connection, station_id: int) -> dict[str, float]:
    """The station's own exceedance upper limits (alert_limits, level station)."""
    rows = await alerts_api.list_limits(conn, level="station", scope_key=str(station_id))
    return {
        r["factor_code"]: float(r["upper"])
        for r in rows
        if r["rule"] == "exceedance" and r["enabled"] and r["upper"] is not None
    }


async def get_station(request: web.Request) -> web.Response:
    settings = context.settings(request)
    s = settings.web
    today = context.today(request)
    hour = last_complete_hour(datetime.now(UTC))
    async with context.pool(request).acquire() as conn:
        station = await queries.station(
            conn, path_int(request), context.caller(request).scope_param, s.online_window_s
        )
        if station is None:
            raise _not_found()
        db_factors = {f["code"]: f for f in await queries.factors(conn)}
        own = await own_limits(conn, station["id"])
        hourly = request.app[MAP_CACHE_KEY].hourly_of(station["id"], hour)
        if hourly is None:
            hourly = await map_queries.station_hourly(conn, station["id"], hour, list(AIR_FACTORS))
    latest = station.pop("latest")
    codes = list(dict.fromkeys([*station["expected_factors"], *sorted(latest)]))
    factors = factor_info(codes, station, db_factors, today, own)
    station["latest"] = latest_view({**station, "latest": latest}, factors)
    station["own_limits"] = own
    aqi = (
        current_aqi(
            hourly,
            latest,
            today,
            fresh=bool(station["online"]),
            unit_factors=settings.aggregates.unit_factors,
            not_monitored=outside_plan(station["expected_factors"]),
        )
        if station["enabled"]
        else None
    )
    # NA with IAQIs (HJ 633—2026 §5.3.1: a pollutant missing, the rest ≤ 100) is shown too
    station["aqi"] = None
    if aqi is not None and (aqi.aqi is not None or aqi.missing):
        # the standard, the level's health text and the sensitive groups of that table
        texts = aqi_texts(evaluator(today).table, aqi.level, aqi.iaqi)
        station["aqi"] = {**aqi.to_json(), **texts}
    station["aqi_hour"] = hour
    station["status"] = (
        "disabled" if not station["enabled"] else "online" if station["online"] else "offline"
    )
    station["gb3095"] = limits_heading(today, station["area_class"])
    if any(not f["limit_verified"] for f in factors):
        station["unverified"] = unverified_notes(today, ("limits",))
    else:
        station["unverified"] = []
    return json_response(station)


async def station_limits(request: web.Request) -> web.Response:
    """What the alert engine checks for this station (alerts.api.effective_rules) per
    measured factor, with GB 3095 for ambient air and the station's own limits."""
    settings = context.settings(request)
    today = context.today(request)
    pool = context.pool(request)
    async with pool.acquire() as conn:
        row = await queries.station(
            conn, path_int(request), context.caller(request).scope_param, 900
        )
        if row is None:
            raise _not_found()
        own = await alerts_api.list_limits(conn, level="station", scope_key=str(row["id"]))
    try:
        rules = await alerts_api.effective_rules(pool, settings, row["id"])
    except alerts_api.NotFound:
        raise _not_found() from None
    codes = (
        set(row["expected_factors"]) | set(row["latest"] or {}) | {r["factor_code"] for r in own}
    )
    factors = []
    offline = None
    for entry in rules:
        if entry.get("offline") is not None:
            offline = entry["offline"]
            continue
        code = entry["factor_code"]
        if code not in codes:
            continue
        gb = gb3095_limit(code, row["st"], today, row["area_class"])
        factors.append(
            {
                **entry,
                "gb3095": None
                if gb is None
                else {"limit": gb[0], "verified": gb[1], "standard": gb[2]},
            }
        )
    return json_response(
        {
            "station_id": row["id"],
            "factors": factors,
            "offline": offline,
            "own": own,
            "gb3095": limits_heading(today, row["area_class"]),
            "unverified": unverified_notes(today, ("limits",)),
        }
    )


async def set_station_limit(request: web.Request) -> web.Response:
    body = await json_body(request)
    code = body_str(body, "factor_code", required=True, max_len=12)
    assert code is not None
    if code not in FACTORS:
        raise ApiError(400, "bad_parameter", f"未知因子 {code}", parameter="factor_code")
    upper = body_float(body, "upper", minimum=-1e12, maximum=1e12)
    lower = body_float(body, "lower", minimum=-1e12, maximum=1e12)
    severity = body_str(body, "severity", max_len=12)
    enabled = body_bool(body, "enabled")
    user = context.caller(request)
    async with _station_conn(request) as (conn, station):
        try:
            limit_id = await alerts_api.set_limit(
                conn,
                factor_code=code,
                level="station",
                scope_key=station["id"],
                upper=upper,
                lower=lower,
                severity=severity,
                enabled=enabled is not False,
                source="站点限值",
                user=user.username,
            )
        except alerts_api.AlertApiError as exc:
            raise ApiError(400, "bad_limit", exc.zh) from None
    context.audit(request, station_id=station["id"], factor=code, upper=upper, lower=lower)
    return json_response({"id": limit_id, "station_id": station["id"], "factor_code": code})


async def delete_station_limit(request: web.Request) -> web.Response:
    limit_id = path_int(request, "limit")
    async with _station_conn(request) as (conn, station):
        own = await alerts_api.list_limits(conn, level="station", scope_key=str(station["id"]))
        if limit_id not in {r["id"] for r in own}:
            raise ApiError(404, "not_found", "该站点没有这条限值")
        await alerts_api.delete_limit(conn, limit_id)
    context.audit(request, station_id=station["id"], limit_id=limit_id)
    return json_response({"ok": True})


async def station_series(request: web.Request) -> web.Response:
    q = request.query
    view = opt_choice(q, "view", tuple(VIEWS))
    default, kind, bucket = VIEWS[view or "day"]
    kind = opt_choice(q, "kind", SERIES_KINDS) or kind
    bucket_q = opt_int(q, "bucket", minimum=0, maximum=86_400)
    bucket = bucket if bucket_q is None else bucket_q
    if bucket and kind not in ("rtd", "minute"):
        bucket = 0
    start, end = time_window(q, default, timedelta(days=31))
    factor = opt_str(q, "factor", max_len=200)
    codes = [c for c in factor.split(",") if c] if factor else None
    async with _station_conn(request) as (conn, station):
        rows = await queries.series(
            conn,
            kind,
            station["id"],
            start,
            end,
            codes,
            bucket_s=bucket,
            limit=MAX_POINTS + 1,
            excluded_flags=EXCLUDED_FLAGS,
        )
    truncated = len(rows) > MAX_POINTS
    return json_response(
        {
            "station_id": station["id"],
            "kind": kind,
            "bucket_s": bucket,
            "from": start,
            "to": end,
            "truncated": truncated,
            "series": series_payload(rows[:MAX_POINTS], bucketed=bool(bucket)),
        }
    )


async def station_packets(request: web.Request) -> web.Response:
    q = request.query
    page = paging(q, context.settings(request).web.page_size_max, default=50)
    start, end = time_window(q, timedelta(hours=24), timedelta(days=7))
    cn = opt_int(q, "cn", minimum=0, maximum=9999)
    async with _station_conn(request) as (conn, station):
        items, total = await queries.packets(
            conn, station["id"], start, end, cn, page.limit, page.offset
        )
    return json_response(page.wrap(items, total))


async def station_equipment(request: web.Request) -> web.Response:
    start, end = time_window(request.query, timedelta(hours=24), timedelta(days=7))
    async with _station_conn(request) as (conn, station):
        latest, history = await queries.equipment(conn, station["id"], start, end, 500)
    return json_response({"latest": latest, "history": history})


async def station_commands(request: web.Request) -> web.Response:
    page = paging(request.query, context.settings(request).web.page_size_max, default=20)
    async with _station_conn(request) as (conn, station):
        items, total = await queries.commands(conn, station["id"], page.limit, page.offset)
    return json_response(page.wrap([command_view(c) for c in items], total))


def command_verbs() -> list[dict[str, Any]]:
    return [
        {"verb": verb, "cn": cn, "params": list(keys), "description": text}
        for verb, (cn, keys, text) in store_commands.COMMAND_VERBS.items()
    ]


async def list_command_verbs(request: web.Request) -> web.Response:
    return json_response(command_verbs())


async def send_command(request: web.Request) -> web.Response:
    body = await json_body(request)
    verb = body_str(body, "verb", required=True, max_len=40)
    if verb is None or verb not in store_commands.COMMAND_VERBS:
        raise ApiError(400, "bad_parameter", f"未知命令 {verb}", parameter="verb")
    params = body.get("params") or {}
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(v, bool)
        for k, v in params.items()
    ):
        raise ApiError(400, "bad_parameter", "params 应为 {参数名: 值}", parameter="params")
    cn, allowed, _ = store_commands.COMMAND_VERBS[verb]
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise ApiError(
            400, "bad_parameter", f"命令 {verb} 不接受参数 {', '.join(unknown)}", parameter="params"
        )
    timeout_s = body_int(body, "timeout_s", minimum=5, maximum=86_400) or 120
    user = context.caller(request)
    async with _station_conn(request) as (conn, station):
        try:
            command_id = await store_commands.queue_command(
                conn,
                mn=station["mn"],
                cn=cn,
                params=params,
                created_by=user.username,
                timeout_s=timeout_s,
                tz=context.settings(request).core.timezone,
                box=box_for(context.settings(request).core.secret_key_path),
            )
        except (store_commands.CommandError, ValueError) as exc:
            raise ApiError(400, "bad_command", str(exc)) from None
        record = await store_commands.get_command(conn, command_id)
    assert record is not None
    context.audit(request, verb=verb, cn=cn, params=mask_fields(params), command_id=command_id)
    return json_response(record.to_json(), status=201)


async def get_command(request: web.Request) -> web.Response:
    command_id = path_int(request)
    async with context.pool(request).acquire() as conn:
        station_id = await queries.command_station(
            conn, command_id, context.caller(request).scope_param
        )
        record = None if station_id is None else await store_commands.get_command(conn, command_id)
    if record is None:
        raise ApiError(404, "not_found", "命令不存在或不在您的数据范围内")
    return json_response(record.to_json())


async def list_factors(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = await queries.factors(conn)
    return json_response(rows)


# -- maintenance view ------------------------------------------------------------------------


async def maintenance_stations(request: web.Request) -> web.Response:
    q = request.query
    filters: dict[str, str | int | None] = {
        "q": opt_str(q, "q"),
        "region": opt_str(q, "region"),
        "status": opt_choice(q, "status", ("online", "offline")),
    }
    body = await _station_listing(request, "maintenance", filters, 200)
    for item in body["items"]:
        lat, lon = item["lat"], item["lon"]
        item["nav_url"] = (
            f"geo:{lat},{lon}?q={lat},{lon}" if lat is not None and lon is not None else None
        )
    body["online_window_s"] = context.settings(request).web.online_window_s
    return json_response(body)
