"""Handlers of the HJ 212-2025 views (thin: validate, one store/query call, serialise).

Assigning an MN registers a station, so it follows the pending-station approval: a
scoped user may assign only into their own scope (checked after the registration, which
rolls back otherwise) and may not reject a logger (it lies in no scope yet).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from protocol.sm4 import parse_key
from store import loggers as store_loggers
from store.secretbox import SM4_KEY, STATION_PASSWORD, box_for
from store.stations import StationError, update_station
from web import context
from web.keys import MAP_CACHE_KEY
from web.params import (
    body_float,
    body_int,
    body_str,
    json_body,
    opt_int,
    opt_str,
    paging,
    time_window,
)
from web.responses import ApiError, json_response
from web.stations.handlers import scoped_station
from web.stations.queries import is_in_scope

from . import queries

#: The CNs stored in records_2025 (migration 0054).
RECORD_CNS = (2013, 2052, 2062, 2111)


async def station_records(request: web.Request) -> web.Response:
    q = request.query
    page = paging(q, context.settings(request).web.page_size_max, default=100)
    start, end = time_window(q, timedelta(hours=24), timedelta(days=31))
    cn = opt_int(q, "cn", minimum=0, maximum=9999)
    if cn is not None and cn not in RECORD_CNS:
        raise ApiError(400, "bad_parameter", "cn 应为 2013、2052、2062 或 2111", parameter="cn")
    code = opt_str(q, "code", max_len=12)
    async with context.pool(request).acquire() as conn:
        station = await scoped_station(conn, request)
        items, total, edition = await queries.records(
            conn, station["id"], start, end, cn, code, page.limit, page.offset
        )
    return json_response({**page.wrap(items, total), "edition": edition})


async def list_loggers(request: web.Request) -> web.Response:
    include = request.query.get("all") in ("1", "true")
    async with context.pool(request).acquire() as conn:
        rows = await store_loggers.list_loggers(conn, include_decided=include)
    return json_response(rows)


def _logger_id(request: web.Request) -> str:
    logger_id = request.match_info["logger_id"]
    if store_loggers.LOGGER_ID.fullmatch(logger_id) is None:
        raise ApiError(404, "not_found", "数采仪不存在")
    return logger_id


async def assign_logger(request: web.Request) -> web.Response:
    logger_id = _logger_id(request)
    body = await json_body(request)
    mn = body_str(body, "mn", required=True, max_len=24)
    assert mn is not None
    box = box_for(context.settings(request).core.secret_key_path)
    password = body_str(body, "password", max_len=64)
    key = body_str(body, "sm4_key", max_len=32)
    if key:
        try:
            parse_key(key)
        except ValueError as exc:
            detail = f"SM4 密钥无效：{exc}"
            raise ApiError(400, "bad_parameter", detail, parameter="sm4_key") from None
    placed: dict[str, Any] = {
        k: v
        for k, v in {
            "region": body_str(body, "region", max_len=64),
            "grid_id": body_int(body, "grid_id", minimum=1, maximum=2_147_483_647),
            "lat": body_float(body, "lat", minimum=-90, maximum=90),
            "lon": body_float(body, "lon", minimum=-180, maximum=180),
        }.items()
        if v is not None
    }
    user = context.caller(request)
    async with context.pool(request).acquire() as conn, conn.transaction():
        try:
            done = await store_loggers.assign_logger(
                conn,
                logger_id,
                mn=mn,
                password=box.seal(password, STATION_PASSWORD) if password else None,
                name=body_str(body, "name", max_len=100),
                st=body_str(body, "st", max_len=2),
                sm4_key=box.seal(key, SM4_KEY) if key else None,
                created_by=user.username,
                tz=context.settings(request).core.timezone,
            )
            if placed:
                await update_station(conn, mn, **placed)
        except StationError as exc:
            raise ApiError(409, "cannot_assign", str(exc)) from None
        scope = user.scope_param
        if scope is not None and not await is_in_scope(conn, done.station_id, scope):
            raise ApiError(403, "out_of_scope", "站点的区域或网格不在您的数据范围内")
    request.app[MAP_CACHE_KEY].invalidate()
    context.audit(request, logger_id=logger_id, mn=mn, station_id=done.station_id)
    return json_response(
        {
            "logger_id": logger_id,
            "mn": mn,
            "station_id": done.station_id,
            "command_id": done.command_id,
        },
        status=201,
    )


async def reject_logger(request: web.Request) -> web.Response:
    logger_id = _logger_id(request)
    if context.caller(request).scope is not None:
        raise ApiError(
            403,
            "out_of_scope",
            "待分配的数采仪尚无区域或网格，不在您的数据范围内：拒绝须由不限数据范围的管理员操作",
        )
    async with context.pool(request).acquire() as conn:
        try:
            await store_loggers.reject_logger(conn, logger_id, by=context.caller(request).username)
        except StationError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
    context.audit(request, logger_id=logger_id)
    return json_response({"logger_id": logger_id, "decision": "rejected"})
