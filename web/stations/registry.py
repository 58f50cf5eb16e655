"""Handlers administering the station registry: register and change stations (with
their own exceedance limits), approve or reject the stations waiting for approval."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from alerts import api as alerts_api
from protocol.factors import FACTORS
from protocol.sm4 import parse_key
from store import stations as store_stations
from store.secretbox import SM4_KEY, STATION_PASSWORD, box_for
from web import context
from web.keys import MAP_CACHE_KEY
from web.params import body_bool, body_float, body_int, body_str, json_body
from web.responses import ApiError, json_response

from . import queries
from .handlers import scoped_station


def _station_values(body: dict[str, Any]) -> dict[str, Any]:
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
    area_class = body.get("area_class")
    if area_class is not None:
        if isinstance(area_class, bool) or area_class not in store_stations.AREA_CLASSES:
            raise ApiError(
                400,
                "bad_parameter",
                "功能区类别应为 1（一类区）或 2（二类区）",
                parameter="area_class",
            )
        values["area_class"] = int(area_class)
    grid = body_int(body, "grid_id", minimum=1)
    if grid is not None:
        values["grid_id"] = grid
    for name in ("enabled", "modbus_crc", "strict_edition"):
        flag = body_bool(body, name)
        if flag is not None:
            values[name] = flag
    edition = body.get("edition")
    if edition is not None:
        if edition not in store_stations.EDITIONS:
            raise ApiError(
                400, "bad_parameter", "协议版本应为 2005、2017 或 2025", parameter="edition"
            )
        values["registered_edition"] = edition
    key = body_str(body, "sm4_key", max_len=32)
    if key is not None:
        try:
            parse_key(key)
        except ValueError:
            raise ApiError(
                400,
                "bad_parameter",
                "SM4 密钥应为 16 个字符（标准写法）或 32 位十六进制数",
                parameter="sm4_key",
            ) from None
        values["sm4_key"] = key
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
            raise ApiError(400, "bad_limit", exc.zh, parameter="limits") from None


async def _check_grid(conn: asyncpg.Connection, values: dict[str, Any]) -> None:
    if "grid_id" in values and not await queries.area_exists(conn, values["grid_id"]):
        raise ApiError(400, "bad_parameter", "网格不存在", parameter="grid_id")


async def _check_scope_after(
    conn: asyncpg.Connection, request: web.Request, station_id: int
) -> None:
    scope = context.caller(request).scope_param
    if scope is not None and not await queries.is_in_scope(conn, station_id, scope):
        raise ApiError(403, "out_of_scope", "站点的区域或网格不在您的数据范围内")


def _sealed(request: web.Request, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the station password and SM4 key sealed for storage
    (``store.secretbox``)."""
    box = box_for(context.settings(request).core.secret_key_path)
    if values.get("password"):
        values["password"] = box.seal(values["password"], STATION_PASSWORD)
    if values.get("sm4_key"):
        values["sm4_key"] = box.seal(values["sm4_key"], SM4_KEY)
    return values


async def create_station(request: web.Request) -> web.Response:
    body = await json_body(request)
    mn = body_str(body, "mn", required=True, max_len=32)
    assert mn is not None
    values = _sealed(request, _station_values(body))
    limits = values.pop("limits", None)
    async with context.pool(request).acquire() as conn, conn.transaction():
        await _check_grid(conn, values)
        try:
            station_id = await store_stations.add_station(conn, mn.strip(), **values)
        except store_stations.DuplicateStation as exc:
            raise ApiError(409, "station_exists", str(exc)) from None
        except store_stations.StationError as exc:
            raise ApiError(400, "bad_station", str(exc)) from None
        await _check_scope_after(conn, request, station_id)
        if limits is not None:
            await _replace_limits(conn, request, station_id, limits)
    request.app[MAP_CACHE_KEY].invalidate()
    context.audit(request, mn=mn, station_id=station_id)
    return json_response({"id": station_id, "mn": mn}, status=201)


async def update_station(request: web.Request) -> web.Response:
    body = await json_body(request)
    values = _sealed(request, _station_values(body))
    async with context.pool(request).acquire() as conn, conn.transaction():
        station = await scoped_station(conn, request)
        await _check_grid(conn, values)
        limits = values.pop("limits", None)
        key = values.pop("sm4_key", None)
        try:
            if values:
                await store_stations.update_station(conn, station["mn"], **values)
            if key is not None:
                await store_stations.set_sm4_key(conn, station["mn"], key)
                values["sm4_key"] = key
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
    values = _sealed(request, _station_values(body))
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
    """A pending MN has no region, grid or position yet, so it lies in no data scope: a
    scoped user may approve it only into their own scope (checked after the approval,
    which rolls back otherwise) and may not reject it — a refusal would silence a station
    that may belong to another district."""
    mn = _mn(request)
    if context.caller(request).scope is not None:
        raise ApiError(
            403,
            "out_of_scope",
            "待审批站点尚无区域或网格，不在您的数据范围内：只能将其审批到您的范围内，"
            "拒绝须由不限数据范围的管理员操作",
        )
    async with context.pool(request).acquire() as conn:
        try:
            await store_stations.reject_pending(conn, mn, by=context.caller(request).username)
        except store_stations.StationError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
    context.audit(request, mn=mn)
    return json_response({"mn": mn, "decision": "rejected"})
