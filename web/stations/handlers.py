"""Handlers of the stations module (thin: validate, one query/service call, serialise)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from alerts import api as alerts_api
from protocol.factors import FACTORS
from store import commands as store_commands
from store import stations as store_stations
from web import context
from web.keys import MAP_CACHE_KEY
from web.map import queries as map_queries
from web.map.aqi import AIR_FACTORS, current_aqi
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
from web.standards import unverified_notes

from . import queries
from .service import EXCLUDED_FLAGS, factor_info, gb3095_limit, latest_view, series_payload

STATUSES = ("online", "offline", "disabled")
SERIES_KINDS = ("rtd", "minute", "hour", "day")
#: Preset views of the station page (the reference platform's three views).
VIEWS = {"hour": (timedelta(hours=1), "rtd", 0), "day": (timedelta(hours=24), "rtd", 300)}
MAX_POINTS = 20_000


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "站点不存在或不在您的数据范围内")


async def _scoped_station(conn: asyncpg.Connection, request: web.Request) -> asyncpg.Record:
    row = await queries.in_scope(conn, path_int(request), context.caller(request).scope_param)
    if row is None:
        raise _not_found()
    return row


async def list_stations(request: web.Request) -> web.Response:
    q = request.query
    s = context.settings(request).web
    page = paging(q, s.page_size_max)
    async with context.pool(request).acquire() as conn:
        items, total = await queries.list_stations(
            conn,
            context.caller(request).scope_param,
            s.online_window_s,
            q=opt_str(q, "q"),
            st=opt_str(q, "st", max_len=4),
            region=opt_str(q, "region"),
            area=opt_int(q, "area", minimum=1),
            status=opt_choice(q, "status", STATUSES),
            limit=page.limit,
            offset=page.offset,
        )
    return json_response(page.wrap(items, total))


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
        )
        if station["enabled"]
        else None
    )
    station["aqi"] = None if aqi is None or aqi.aqi is None else aqi.to_json()
    station["aqi_hour"] = hour
    station["status"] = (
        "disabled" if not station["enabled"] else "online" if station["online"] else "offline"
    )
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
        gb = gb3095_limit(code, row["st"], today)
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
    async with context.pool(request).acquire() as conn:
        station = await _scoped_station(conn, request)
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
            raise ApiError(400, "bad_limit", str(exc)) from None
    context.audit(request, station_id=station["id"], factor=code, upper=upper, lower=lower)
    return json_response({"id": limit_id, "station_id": station["id"], "factor_code": code})


async def delete_station_limit(request: web.Request) -> web.Response:
    limit_id = path_int(request, "limit")
    async with context.pool(request).acquire() as conn:
        station = await _scoped_station(conn, request)
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
    async with context.pool(request).acquire() as conn:
        station = await _scoped_station(conn, request)
        if bucket:
            rows = await queries.bucket_series(
                conn, kind, station["id"], start, end, codes, bucket, EXCLUDED_FLAGS
            )
        else:
            rows = await queries.raw_series(
                conn, kind, station["id"], start, end, codes, MAX_POINTS + 1
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
    async with context.pool(request).acquire() as conn:
        station = await _scoped_station(conn, request)
        items, total = await queries.packets(
            conn, station["id"], start, end, cn, page.limit, page.offset
        )
    return json_response(page.wrap(items, total))


async def station_equipment(request: web.Request) -> web.Response:
    start, end = time_window(request.query, timedelta(hours=24), timedelta(days=7))
    async with context.pool(request).acquire() as conn:
        station = await _scoped_station(conn, request)
        latest, history = await queries.equipment(conn, station["id"], start, end, 500)
    return json_response({"latest": latest, "history": history})


async def station_commands(request: web.Request) -> web.Response:
    page = paging(request.query, context.settings(request).web.page_size_max, default=20)
    async with context.pool(request).acquire() as conn:
        station = await _scoped_station(conn, request)
        items, total = await queries.commands(conn, station["id"], page.limit, page.offset)
    return json_response(page.wrap(items, total))


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
    async with context.pool(request).acquire() as conn:
        station = await _scoped_station(conn, request)
        try:
            command_id = await store_commands.queue_command(
                conn,
                mn=station["mn"],
                cn=cn,
                params=params,
                created_by=user.username,
                timeout_s=timeout_s,
                tz=context.settings(request).core.timezone,
            )
        except (store_commands.CommandError, ValueError) as exc:
            raise ApiError(400, "bad_command", str(exc)) from None
        record = await store_commands.get_command(conn, command_id)
    assert record is not None
    context.audit(request, verb=verb, cn=cn, params=params, command_id=command_id)
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


# -- registry administration ---------------------------------------------------------------


def _station_values(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, max_len in (("name", 100), ("password", 64), ("region", 64), ("address", 200)):
        value = body_str(body, name, max_len=max_len)
        if value is not None:
            values[name] = value
    st = body_str(body, "st", max_len=2)
    if st is not None:
        if not (len(st) == 2 and st.isdigit()):
            raise ApiError(400, "bad_parameter", "st 应为两位数字系统编码", parameter="st")
        values["st"] = st
    for name, lo, hi in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
        number = body_float(body, name, minimum=lo, maximum=hi)
        if number is not None:
            values[name] = number
    for name, lo, hi in (("rtd_interval", 1, 86_400), ("min_interval", 1, 1440)):
        integer = body_int(body, name, minimum=lo, maximum=hi)
        if integer is not None:
            values[name] = integer
    grid = body_int(body, "grid_id", minimum=1)
    if grid is not None:
        values["grid_id"] = grid
    for name in ("enabled", "modbus_crc"):
        flag = body_bool(body, name)
        if flag is not None:
            values[name] = flag
    factors = body.get("expected_factors")
    if factors is not None:
        if not isinstance(factors, list) or not all(
            isinstance(c, str) and 1 <= len(c) <= 12 and c.isalnum() for c in factors
        ):
            raise ApiError(
                400, "bad_parameter", "应测因子应为因子编码列表", parameter="expected_factors"
            )
        values["expected_factors"] = list(dict.fromkeys(factors))
    limits = body.get("limits")
    if limits is not None:
        if not isinstance(limits, dict) or not all(
            isinstance(k, str)
            and k in FACTORS
            and isinstance(v, int | float)
            and not isinstance(v, bool)
            and v >= 0
            for k, v in limits.items()
        ):
            raise ApiError(400, "bad_parameter", "limits 应为 {因子编码: 限值}", parameter="limits")
        values["limits"] = {k: float(v) for k, v in limits.items()}
    return values


async def _replace_limits(
    conn: asyncpg.Connection, request: web.Request, station_id: int, limits: dict[str, float]
) -> None:
    """The station's own exceedance upper limits become ``limits`` (alert_limits at
    station level, through the alerts API: the engine reloads at once)."""
    user = context.caller(request)
    if not user.can("alerts:limits"):
        raise ApiError(403, "forbidden", "没有权限：设置站点告警限值", permission="alerts:limits")
    for row in await alerts_api.list_limits(conn, level="station", scope_key=str(station_id)):
        if row["rule"] == "exceedance" and row["factor_code"] not in limits:
            await alerts_api.delete_limit(conn, row["id"])
    for code, upper in limits.items():
        try:
            await alerts_api.set_limit(
                conn,
                factor_code=code,
                level="station",
                scope_key=station_id,
                upper=upper,
                source="站点限值",
                user=user.username,
            )
        except alerts_api.AlertApiError as exc:
            raise ApiError(400, "bad_limit", str(exc), parameter="limits") from None


async def _check_grid(conn: asyncpg.Connection, values: dict[str, Any]) -> None:
    if "grid_id" in values and not await queries.area_exists(conn, values["grid_id"]):
        raise ApiError(400, "bad_parameter", "网格不存在", parameter="grid_id")


async def _check_scope_after(
    conn: asyncpg.Connection, request: web.Request, station_id: int
) -> None:
    scope = context.caller(request).scope_param
    if scope is not None and not await queries.is_in_scope(conn, station_id, scope):
        raise ApiError(403, "out_of_scope", "站点的区域或网格不在您的数据范围内")


async def create_station(request: web.Request) -> web.Response:
    body = await json_body(request)
    mn = body_str(body, "mn", required=True, max_len=32)
    assert mn is not None
    values = _station_values(body, creating=True)
    limits = values.pop("limits", None)
    async with context.pool(request).acquire() as conn, conn.transaction():
        await _check_grid(conn, values)
        try:
            station_id = await store_stations.add_station(conn, mn.strip(), **values)
        except store_stations.StationError as exc:
            raise ApiError(409, "station_exists", str(exc)) from None
        await _check_scope_after(conn, request, station_id)
        if limits is not None:
            await _replace_limits(conn, request, station_id, limits)
    request.app[MAP_CACHE_KEY].invalidate()
    context.audit(request, mn=mn, station_id=station_id)
    return json_response({"id": station_id, "mn": mn}, status=201)


async def update_station(request: web.Request) -> web.Response:
    body = await json_body(request)
    values = _station_values(body, creating=False)
    async with context.pool(request).acquire() as conn, conn.transaction():
        station = await _scoped_station(conn, request)
        await _check_grid(conn, values)
        limits = values.pop("limits", None)
        if values:
            try:
                await store_stations.update_station(conn, station["mn"], **values)
            except store_stations.StationError as exc:
                raise ApiError(400, "bad_station", str(exc)) from None
        await _check_scope_after(conn, request, station["id"])
        if limits is not None:
            await _replace_limits(conn, request, station["id"], limits)
            values["limits"] = limits
    request.app[MAP_CACHE_KEY].invalidate()
    context.audit(request, mn=station["mn"], changed=sorted(values))
    return json_response({"id": station["id"], "mn": station["mn"], "changed": sorted(values)})


async def list_pending(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = await store_stations.list_pending(conn)
    for r in rows:
        r.pop("password", None)
    return json_response(rows)


def _mn(request: web.Request) -> str:
    mn = request.match_info["mn"]
    if not 1 <= len(mn) <= 32 or not mn.isalnum():
        raise ApiError(404, "not_found", "待审批站点不存在")
    return mn


async def approve_pending(request: web.Request) -> web.Response:
    mn = _mn(request)
    body = await json_body(request) if request.can_read_body else {}
    values = _station_values(body, creating=False)
    async with context.pool(request).acquire() as conn, conn.transaction():
        await _check_grid(conn, values)
        try:
            station_id = await store_stations.approve_pending(
                conn, mn, password=values.pop("password", None), name=values.pop("name", None)
            )
        except store_stations.StationError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        values.pop("limits", None)
        if values:
            await store_stations.update_station(conn, mn, **values)
        await _check_scope_after(conn, request, station_id)
    request.app[MAP_CACHE_KEY].invalidate()
    context.audit(request, mn=mn, station_id=station_id)
    return json_response({"id": station_id, "mn": mn}, status=201)


async def reject_pending(request: web.Request) -> web.Response:
    mn = _mn(request)
    async with context.pool(request).acquire() as conn:
        try:
            await store_stations.reject_pending(conn, mn, by=context.caller(request).username)
        except store_stations.StationError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
    context.audit(request, mn=mn)
    return json_response({"mn": mn, "decision": "rejected"})


# -- maintenance view ------------------------------------------------------------------------


async def maintenance_stations(request: web.Request) -> web.Response:
    q = request.query
    s = context.settings(request).web
    page = paging(q, s.page_size_max, default=200)
    async with context.pool(request).acquire() as conn:
        items, total = await queries.maintenance(
            conn,
            context.caller(request).scope_param,
            s.online_window_s,
            q=opt_str(q, "q"),
            region=opt_str(q, "region"),
            status=opt_choice(q, "status", ("online", "offline")),
            limit=page.limit,
            offset=page.offset,
        )
    for item in items:
        lat, lon = item["lat"], item["lon"]
        item["nav_url"] = (
            f"geo:{lat},{lon}?q={lat},{lon}" if lat is not None and lon is not None else None
        )
    body = page.wrap(items, total)
    body["online_window_s"] = s.online_window_s
    return json_response(body)
